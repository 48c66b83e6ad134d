package blockprop

import (
	"testing"

	"github.com/dais-sim/dais/protocol"
)

// BenchmarkRecorderOverhead runs the 10,000-node demo alternately with no
// extra sink (off) and with a metrics recorder fed through the gossip
// adapter (on), so that a noisy machine slows both alike. It reports each
// one's events/s and on/off as a percentage: the speed kept while
// recording (BENCHMARKS.md).
func BenchmarkRecorderOverhead(b *testing.B) {
	p, err := Demo("population.nodes=10000")
	if err != nil {
		b.Fatal(err)
	}
	var events [2]uint64
	var wall [2]float64
	for i := 0; i < b.N; i++ {
		for on := range 2 {
			p.Sink = nil
			if on == 1 {
				_, p.Sink = NewRecorder(int64(50*protocol.Millisecond), 0)
			}
			r, err := Run(p)
			if err != nil {
				b.Fatal(err)
			}
			events[on] += r.Events
			wall[on] += r.Wall.Seconds()
		}
	}
	off, on := float64(events[0])/wall[0], float64(events[1])/wall[1]
	b.ReportMetric(off, "events/s-off")
	b.ReportMetric(on, "events/s-on")
	b.ReportMetric(100*on/off, "%kept")
}
