package blockprop

import (
	"math"
	"runtime"
	"slices"
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

// exact runs the same parameters with a sink that keeps every event:
// the exact figures the recorder must agree with.
func exact(t *testing.T, overrides ...string) (delays []float64, reach [3][]float64, dups int, nodes int) {
	t.Helper()
	p, err := Demo(overrides...)
	if err != nil {
		t.Fatal(err)
	}
	var c capture
	p.Sink = &c
	if _, err := Run(p); err != nil {
		t.Fatal(err)
	}
	n := len(p.Nodes)
	held := map[gossip.Ref]int{}
	for _, s := range c.got {
		switch ev := s.Event.(type) {
		case gossip.Received:
			if ev.Hops > 0 {
				delays = append(delays, ev.Delay.Milliseconds())
			}
			k := gossip.Ref{Origin: ev.Origin, Height: ev.Height}
			held[k]++
			for i, need := range []int{(n + 1) / 2, (9*n + 9) / 10, n} {
				if held[k] == need {
					reach[i] = append(reach[i], ev.Delay.Milliseconds())
				}
			}
		case gossip.Duplicate:
			dups++
		}
	}
	slices.Sort(delays)
	for i := range reach {
		slices.Sort(reach[i])
	}
	return delays, reach, dups, n
}

// The recorder's figures, streamed, agree with exact ones from the events:
// counts exactly, quantiles within the sketch's ±0.5%, maxima exactly.
func TestSummaryMatchesExact(t *testing.T) {
	set := []string{"population.nodes=500", "protocol.gossip.interval=5s", "run.duration=40s", "protocol.gossip.block_size=256KiB"}
	res, rec, run := recorded(t, set...)
	delays, reach, dups, n := exact(t, set...)
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
	if fig("propagation_count") != float64(len(delays)) || fig("duplicates") != float64(dups) || fig("nodes") != float64(n) || fig("coverage") != 1 {
		t.Errorf("counts: %v %v %v %v", fig("propagation_count"), fig("duplicates"), fig("nodes"), fig("coverage"))
	}
	if fig("deliveries") != float64(len(delays)+dups) || fig("blocks") != 7 || res.Blocks != 7 {
		t.Errorf("deliveries %v, want %d; blocks %v, want 7 (slots at 5, 10, …, 35 s)", fig("deliveries"), len(delays)+dups, fig("blocks"))
	}
	check := func(stem string, xs []float64) {
		if fig(stem+"_count") != float64(len(xs)) {
			t.Errorf("%s_count = %v, want %d", stem, fig(stem+"_count"), len(xs))
		}
		for _, q := range []struct {
			key string
			q   float64
		}{{"_p50", 0.5}, {"_p90", 0.9}, {"_p99", 0.99}} {
			want := xs[int(math.Floor(q.q*float64(len(xs)-1)))]
			if got := fig(stem + "_ms" + q.key); math.Abs(got-want) > record.DefaultRelErr*want {
				t.Errorf("%s_ms%s = %v, exact %v: beyond ±%g%%", stem, q.key, got, want, 100*record.DefaultRelErr)
			}
		}
		if fig(stem+"_ms_max") != xs[len(xs)-1] {
			t.Errorf("%s_ms_max = %v, exact %v", stem, fig(stem+"_ms_max"), xs[len(xs)-1])
		}
	}
	check("propagation", delays)
	check("reach50", reach[0])
	check("reach90", reach[1])
	check("reach100", reach[2])
	if len(reach[2]) != 7 || !(reach[0][0] < reach[1][0] && reach[1][0] < reach[2][0]) {
		t.Errorf("per-block reach times %v: want 7 blocks, each reaching 50%% before 90%% before 100%%", reach)
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

// The engine allocates nothing per delivered message: twice the blocks,
// some 25,000 more deliveries, cost a handful more allocations (the
// recorder's series growing), not one per message.
func TestRunAllocatesPerBlockNotPerMessage(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	mallocs := func(d string) (uint64, *Result) {
		p, err := Demo("population.nodes=300", "protocol.gossip.interval=5s", "run.duration="+d, "protocol.gossip.block_size=64KiB")
		if err != nil {
			t.Fatal(err)
		}
		rec, sink := NewRecorder(int64(100*protocol.Millisecond), 0)
		p.Sink = sink
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		res, err := Run(p)
		runtime.ReadMemStats(&m1)
		if err != nil {
			t.Fatal(err)
		}
		_ = Summary(res, rec)
		return m1.Mallocs - m0.Mallocs, res
	}
	a, ra := mallocs("50s")
	b, rb := mallocs("100s")
	more := rb.Deliveries - ra.Deliveries
	if more < 20000 || b > a && b-a > more/100 {
		t.Fatalf("%d blocks: %d allocations; %d blocks: %d (%d more deliveries): want far under one per delivery", ra.Blocks, a, rb.Blocks, b, more)
	}
}

// A block's per-node state is freed once nothing about it is in flight:
// blocks far apart reuse one array, however many there are.
func TestBlockStateIsReused(t *testing.T) {
	for _, relay := range []string{"push", "announce", "compact"} {
		p, err := Demo("population.nodes=200", "protocol.gossip.interval=30s", "run.duration=10m", "protocol.gossip.relay="+relay)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(p)
		if err != nil {
			t.Fatal(err)
		}
		if res.Blocks != 19 || res.slotArrays != 1 || res.Coverage() != 1 {
			t.Errorf("%s: %d blocks made %d state arrays (coverage %g); want 19 blocks, 1 array", relay, res.Blocks, res.slotArrays, res.Coverage())
		}
	}
}
