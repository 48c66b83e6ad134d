package learn

import (
	"errors"
	"math"
	"slices"
	"testing"
	"testing/quick"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/prototest"
	"github.com/dais-sim/dais/protocol/wire"
)

// fixed is Work that returns a fixed output.
type fixed struct{ out any }

func (f fixed) Run() (any, error) { return f.out, nil }

func eventsOf[T metrics.Event](evs []metrics.Stamped) []T {
	var out []T
	for _, e := range evs {
		if ev, ok := e.Event.(T); ok {
			out = append(out, ev)
		}
	}
	return out
}

func recipients(sent []prototest.Sent) []protocol.NodeID {
	var ids []protocol.NodeID
	for _, s := range sent {
		ids = append(ids, s.To)
	}
	return ids
}

const (
	coord protocol.NodeID = 0
	val   protocol.NodeID = 5
)

func newCoordinator(t *testing.T, cfg CoordinatorConfig) (*Coordinator, *prototest.Env) {
	t.Helper()
	if cfg.Rule == nil {
		cfg.Rule = func(int) Rule { return FedAvg{} }
	}
	cfg.RoundTimeout, cfg.ScoreTimeout = protocol.Second, protocol.Second
	c := NewCoordinator(cfg)
	env := prototest.NewEnv(coord, 1)
	env.Node = c
	c.Handle(env, protocol.Start{})
	return c, env
}

