package rewards

import (
	"fmt"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
)

// observer records what events feed into measures.
type observer struct{ got map[string]float64 }

func (o *observer) Add(m *metrics.Measure, v float64)    { o.got[m.Key()] += v }
func (o *observer) Sample(m *metrics.Measure, v float64) { o.got[m.Key()+"/sample"] += v }
func (o *observer) AddTo(m *metrics.Measure, node uint32, v float64) {
	o.got[fmt.Sprintf("%s/%d", m.Key(), node)] += v
}

func observe(evs ...metrics.Observable) map[string]float64 {
	o := &observer{got: map[string]float64{}}
	for _, e := range evs {
		e.Observe(metrics.Stamped{Event: e}, o)
	}
	return o.got
}

func TestMeasuresValid(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Measures {
		if err := m.Validate(); err != nil {
			t.Error(err)
		}
		if seen[m.Key()] {
			t.Errorf("measure %s declared twice", m.Key())
		}
		seen[m.Key()] = true
	}
}

func TestEventsObserve(t *testing.T) {
	d := newDist(t, DefaultPolicy())
	out, err := d.Distribute(Period{Height: 3, Emission: 2 * Token,
		Work:       []VerifiedWork{{NodeAccount(4), 10}, {"opaque", 30}},
		Validators: []ValidatorScore{{NodeAccount(9), Token, PPMOne}}})
	if err != nil {
		t.Fatal(err)
	}
	ev := out.Event()
	if ev.Kind() != "rewards.distributed" || ev.Compute != 1200*Token/1000 || ev.Treasury != 2*Token-ev.Compute-ev.Validators || ev.Recipients != 3 {
		t.Errorf("summary %+v", ev)
	}
	obs := []metrics.Observable{ev, Supply{Height: 3, Minted: 2 * Token, Burned: Token / 2}, Slashed{Offence: LazyWork, Amount: Token}}
	for _, p := range out.Payments() {
		obs = append(obs, p)
	}
	got := observe(obs...)
	want := map[string]float64{
		"reward_compute_tokens": 1.2, "reward_participation_tokens": 0, "reward_data_tokens": 0,
		"reward_validators_tokens": 0.4, "reward_treasury_tokens": 0.4,
		"supply_minted_tokens": 2, "supply_burned_tokens": 0.5, "slashes": 1, "slashed_tokens": 1,
		"earnings_tokens/4": 0.3, "earnings_tokens/9": 0.4, // the opaque account is no node
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("observed\n%v\nwant\n%v", got, want)
	}
}

func TestNodeAccount(t *testing.T) {
	for _, id := range []uint32{0, 7, 1<<32 - 1} {
		a := NodeAccount(protocol.NodeID(id))
		if got, ok := NodeOf(a); !ok || uint32(got) != id {
			t.Errorf("NodeOf(%q) = %d, %v", a, got, ok)
		}
	}
	if NodeAccount(2) >= NodeAccount(10) {
		t.Error("node accounts do not sort numerically")
	}
	for _, a := range []Account{"node/", "node/0000000g", "node/0000000A", "x/00000001", "node/000000001"} {
		if _, ok := NodeOf(a); ok {
			t.Errorf("NodeOf(%q) accepted", a)
		}
	}
}
