package chain

import (
	"crypto/ed25519"
	"crypto/sha256"

	"github.com/dais-sim/dais/protocol"
)

const testSeed = 42

// net is a few ledgers replicating one chain from one genesis, with the keys
// of nodes 0…n−1.
type net struct {
	t       tb
	keys    []ed25519.PrivateKey
	addrs   []Address
	ledgers []*Ledger
	now     protocol.Time
}

// testParams are small limits with round figures, so tests can compute
// fees and burns by hand.
func testParams() Params {
	p := DefaultParams()
	p.UnbondingBlocks = 3
	p.SlashFraction = 100_000 // 10%
	p.FeeBurn = 250_000       // 25%
	p.BlockReward = 1000
	p.MinGasPrice = 1
	p.VotingPeriod = 5
	return p
}

const (
	genesisBalance = 10_000_000
	genesisStake   = 1_000_000
	fee            = 50_000 // covers any test transaction's gas
)

// tb is what the helpers need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func newNet(t tb, nodes, replicas int, mod func(*Config)) *net {
	t.Helper()
	n := &net{t: t}
	for i := range nodes {
		k := KeyFor(testSeed, protocol.NodeID(i))
		n.keys = append(n.keys, k)
		n.addrs = append(n.addrs, AddressOf(k))
	}
	for range replicas {
		cfg := Config{Genesis: GenesisFor(testSeed, nodes, genesisBalance, genesisStake), Params: testParams(), KeySeed: testSeed}
		if mod != nil {
			mod(&cfg)
		}
		l, err := NewLedger(cfg)
		if err != nil {
			t.Fatal(err)
		}
		n.ledgers = append(n.ledgers, l)
	}
	return n
}

// sign signs an unsigned tx as node i.
func (n *net) sign(i int, tx Tx) *Tx { return Sign(n.keys[i], tx) }

// nonce is node i's next nonce on ledger 0, counting its pending txs.
func (n *net) nonce(i int) uint64 {
	l := n.ledgers[0]
	return l.Account(n.addrs[i]).Nonce + uint64(len(l.pool.bySender[n.addrs[i]]))
}

// submit adds a tx to every ledger's mempool and returns ledger 0's verdict.
func (n *net) submit(tx *Tx) error {
	var first error
	for i, l := range n.ledgers {
		err := l.AddTx(tx)
		if i == 0 {
			first = err
		}
	}
	return first
}

// step makes a block at ledger 0 proposed by node p, checks it at the
// others, commits it everywhere, and checks that all agree and conserve.
func (n *net) step(p protocol.NodeID) *Block {
	n.t.Helper()
	l0 := n.ledgers[0]
	h := l0.Height() + 1
	n.now = n.now.Add(protocol.Second)
	raw, hash := l0.MakeBlock(h, l0.Tip(), p, n.now)
	for i, l := range n.ledgers[1:] {
		if got, err := l.CheckBlock(h, l.Tip(), raw); err != nil || got != hash {
			n.t.Fatalf("replica %d rejects block %d: %v (hash %x, made %x)", i+1, h, err, got[:4], hash[:4])
		}
	}
	for _, l := range n.ledgers {
		l.Commit(h, raw, hash, n.now)
	}
	root := l0.StateRoot()
	for i, l := range n.ledgers {
		if l.StateRoot() != root {
			n.t.Fatalf("replica %d diverged at height %d", i, h)
		}
		if err := l.CheckSupply(); err != nil {
			n.t.Fatalf("replica %d at height %d: %v", i, h, err)
		}
	}
	if rr := l0.RecomputeStateRoot(); rr != root {
		n.t.Fatalf("incremental state root %x != recomputed %x at height %d", root[:6], rr[:6], h)
	}
	b, err := DecodeBlock(raw)
	if err != nil {
		n.t.Fatal(err)
	}
	return b
}

// forge builds a block on l's committed tip with txs (the reward must be
// among them if wanted) and roots computed by applying what applies, then
// lets mutate change the header before sealing.
func forge(l *Ledger, proposer protocol.NodeID, txs []*Tx, mutate func(*Header)) []byte {
	h := Header{Height: l.Height() + 1, Prev: l.Tip(), Time: 1, Proposer: proposer}
	st := l.base.child()
	l.beginBlock(st, h.Height)
	for _, tx := range txs {
		if tx.Type == TxReward {
			_ = l.applyReward(st, tx, l.proposerAddr(proposer))
		} else {
			_ = l.applyTx(st, tx)
		}
	}
	l.endBlock(st, l.proposerAddr(proposer))
	h.TxRoot, h.StateRoot = TxRoot(txs), st.root()
	if mutate != nil {
		mutate(&h)
	}
	return NewBlock(h, txs).Encoded()
}

// snapshot is what a rejected tx or block must leave unchanged.
type snapshot struct {
	root      Hash
	pool      int
	poolBytes int
	views     int
	height    uint64
}

func snap(l *Ledger) snapshot {
	txs, bytes := l.PoolSize()
	return snapshot{l.StateRoot(), txs, bytes, len(l.views), l.Height()}
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
