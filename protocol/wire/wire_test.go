package wire_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/wire"
)

// samples holds messages of every registered kind, edge values included.
// A kind registered without samples fails TestEveryKindHasSamples.
var samples = map[wire.Kind][]wire.Msg{
	wire.KindBlockAnnounce: {
		&gossip.Block{},
		&gossip.Block{Origin: 7, Height: 1, Created: 1, Hops: 2, Payload: []byte("x")},
		&gossip.Block{Origin: 1<<32 - 1, Height: 1<<64 - 1, Created: 1<<63 - 1, Hops: 1<<32 - 1, Payload: bytes.Repeat([]byte{0xff}, 300)},
		&gossip.Block{Origin: 3, Height: 9, Created: protocol.Time(protocol.Second), Payload: make([]byte, 1<<20)},
	},
	wire.KindTx:    chainTxs,
	wire.KindBlock: chainBlocks,

	// Empty slices are nil: the codec decodes an empty vector or list so.
	wire.KindModel: {
		&learn.Model{},
		&learn.Model{Round: 3, Version: learn.Hash{1}, Parent: learn.Hash{2}, Params: []float64{0.5, -1.25, 0}},
		&learn.Model{Round: 1<<64 - 1, Version: learn.Hash{31: 0xff}, Params: []float64{math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64}},
		&learn.Model{Round: 1, Params: make([]float64, 4810)}, // the optdigits MLP
	},
	wire.KindUpdate: {
		&learn.LocalUpdate{},
		&learn.LocalUpdate{Round: 7, Base: learn.Hash{9}, Samples: 191, Delta: []float64{1e-3, -2e-3}},
		&learn.LocalUpdate{Round: 1<<64 - 1, Base: learn.Hash{31: 1}, Samples: 1<<64 - 1, Delta: make([]float64, 4810)},
	},
	wire.KindScoreRequest: {
		&learn.ScoreRequest{},
		&learn.ScoreRequest{Round: 2, Version: learn.Hash{4}, Learners: []protocol.NodeID{4, 5, 900}, Digests: []learn.Hash{{7}, {8}, {9}}},
		&learn.ScoreRequest{Round: 1<<64 - 1, Learners: []protocol.NodeID{0, 1<<32 - 1}},
	},
	wire.KindScores: {
		&learn.Scores{},
		&learn.Scores{Round: 2, Version: learn.Hash{4}, Learners: []protocol.NodeID{4, 900}, Scores: []float64{0.01, -0.5}},
		&learn.Scores{Round: 1<<64 - 1, Learners: []protocol.NodeID{1<<32 - 1}, Scores: []float64{math.Inf(-1)}},
	},
	wire.KindAggregateRequest: {
		&learn.AggregateRequest{},
		&learn.AggregateRequest{Round: 2, Version: learn.Hash{4}, Learners: []protocol.NodeID{4, 5, 900}, Digests: []learn.Hash{{1}, {2}, {3}}},
		&learn.AggregateRequest{Round: 1<<64 - 1, Learners: []protocol.NodeID{0, 1<<32 - 1}, Digests: []learn.Hash{{}, {9}}},
	},
	wire.KindCandidate: {
		&learn.Candidate{},
		&learn.Candidate{Round: 3, Parent: learn.Hash{1}, Version: learn.Hash{1}}, // the rule could not move the model
		&learn.Candidate{Round: 1<<64 - 1, Parent: learn.Hash{31: 0xff}, Version: learn.Hash{2}, Params: []float64{math.Inf(1), -0.5}},
		&learn.Candidate{Round: 1, Params: make([]float64, 4810)},
	},
}

// chainTxs has a transaction of every type, with edge values.
var chainTxs = []wire.Msg{
	chain.Sign(chain.KeyFor(1, 0), chain.NewTransfer(0, 1, chain.Address{1}, 1)),
	chain.Sign(chain.KeyFor(1, 0), chain.NewTransfer(1<<64-1, 1<<64-1, chain.Address{0xff}, 1<<64-1)),
	chain.Sign(chain.KeyFor(1, 1), chain.NewStake(2, 500, 5*chain.Token)),
	chain.Sign(chain.KeyFor(1, 1), chain.NewUnstake(3, 500, 1)),
	chain.Sign(chain.KeyFor(1, 2), chain.NewJobPost(4, 900, 100*chain.Token, bytes.Repeat([]byte("spec"), 100))),
	chain.Sign(chain.KeyFor(1, 2), chain.NewResultCommit(5, 700, chain.JobID{1}, 1<<32-1, chain.Hash{2})),
	chain.Sign(chain.KeyFor(1, 3), chain.NewSlash(6, 2000, chain.Address{3}, make([]byte, chain.MaxEvidenceBytes))),
	chain.Sign(chain.KeyFor(1, 3), chain.NewProposal(7, 2000, nil)),
	chain.Sign(chain.KeyFor(1, 4), chain.NewVote(8, 300, 1, chain.VoteAbstain)),
	chain.NewReward(1<<64-1, chain.Address{4}, chain.Token),
}

