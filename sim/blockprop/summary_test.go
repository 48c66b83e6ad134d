package blockprop

import (
	"math"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
)

func recorded(t *testing.T, overrides ...string) (*Result, *record.Recorder, *metrics.Run) {
	t.Helper()
	p, err := Demo(overrides...)
	if err != nil {
		t.Fatal(err)
	}
	rec, sink := NewRecorder(int64(50*protocol.Millisecond), 0)
	p.Sink = sink
	res, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	return res, rec, Summary(res, rec)
}

// The recorder's figures agree with the exact ones the run keeps.
func TestSummaryMatchesExact(t *testing.T) {
	res, rec, run := recorded(t, "population.nodes=500")
	if err := run.Validate(); err != nil {
		t.Fatal(err)
	}
	fig := func(k string) float64 {
		f, ok := run.Figure(k)
		if !ok {
			t.Fatalf("no figure %s", k)
		}
		return f.Value
	}
	n := len(res.Delays)
	if fig("propagation_count") != float64(n) || fig("duplicates") != float64(res.Duplicates) || fig("nodes") != 500 || fig("coverage") != 1 {
		t.Errorf("counts: %v %v %v %v", fig("propagation_count"), fig("duplicates"), fig("nodes"), fig("coverage"))
	}
	if fig("deliveries") != float64(n+res.Duplicates) {
		t.Errorf("deliveries %v, want %d", fig("deliveries"), n+res.Duplicates)
	}
	for _, q := range []struct {
		key string
		q   float64
	}{{"propagation_ms_p50", 0.5}, {"propagation_ms_p90", 0.9}, {"propagation_ms_p99", 0.99}, {"propagation_ms_max", 1}} {
		exact := res.Delays[int(math.Floor(q.q*float64(n-1)))].Milliseconds()
		if got := fig(q.key); math.Abs(got-exact) > record.DefaultRelErr*exact {
			t.Errorf("%s = %v, exact %v: beyond ±%g%%", q.key, got, exact, 100*record.DefaultRelErr)
		}
	}
	if fig("propagation_ms_max") != res.Delays[n-1].Milliseconds() {
		t.Errorf("max is not exact")
	}
	if rec.Ignored() != 0 {
		t.Errorf("%d events not observed", rec.Ignored())
	}
}

func TestPerGroupBars(t *testing.T) {
	_, _, run := recorded(t, "population.nodes=300",
		`population.groups=[{name: fast, share: 50%, bandwidth: datacenter-1g}, {name: slow, share: 50%, bandwidth: home-100/20}]`)
	g := run.Group("propagation_ms_mean_by_group")
	if g == nil || len(g.Labels) != 2 || g.Labels[0] != "fast" {
		t.Fatalf("group %+v", g)
	}
	// Nodes on 20 Mbit/s uplinks relay a 1 MiB block 50 times slower.
	if v := g.Sets[0].Values; !(v[0] < v[1]) {
		t.Errorf("fast group %v ms, slow %v ms: want fast < slow", v[0], v[1])
	}
	if err := run.Validate(); err != nil {
		t.Error(err)
	}
}

// The adapter allocates nothing per event.
func TestObserveAllocs(t *testing.T) {
	rec, sink := NewRecorder(int64(protocol.Second), 0)
	s := metrics.Stamped{Node: 3, AtNs: 5e8, Event: gossip.Received{Delay: protocol.Duration(4e8), Hops: 2, Bytes: 1000}}
	d := metrics.Stamped{Node: 4, AtNs: 6e8, Event: gossip.Duplicate{Bytes: 1000}}
	if a := testing.AllocsPerRun(1000, func() { sink.Record(s); sink.Record(d) }); a != 0 {
		t.Errorf("%v allocations per event pair", a)
	}
	if rec.Total(Duplicates) != 1001 || rec.Quantile(Propagation, 0.5) != 400 {
		t.Errorf("duplicates %v, p50 %v ms", rec.Total(Duplicates), rec.Quantile(Propagation, 0.5))
	}
}
