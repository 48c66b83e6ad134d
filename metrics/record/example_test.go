package record_test

import (
	"fmt"
	"strings"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
)

// Commit is what a protocol package would emit; it declares its measure
// and says what it observes.
type Commit struct{ LatencyMs float64 }

var commitLatency = &metrics.Measure{Name: "commit_latency", Unit: "ms", Kind: metrics.Distribution,
	Help: "time from proposal to commit", Better: metrics.Lower}

func (Commit) Kind() string { return "example.commit" }

func (c Commit) Observe(_ metrics.Stamped, o metrics.Observer) { o.Sample(commitLatency, c.LatencyMs) }

func Example() {
	rec := record.New(record.Config{StepNs: 1e9}, commitLatency)
	for i, ms := range []float64{120, 80, 100, 300} {
		rec.Record(metrics.Stamped{Node: 1, AtNs: int64(i) * 7e8, Event: Commit{ms}})
	}
	run := rec.Summary(3e9)
	// Quantiles come from a sketch: within ±0.5% of the exact 100 ms;
	// count, mean and max are exact.
	for _, key := range []string{"commit_latency_count", "commit_latency_ms_mean", "commit_latency_ms_p50", "commit_latency_ms_max"} {
		f, _ := run.Figure(key)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s = %.4g %s", key, f.Value, f.Unit)))
	}
	fmt.Println("commits per 1 s step:", run.Column("commit_latency_count").Values)
	// Output:
	// commit_latency_count = 4
	// commit_latency_ms_mean = 150 ms
	// commit_latency_ms_p50 = 100.4 ms
	// commit_latency_ms_max = 300 ms
	// commits per 1 s step: [2 1 1]
}