// One round by hand: announce, collect (refusing what does not belong),
// score, pay, aggregate, commit, announce the next.
func TestCoordinatorRound(t *testing.T) {
	initial := []float64{1, 2}
	c, env := newCoordinator(t, CoordinatorConfig{Learners: []protocol.NodeID{10, 11, 12}, Validators: []protocol.NodeID{val},
		Rounds: 2, Initial: initial, Pot: 100})
	v0 := VersionOf(Hash{}, initial)
	evs := env.TakeEvents()
	if cs := eventsOf[Committed](evs); len(cs) != 1 || cs[0].Round != 0 || cs[0].Version != v0 {
		t.Fatalf("genesis commit %+v, want round 0 version %v", cs, v0)
	}
	sent := env.TakeSent()
	if got := recipients(sent); !slices.Equal(got, []protocol.NodeID{10, 11, 12, val}) {
		t.Fatalf("round 1 announced to %v", got)
	}
	if m := sent[0].Msg.(*Model); m.Round != 1 || m.Version != v0 || m.Parent != (Hash{}) || !slices.Equal(m.Params, initial) {
		t.Fatalf("announcement %+v", m)
	}

	recv := func(from protocol.NodeID, m wire.Msg) { c.Handle(env, protocol.Recv{From: from, Msg: m}) }
	recv(10, &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{1, 1}})
	recv(10, &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{9, 9}})          // duplicate
	recv(99, &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{9, 9}})          // not selected
	recv(12, &LocalUpdate{Round: 1, Base: Hash{1}, Samples: 1, Delta: []float64{9, 9}})     // other model
	recv(12, &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{9, 9, 9}})       // wrong length
	recv(12, &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{math.NaN(), 9}}) // not finite
	recv(12, &LocalUpdate{Round: 0, Base: v0, Samples: 1, Delta: []float64{9, 9}})          // old round
	recv(11, &LocalUpdate{Round: 1, Base: v0, Samples: 3, Delta: []float64{3, 3}})
	if len(env.TakeSent()) != 0 {
		t.Fatal("the coordinator closed the round before every selected learner reported")
	}
	recv(12, &LocalUpdate{Round: 1, Base: v0, Samples: 0, Delta: []float64{0, 0}})
	var reasons []string
	for _, r := range eventsOf[Rejected](env.TakeEvents()) {
		reasons = append(reasons, r.Reason)
	}
	if want := []string{RejectDuplicate, RejectUnknown, RejectVersion, RejectMalformed, RejectMalformed, RejectLate}; !slices.Equal(reasons, want) {
		t.Errorf("rejections %v, want %v", reasons, want)
	}
	sent = env.TakeSent()
	if len(sent) != 1 || sent[0].To != val {
		t.Fatalf("after the last update sent %+v, want a score request to the validator", sent)
	}
	if q := sent[0].Msg.(*ScoreRequest); q.Round != 1 || q.Version != v0 || !slices.Equal(q.Learners, []protocol.NodeID{10, 11, 12}) {
		t.Fatalf("score request %+v", q)
	}

	// A non-validator's scores and scores listing a learner twice are
	// ignored; then the validator answers.
	recv(11, &Scores{Round: 1, Version: v0, Learners: []protocol.NodeID{10}, Scores: []float64{100}})
	recv(val, &Scores{Round: 1, Version: v0, Learners: []protocol.NodeID{10, 10}, Scores: []float64{100, 100}})
	recv(val, &Scores{Round: 1, Version: v0, Learners: []protocol.NodeID{10, 11, 12}, Scores: []float64{0.25, 0.75, -1}})
	evs = env.TakeEvents()
	var pay []uint64
	for _, s := range eventsOf[Scored](evs) {
		pay = append(pay, s.Payout)
	}
	if !slices.Equal(pay, []uint64{25, 75, 0}) {
		t.Errorf("payouts %v, want [25 75 0] (pot 100 split 0.25 : 0.75, the negative score earns nothing)", pay)
	}
	// FedAvg: (1·[1,1] + 3·[3,3] + 1·[0,0]) / 5 = [2, 2]; a sample count
	// of 0 counts once.
	want := []float64{3, 4}
	cs := eventsOf[Committed](evs)
	if len(cs) != 1 || !slices.Equal(cs[0].Params, want) || cs[0].Version != VersionOf(v0, want) || cs[0].Parent != v0 ||
		cs[0].Updates != 3 || cs[0].Accepted != 3 || cs[0].Final {
		t.Fatalf("round 1 commit %+v, want params %v", cs, want)
	}
	v1 := cs[0].Version
	if c.Version() != v1 || c.Round() != 2 {
		t.Fatalf("coordinator at round %d version %v", c.Round(), c.Version())
	}
	sent = env.TakeSent()
	if m := sent[0].Msg.(*Model); m.Round != 2 || m.Version != v1 || m.Parent != v0 {
		t.Fatalf("round 2 announcement %+v", m)
	}

	// Round 2 closes by timeouts: one update, no scores.
	recv(11, &LocalUpdate{Round: 2, Base: v1, Samples: 1, Delta: []float64{-1, 1}})
	env.Advance(protocol.Second)
	if q := env.TakeSent()[0].Msg.(*ScoreRequest); !slices.Equal(q.Learners, []protocol.NodeID{11}) {
		t.Fatalf("after the round timeout asked to score %v, want [11]", q.Learners)
	}
	env.Advance(protocol.Second)
	evs = env.TakeEvents()
	if s := eventsOf[Scored](evs); len(s) != 1 || !math.IsNaN(s[0].Score) || s[0].Validators != 0 || s[0].Payout != 0 {
		t.Errorf("unscored update: %+v", s)
	}
	cs = eventsOf[Committed](evs)
	if len(cs) != 1 || !cs[0].Final || !slices.Equal(cs[0].Params, []float64{2, 5}) {
		t.Fatalf("final commit %+v, want params [2 5]", cs)
	}
	recv(12, &LocalUpdate{Round: 2, Base: v1, Samples: 1, Delta: []float64{0, 0}})
	if r := eventsOf[Rejected](env.TakeEvents()); len(r) != 1 || r[0].Reason != RejectLate {
		t.Errorf("update after the last round: %+v", r)
	}
	if len(env.TakeSent()) != 0 || len(env.Timers()) != 0 {
		t.Error("the coordinator went on after its last round")
	}
}

