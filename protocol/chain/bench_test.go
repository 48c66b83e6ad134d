package chain

import (
	"testing"

	"github.com/dais-sim/dais/protocol"
)

// benchSenders is the number of distinct senders in the benchmarks: one
// transfer each, so every transaction is independent.
const benchSenders = 1000

type benchSetup struct {
	cfg   Config
	txs   []*Tx
	block []byte
	hash  Hash
}

func newBenchSetup(b *testing.B) *benchSetup {
	b.Helper()
	genesis := GenesisFor(7, benchSenders, 1000*Token, Token)
	cfg := Config{Genesis: genesis, Params: DefaultParams(), KeySeed: 7}
	s := &benchSetup{cfg: cfg}
	for i := range benchSenders {
		k := KeyFor(7, protocol.NodeID(i))
		s.txs = append(s.txs, Sign(k, NewTransfer(0, 5000, genesis[(i+1)%benchSenders].Address, Token)))
	}
	l := s.ledger(b)
	for _, tx := range s.txs {
		if err := l.AddTx(tx); err != nil {
			b.Fatal(err)
		}
	}
	s.block, s.hash = l.MakeBlock(1, Hash{}, 0, 1)
	if blk, _ := DecodeBlock(s.block); len(blk.Txs) != benchSenders+1 {
		b.Fatalf("block holds %d txs, want %d", len(blk.Txs), benchSenders+1)
	}
	return s
}

func (s *benchSetup) ledger(b *testing.B) *Ledger {
	l, err := NewLedger(s.cfg)
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkCheckTx is the mempool's admission check of one transfer:
// decoding excluded, signature verification (real or modeled) and a replay
// on a scratch layer included.
func BenchmarkCheckTx(b *testing.B) {
	s := newBenchSetup(b)
	for _, mode := range []struct {
		name    string
		modeled bool
	}{{"real", false}, {"modeled", true}} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := s.cfg
			cfg.ModeledVerification = mode.modeled
			l, err := NewLedger(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := l.CheckTx(s.txs[i%len(s.txs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyBlock is what a validator pays for a block of 1,000
// transfers from 1,000 senders it has not seen (real or modeled
// signatures), or has all in its mempool (signatures verified on arrival):
// CheckBlock (decode, replay, roots) then Commit (adopt the checked state,
// re-check the mempool). Ledger setup is excluded.
func BenchmarkApplyBlock(b *testing.B) {
	s := newBenchSetup(b)
	for _, mode := range []struct {
		name          string
		modeled, seen bool
	}{{"real", false, false}, {"modeled", true, false}, {"seen", false, true}} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := s.cfg
			cfg.ModeledVerification = mode.modeled
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				l, err := NewLedger(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if mode.seen {
					for _, tx := range s.txs {
						if err := l.AddTx(tx); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StartTimer()
				if _, err := l.CheckBlock(1, Hash{}, s.block); err != nil {
					b.Fatal(err)
				}
				l.Commit(1, s.block, s.hash, 1)
			}
			b.ReportMetric(float64(benchSenders*b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}

// BenchmarkDecodeBlock isolates decoding (with the canonical re-encoding
// check) of the 1,000-transfer block.
func BenchmarkDecodeBlock(b *testing.B) {
	s := newBenchSetup(b)
	b.SetBytes(int64(len(s.block)))
	b.ReportAllocs()
	for range b.N {
		if _, err := DecodeBlock(s.block); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMakeBlock is the proposer's cost: select 1,000 transfers from
// the mempool, apply them and seal the block.
func BenchmarkMakeBlock(b *testing.B) {
	s := newBenchSetup(b)
	l := s.ledger(b)
	for _, tx := range s.txs {
		if err := l.AddTx(tx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l.views = map[Hash]*view{}
		raw, _ := l.MakeBlock(1, Hash{}, 0, 1)
		if len(raw) < 100*benchSenders {
			b.Fatalf("block of %d bytes", len(raw))
		}
	}
}
