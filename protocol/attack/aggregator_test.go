package attack_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/attack"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/prototest"
)

// committeeRun is a coordinator, three learners and an aggregator
// committee of a members, the last liars of them lying, exchanging
// messages synchronously (in ascending node order) for rounds rounds.
type committeeRun struct {
	commits  []learn.Committed
	dissents []learn.Dissent
	liars    []protocol.NodeID
}

func runCommittee(t *testing.T, a, liars, rounds int) committeeRun {
	t.Helper()
	learners := []protocol.NodeID{10, 11, 12}
	var aggs []protocol.NodeID
	for i := range a {
		aggs = append(aggs, protocol.NodeID(20+i))
	}
	rule := func(int) learn.Rule { return learn.FedAvg{} }
	nodes := map[protocol.NodeID]protocol.Node{}
	envs := map[protocol.NodeID]*prototest.Env{}
	var ids []protocol.NodeID
	add := func(id protocol.NodeID, n protocol.Node) {
		nodes[id], envs[id] = n, prototest.NewEnv(id, 1)
		ids = append(ids, id)
	}
	add(coord, learn.NewCoordinator(learn.CoordinatorConfig{Learners: learners, Rounds: uint64(rounds),
		Initial: []float64{1, 2}, Rule: rule, RoundTimeout: protocol.Second, ScoreTimeout: protocol.Second,
		Aggregators: aggs}))
	for i, id := range learners {
		delta := []float64{float64(i) - 1, 0.5 * float64(i+1)}
		add(id, learn.NewLearner(learn.LearnerConfig{Coordinator: coord, Aggregators: aggs, Samples: uint64(10 + i),
			Train: func(protocol.NodeID, uint64, []float64) gpu.Job { return gpu.Job{Kind: "train", Work: fixed{delta}} }}))
	}
	var run committeeRun
	for i, id := range aggs {
		var n protocol.Node = learn.NewAggregator(learn.AggregatorConfig{Coordinator: coord, Rule: rule})
		if i >= a-liars {
			n = attack.LieAggregate(n, -1)
			run.liars = append(run.liars, id)
		}
		add(id, n)
	}
	type msg struct {
		from protocol.NodeID
		s    prototest.Sent
	}
	var queue []msg
	drain := func() {
		for _, id := range ids {
			env := envs[id]
			for _, j := range env.TakeJobs() {
				out, err := j.Job.Work.Run()
				if err != nil {
					t.Fatal(err)
				}
				nodes[id].Handle(env, protocol.JobDone{ID: j.ID, Result: gpu.Result{Output: out}})
			}
			for _, s := range env.TakeSent() {
				queue = append(queue, msg{id, s})
			}
			for _, e := range env.TakeEvents() {
				switch ev := e.Event.(type) {
				case learn.Committed:
					run.commits = append(run.commits, ev)
				case learn.Dissent:
					run.dissents = append(run.dissents, ev)
				}
			}
		}
	}
	for _, id := range ids {
		nodes[id].Handle(envs[id], protocol.Start{})
	}
	for steps := 0; ; steps++ {
		drain()
		if len(queue) == 0 {
			break
		}
		if steps > 10000 {
			t.Fatal("the committee run does not settle")
		}
		m := queue[0]
		queue = queue[1:]
		nodes[m.s.To].Handle(envs[m.s.To], protocol.Recv{From: m.from, Msg: m.s.Msg})
	}
	return run
}

// The committee's claims, for committees of 4 and 7 with f liars that
// report the same self-consistent lie (the round's step reversed):
//
//   - f < a/3: every round commits exactly the version the trusted
//     coordinator commits alone, and each liar's candidate is recorded as
//     a dissent;
//   - a/3 ≤ f ≤ 2a/3: no version reaches the quorum ⌊2a/3⌋+1, every round
//     commits nothing (NoQuorum; the model stays the genesis model) and
//     every member's candidate is recorded;
//   - f > 2a/3: the liars are the quorum and their model is committed;
//     the honest members' candidates are the recorded dissent.
func TestAggregatorCommittee(t *testing.T) {
	const rounds = 3
	ref := runCommittee(t, 0, 0, rounds) // no committee: the coordinator aggregates
	if len(ref.commits) != rounds+1 {
		t.Fatalf("reference run committed %d rounds", len(ref.commits))
	}
	for _, tc := range []struct {
		a, f int
		want string // honest, stall or lie
	}{
		{1, 0, "honest"}, {4, 0, "honest"}, {4, 1, "honest"}, {7, 2, "honest"},
		{4, 2, "stall"}, {7, 3, "stall"}, {7, 4, "stall"},
		{1, 1, "lie"}, {4, 3, "lie"}, {7, 5, "lie"},
	} {
		t.Run(fmt.Sprintf("a=%d/f=%d", tc.a, tc.f), func(t *testing.T) {
			r := runCommittee(t, tc.a, tc.f, rounds)
			if len(r.commits) != rounds+1 {
				t.Fatalf("committed %d rounds, want %d", len(r.commits), rounds+1)
			}
			for i, c := range r.commits[1:] {
				want := ref.commits[i+1]
				switch tc.want {
				case "honest":
					if c.Version != want.Version || !slices.Equal(c.Params, want.Params) || c.NoQuorum || c.Votes != min(tc.a-tc.f, learn.Quorum(tc.a)) {
						t.Errorf("round %d committed %v (%d votes, no quorum %v), want the honest %v with %d votes",
							c.Round, c.Version, c.Votes, c.NoQuorum, want.Version, min(tc.a-tc.f, learn.Quorum(tc.a)))
					}
				case "stall":
					if !c.NoQuorum || !c.Skipped || !slices.Equal(c.Params, []float64{1, 2}) {
						t.Errorf("round %d: %+v, want no quorum and the genesis model", c.Round, c)
					}
				case "lie":
					if c.NoQuorum || c.Version == want.Version || c.Votes != min(tc.f, learn.Quorum(tc.a)) {
						t.Errorf("round %d committed %v (%d votes), want the liars' model with %d votes", c.Round, c.Version, c.Votes, min(tc.f, learn.Quorum(tc.a)))
					}
				}
			}
			// Who is recorded: the liars when honest wins, everyone on a
			// stall, the honest members when the lie wins.
			want := map[protocol.NodeID]int{}
			for i := range tc.a {
				id := protocol.NodeID(20 + i)
				liar := slices.Contains(r.liars, id)
				switch {
				case tc.want == "stall", tc.want == "honest" && liar, tc.want == "lie" && !liar:
					want[id] = rounds
				}
			}
			got := map[protocol.NodeID]int{}
			for _, d := range r.dissents {
				got[d.Aggregator]++
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("dissents by aggregator %v, want %v (%+v)", got, want, r.dissents)
			}
		})
	}
}
