package consensus_test

import (
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/consensustest"
	"github.com/dais-sim/dais/protocol/prototest"
	"github.com/dais-sim/dais/protocol/wire"
)

type note struct{ s string }

func (note) Kind() string { return "test.note" }

// sinkApp takes every BlockReq of height 1 and refuses the others, and
// reports each commit.
type sinkApp struct {
	*consensustest.App
	silent bool
}

func (a *sinkApp) ReceiveTx(m wire.Msg) (bool, metrics.Event) {
	if r, ok := m.(*consensus.BlockReq); ok && r.Height == 1 {
		return true, nil
	}
	return false, note{"refused"}
}

func (a *sinkApp) CommitEvent() metrics.Event {
	if a.silent {
		return nil
	}
	return note{"applied"}
}

// TestOptionalAbilities: Commit applies the block, then emits Committed and
// the App's report (none from an App that has none, or returns nil);
// OfferTx hands a message to an App that takes them and emits what it
// measured.
func TestOptionalAbilities(t *testing.T) {
	env := prototest.NewEnv(0, 1)
	plain := consensustest.NewApp(0)
	block, hash := plain.MakeBlock(1, consensus.Hash{}, 0, 0)
	c := consensus.Committed{Height: 1, Hash: hash}
	consensus.Commit(env, plain, c, block)
	if evs := env.TakeEvents(); len(evs) != 1 || evs[0].Event != c || plain.Height() != 1 {
		t.Fatalf("plain App: events %v, height %d; want Committed alone and the block applied", evs, plain.Height())
	}
	if consensus.OfferTx(env, plain, &consensus.BlockReq{Height: 1}) || len(env.TakeEvents()) != 0 {
		t.Fatal("an App without TxSink took a message")
	}
	app := &sinkApp{App: consensustest.NewApp(0)}
	consensus.Commit(env, app, c, block)
	if evs := env.TakeEvents(); len(evs) != 2 || evs[0].Event != c || evs[1].Event != (note{"applied"}) {
		t.Fatalf("reporting App: events %v, want Committed then its report", evs)
	}
	app2 := &sinkApp{App: consensustest.NewApp(0), silent: true}
	consensus.Commit(env, app2, c, block)
	if evs := env.TakeEvents(); len(evs) != 1 {
		t.Fatalf("a nil report was emitted: %v", evs)
	}
	if !consensus.OfferTx(env, app, &consensus.BlockReq{Height: 1}) || len(env.TakeEvents()) != 0 {
		t.Fatal("the App's message was not taken, or an event came with it")
	}
	if consensus.OfferTx(env, app, &consensus.BlockReq{Height: 2}) {
		t.Fatal("a refused message was taken")
	}
	if evs := env.TakeEvents(); len(evs) != 1 || evs[0].Event != (note{"refused"}) {
		t.Fatalf("events %v, want the App's refusal", evs)
	}
}
