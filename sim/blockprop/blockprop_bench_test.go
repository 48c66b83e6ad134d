package blockprop

import (
	"testing"
)

// BenchmarkBlockProp10k floods a 1 MB block over 10,000 nodes; it reports the
// engine's events/s over the run (build excluded) and live heap per node.
func BenchmarkBlockProp10k(b *testing.B) {
	p := DefaultParams()
	p.Nodes = 10000
	var events uint64
	var wall float64
	var heap uint64
	for i := 0; i < b.N; i++ {
		r, err := Run(p)
		if err != nil {
			b.Fatal(err)
		}
		if r.Reached != p.Nodes {
			b.Fatalf("reached %d of %d nodes", r.Reached, p.Nodes)
		}
		events += r.Events
		wall += r.Wall.Seconds()
		heap = r.HeapBuilt
	}
	b.ReportMetric(float64(events)/wall, "events/s")
	b.ReportMetric(float64(heap)/float64(p.Nodes), "heapB/node")
}
