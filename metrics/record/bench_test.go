package record

import (
	"testing"

	"github.com/dais-sim/dais/metrics"
)

// BenchmarkRecord is the recorder's cost per event of a typical kind: one
// distribution sample, one counter, one per-node total, with time series.
func BenchmarkRecord(b *testing.B) {
	rec := New(Config{StepNs: 5e7}, latency, sent, earnings)
	s := metrics.Stamped{Node: 7, Event: arrival{DelayMs: 1234.5, Bytes: 1 << 20, Payee: 7}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.AtNs = int64(i) * 1000
		rec.Record(s)
	}
}
