package govern

import (
	"fmt"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol/rewards"
)

type observer struct{ got map[string]float64 }

func (o *observer) Add(m *metrics.Measure, v float64)    { o.got[m.Key()] += v }
func (o *observer) Sample(m *metrics.Measure, v float64) { o.got[m.Key()+"/sample"] += v }
func (o *observer) AddTo(m *metrics.Measure, node uint32, v float64) {
	o.got[fmt.Sprintf("%s/%d", m.Key(), node)] += v
}

func TestEvents(t *testing.T) {
	for _, m := range Measures {
		if err := m.Validate(); err != nil {
			t.Error(err)
		}
	}
	g := newGov(t, testConfig())
	p, _ := g.Submit(1, Submission{Proposer: "a", Deposit: 5 * rewards.Token, Changes: []Change{{rewards.ParamFeeBurn, 2000}}})
	g.Submit(1, Submission{Proposer: "a", Deposit: 5 * rewards.Token, Changes: []Change{{rewards.ParamFeeBurn, 3}}})
	vote(t, g, 1, 1, map[rewards.Account]Option{"a": Yes, "b": Yes})
	closed := run(t, g, 1, 10, four)
	o := &observer{got: map[string]float64{}}
	evs := []metrics.Observable{p.SubmittedEvent(), closed[0].ClosedEvent(10), closed[1].ClosedEvent(10)}
	for _, a := range g.Activations(16) {
		evs = append(evs, a)
	}
	for _, e := range evs {
		e.Observe(metrics.Stamped{Event: e}, o)
	}
	want := map[string]float64{"proposals": 1, "proposals_passed": 1, "proposals_no_quorum": 1,
		"turnout_percent/sample": 50, "deposits_burned_tokens": 5, "param_changes": 1}
	if fmt.Sprint(o.got) != fmt.Sprint(want) {
		t.Errorf("observed %v\nwant %v", o.got, want)
	}
	if k := closed[0].ClosedEvent(10).Kind(); k != "govern.closed" {
		t.Errorf("kind %q", k)
	}
}