// With the filter on, an update whose median score is below MinScore is
// paid nothing and left out of the aggregate; the median takes three
// validators' scores, so one validator cannot carry an update in.
func TestCoordinatorFilterAndMedian(t *testing.T) {
	vals := []protocol.NodeID{5, 6, 7}
	c, env := newCoordinator(t, CoordinatorConfig{Learners: []protocol.NodeID{10, 11}, Validators: vals,
		Rounds: 1, Initial: []float64{0}, Filter: true, MinScore: 0, Pot: 10})
	v0 := c.Version()
	env.TakeSent()
	env.TakeEvents()
	c.Handle(env, protocol.Recv{From: 10, Msg: &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{1}}})
	c.Handle(env, protocol.Recv{From: 11, Msg: &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{-50}}})
	ls := []protocol.NodeID{10, 11}
	c.Handle(env, protocol.Recv{From: 5, Msg: &Scores{Round: 1, Version: v0, Learners: ls, Scores: []float64{0.1, 9}}}) // vouches for 11
	c.Handle(env, protocol.Recv{From: 6, Msg: &Scores{Round: 1, Version: v0, Learners: ls, Scores: []float64{0.2, -0.3}}})
	c.Handle(env, protocol.Recv{From: 7, Msg: &Scores{Round: 1, Version: v0, Learners: ls, Scores: []float64{0.3, -0.4}}})
	evs := env.TakeEvents()
	s := eventsOf[Scored](evs)
	if len(s) != 2 || s[0].Score != 0.2 || s[1].Score != -0.3 || !s[0].Accepted || s[1].Accepted || s[0].Payout != 10 || s[1].Payout != 0 {
		t.Fatalf("scored %+v", s)
	}
	if r := eventsOf[Rejected](evs); len(r) != 1 || r[0].Learner != 11 || r[0].Reason != RejectScore {
		t.Errorf("rejected %+v", r)
	}
	if cs := eventsOf[Committed](evs); len(cs) != 1 || !slices.Equal(cs[0].Params, []float64{1}) || cs[0].Accepted != 1 {
		t.Errorf("commit %+v, want only learner 10's update", cs)
	}
}

// Too few usable updates leave the model as it was, and the next round
// starts from the same version.
func TestCoordinatorSkipsEmptyRound(t *testing.T) {
	c, env := newCoordinator(t, CoordinatorConfig{Learners: []protocol.NodeID{10}, Rounds: 2, Initial: []float64{1},
		Rule: func(n int) Rule { return Krum{F: 1} }}) // needs 5 updates
	v0 := c.Version()
	env.TakeSent()
	env.TakeEvents()
	c.Handle(env, protocol.Recv{From: 10, Msg: &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{1}}})
	cs := eventsOf[Committed](env.TakeEvents())
	if len(cs) != 1 || !cs[0].Skipped || cs[0].Version != v0 || !slices.Equal(cs[0].Params, []float64{1}) {
		t.Fatalf("commit %+v, want a skipped round at version %v", cs, v0)
	}
	if m := env.TakeSent()[0].Msg.(*Model); m.Round != 2 || m.Version != v0 {
		t.Fatalf("round 2 announced %+v", m)
	}
}

// The learners of a round are drawn from the coordinator's stream, and
// the validators hear every round.
func TestCoordinatorSelects(t *testing.T) {
	ls := []protocol.NodeID{10, 11, 12, 13, 14, 15, 16, 17}
	_, env := newCoordinator(t, CoordinatorConfig{Learners: ls, Validators: []protocol.NodeID{val}, PerRound: 3, Initial: []float64{0}})
	got := recipients(env.TakeSent())
	if len(got) != 4 || got[3] != val || !slices.IsSorted(got[:3]) {
		t.Fatalf("announced to %v, want 3 learners ascending and the validator", got)
	}
	_, env2 := newCoordinator(t, CoordinatorConfig{Learners: ls, Validators: []protocol.NodeID{val}, PerRound: 3, Initial: []float64{0}})
	if again := recipients(env2.TakeSent()); !slices.Equal(again, got) {
		t.Errorf("same seed selected %v, then %v", got, again)
	}
}

