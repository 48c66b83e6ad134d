package node

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/prototest"
	"github.com/dais-sim/dais/protocol/wire"
)

const self protocol.NodeID = 1

type recordedHooks struct {
	suppressed []wire.Msg
	failed     error
	started    []uint64
}

func (r *recordedHooks) hooks() durableHooks {
	return durableHooks{
		after:      func() {},
		stored:     func(uint64, time.Duration) {},
		started:    func(n uint64, _ time.Duration) { r.started = append(r.started, n) },
		suppressed: func(m wire.Msg) { r.suppressed = append(r.suppressed, m) },
		fail:       func(err error) { r.failed = err },
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), StoreFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func emptyLedger(t *testing.T) *chainApp {
	t.Helper()
	l, err := chain.NewLedger(chain.Config{Params: chain.DefaultParams()})
	if err != nil {
		t.Fatal(err)
	}
	return &chainApp{Ledger: l}
}

func vote(h uint64, r uint32, by protocol.NodeID) *bft.Vote {
	return &bft.Vote{Type: bft.Prevote, Height: h, Round: r, Validator: by, Sig: make([]byte, 64)}
}

// TestSigningGuard: after a restart, a validator withholds its own
// proposals and votes for every round up to the last one it recorded as
// signed, lets later ones and other nodes' messages through, and records
// the new last round before they leave.
func TestSigningGuard(t *testing.T) {
	st := openStore(t)
	if err := st.SetSigned(5, 2); err != nil {
		t.Fatal(err)
	}
	out := []wire.Msg{
		&bft.Proposal{Height: 5, Round: 1, Proposer: self, POLRound: -1, Sig: make([]byte, 64)},
		vote(5, 2, self),
		vote(4, 9, self),
		vote(5, 2, 9), // another validator's, relayed
		vote(5, 3, self),
		&bft.Proposal{Height: 6, Round: 0, Proposer: self, POLRound: -1, Sig: make([]byte, 64)},
	}
	inner := protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if _, ok := in.(protocol.Start); ok {
			for _, m := range out {
				env.Send(2, m)
			}
		}
	})
	var rec recordedHooks
	d, err := newDurable(inner, emptyLedger(t), st, self, true, rec.hooks())
	if err != nil {
		t.Fatal(err)
	}
	env := prototest.NewEnv(self, 1)
	d.Handle(env, protocol.Start{})
	var sent []wire.Msg
	for _, s := range env.TakeSent() {
		sent = append(sent, s.Msg)
	}
	if want := []wire.Msg{out[3], out[4], out[5]}; !slices.Equal(sent, want) {
		t.Errorf("sent %v, want %v", sent, want)
	}
	if len(rec.suppressed) != 3 {
		t.Errorf("suppressed %d messages, want 3", len(rec.suppressed))
	}
	if h, r, _ := st.Signed(); h != 6 || r != 0 {
		t.Errorf("store records (%d, %d) as last signed, want (6, 0)", h, r)
	}
	if rec.failed != nil {
		t.Error(rec.failed)
	}
}

// fakeEngine commits one block per Recv of a *bft.Commit (as bft does when
// it catches up) and answers BlockReqs from what it committed, counting
// each answer in its next HeightDone, as bft's validator does.
type fakeEngine struct {
	app     consensus.App
	commits []*bft.Commit
	msgs    uint64
	bytes   uint64
}

func (f *fakeEngine) Handle(env protocol.Env, in protocol.Input) {
	r, ok := in.(protocol.Recv)
	if !ok {
		return
	}
	switch m := r.Msg.(type) {
	case *bft.Commit:
		if m.Height != uint64(len(f.commits)+1) {
			return
		}
		f.app.Commit(m.Height, m.Block, m.BlockHash, env.Now())
		f.commits = append(f.commits, m)
		env.Emit(bft.HeightDone{Height: m.Height, Msgs: f.msgs + 4, Bytes: f.bytes + 400})
		f.msgs, f.bytes = 0, 0
	case *consensus.BlockReq:
		if m.Height >= 1 && m.Height <= uint64(len(f.commits)) && f.commits[m.Height-1] != nil {
			c := f.commits[m.Height-1]
			env.Send(r.From, c)
			f.msgs++
			f.bytes += uint64(c.WireSize())
		}
	}
}

// recordingApp commits by counting: enough for the durable wrapper, which
// reads the committed height back.
type recordingApp struct {
	*chainApp
	heights []uint64
}

func (a *recordingApp) Commit(h uint64, _ []byte, _ consensus.Hash, _ protocol.Time) {
	a.heights = append(a.heights, h)
	a.committed = append(a.committed, h)
}

