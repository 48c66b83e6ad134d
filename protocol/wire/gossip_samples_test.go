package wire_test

import (
	"bytes"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/protocol/wire"
)

// The relay's kinds join the samples map here, as the market's do.
func init() {
	maxRef := gossip.Ref{Origin: 1<<32 - 1, Height: 1<<64 - 1, Created: 1<<63 - 1, Size: gossip.MaxPayload}
	samples[wire.KindInv] = []wire.Msg{
		&gossip.Inv{},
		&gossip.Inv{Ref: gossip.Ref{Origin: 7, Height: 3, Created: protocol.Time(protocol.Second), Size: 535000}},
		&gossip.Inv{Ref: maxRef, Header: make([]byte, gossip.HeaderBytes)},
	}
	samples[wire.KindGetData] = []wire.Msg{
		&gossip.GetData{},
		&gossip.GetData{Origin: 1<<32 - 1, Height: 1<<64 - 1},
	}
	samples[wire.KindCompactBlock] = []wire.Msg{
		&gossip.CompactBlock{},
		&gossip.CompactBlock{Ref: gossip.Ref{Origin: 2, Height: 9, Created: 5, Size: 4000}, Hops: 3, ShortIDs: make([]byte, 6*10)},
		&gossip.CompactBlock{Ref: maxRef, Hops: 1<<32 - 1, ShortIDs: bytes.Repeat([]byte{0xff}, 600)},
	}
	samples[wire.KindGetBlockTxn] = []wire.Msg{
		&gossip.GetBlockTxn{},
		&gossip.GetBlockTxn{Origin: 1<<32 - 1, Height: 1<<64 - 1, Indexes: []byte{1, 0, 7}},
	}
	samples[wire.KindBlockTxn] = []wire.Msg{
		&gossip.BlockTxn{},
		&gossip.BlockTxn{Origin: 4, Height: 1<<64 - 1, Txs: bytes.Repeat([]byte{0xab}, 1000)},
	}
}