func TestLearner(t *testing.T) {
	type call struct {
		id     protocol.NodeID
		round  uint64
		global []float64
	}
	var calls []call
	l := NewLearner(LearnerConfig{Coordinator: coord, Validators: []protocol.NodeID{5, 6}, Samples: 42,
		Train: func(id protocol.NodeID, round uint64, global []float64) gpu.Job {
			calls = append(calls, call{id, round, global})
			return gpu.Job{Kind: "train", Work: fixed{[]float64{0.5}}}
		}})
	env := prototest.NewEnv(10, 1)
	l.Handle(env, protocol.Start{})
	params := []float64{1}
	good := &Model{Round: 1, Version: VersionOf(Hash{}, params), Params: params}
	l.Handle(env, protocol.Recv{From: 3, Msg: good}) // not the coordinator
	l.Handle(env, protocol.Recv{From: coord, Msg: &Model{Round: 1, Version: Hash{1}, Params: params}})
	if len(env.TakeJobs()) != 0 {
		t.Fatal("trained on a model from a stranger, or one whose hash does not match")
	}
	l.Handle(env, protocol.Recv{From: coord, Msg: good})
	l.Handle(env, protocol.Recv{From: coord, Msg: good}) // a repeat
	jobs := env.TakeJobs()
	if len(jobs) != 1 || len(calls) != 1 || calls[0].id != 10 || calls[0].round != 1 || &calls[0].global[0] != &params[0] {
		t.Fatalf("jobs %+v, calls %+v", jobs, calls)
	}
	l.Handle(env, protocol.JobDone{ID: jobs[0].ID, Result: gpu.Result{DurationNs: 7, Output: []float64{0.5}}})
	sent := env.TakeSent()
	if got := recipients(sent); !slices.Equal(got, []protocol.NodeID{coord, 5, 6}) {
		t.Fatalf("update sent to %v", got)
	}
	if u := sent[0].Msg.(*LocalUpdate); u.Round != 1 || u.Base != good.Version || u.Samples != 42 || !slices.Equal(u.Delta, []float64{0.5}) {
		t.Fatalf("update %+v", u)
	}
	if tr := eventsOf[Trained](env.TakeEvents()); len(tr) != 1 || tr[0].DurationNs != 7 || tr[0].Err != "" {
		t.Errorf("trained %+v", tr)
	}

	// A failed job sends nothing; a job overtaken by a newer round
	// neither.
	m2 := &Model{Round: 2, Parent: good.Version, Version: VersionOf(good.Version, params), Params: params}
	l.Handle(env, protocol.Recv{From: coord, Msg: m2})
	l.Handle(env, protocol.JobDone{ID: env.TakeJobs()[0].ID, Result: gpu.Result{Err: "out of memory"}})
	m3 := &Model{Round: 3, Parent: m2.Version, Version: VersionOf(m2.Version, params), Params: params}
	l.Handle(env, protocol.Recv{From: coord, Msg: m3})
	l.Handle(env, protocol.Recv{From: coord, Msg: &Model{Round: 4, Parent: m3.Version, Version: VersionOf(m3.Version, params), Params: params}})
	jobs = env.TakeJobs()
	l.Handle(env, protocol.JobDone{ID: jobs[0].ID, Result: gpu.Result{Output: []float64{1}}})
	if sent := env.TakeSent(); len(sent) != 0 {
		t.Fatalf("sent %+v for a failed or overtaken job", sent)
	}
	if tr := eventsOf[Trained](env.TakeEvents()); len(tr) != 2 || tr[0].Err != "out of memory" {
		t.Errorf("trained %+v", tr)
	}
}

