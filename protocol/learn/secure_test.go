package learn

import (
	"math"
	"slices"
	"testing"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/prototest"
	"github.com/dais-sim/dais/protocol/secagg"
)

// pump drives a coordinator and its learners synchronously: every message
// is delivered in the order sent, jobs finish at once, and when nothing
// is in flight the coordinator's earliest timer fires. drop(from, m)
// discards a message in flight (a learner gone silent).
type pump struct {
	envs  map[protocol.NodeID]*prototest.Env
	nodes map[protocol.NodeID]protocol.Node
	ids   []protocol.NodeID
	drop  func(from protocol.NodeID, m any) bool
}

func (p *pump) add(id protocol.NodeID, n protocol.Node) {
	env := prototest.NewEnv(id, 7)
	env.Node = n
	p.envs[id], p.nodes[id] = env, n
	p.ids = append(p.ids, id)
}

func (p *pump) run(t *testing.T, done func() bool) {
	for _, id := range p.ids {
		p.nodes[id].Handle(p.envs[id], protocol.Start{})
	}
	for steps := 0; !done(); steps++ {
		if steps > 100000 {
			t.Fatal("the round does not end")
		}
		moved := false
		for _, id := range p.ids {
			env := p.envs[id]
			for _, j := range env.TakeJobs() {
				out, err := j.Job.Work.Run()
				res := gpu.Result{Output: out}
				if err != nil {
					res.Err = err.Error()
				}
				p.nodes[id].Handle(env, protocol.JobDone{ID: j.ID, Result: res})
				moved = true
			}
			for _, s := range env.TakeSent() {
				moved = true
				if p.drop != nil && p.drop(id, s.Msg) {
					continue
				}
				if to, ok := p.nodes[s.To]; ok {
					to.Handle(p.envs[s.To], protocol.Recv{From: id, Msg: s.Msg})
				}
			}
		}
		if !moved {
			c := p.envs[coord]
			ts := c.Timers()
			if len(ts) == 0 {
				t.Fatal("nothing in flight and no timer")
			}
			c.Advance(ts[0].At.Sub(c.Now()))
		}
	}
}

// secureRound runs one round of n learners with secure aggregation;
// learner i trains the delta deltas[i] over samples[i] rows, and those
// for which silent(i) drop out after sharing.
func secureRound(t *testing.T, deltas [][]float64, samples []uint64, silent func(i int) bool) (Committed, SecureRound, []Scored) {
	n := len(deltas)
	var learners []protocol.NodeID
	for i := range n {
		learners = append(learners, protocol.NodeID(10+i))
	}
	initial := []float64{1, -2, 0.5}
	c := NewCoordinator(CoordinatorConfig{Learners: learners, Rounds: 1, Initial: initial, Rule: func(int) Rule { return FedAvg{} },
		RoundTimeout: 10 * protocol.Second, Pot: 900,
		Secure: &SecureConfig{Threshold: 2.0 / 3, FracBits: 24, StepTimeout: protocol.Second}})
	p := &pump{envs: map[protocol.NodeID]*prototest.Env{}, nodes: map[protocol.NodeID]protocol.Node{}}
	p.add(coord, c)
	for i, id := range learners {
		d := deltas[i]
		p.add(id, NewLearner(LearnerConfig{Coordinator: coord, Samples: samples[i], Secure: &SecureLearner{FracBits: 24},
			Train: func(protocol.NodeID, uint64, []float64) gpu.Job {
				return gpu.Job{Kind: "train", Work: fixed{slices.Clone(d)}}
			}}))
	}
	p.drop = func(from protocol.NodeID, m any) bool {
		switch m.(type) {
		case *secagg.Masked, *secagg.Unmask:
			return from >= 10 && silent(int(from-10))
		}
		return false
	}
	p.run(t, func() bool { return c.phase == done })
	evs := p.envs[coord].TakeEvents()
	cs, rs := eventsOf[Committed](evs), eventsOf[SecureRound](evs)
	if len(cs) != 2 || len(rs) != 1 {
		t.Fatalf("%d commits, %d secure rounds", len(cs), len(rs))
	}
	return cs[1], rs[0], eventsOf[Scored](evs)
}

// TestSecureRoundIsFedAvg: a round aggregated securely commits the
// weighted mean of the survivors' updates, as FedAvg does, to within the
// fixed-point rounding; the learners in the sum share the pot equally;
// with more learners silent than n − t the round is skipped and says
// where it failed.
func TestSecureRoundIsFedAvg(t *testing.T) {
	deltas := [][]float64{{0.1, 0.2, -0.3}, {-0.05, 0.4, 0.01}, {0.3, -0.1, 0.2}, {0, 0, 0.7}, {0.25, 0.25, -0.25}, {1, -1, 0.5}}
	samples := []uint64{10, 20, 30, 40, 50, 60}
	for _, tc := range []struct {
		name   string
		silent func(i int) bool
		fail   bool
	}{
		{"all", func(int) bool { return false }, false},
		{"two silent", func(i int) bool { return i == 1 || i == 4 }, false},
		{"three silent", func(i int) bool { return i < 3 }, true}, // t = 4 of 6
	} {
		t.Run(tc.name, func(t *testing.T) {
			com, sr, scored := secureRound(t, deltas, samples, tc.silent)
			if tc.fail {
				if !com.Skipped || sr.Failed != secagg.PhaseMasked || sr.Masked != 3 || sr.Threshold != 4 {
					t.Fatalf("commit %+v, secure round %+v: want a skipped round failed at %q", com, sr, secagg.PhaseMasked)
				}
				if !slices.Equal(com.Params, []float64{1, -2, 0.5}) || len(scored) != 0 {
					t.Fatalf("a failed round moved the model to %v or paid %d learners", com.Params, len(scored))
				}
				return
			}
			var us []Update
			for i, d := range deltas {
				if !tc.silent(i) {
					us = append(us, Update{Delta: d, Weight: float64(samples[i])})
				}
			}
			want, _ := FedAvg{}.Aggregate(us)
			for i, x := range []float64{1, -2, 0.5} {
				want[i] += x
			}
			for i := range want {
				if math.Abs(com.Params[i]-want[i]) > 1e-6 {
					t.Fatalf("secure params %v, FedAvg %v", com.Params, want)
				}
			}
			if sr.Failed != "" || sr.Masked != len(us) || com.Updates != len(us) {
				t.Fatalf("secure round %+v, commit %+v", sr, com)
			}
			var paid uint64
			for _, s := range scored {
				if s.Payout != scored[0].Payout {
					t.Fatalf("unequal payouts %+v", scored)
				}
				paid += s.Payout
			}
			if len(scored) != len(us) || paid != 900 {
				t.Fatalf("%d learners paid %d, want %d paid 900", len(scored), paid, len(us))
			}
		})
	}
}
