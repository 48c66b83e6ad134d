package blockprop

import (
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios"
)

// BenchmarkBlockProp10k floods a 1 MB block over 10,000 nodes; it reports the
// engine's events/s over the run (build excluded) and live heap per node.
func BenchmarkBlockProp10k(b *testing.B) {
	p, err := Demo("population.nodes=10000")
	if err != nil {
		b.Fatal(err)
	}
	var events uint64
	var wall float64
	var heap uint64
	for i := 0; i < b.N; i++ {
		r, err := Run(p)
		if err != nil {
			b.Fatal(err)
		}
		if r.Coverage() != 1 {
			b.Fatalf("the block reached %.2f%% of the nodes", 100*r.Coverage())
		}
		events += r.Events
		wall += r.Wall.Seconds()
		heap = r.HeapBuilt
	}
	b.ReportMetric(float64(events)/wall, "events/s")
	b.ReportMetric(float64(heap)/float64(len(p.Nodes)), "heapB/node")
}

// BenchmarkScale runs scenarios/relay-100k-day.yaml's network with push
// relay (the setting: 1 MiB blocks every 600 s, each node dialing
// 4) for 12 simulated hours at 10,000 nodes (5 M events) and at 100,000
// (50 M), alternately so that a noisy machine slows both alike. It reports
// each one's events/s (world construction excluded) and the ratio. Both
// run as long in simulated time, so that what grows early in a run (the
// event queue's arrays) weighs alike. On a shared machine wall time
// measures the other jobs as much as the engine, so it also reports events
// per second of the process's CPU time (user + system, the collector
// included), from the first progress report (the world built, the run
// started) to the end.
func BenchmarkScale(b *testing.B) {
	sets := [2][]string{
		{"population.nodes=10000", "run.duration=12h"},
		{"population.nodes=100000", "run.duration=12h"},
	}
	var events, cpuEvents [2]uint64
	var wall, cpu [2]float64
	for i := 0; i < b.N; i++ {
		for k, set := range sets {
			sc, err := scenarios.Builtin("relay-100k-day", append([]string{"protocol.gossip.relay=push", "protocol.gossip.schedule=slots",
				"protocol.gossip.validation={}", "protocol.gossip.degree=4", "protocol.gossip.max_inbound=0"}, set...)...)
			if err != nil {
				b.Fatal(err)
			}
			p, err := FromScenario(sc, 0)
			if err != nil {
				b.Fatal(err)
			}
			_, p.Sink = NewRecorder(int64(10*protocol.Second), int64(p.end()))
			var cpu0 float64
			var ev0 uint64
			p.Progress = func(_ int64, ev uint64) {
				if cpu0 == 0 {
					cpu0, ev0 = cpuSeconds(), ev
				}
			}
			r, err := Run(p)
			if err != nil {
				b.Fatal(err)
			}
			cpu[k] += cpuSeconds() - cpu0
			cpuEvents[k] += r.Events - ev0
			events[k] += r.Events
			wall[k] += r.Wall.Seconds()
		}
	}
	small, big := float64(events[0])/wall[0], float64(events[1])/wall[1]
	b.ReportMetric(small, "events/s-10k")
	b.ReportMetric(big, "events/s-100k")
	b.ReportMetric(big/small, "ratio")
	if cpu[0] > 0 && cpu[1] > 0 {
		smallCPU, bigCPU := float64(cpuEvents[0])/cpu[0], float64(cpuEvents[1])/cpu[1]
		b.ReportMetric(smallCPU, "events/cpu-s-10k")
		b.ReportMetric(bigCPU, "events/cpu-s-100k")
		b.ReportMetric(bigCPU/smallCPU, "cpu-ratio")
	}
}

// BenchmarkRelayComparison runs scenarios/relay-comparison.yaml (SimBlock's
// setting: 6,000 nodes, 100 blocks of 535,000 bytes) under each relay,
// with the recorder the runner uses; it reports events/s (world
// construction excluded).
func BenchmarkRelayComparison(b *testing.B) {
	for _, relay := range []string{"push", "announce", "compact"} {
		b.Run(relay, func(b *testing.B) {
			var events uint64
			var wall float64
			for i := 0; i < b.N; i++ {
				sc, err := scenarios.Builtin("relay-comparison", "protocol.gossip.relay="+relay)
				if err != nil {
					b.Fatal(err)
				}
				p, err := FromScenario(sc, 0)
				if err != nil {
					b.Fatal(err)
				}
				rec, sink := NewRecorder(int64(sc.Outputs.Step.D()), int64(p.end()))
				p.Sink = sink
				r, err := Run(p)
				if err != nil {
					b.Fatal(err)
				}
				_ = Summary(r, rec)
				events += r.Events
				wall += r.Wall.Seconds()
			}
			b.ReportMetric(float64(events)/wall, "events/s")
		})
	}
}
