package attack_test

import (
	"math"
	"slices"
	"testing"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/attack"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/prototest"
)

// fixed is Work that returns a fixed output.
type fixed struct{ out []float64 }

func (f fixed) Run() (any, error) { return f.out, nil }

const coord protocol.NodeID = 0

var vals = []protocol.NodeID{1, 2}

// honest is a learner whose training always yields delta, with its job
// labelled "honest".
func honest(delta []float64) *learn.Learner {
	return learn.NewLearner(learn.LearnerConfig{Coordinator: coord, Validators: vals, Samples: 10,
		Train: func(protocol.NodeID, uint64, []float64) gpu.Job {
			return gpu.Job{Kind: "honest", Work: fixed{delta}}
		}})
}

func model(round uint64, parent learn.Hash, params []float64) *learn.Model {
	return &learn.Model{Round: round, Parent: parent, Version: learn.VersionOf(parent, params), Params: params}
}

// round drives n through one round on env: the model arrives, each job
// submitted finishes with its own work's output (timers fire as they fall
// due), and what n sent comes back.
func round(t *testing.T, n protocol.Node, env *prototest.Env, m *learn.Model) []prototest.Sent {
	t.Helper()
	n.Handle(env, protocol.Recv{From: coord, Msg: m})
	for _, j := range env.TakeJobs() {
		out, err := j.Job.Work.Run()
		if err != nil {
			t.Fatal(err)
		}
		n.Handle(env, protocol.JobDone{ID: j.ID, Result: gpu.Result{Output: out}})
	}
	env.Advance(protocol.Second)
	return env.TakeSent()
}

// updateOf checks that every receiver got the same update and returns it.
func updateOf(t *testing.T, sent []prototest.Sent) *learn.LocalUpdate {
	t.Helper()
	if len(sent) != 3 || sent[0].To != coord || sent[1].To != vals[0] || sent[2].To != vals[1] {
		t.Fatalf("sent %+v, want one update to the coordinator and each validator", sent)
	}
	u := sent[0].Msg.(*learn.LocalUpdate)
	for _, s := range sent[1:] {
		if s.Msg != sent[0].Msg {
			t.Fatal("receivers got different updates")
		}
	}
	return u
}

func TestScaleUpdates(t *testing.T) {
	delta := []float64{1, -2}
	for _, tc := range []struct {
		node protocol.Node
		want []float64
	}{
		{attack.SignFlip(honest(delta), 1), []float64{-1, 2}},
		{attack.SignFlip(honest(delta), 4), []float64{-4, 8}},
		{attack.ScaleUpdates(honest(delta), 10), []float64{10, -20}},
	} {
		env := prototest.NewEnv(5, 1)
		env.Node = tc.node
		u := updateOf(t, round(t, tc.node, env, model(1, learn.Hash{}, []float64{0, 0})))
		if !slices.Equal(u.Delta, tc.want) || u.Round != 1 || u.Samples != 10 {
			t.Errorf("update %+v, want delta %v", u, tc.want)
		}
	}
	if !slices.Equal(delta, []float64{1, -2}) {
		t.Error("the honest delta was modified in place")
	}
}

// PoisonData runs the driver's poisoned job in place of the honest one,
// with the round and model the honest learner was given.
func TestPoisonData(t *testing.T) {
	var gotRound uint64
	var gotGlobal []float64
	n := attack.PoisonData(honest([]float64{1}), func(id protocol.NodeID, r uint64, global []float64) gpu.Job {
		gotRound, gotGlobal = r, global
		return gpu.Job{Kind: "poisoned", Work: fixed{[]float64{-7}}}
	})
	env := prototest.NewEnv(5, 1)
	params := []float64{3}
	n.Handle(env, protocol.Recv{From: coord, Msg: model(2, learn.Hash{}, params)})
	jobs := env.TakeJobs()
	if len(jobs) != 1 || jobs[0].Job.Kind != "poisoned" || gotRound != 2 || &gotGlobal[0] != &params[0] {
		t.Fatalf("jobs %+v for round %d", jobs, gotRound)
	}
	out, _ := jobs[0].Job.Work.Run()
	n.Handle(env, protocol.JobDone{ID: jobs[0].ID, Result: gpu.Result{Output: out}})
	if u := updateOf(t, env.TakeSent()); !slices.Equal(u.Delta, []float64{-7}) {
		t.Errorf("update %v, want the poisoned delta", u.Delta)
	}
}

