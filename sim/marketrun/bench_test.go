package marketrun

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/scenarios/marketplace"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/market"
)

// The sweeps behind BENCHMARKS.md's marketplace section. Each iteration is
// every run of the sweep; the tables are logged (-v).

var matchings = []market.Matching{market.PerBlock, market.Continuous}

func BenchmarkDetectionTable(b *testing.B) {
	for b.Loop() {
		for _, m := range matchings {
			rows, err := DetectionTable(DetectionSchemes([]float64{0.01, 0.05, 0.1, 0.2}, []int{2, 3}), m)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("\n%s matching:\n%s", m, FormatDetection(rows))
		}
	}
}

func BenchmarkSchedulerTable(b *testing.B) {
	all := []market.Policy{market.FIFO, market.Fastest, market.FairShare, market.Lottery}
	for b.Loop() {
		for _, m := range matchings {
			for _, rate := range []float64{2.5, 8} {
				rows, err := SchedulerTable(all, rate, m)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("\n%s matching, %.1f jobs/s:\n%s", m, rate, FormatSchedulers(rows))
			}
		}
	}
}

func BenchmarkSybilGain(b *testing.B) {
	for b.Loop() {
		var s strings.Builder
		s.WriteString("| k | work-based, per block | per-identity, per block | work-based, continuous | per-identity, continuous |\n|---:|---:|---:|---:|---:|\n")
		for _, k := range []int{1, 2, 3, 5, 10, 20} {
			fmt.Fprintf(&s, "| %d |", k)
			for _, m := range matchings {
				for _, perID := range []bool{false, true} {
					p := SybilParams(k, perID)
					p.Matching = m
					res, err := Run(p)
					if err != nil {
						b.Fatal(err)
					}
					fmt.Fprintf(&s, " %.3f |", res.SybilGain)
				}
			}
			s.WriteString("\n")
		}
		b.Logf("\n%s", s.String())
	}
}

// BenchmarkLazy times one run of the lazy-provider experiment (spot
// checks at 0.1): 114 nodes, about 50,000 units, 11 simulated minutes.
func BenchmarkLazy(b *testing.B) {
	for _, m := range matchings {
		b.Run(m.String(), func(b *testing.B) {
			p := LazyParams(market.Verification{Scheme: market.SpotCheck, SpotCheck: 0.1})
			p.Matching = m
			for b.Loop() {
				res, err := Run(p)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(res.Events)/res.Wall.Seconds(), "events/s")
				b.ReportMetric(protocol.Duration(res.End).Seconds()/res.Wall.Seconds(), "sim-s/wall-s")
				b.ReportMetric(float64(res.Verified), "units")
			}
		})
	}
}

// BenchmarkMasterWorkers is the cluster simulators' master-workers
// benchmark (scenarios/master-workers.yaml, as dais run runs it): one job
// of units units of 10 GFLOP with 1 MB of input each over workers H100s
// on a star, continuous matching. Each iteration is one whole run, timed
// end to end: world built, run to the end of its drain (200 s simulated),
// figures summarized. It reports
// units per wall second, units per second of the process's CPU time (user
// and system: what a shared machine's load does not inflate), and the
// makespan's distance from the bound (units ÷ workers × (input transfer +
// unit time), starBound).
func BenchmarkMasterWorkers(b *testing.B) {
	for _, units := range []int{10_000, 100_000, 1_000_000} {
		for _, workers := range []int{100, 1000} {
			b.Run(fmt.Sprintf("units=%d/workers=%d", units, workers), func(b *testing.B) {
				sc, err := scenarios.Load("../../scenarios/master-workers.yaml", fmt.Sprintf("workload.jobs[0].units=%d", units),
					fmt.Sprintf("population.groups[0].count=%d", workers), "workload.drain=200s")
				if err != nil {
					b.Fatal(err)
				}
				p, err := marketplace.FromScenario(sc, 0)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					start, cpu0 := time.Now(), cpuTime()
					res, err := Run(p)
					if err != nil {
						b.Fatal(err)
					}
					marketplace.Summary(res)
					wall, cpu := time.Since(start), cpuTime()-cpu0
					if res.Verified != units {
						b.Fatalf("%d units verified of %d", res.Verified, units)
					}
					bound := starBound(workers, units, 1e6, 1e9)
					b.ReportMetric(float64(units)/wall.Seconds(), "units/s")
					b.ReportMetric(float64(units)/cpu.Seconds(), "units/cpu-s")
					b.ReportMetric(100*(res.Makespan-bound)/bound, "makespan-%")
				}
			})
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
