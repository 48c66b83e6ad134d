package nakamoto_test

import (
	"testing"

	"github.com/dais-sim/dais/protocol"
	ledger "github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/nakamoto"
	"github.com/dais-sim/dais/protocol/prototest"
)

func newLedger(t *testing.T) *ledger.Ledger {
	t.Helper()
	l, err := ledger.NewLedger(ledger.Config{Genesis: ledger.GenesisFor(9, 3, 1000*ledger.Token, 0), Params: ledger.DefaultParams(), KeySeed: 9})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLedgerOrphansWaitForTheirParent: the ledger checks a block by
// replaying it on its parent's state, so it cannot judge a block whose
// parent it has not seen (consensus.ErrUnknownParent). Such blocks are
// held, not dropped: delivered newest first, a chain of ledger blocks is
// accepted, checked and committed once its first block arrives. A held
// block that turns out invalid is dropped with its descendants.
func TestLedgerOrphansWaitForTheirParent(t *testing.T) {
	miner := newLedger(t)
	var blocks []*nakamoto.Block
	var hashes []consensus.Hash
	parent := consensus.Hash{}
	for h := uint64(1); h <= 4; h++ {
		body, hash := miner.MakeBlock(h, parent, 1, protocol.Time(h))
		blocks = append(blocks, &nakamoto.Block{Height: h, Parent: parent, Miner: 1, Time: protocol.Time(h), Body: body})
		hashes = append(hashes, hash)
		parent = hash
	}
	// A fork of block 3 whose body is corrupt (one byte of its state root
	// flipped), and a child of it.
	bad := append([]byte(nil), blocks[2].Body...)
	bad[len(bad)-5] ^= 1
	badHash, err := newLedger(t).CheckBlock(3, hashes[1], bad)
	if err == nil {
		t.Fatal("the corrupt block is valid")
	}
	kidBody := ledger.NewBlock(ledger.Header{Height: 4, Prev: badHash, Time: 9, Proposer: 2}, nil).Encoded()
	badKid := &nakamoto.Block{Height: 4, Parent: badHash, Miner: 2, Time: 9, Body: kidBody}

	l := newLedger(t)
	n := nakamoto.New(nakamoto.Config{App: l, Peers: []protocol.NodeID{1, 2}, Confirmations: 1})
	env := prototest.NewEnv(0, 1)
	env.Node = n
	n.Handle(env, protocol.Start{})
	recv := func(b *nakamoto.Block) { n.Handle(env, protocol.Recv{From: 1, Msg: b}) }
	recv(badKid)
	recv(&nakamoto.Block{Height: 3, Parent: hashes[1], Miner: 2, Time: 8, Body: bad})
	for i := 3; i >= 1; i-- {
		recv(blocks[i])
		if tip, _ := n.Tip(); tip != 0 {
			t.Fatalf("block %d without its parents moved the tip to %d", i+1, tip)
		}
	}
	recv(blocks[0])
	if tip, hash := n.Tip(); tip != 4 || hash != hashes[3] {
		t.Fatalf("tip at %d after the first block arrived, want 4", tip)
	}
	// 1 confirmation: 3 committed, each followed by the ledger's report.
	var reports []uint64
	for _, e := range env.TakeEvents() {
		if a, ok := e.Event.(ledger.Applied); ok {
			reports = append(reports, a.Height)
		}
	}
	if l.Height() != 3 || l.Tip() != hashes[2] || len(reports) != 3 {
		t.Fatalf("ledger at height %d, %d reports; want height 3 (block 3) and 3 reports", l.Height(), len(reports))
	}
	// The corrupt block and its child were dropped, not kept as orphans:
	// offered again, the child is held and its parent asked for anew.
	env.TakeSent()
	recv(badKid)
	asked := false
	for _, s := range env.TakeSent() {
		if r, ok := s.Msg.(*consensus.BlockReq); ok && r.Hash == badHash {
			asked = true
		}
	}
	if !asked {
		t.Fatal("the corrupt block's child was still held: its parent was not asked for again")
	}
}

// TestTransactionsAreFlooded: a transaction the ledger adds is relayed to
// the peers but its sender; a copy, or a message that is no transaction,
// is not.
func TestTransactionsAreFlooded(t *testing.T) {
	l := newLedger(t)
	n := nakamoto.New(nakamoto.Config{App: l, Peers: []protocol.NodeID{1, 2, 3}, Confirmations: 1})
	env := prototest.NewEnv(0, 1)
	n.Handle(env, protocol.Start{})
	tx := ledger.Sign(ledger.KeyFor(9, 1), ledger.NewTransfer(0, 10_000, ledger.AddressOf(ledger.KeyFor(9, 2)), 5))
	n.Handle(env, protocol.Recv{From: 2, Msg: tx})
	n.Handle(env, protocol.Recv{From: 3, Msg: tx})
	sent := env.TakeSent()
	if len(sent) != 2 || sent[0].To != 1 || sent[1].To != 3 || sent[0].Msg != tx {
		t.Fatalf("relayed %+v, want the tx to nodes 1 and 3, once", sent)
	}
	if txs, _ := l.PoolSize(); txs != 1 {
		t.Fatalf("%d txs in the mempool, want 1", txs)
	}
}
