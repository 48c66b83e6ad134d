package learn

import (
	"slices"
	"testing"

	"github.com/dais-sim/dais/protocol"
)

// With a RoundGap the next round is announced only when the gap has
// passed after the commit.
func TestCoordinatorRoundGap(t *testing.T) {
	initial := []float64{1, 2}
	c, env := newCoordinator(t, CoordinatorConfig{Learners: []protocol.NodeID{10}, Rounds: 3, Initial: initial,
		RoundGap: 5 * protocol.Second})
	v0 := VersionOf(Hash{}, initial)
	env.TakeSent()
	env.TakeEvents()
	c.Handle(env, protocol.Recv{From: 10, Msg: &LocalUpdate{Round: 1, Base: v0, Samples: 1, Delta: []float64{1, 1}}})
	if cs := eventsOf[Committed](env.TakeEvents()); len(cs) != 1 || cs[0].Round != 1 || cs[0].Skipped {
		t.Fatalf("round 1 commits %+v", cs)
	}
	if s := env.TakeSent(); len(s) != 0 {
		t.Fatalf("round 2 announced at once, to %v, despite the gap", recipients(s))
	}
	env.Advance(4 * protocol.Second)
	if s := env.TakeSent(); len(s) != 0 {
		t.Fatalf("round 2 announced after 4 s of a 5 s gap")
	}
	env.Advance(protocol.Second)
	s := env.TakeSent()
	if len(s) != 1 || s[0].Msg.(*Model).Round != 2 || c.Round() != 2 {
		t.Fatalf("after the gap sent %+v (round %d), want round 2's model", s, c.Round())
	}
}

// A coordinator given a Checkpoint resumes after it: it announces the
// checkpoint's model for the next round, commits nothing for round 0, and
// one whose checkpoint is the last round does nothing.
func TestCoordinatorResume(t *testing.T) {
	params := []float64{3, 4}
	parent := Hash{7}
	cp := &Checkpoint{Round: 4, Version: VersionOf(parent, params), Parent: parent, Params: params}
	c, env := newCoordinator(t, CoordinatorConfig{Learners: []protocol.NodeID{10, 11}, Rounds: 6, Initial: []float64{0, 0}, Resume: cp})
	if cs := eventsOf[Committed](env.TakeEvents()); len(cs) != 0 {
		t.Errorf("a resumed coordinator committed %+v", cs)
	}
	s := env.TakeSent()
	if len(s) != 2 {
		t.Fatalf("resumed coordinator sent %d messages, want the model to 2 learners", len(s))
	}
	m := s[0].Msg.(*Model)
	if m.Round != 5 || m.Version != cp.Version || m.Parent != parent || !slices.Equal(m.Params, params) || c.Round() != 5 {
		t.Fatalf("resumed announcement %+v, want round 5 from the checkpoint", m)
	}
	params[0] = 99 // the coordinator keeps its own copy
	if c.Params()[0] != 3 {
		t.Error("the coordinator shares the checkpoint's params")
	}

	cp = &Checkpoint{Round: 6, Version: VersionOf(parent, params), Parent: parent, Params: params}
	_, env = newCoordinator(t, CoordinatorConfig{Learners: []protocol.NodeID{10}, Rounds: 6, Initial: []float64{0, 0}, Resume: cp})
	if s := env.TakeSent(); len(s) != 0 || len(env.Timers()) != 0 {
		t.Errorf("a coordinator resumed after its last round sent %d messages and set %d timers", len(s), len(env.Timers()))
	}
}