func TestValidator(t *testing.T) {
	var scored [][]float64
	v := NewValidator(ValidatorConfig{Coordinator: coord, Score: firstValue(&scored)})
	env := prototest.NewEnv(val, 1)
	params := []float64{0}
	m := &Model{Round: 1, Version: VersionOf(Hash{}, params), Params: params}
	recv := func(from protocol.NodeID, msg wire.Msg) { v.Handle(env, protocol.Recv{From: from, Msg: msg}) }
	// An update that arrives before its model is kept.
	recv(10, &LocalUpdate{Round: 1, Base: m.Version, Delta: []float64{0.1}})
	recv(coord, m)
	recv(11, &LocalUpdate{Round: 1, Base: m.Version, Delta: []float64{0.2}})
	recv(11, &LocalUpdate{Round: 1, Base: m.Version, Delta: []float64{9}})    // a second update: ignored
	recv(12, &LocalUpdate{Round: 1, Base: Hash{3}, Delta: []float64{9}})      // another model
	recv(13, &LocalUpdate{Round: 1, Base: m.Version, Delta: []float64{9, 9}}) // wrong length
	recv(14, &LocalUpdate{Round: 1, Base: m.Version, Delta: []float64{math.Inf(1)}})
	recv(coord, &ScoreRequest{Round: 1, Version: m.Version, Learners: []protocol.NodeID{10, 11, 12, 13, 14, 15}})
	jobs := env.TakeJobs()
	if len(jobs) != 1 || len(scored) != 2 {
		t.Fatalf("jobs %d scoring %v, want one job over learners 10 and 11", len(jobs), scored)
	}
	v.Handle(env, protocol.JobDone{ID: jobs[0].ID, Result: jobs[0].Job.Work.(fixed).result()})
	sent := env.TakeSent()
	if len(sent) != 1 || sent[0].To != coord {
		t.Fatalf("sent %+v", sent)
	}
	if s := sent[0].Msg.(*Scores); s.Round != 1 || s.Version != m.Version || !slices.Equal(s.Learners, []protocol.NodeID{10, 11}) || !slices.Equal(s.Scores, []float64{0.1, 0.2}) {
		t.Fatalf("scores %+v", s)
	}
	// A request for a model it does not hold gets an empty answer at once.
	recv(coord, &ScoreRequest{Round: 2, Version: Hash{8}, Learners: []protocol.NodeID{10}})
	if s := env.TakeSent()[0].Msg.(*Scores); s.Round != 2 || len(s.Learners) != 0 {
		t.Fatalf("answer to a request for an unknown round: %+v", s)
	}
}

func (f fixed) result() gpu.Result { return gpu.Result{Output: f.out} }

func TestPayouts(t *testing.T) {
	for _, tc := range []struct {
		scores []float64
		pot    uint64
		want   []uint64
		rest   uint64
	}{
		{[]float64{1, 3}, 100, []uint64{25, 75}, 0},
		{[]float64{1, 1, 1}, 100, []uint64{33, 33, 33}, 1},
		{[]float64{-1, math.NaN(), 0}, 100, []uint64{0, 0, 0}, 100},
		{[]float64{2, -5, 2}, 7, []uint64{3, 0, 3}, 1},
		{nil, 5, []uint64{}, 5},
		{[]float64{1e-300, 1e-300}, 1 << 62, []uint64{1 << 61, 1 << 61}, 0},
	} {
		got, rest := Payouts(tc.scores, tc.pot)
		if !slices.Equal(got, tc.want) || rest != tc.rest {
			t.Errorf("Payouts(%v, %d) = %v, %d; want %v, %d", tc.scores, tc.pot, got, rest, tc.want, tc.rest)
		}
	}
	// Never more than the pot; a higher score never earns less.
	prop := func(raw []float64, pot uint64) bool {
		pay, rest := Payouts(raw, pot)
		var sum uint64
		for i := range pay {
			sum += pay[i]
			for j := range pay {
				if raw[i] > raw[j] && raw[j] > 0 && pay[i] < pay[j] {
					return false
				}
			}
		}
		return sum+rest == pot
	}
	if err := quick.Check(prop, nil); err != nil {
		t.Error(err)
	}
}