// A free rider submits nothing, and Delay later sends zeros, or the last
// change of the global model when stale.
func TestFreeRide(t *testing.T) {
	for _, stale := range []bool{false, true} {
		n := attack.FreeRide(honest([]float64{5, 5}), attack.FreeRideConfig{Stale: stale, Delay: protocol.Second})
		env := prototest.NewEnv(5, 1)
		env.Node = n
		m1 := model(1, learn.Hash{}, []float64{1, 1})
		n.Handle(env, protocol.Recv{From: coord, Msg: m1})
		if len(env.TakeJobs()) != 0 || len(env.TakeSent()) != 0 {
			t.Fatal("the free rider trained, or answered before its delay")
		}
		env.Advance(protocol.Second)
		if u := updateOf(t, env.TakeSent()); !slices.Equal(u.Delta, []float64{0, 0}) || u.Samples != 10 {
			t.Errorf("stale=%v round 1: update %+v, want zeros claiming 10 samples", stale, u)
		}
		n.Handle(env, protocol.Recv{From: coord, Msg: model(2, m1.Version, []float64{1.5, 0})})
		env.Advance(protocol.Second)
		want := []float64{0, 0}
		if stale {
			want = []float64{0.5, -1}
		}
		if u := updateOf(t, env.TakeSent()); !slices.Equal(u.Delta, want) {
			t.Errorf("stale=%v round 2: delta %v, want %v", stale, u.Delta, want)
		}
		if len(env.TakeJobs()) != 0 {
			t.Error("the free rider trained")
		}
	}
}

func TestLittleIsEnough(t *testing.T) {
	var asked learn.Hash
	stats := func(r uint64, base learn.Hash) ([]float64, []float64, bool) {
		asked = base
		if r == 2 {
			return nil, nil, false
		}
		return []float64{1, 2}, []float64{0.5, 0}, true
	}
	n := attack.LittleIsEnough(honest([]float64{9, 9}), 1.5, stats)
	env := prototest.NewEnv(5, 1)
	env.Node = n
	m1 := model(1, learn.Hash{}, []float64{0, 0})
	if u := updateOf(t, round(t, n, env, m1)); !slices.Equal(u.Delta, []float64{1 - 1.5*0.5, 2}) || asked != m1.Version {
		t.Errorf("update %v (stats asked for %v), want mean − 1.5·sd", u.Delta, asked)
	}
	// Without statistics the honest update goes out.
	if u := updateOf(t, round(t, n, env, model(2, m1.Version, []float64{0, 0}))); !slices.Equal(u.Delta, []float64{9, 9}) {
		t.Errorf("update %v without statistics, want the honest one", u.Delta)
	}
}

// z_max of Baruch et al.: n = 50, m = 12 gives s = 14 and Φ⁻¹(36/50).
func TestALIEZ(t *testing.T) {
	for _, tc := range []struct {
		n, m int
		want float64
	}{
		{50, 12, 0.5828415072712162}, // Φ⁻¹(0.72)
		{20, 6, 0.6744897501960817},  // s = 5: Φ⁻¹(0.75)
		{20, 1, 0},                   // s = 10: Φ⁻¹(0.5)
		{20, 0, 0},
		{10, 9, 1.6448536269514729}, // capped at Φ⁻¹(1 − 1/20)
	} {
		if got := attack.ALIEZ(tc.n, tc.m); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("ALIEZ(%d, %d) = %v, want %v", tc.n, tc.m, got, tc.want)
		}
	}
}

// A colluding validator reports its coalition's updates as the best it
// scored, and leaves everyone else's score alone.
func TestInflateScores(t *testing.T) {
	inner := learn.NewValidator(learn.ValidatorConfig{Coordinator: coord,
		Score: func(_ protocol.NodeID, _ uint64, _ []float64, deltas [][]float64) gpu.Job {
			out := make([]float64, len(deltas))
			for i, d := range deltas {
				out[i] = d[0]
			}
			return gpu.Job{Work: fixed{out}}
		}})
	n := attack.InflateScores(inner, []protocol.NodeID{11, 13})
	env := prototest.NewEnv(1, 1)
	m := model(1, learn.Hash{}, []float64{0})
	n.Handle(env, protocol.Recv{From: coord, Msg: m})
	for i, d := range []float64{0.3, -5, 0.1, math.NaN()} {
		n.Handle(env, protocol.Recv{From: protocol.NodeID(10 + i), Msg: &learn.LocalUpdate{Round: 1, Base: m.Version, Delta: []float64{d}}})
	}
	n.Handle(env, protocol.Recv{From: coord, Msg: &learn.ScoreRequest{Round: 1, Version: m.Version, Learners: []protocol.NodeID{10, 11, 12, 13}}})
	jobs := env.TakeJobs()
	out, _ := jobs[0].Job.Work.Run()
	n.Handle(env, protocol.JobDone{ID: jobs[0].ID, Result: gpu.Result{Output: out}})
	s := env.TakeSent()[0].Msg.(*learn.Scores)
	// 13's NaN update never reached scoring: the validator drops it.
	if !slices.Equal(s.Learners, []protocol.NodeID{10, 11, 12}) || !slices.Equal(s.Scores, []float64{0.3, 0.3, 0.1}) {
		t.Errorf("scores %v for %v, want 11 raised to the best (0.3)", s.Scores, s.Learners)
	}
}
