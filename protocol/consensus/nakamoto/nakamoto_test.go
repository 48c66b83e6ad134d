package nakamoto_test

import (
	"math"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/consensustest"
	"github.com/dais-sim/dais/protocol/consensus/nakamoto"
	"github.com/dais-sim/dais/protocol/prototest"
)

// chain makes blocks on top of parent; maker tells branches apart.
func chain(parent *nakamoto.Block, parentHash consensus.Hash, n int, maker protocol.NodeID) ([]*nakamoto.Block, []consensus.Hash) {
	app := consensustest.NewApp(0)
	h := uint64(0)
	if parent != nil {
		h = parent.Height
	}
	var bs []*nakamoto.Block
	var hs []consensus.Hash
	for i := 0; i < n; i++ {
		h++
		body, hash := app.MakeBlock(h, parentHash, maker, protocol.Time(h))
		bs = append(bs, &nakamoto.Block{Height: h, Parent: parentHash, Miner: maker, Time: protocol.Time(h), Body: body})
		hs = append(hs, hash)
		parentHash = hash
	}
	return bs, hs
}

type harness struct {
	n   *nakamoto.Node
	app *consensustest.App
	env *prototest.Env
}

func newHarness(k int) *harness {
	app := consensustest.NewApp(0)
	app.Keep = true
	n := nakamoto.New(nakamoto.Config{App: app, Peers: []protocol.NodeID{1, 2}, Confirmations: k})
	env := prototest.NewEnv(0, 1)
	env.Node = n
	n.Handle(env, protocol.Start{})
	return &harness{n, app, env}
}

func (h *harness) recv(from protocol.NodeID, bs ...*nakamoto.Block) {
	for _, b := range bs {
		h.n.Handle(h.env, protocol.Recv{From: from, Msg: b})
	}
}

func (h *harness) events() (reorgs []nakamoto.Reorg, deep int, committed []uint64) {
	for _, e := range h.env.TakeEvents() {
		switch ev := e.Event.(type) {
		case nakamoto.Reorg:
			reorgs = append(reorgs, ev)
		case nakamoto.DeepFork:
			deep++
		case consensus.Committed:
			committed = append(committed, ev.Height)
		}
	}
	return
}

// TestForkChoice: the longer branch wins, a tie keeps the first seen, a
// switch is reported with its depth, and a block is committed only when
// Confirmations blocks sit on it.
func TestForkChoice(t *testing.T) {
	h := newHarness(2)
	a, ah := chain(nil, consensus.Hash{}, 2, 1) // a1 a2
	h.recv(1, a...)
	if tip, hash := h.n.Tip(); tip != 2 || hash != ah[1] || h.app.Height() != 0 {
		t.Fatalf("tip %d, committed %d; want a2 and nothing committed", tip, h.app.Height())
	}
	b, bh := chain(a[0], ah[0], 2, 2) // b2 b3 on a1
	h.recv(2, b[0])
	if _, hash := h.n.Tip(); hash != ah[1] {
		t.Fatalf("a tie moved the tip to the block seen second")
	}
	h.recv(2, b[1])
	reorgs, _, committed := h.events()
	if tip, hash := h.n.Tip(); tip != 3 || hash != bh[1] {
		t.Fatalf("tip at height %d, want b3", tip)
	}
	if len(reorgs) != 1 || reorgs[0].Depth != 1 || reorgs[0].Height != 3 {
		t.Errorf("reorgs %+v, want one of depth 1 to height 3", reorgs)
	}
	// Height 3 with 2 confirmations: height 1 is final, height 2 not yet.
	if len(committed) != 1 || committed[0] != 1 || h.app.Hashes()[0] != ah[0] {
		t.Errorf("committed %v, want height 1 (a1)", committed)
	}
	// Relayed: every new block went to the peers other than its sender.
	relayed := 0
	for _, s := range h.env.TakeSent() {
		if _, ok := s.Msg.(*nakamoto.Block); ok {
			relayed++
		}
	}
	if relayed != 4 {
		t.Errorf("relayed %d copies of 4 blocks to 2 peers minus senders, want 4", relayed)
	}
}

// TestOrphansFetchParents: a block whose parent is unknown is held and the
// oldest missing ancestor asked for; when it comes, the held blocks follow.
func TestOrphansFetchParents(t *testing.T) {
	h := newHarness(1)
	x, xh := chain(nil, consensus.Hash{}, 3, 1)
	h.recv(2, x[2])
	h.recv(1, x[1])
	var asked []consensus.Hash
	for _, s := range h.env.TakeSent() {
		if r, ok := s.Msg.(*consensus.BlockReq); ok {
			asked = append(asked, r.Hash)
		}
	}
	if len(asked) != 2 || asked[0] != xh[1] || asked[1] != xh[0] {
		t.Fatalf("asked for %x, want x2 then x1", asked)
	}
	h.recv(1, x[0])
	if tip, hash := h.n.Tip(); tip != 3 || hash != xh[2] || h.app.Height() != 2 {
		t.Fatalf("tip %d, committed %d; want x3 and 2 committed", tip, h.app.Height())
	}
	// It relayed each block away from its sender, and serves what it has.
	if s := h.env.TakeSent(); len(s) != 3 || s[0].To != 2 || s[1].To != 2 || s[2].To != 1 {
		t.Errorf("relayed %+v, want x1 and x2 to node 2, x3 to node 1", s)
	}
	h.n.Handle(h.env, protocol.Recv{From: 5, Msg: &consensus.BlockReq{Hash: xh[1]}})
	if s := h.env.TakeSent(); len(s) != 1 || s[0].Msg != x[1] {
		t.Errorf("answered %+v, want x2", s)
	}
}