func TestMedianScore(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{1, 2, 3, 40}, 2.5},
		{[]float64{math.NaN(), 1}, 1},
		{[]float64{-1}, -1},
	} {
		if got := MedianScore(tc.in); got != tc.want {
			t.Errorf("MedianScore(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !math.IsNaN(MedianScore(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestNamedRule(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		want string
	}{
		{RuleFedAvg, 20, "fedavg"},
		{RuleKrum, 20, "krum(f=6)"},
		{RuleKrum, 5, "krum(f=1)"},
		{RuleKrum, 3, "krum(f=0)"},
		{RuleMultiKrum, 29, "multi-krum(f=8,m=21)"},
		{RuleMedian, 4, "median"},
		{RuleTrimmedMean, 20, "trimmed-mean(b=6)"},
		{RuleTrimmedMean, 3, "trimmed-mean(b=0)"},
		{RuleFoolsGold, 9, "foolsgold"},
	} {
		f, err := NamedRule(tc.name, 0.3)
		if err != nil {
			t.Fatal(err)
		}
		if got := f(tc.n).Name(); got != tc.want {
			t.Errorf("%s with %d updates: %s, want %s", tc.name, tc.n, got, tc.want)
		}
		// Every sized rule can aggregate the count it was sized for.
		us := make([]Update, tc.n)
		for i := range us {
			us[i] = Update{Delta: []float64{float64(i)}}
		}
		if _, err := f(tc.n).Aggregate(us); err != nil {
			t.Errorf("%s with %d updates: %v", tc.name, tc.n, err)
		}
	}
	if _, err := NamedRule("mean", 0.3); !errors.Is(err, ErrRule) {
		t.Errorf("unknown rule: %v", err)
	}
	if _, err := NamedRule(RuleKrum, 0.5); !errors.Is(err, ErrRule) {
		t.Errorf("tolerating half: %v", err)
	}
}

// A coordinator back from a crash gives up the round it was in and
// announces the next from the same model.
func TestCoordinatorRejoin(t *testing.T) {
	c, env := newCoordinator(t, CoordinatorConfig{Learners: []protocol.NodeID{10}, Rounds: 5, Initial: []float64{1}})
	v0 := c.Version()
	env.TakeSent()
	env.TakeEvents()
	c.Handle(env, protocol.Start{Rejoin: true})
	if cs := eventsOf[Committed](env.TakeEvents()); len(cs) != 1 || cs[0].Round != 1 || !cs[0].Skipped || cs[0].Version != v0 {
		t.Fatalf("commits %+v, want round 1 skipped", cs)
	}
	if m := env.TakeSent()[0].Msg.(*Model); m.Round != 2 || m.Version != v0 {
		t.Fatalf("announced %+v, want round 2 of version %v", m, v0)
	}
}

// A coordinator that crashes in the last round gives that round up as
// the last: it announces no further round (with a ledger, one more round
// would pay a pot the escrow no longer holds).
func TestCoordinatorRejoinInLastRound(t *testing.T) {
	c, env := newCoordinator(t, CoordinatorConfig{Learners: []protocol.NodeID{10}, Rounds: 1, Initial: []float64{1}})
	env.TakeSent()
	env.TakeEvents()
	c.Handle(env, protocol.Start{Rejoin: true})
	if cs := eventsOf[Committed](env.TakeEvents()); len(cs) != 1 || cs[0].Round != 1 || !cs[0].Skipped || !cs[0].Final {
		t.Fatalf("commits %+v, want round 1 skipped and final", cs)
	}
	env.Advance(30 * protocol.Second)
	for _, s := range env.TakeSent() {
		if m, ok := s.Msg.(*Model); ok {
			t.Errorf("announced round %d after the last", m.Round)
		}
	}
	if cs := eventsOf[Committed](env.TakeEvents()); len(cs) != 0 {
		t.Errorf("committed %+v after the last round", cs)
	}
}