var chainBlocks = []wire.Msg{
	chain.NewBlock(chain.Header{}, nil),
	chain.NewBlock(chain.Header{Height: 1, Time: protocol.Time(protocol.Second), Proposer: 3, TxRoot: chain.Hash{1}, StateRoot: chain.Hash{2}},
		[]*chain.Tx{chainTxs[9].(*chain.Tx), chainTxs[0].(*chain.Tx)}),
	chain.NewBlock(chain.Header{Height: 1<<64 - 1, Prev: chain.Hash{0xff}, Time: 1<<63 - 1, Proposer: 1<<32 - 1},
		func() []*chain.Tx {
			txs := make([]*chain.Tx, len(chainTxs))
			for i, m := range chainTxs {
				txs[i] = m.(*chain.Tx)
			}
			return txs
		}()),
}

func TestEveryKindHasSamples(t *testing.T) {
	for _, k := range wire.Kinds() {
		if len(samples[k]) == 0 {
			t.Errorf("kind %d (%s) has no samples in wire_test.go", k, wire.Name(k))
		}
	}
}

// WireSize is what the network model charges; it must be the encoded size.
func TestWireSizeIsEncodedSize(t *testing.T) {
	for k, ms := range samples {
		for i, m := range ms {
			if m.Kind() != k {
				t.Fatalf("sample %d of kind %d has kind %d", i, k, m.Kind())
			}
			b := wire.Encode(m)
			if len(b) != m.WireSize() {
				t.Errorf("%s sample %d: WireSize %d, encoded %d bytes", wire.Name(k), i, m.WireSize(), len(b))
			}
			got, err := wire.Decode(b)
			if err != nil {
				t.Fatalf("%s sample %d: decode: %v", wire.Name(k), i, err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(m)) {
				t.Errorf("%s sample %d: round trip gave %+v, want %+v", wire.Name(k), i, got, m)
			}
			if !bytes.Equal(wire.Encode(got), b) {
				t.Errorf("%s sample %d: re-encoding differs: the encoding is not canonical", wire.Name(k), i)
			}
		}
	}
}

// normalize treats nil and empty byte slices alike, as the codec does.
func normalize(m wire.Msg) wire.Msg {
	if b, ok := m.(*gossip.Block); ok && len(b.Payload) == 0 {
		c := *b
		c.Payload = nil
		return &c
	}
	return normalizeConsensus(m)
}

func TestDecodeRejects(t *testing.T) {
	good := wire.Encode(samples[wire.KindBlockAnnounce][1])
	for _, tc := range []struct {
		name  string
		frame []byte
		want  error
	}{
		{"empty", nil, wire.ErrShort},
		{"one byte", []byte{wire.Version}, wire.ErrShort},
		{"version", append([]byte{9}, good[1:]...), wire.ErrVersion},
		{"unknown kind", []byte{wire.Version, 0x7f, 0}, wire.ErrUnknownKind},
		{"truncated", good[:len(good)-1], wire.ErrShort},
		{"trailing", append(append([]byte{}, good...), 0), wire.ErrTrailing},
		{"overlong varint", []byte{wire.Version, byte(wire.KindBlockAnnounce), 0x81, 0x00, 1, 1, 1, 0}, wire.ErrNonCanonical},
		{"overlong kind", []byte{wire.Version, 0x81, 0x00, 1, 1, 1, 1, 0}, wire.ErrNonCanonical},
		{"huge payload length", []byte{wire.Version, byte(wire.KindBlockAnnounce), 1, 1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x7f}, wire.ErrTooLarge},
	} {
		if _, err := wire.Decode(tc.frame); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
}

// FuzzDecode: no input makes Decode panic, and whatever decodes re-encodes
// to the same bytes (one encoding per message).
func FuzzDecode(f *testing.F) {
	for _, ms := range samples {
		for _, m := range ms {
			if m.WireSize() < 4096 {
				f.Add(wire.Encode(m))
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wire.Decode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(wire.Encode(m), b) {
			t.Fatalf("decoded %x to %+v, which encodes to %x", b, m, wire.Encode(m))
		}
	})
}