// TestStoresWhatCommitsAndFixesCounts: every height the engine commits is
// stored (the engine's own commit message), the BlockReq the wrapper uses
// to get it is not counted as traffic, and the store answers a BlockReq
// for a height the engine cannot.
func TestStoresWhatCommitsAndFixesCounts(t *testing.T) {
	st := openStore(t)
	app := &recordingApp{chainApp: emptyLedger(t)}
	eng := &fakeEngine{app: app}
	var rec recordedHooks
	d, err := newDurable(eng, app.chainApp, st, self, true, rec.hooks())
	if err != nil {
		t.Fatal(err)
	}
	env := prototest.NewEnv(self, 1)
	d.Handle(env, protocol.Start{})
	for h := uint64(1); h <= 3; h++ {
		c := &bft.Commit{Height: h, Round: 0, BlockHash: consensus.Hash{byte(h)}, Block: []byte{byte(h)}}
		d.Handle(env, protocol.Recv{From: 2, Msg: c})
		if st.Height() != h {
			t.Fatalf("after committing height %d the store is at %d", h, st.Height())
		}
	}
	if sent := env.TakeSent(); len(sent) != 0 {
		t.Errorf("the wrapper's own BlockReqs leaked to the network: %v", sent)
	}
	for _, s := range env.TakeEvents() {
		if hd, ok := s.Event.(bft.HeightDone); ok && (hd.Msgs != 4 || hd.Bytes != 400) {
			t.Errorf("height %d done with %d msgs, %d bytes; want 4, 400 (the fetch is not traffic)", hd.Height, hd.Msgs, hd.Bytes)
		}
	}
	// The engine forgets height 1 (bft keeps only recent commits); the
	// store still answers for it.
	eng.commits[0] = nil
	d.Handle(env, protocol.Recv{From: 3, Msg: &consensus.BlockReq{Height: 1}})
	sent := env.TakeSent()
	if len(sent) != 1 || sent[0].To != 3 {
		t.Fatalf("BlockReq for a forgotten height: sent %v", sent)
	}
	if c, ok := sent[0].Msg.(*bft.Commit); !ok || c.Height != 1 || c.BlockHash != (consensus.Hash{1}) {
		t.Errorf("answered with %v, want the stored commit of height 1", sent[0].Msg)
	}
	if rec.failed != nil {
		t.Error(rec.failed)
	}
}

// TestFailsWhenTheEngineHidesItsCommit: a commit that cannot be stored
// stops the node rather than letting it act on a block it could lose.
func TestFailsWhenTheEngineHidesItsCommit(t *testing.T) {
	st := openStore(t)
	app := &recordingApp{chainApp: emptyLedger(t)}
	silent := protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if r, ok := in.(protocol.Recv); ok {
			if c, ok := r.Msg.(*bft.Commit); ok {
				app.Commit(c.Height, c.Block, c.BlockHash, 0)
				env.Send(2, vote(c.Height+1, 0, self))
			}
		}
	})
	var rec recordedHooks
	d, err := newDurable(silent, app.chainApp, st, self, true, rec.hooks())
	if err != nil {
		t.Fatal(err)
	}
	env := prototest.NewEnv(self, 1)
	d.Handle(env, protocol.Start{})
	d.Handle(env, protocol.Recv{From: 2, Msg: &bft.Commit{Height: 1, Block: []byte{1}}})
	if rec.failed == nil {
		t.Fatal("the node did not fail")
	}
	env.TakeSent()
	d.Handle(env, protocol.Recv{From: 2, Msg: &bft.Commit{Height: 2, Block: []byte{2}}})
	if len(app.heights) != 1 {
		t.Errorf("a failed node went on committing: %v", app.heights)
	}
	if errors.Is(rec.failed, store.ErrGap) {
		t.Errorf("failed with %v; want the missing commit named", rec.failed)
	}
}

// TestReplayRejectsAForeignStore: stored commits the engine will not
// commit fail the start instead of running on a half-built ledger.
func TestReplayRejectsAForeignStore(t *testing.T) {
	st := openStore(t)
	if err := st.Append(1, wire.Encode(vote(1, 0, 2))); err != nil {
		t.Fatal(err)
	}
	var rec recordedHooks
	d, err := newDurable(protocol.NodeFunc(func(protocol.Env, protocol.Input) {}), emptyLedger(t), st, self, false, rec.hooks())
	if err != nil {
		t.Fatal(err)
	}
	d.Handle(prototest.NewEnv(self, 1), protocol.Start{})
	if rec.failed == nil {
		t.Fatal("replaying a vote as a block did not fail")
	}
	if len(rec.started) != 0 {
		t.Errorf("a failed replay reported a start: %v", rec.started)
	}
}
