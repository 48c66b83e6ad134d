package blockprop

import (
	"testing"
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
