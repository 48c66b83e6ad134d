package wire_test

import (
	"bytes"

	"github.com/dais-sim/dais/protocol/secagg"
	"github.com/dais-sim/dais/protocol/wire"
)

// Secure aggregation's kinds join the samples map here, as the market's do.
func init() {
	sealed := func(b byte) []byte { return bytes.Repeat([]byte{b}, 48) }
	samples[wire.KindSecAggKeys] = []wire.Msg{
		&secagg.Keys{},
		&secagg.Keys{Round: 1<<64 - 1, C: secagg.Key{1, 31: 2}, S: secagg.Key{0: 0xff, 31: 0xff}},
	}
	samples[wire.KindSecAggKeyList] = []wire.Msg{
		&secagg.KeyList{},
		&secagg.KeyList{Round: 3, Threshold: 2, Clients: []secagg.ID{4, 1<<32 - 1}, C: []secagg.Key{{1}, {2}}, S: []secagg.Key{{3}, {4}}},
	}
	samples[wire.KindSecAggShares] = []wire.Msg{
		&secagg.Shares{},
		&secagg.Shares{Round: 9, To: []secagg.ID{0, 5, 1<<32 - 1}, Sealed: [][]byte{sealed(0), sealed(1), sealed(0xff)}},
	}
	samples[wire.KindSecAggSharesFor] = []wire.Msg{
		&secagg.SharesFor{},
		&secagg.SharesFor{Round: 1<<64 - 1, From: []secagg.ID{7}, Sealed: [][]byte{sealed(9)}},
	}
	samples[wire.KindSecAggMasked] = []wire.Msg{
		&secagg.Masked{},
		&secagg.Masked{Round: 2, Y: []uint64{0, 1, 1<<64 - 1}},
		&secagg.Masked{Round: 1, Y: make([]uint64, 4811)}, // the optdigits MLP and its weight
	}
	samples[wire.KindSecAggSurvivors] = []wire.Msg{
		&secagg.Survivors{},
		&secagg.Survivors{Round: 4, Clients: []secagg.ID{1, 2, 1<<32 - 1}},
	}
	samples[wire.KindSecAggUnmask] = []wire.Msg{
		&secagg.Unmask{},
		&secagg.Unmask{Round: 4, Owners: []secagg.ID{1, 9}, Shares: []secagg.Share{{0, 1}, {1<<61 - 2, 5}}},
	}
}
