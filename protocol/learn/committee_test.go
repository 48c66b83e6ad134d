package learn

import (
	"slices"
	"testing"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/prototest"
)

func TestQuorum(t *testing.T) {
	for a, want := range []int{1, 1, 2, 3, 3, 4, 5, 5, 6, 7, 7} {
		if a == 0 {
			continue
		}
		q := Quorum(a)
		if q != want || 3*q <= 2*a || 3*(q-1) > 2*a {
			t.Errorf("Quorum(%d) = %d, want %d: the smallest count above 2a/3", a, q, want)
		}
	}
}

// One round with a committee of 4 by hand: the coordinator asks every
// member, refuses a candidate whose parameters do not hash to its
// version, commits at the third matching candidate, records the bad one
// and a late differing one; the next round, with two members silent and
// two disagreeing, ends at the timeout with no quorum and the model kept.
func TestCoordinatorCommittee(t *testing.T) {
	aggs := []protocol.NodeID{20, 21, 22, 23}
	initial := []float64{1, 2}
	c, env := newCoordinator(t, CoordinatorConfig{Learners: []protocol.NodeID{10}, Rounds: 2, Initial: initial, Aggregators: aggs})
	v0 := VersionOf(Hash{}, initial)
	env.TakeEvents()
	if got := recipients(env.TakeSent()); !slices.Equal(got, []protocol.NodeID{10, 20, 21, 22, 23}) {
		t.Fatalf("round 1 announced to %v, want the learner and every aggregator", got)
	}
	recv := func(from protocol.NodeID, m any) {
		switch m := m.(type) {
		case *LocalUpdate:
			c.Handle(env, protocol.Recv{From: from, Msg: m})
		case *Candidate:
			c.Handle(env, protocol.Recv{From: from, Msg: m})
		}
	}
	recv(10, &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{1, 1}})
	sent := env.TakeSent()
	if got := recipients(sent); !slices.Equal(got, aggs) {
		t.Fatalf("after the update sent to %v, want an aggregate request to each aggregator", got)
	}
	if q := sent[0].Msg.(*AggregateRequest); q.Round != 1 || q.Version != v0 || !slices.Equal(q.Learners, []protocol.NodeID{10}) ||
		len(q.Digests) != 1 || q.Digests[0] != DigestOf(&LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{1, 1}}) {
		t.Fatalf("request %+v", q)
	}

	// A learner that sent an aggregator another update than the one the
	// coordinator scored: the aggregator refuses to aggregate it.
	eq := NewAggregator(AggregatorConfig{Coordinator: coord, Rule: func(int) Rule { return FedAvg{} }})
	eqenv := prototest.NewEnv(21, 1)
	eq.Handle(eqenv, protocol.Recv{From: coord, Msg: &Model{Round: 1, Version: v0, Params: initial}})
	eq.Handle(eqenv, protocol.Recv{From: 10, Msg: &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{1e6, 1e6}}})
	eq.Handle(eqenv, protocol.Recv{From: coord, Msg: sent[0].Msg})
	if jobs := eqenv.TakeJobs(); len(jobs) != 0 {
		t.Fatalf("aggregated a copy that differs from the scored update: %+v", jobs)
	}
	if rs := eventsOf[Rejected](eqenv.TakeEvents()); len(rs) != 1 || rs[0].Learner != 10 || rs[0].Reason != RejectEquivocated {
		t.Fatalf("rejections %+v, want learner 10's equivocation", rs)
	}
	if cs := eventsOf[Committed](env.TakeEvents()); len(cs) != 0 {
		t.Fatalf("committed %+v before the committee answered", cs)
	}

	// An aggregator really aggregates what the coordinator would.
	a := NewAggregator(AggregatorConfig{Coordinator: coord, Rule: func(int) Rule { return FedAvg{} }})
	aenv := prototest.NewEnv(20, 1)
	a.Handle(aenv, protocol.Recv{From: coord, Msg: &Model{Round: 1, Version: v0, Params: initial}})
	a.Handle(aenv, protocol.Recv{From: 10, Msg: &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{1, 1}}})
	a.Handle(aenv, protocol.Recv{From: coord, Msg: sent[0].Msg})
	jobs := aenv.TakeJobs()
	if len(jobs) != 1 || jobs[0].Job.Kind != "aggregate" || jobs[0].Job.FLOPs != 2*1*2 {
		t.Fatalf("aggregator jobs %+v, want one aggregate job of 2nd = 4 FLOPs", jobs)
	}
	out, _ := jobs[0].Job.Work.Run()
	a.Handle(aenv, protocol.JobDone{ID: jobs[0].ID, Result: gpu.Result{Output: out}})
	honest := aenv.TakeSent()[0].Msg.(*Candidate)
	want := []float64{2, 3}
	if !slices.Equal(honest.Params, want) || honest.Version != VersionOf(v0, want) || honest.Parent != v0 {
		t.Fatalf("candidate %+v, want %v", honest, want)
	}

	forged := &Candidate{Round: 1, Parent: v0, Version: honest.Version, Params: []float64{9, 9}}
	recv(20, honest)
	recv(21, forged) // claims the honest hash over other parameters
	recv(22, honest)
	recv(20, honest) // a second vote from one member counts once
	if cs := eventsOf[Committed](env.TakeEvents()); len(cs) != 0 {
		t.Fatalf("committed %+v with 2 good votes of 4", cs)
	}
	recv(23, honest)
	evs := env.TakeEvents()
	cs := eventsOf[Committed](evs)
	if len(cs) != 1 || cs[0].Version != honest.Version || cs[0].Votes != 3 || cs[0].NoQuorum || !slices.Equal(c.Params(), want) {
		t.Fatalf("commits %+v, want the honest version with 3 votes", cs)
	}
	if ds := eventsOf[Dissent](evs); len(ds) != 1 || ds[0].Aggregator != 21 || ds[0].Reason != DissentMalformed {
		t.Fatalf("dissents %+v, want 21's forged candidate", ds)
	}
	v1 := honest.Version
	lie := []float64{0, 0}
	recv(21, &Candidate{Round: 1, Parent: v0, Version: VersionOf(v0, lie), Params: lie})
	if ds := eventsOf[Dissent](env.TakeEvents()); len(ds) != 1 || ds[0].Reason != DissentLate || ds[0].Committed != v1 {
		t.Fatalf("late dissents %+v", ds)
	}

	// Round 2: two members disagree, two say nothing.
	env.TakeSent()
	recv(10, &LocalUpdate{Round: 2, Base: v1, Samples: 1, Delta: []float64{1, 1}})
	env.TakeSent()
	other := []float64{5, 5}
	recv(20, &Candidate{Round: 2, Parent: v1, Version: VersionOf(v1, other), Params: other})
	recv(21, &Candidate{Round: 2, Parent: v1, Version: v1}) // "the rule could not move it"
	env.Advance(protocol.Second)
	evs = env.TakeEvents()
	cs = eventsOf[Committed](evs)
	if len(cs) != 1 || !cs[0].NoQuorum || !cs[0].Skipped || cs[0].Version != v1 || !cs[0].Final || !slices.Equal(cs[0].Params, want) {
		t.Fatalf("round 2 commits %+v, want no quorum and the model of round 1", cs)
	}
	var reasons []string
	for _, d := range eventsOf[Dissent](evs) {
		reasons = append(reasons, d.Reason)
	}
	if !slices.Equal(reasons, []string{DissentNoQuorum, DissentNoQuorum, DissentMissing, DissentMissing}) {
		t.Fatalf("round 2 dissent %v", reasons)
	}
}
