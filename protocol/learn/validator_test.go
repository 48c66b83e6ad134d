package learn

import (
	"math"
	"slices"
	"testing"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/prototest"
	"github.com/dais-sim/dais/protocol/wire"
)

func TestOutOfBound(t *testing.T) {
	ds := [][]float64{{1, 0}, {0, 2}, {0, 0}, {3, 4}, {0, 0}, {0, 0}, {0, 0}}
	// Non-zero norms 1, 2, 5: median 2; with τ = 2 the bound is 4 and only
	// the norm-5 update is out. The four zeros do not pull the median to 0.
	if got := OutOfBound(ds, 2); !slices.Equal(got, []bool{false, false, false, true, false, false, false}) {
		t.Errorf("OutOfBound(τ=2) = %v", got)
	}
	for _, tau := range []float64{0, -1, math.NaN(), 3} {
		if got := OutOfBound(ds, tau); got != nil {
			t.Errorf("OutOfBound(τ=%v) = %v, want nil", tau, got)
		}
	}
	if got := OutOfBound([][]float64{{0}, {0}}, 1); got != nil {
		t.Errorf("all zeros: %v", got)
	}
}

// A validator with a norm bound scores only the updates inside it and
// reports the others with −Inf, in the learners' order.
func TestValidatorNormBound(t *testing.T) {
	var scored [][]float64
	v := NewValidator(ValidatorConfig{Coordinator: coord, NormBound: 3, Score: firstValue(&scored)})
	env := prototest.NewEnv(val, 1)
	params := []float64{0}
	m := &Model{Round: 1, Version: VersionOf(Hash{}, params), Params: params}
	recv := func(from protocol.NodeID, msg wire.Msg) { v.Handle(env, protocol.Recv{From: from, Msg: msg}) }
	recv(coord, m)
	for i, d := range []float64{0.1, -10, 0.2, 0.3, 0} { // median non-zero norm 0.25: bound 0.75
		recv(protocol.NodeID(10+i), &LocalUpdate{Round: 1, Base: m.Version, Delta: []float64{d}})
	}
	recv(coord, &ScoreRequest{Round: 1, Version: m.Version, Learners: []protocol.NodeID{10, 11, 12, 13, 14}})
	jobs := env.TakeJobs()
	if len(jobs) != 1 || len(scored) != 4 {
		t.Fatalf("%d jobs scoring %v, want one job over the four updates in bound", len(jobs), scored)
	}
	v.Handle(env, protocol.JobDone{ID: jobs[0].ID, Result: jobs[0].Job.Work.(fixed).result()})
	s := env.TakeSent()[0].Msg.(*Scores)
	want := []float64{0.1, math.Inf(-1), 0.2, 0.3, 0}
	if !slices.Equal(s.Learners, []protocol.NodeID{10, 11, 12, 13, 14}) || !slices.Equal(s.Scores, want) {
		t.Fatalf("scores %v for %v, want %v", s.Scores, s.Learners, want)
	}
	if pay, _ := Payouts(s.Scores, 60); pay[1] != 0 {
		t.Errorf("the out-of-bound update was paid %d", pay[1])
	}
}

// firstValue is a ScoreFunc that scores each delta by its first value and
// keeps the deltas it was given in *scored.
func firstValue(scored *[][]float64) ScoreFunc {
	return func(_ protocol.NodeID, _ uint64, _ []float64, deltas [][]float64) gpu.Job {
		*scored = deltas
		out := make([]float64, len(deltas))
		for i, d := range deltas {
			out[i] = d[0]
		}
		return gpu.Job{Kind: "score", Work: fixed{out}}
	}
}

// A learner that sent the validator another update than the coordinator
// holds gets −Inf for it (and is reported), whatever that copy would have
// scored: it cannot have a good update scored and another aggregated.
func TestValidatorEquivocation(t *testing.T) {
	var scored [][]float64
	v := NewValidator(ValidatorConfig{Coordinator: coord, Score: firstValue(&scored)})
	env := prototest.NewEnv(val, 1)
	params := []float64{0}
	m := &Model{Round: 1, Version: VersionOf(Hash{}, params), Params: params}
	recv := func(from protocol.NodeID, msg wire.Msg) { v.Handle(env, protocol.Recv{From: from, Msg: msg}) }
	recv(coord, m)
	sent := []*LocalUpdate{
		{Round: 1, Base: m.Version, Samples: 1, Delta: []float64{0.5}},
		{Round: 1, Base: m.Version, Samples: 1, Delta: []float64{0.9}}, // to the validator; the coordinator got another
	}
	for i, u := range sent {
		recv(protocol.NodeID(10+i), u)
	}
	toCoordinator := &LocalUpdate{Round: 1, Base: m.Version, Samples: 1, Delta: []float64{-50}}
	recv(coord, &ScoreRequest{Round: 1, Version: m.Version, Learners: []protocol.NodeID{10, 11},
		Digests: []Hash{DigestOf(sent[0]), DigestOf(toCoordinator)}})
	jobs := env.TakeJobs()
	if len(jobs) != 1 || len(scored) != 1 {
		t.Fatalf("%d jobs scoring %v, want one job over the one consistent update", len(jobs), scored)
	}
	if rs := eventsOf[Rejected](env.TakeEvents()); len(rs) != 1 || rs[0].Learner != 11 || rs[0].Reason != RejectEquivocated {
		t.Fatalf("rejections %+v, want learner 11's equivocation", rs)
	}
	v.Handle(env, protocol.JobDone{ID: jobs[0].ID, Result: jobs[0].Job.Work.(fixed).result()})
	s := env.TakeSent()[0].Msg.(*Scores)
	if want := []float64{0.5, math.Inf(-1)}; !slices.Equal(s.Scores, want) {
		t.Fatalf("scores %v, want %v", s.Scores, want)
	}
}