// TestNoRollback: a longer branch that forks below the committed height
// would roll App.Commit back; the node stays on its chain and says so.
func TestNoRollback(t *testing.T) {
	h := newHarness(1)
	a, ah := chain(nil, consensus.Hash{}, 3, 1)
	h.recv(1, a...)
	b, _ := chain(nil, consensus.Hash{}, 5, 2)
	h.recv(2, b...)
	_, deep, _ := h.events()
	if _, hash := h.n.Tip(); hash != ah[2] || h.app.Height() != 2 || deep == 0 {
		t.Fatalf("committed %d, %d deep forks; want to stay on a3 with 2 committed and the fork reported", h.app.Height(), deep)
	}
}

// TestMiningRate: a node with the whole hash power finds blocks at
// 1/Interval, on its own tip.
func TestMiningRate(t *testing.T) {
	app := consensustest.NewApp(0)
	n := nakamoto.New(nakamoto.Config{App: app, Peers: []protocol.NodeID{1}, Interval: protocol.Second, Share: 1, Confirmations: 3})
	env := prototest.NewEnv(0, 42)
	env.Node = n
	n.Handle(env, protocol.Start{})
	env.Advance(4000 * protocol.Second)
	tip, _ := n.Tip()
	// Poisson with mean 4000: ±3σ is ±190.
	if math.Abs(float64(tip)-4000) > 190 {
		t.Errorf("%d blocks in 4000 intervals", tip)
	}
	if app.Height() != tip-3 {
		t.Errorf("committed %d with tip %d and 3 confirmations", app.Height(), tip)
	}
}

// TestRestore: a node rebuilt from another's committed blocks (a store
// replayed after a restart) has them committed at once, follows the
// blocks mined since, refuses a block that does not extend its committed
// chain, and does not follow a branch forking below what it restored.
func TestRestore(t *testing.T) {
	a := newHarness(2)
	x, xh := chain(nil, consensus.Hash{}, 6, 1)
	a.recv(1, x...)
	if a.app.Height() != 4 {
		t.Fatalf("the source committed %d, want 4", a.app.Height())
	}
	if _, ok := a.n.Block(consensus.Hash{1}); ok {
		t.Fatal("Block handed out a block the node never saw")
	}
	app := consensustest.NewApp(0)
	app.Keep = true
	n := nakamoto.New(nakamoto.Config{App: app, Peers: []protocol.NodeID{1}, Confirmations: 2})
	env := prototest.NewEnv(0, 1)
	env.Node = n
	for h := uint64(1); h <= 4; h++ {
		b, ok := a.n.Block(xh[h-1])
		if !ok || b != x[h-1] {
			t.Fatalf("Block(x%d) = %v, %v", h, b, ok)
		}
		if err := n.Restore(env, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Restore(env, x[5]); err == nil {
		t.Error("restored height 6 on height 4")
	}
	if h, hash := n.Committed(); h != 4 || hash != xh[3] || app.Height() != 4 {
		t.Fatalf("restored node committed %d (app %d), want 4", h, app.Height())
	}
	if tip, _ := n.Tip(); tip != 4 {
		t.Fatalf("tip %d after restoring 4 blocks", tip)
	}
	n.Handle(env, protocol.Start{})
	// A longer branch forking at height 2, below what was restored, is not followed.
	y, _ := chain(x[1], xh[1], 5, 2)
	for _, b := range y {
		n.Handle(env, protocol.Recv{From: 1, Msg: b})
	}
	if _, hash := n.Committed(); hash != xh[3] || app.Height() != 4 {
		t.Fatalf("a branch forking below the restored height rolled the node back to %d", app.Height())
	}
	more, mh := chain(x[5], xh[5], 1, 1) // x7
	for _, b := range append(x[4:], more...) {
		n.Handle(env, protocol.Recv{From: 1, Msg: b})
	}
	if h, hash := n.Committed(); h != 5 || hash != xh[4] || app.Height() != 5 {
		t.Errorf("committed %d after x5…x7 came, want 5 (x5)", h)
	}
	if tip, hash := n.Tip(); tip != 7 || hash != mh[0] {
		t.Errorf("tip %d, want x7", tip)
	}
}
