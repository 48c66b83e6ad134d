package attack

import (
	"testing"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/prototest"
	"github.com/dais-sim/dais/protocol/verify"
)

var unitSpec = market.Spec{Kind: market.Compute, Units: 100, UnitFLOPs: 1e14, Steps: 16}

// run hands n assignments to a provider node and runs whatever it
// submits; it returns the results sent, in order, and the fakes emitted.
func runUnits(t *testing.T, n protocol.Node, env *prototest.Env, units int, root bool) ([]*market.Result, int) {
	t.Helper()
	var out []*market.Result
	fakes := 0
	for u := range units {
		n.Handle(env, protocol.Recv{From: 0, Msg: &market.Assign{Job: chain.JobID{1}, Unit: uint32(u), Spec: unitSpec, Root: root}})
		for _, j := range env.TakeJobs() {
			n.Handle(env, protocol.JobDone{ID: j.ID, Result: gpu.Result{DurationNs: 1e9}})
		}
		for _, s := range env.TakeSent() {
			if r, ok := s.Msg.(*market.Result); ok {
				out = append(out, r)
			}
		}
		for _, e := range env.TakeEvents() {
			if _, ok := e.Event.(Faked); ok {
				fakes++
			}
		}
	}
	return out, fakes
}

func TestLazyWorkFakesAFraction(t *testing.T) {
	env := prototest.NewEnv(1, 7)
	n := LazyWork(&market.Provider{Committee: 0}, LazyConfig{Fraction: 0.5})
	n.Handle(env, protocol.Start{})
	env.TakeSent()
	res, fakes := runUnits(t, n, env, 400, false)
	bad := 0
	for _, r := range res {
		if r.Result != verify.Honest(r.Job, r.Unit, unitSpec.Steps) {
			bad++
		}
	}
	if len(res) != 400 || bad != fakes || bad < 160 || bad > 240 {
		t.Errorf("%d results, %d wrong, %d fakes emitted: want 400, about 200, equal", len(res), bad, fakes)
	}
}

func TestFreeRiderIsStale(t *testing.T) {
	env := prototest.NewEnv(1, 7)
	n := LazyWork(&market.Provider{Committee: 0}, LazyConfig{Fraction: 1, Stale: true, Start: protocol.Time(protocol.Second)})
	n.Handle(env, protocol.Start{})
	env.TakeSent()
	honest, _ := runUnits(t, n, env, 1, false) // before Start: computed
	env.SetNow(protocol.Time(2 * protocol.Second))
	res, fakes := runUnits(t, n, env, 5, false)
	if fakes != 5 {
		t.Fatalf("%d fakes after the start, want 5", fakes)
	}
	for _, r := range res {
		if r.Result != honest[0].Result {
			t.Errorf("unit %d: %x, want the stale result %x", r.Unit, r.Result[:4], honest[0].Result[:4])
		}
	}
}

// A faked trajectory is honest up to a step and invented after it: the
// bisection game against an honest one ends exactly on that step, and the
// fake's reveals verify against the root it committed.
func TestLazyWorkPlaysItsDispute(t *testing.T) {
	env := prototest.NewEnv(1, 3)
	n := LazyWork(&market.Provider{Committee: 0}, LazyConfig{Fraction: 1})
	n.Handle(env, protocol.Start{})
	env.TakeSent()
	res, _ := runUnits(t, n, env, 1, true)
	r := res[0]
	honest := verify.Trajectory(r.Job, r.Unit, unitSpec.Steps)
	g := verify.NewDispute(unitSpec.Steps)
	for !g.Done() {
		q := &market.DisputeQuery{Job: r.Job, Unit: r.Unit, Step: g.Query(), Steps: unitSpec.Steps}
		n.Handle(env, protocol.Recv{From: 0, Msg: q})
		rv := env.TakeSent()[0].Msg.(*market.DisputeReveal)
		if !verify.VerifyProof(r.Root, int(unitSpec.Steps)+1, int(q.Step), rv.Checkpoint, rv.Proof) {
			t.Fatalf("the fake's reveal at %d does not verify against its root", q.Step)
		}
		g.Answer(honest[q.Step], rv.Checkpoint)
	}
	// The referee re-executes the step and finds the fake wrong after it.
	n.Handle(env, protocol.Recv{From: 0, Msg: &market.DisputeQuery{Job: r.Job, Unit: r.Unit, Step: g.Step() + 1, Steps: unitSpec.Steps}})
	after := env.TakeSent()[0].Msg.(*market.DisputeReveal)
	if after.Checkpoint == honest[g.Step()+1] {
		t.Errorf("the dispute ended on step %d, where the fake is still honest", g.Step())
	}
}

func TestApproveRing(t *testing.T) {
	env := prototest.NewEnv(4, 1)
	v := ApproveRing(&market.Validator{Committee: 0}, []protocol.NodeID{9, 3})
	v.Handle(env, protocol.Start{})
	env.TakeSent()
	claim := verify.Hash{0xba, 0xd}
	// A ring member's claim is approved at once, with no GPU work.
	v.Handle(env, protocol.Recv{From: 0, Msg: &market.Replay{Check: 1, Spec: unitSpec, Whole: true, Provider: 3, Claimed: claim}})
	if len(env.TakeJobs()) != 0 {
		t.Error("the ring's replay was computed")
	}
	if got := env.TakeSent()[0].Msg.(*market.Verdict); got.Result != claim {
		t.Errorf("verdict %x, want the claim", got.Result[:2])
	}
	// Anyone else's is re-executed honestly.
	v.Handle(env, protocol.Recv{From: 0, Msg: &market.Replay{Check: 2, Spec: unitSpec, Whole: true, Provider: 4, Claimed: claim}})
	jobs := env.TakeJobs()
	if len(jobs) != 1 {
		t.Fatal("an outsider's replay was not computed")
	}
	v.Handle(env, protocol.JobDone{ID: jobs[0].ID})
	if got := env.TakeSent()[0].Msg.(*market.Verdict); got.Result != verify.Honest(chain.JobID{}, 0, unitSpec.Steps) {
		t.Error("the outsider's verdict is not the honest result")
	}
}
