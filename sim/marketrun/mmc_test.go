package marketrun

import (
	"cmp"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/dais-sim/dais/scenarios/marketplace"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol/market"
)

// Continuous matching is a first-come-first-served queue with c servers:
// run as M/M/c (MMcParams: Poisson requests, exponential service, c
// identical providers, FIFO, no latency), the mean wait from a request's
// post to its start agrees with Erlang C within 5% plus the 95%
// confidence interval, and the interval is within ±3% of the mean. The
// interval comes from independent replications (seeds derived from one
// root), each one run's reported mean: replications, not batch means,
// because each run's figure is what a user reads. Each run also holds
// Little's law on its reported queue figures: the committee's mean queue
// length (its own integral over time) equals the arrival rate times the
// mean queue wait (the meter's, from the assignments), and with no
// latency the queue wait is the wait from post to start.
//
// How many requests: the half-width shrinks as 1/√n, and n was sized from
// the measured spread. A c = 16 queue rarely waits, and when it does the
// wait is short, so its mean is the noisiest: ±3% takes 14 million
// requests at ρ = 0.5 and 4.5 million at 0.8, a minute and more of CPU.
// By default (make test) every queue runs with about a quarter of the
// requests in 6 replications and is held to 5% plus its (wider,
// reported) interval; -mmc.full (make claims) runs the sizes above and
// holds every interval to ±3% (BENCHMARKS.md has the result).
func TestMMcMatchesErlangC(t *testing.T) {
	type tc struct {
		c     int
		rho   float64
		units int // per replication
		reps  int
		loose bool // the interval is not held to ±3%
	}
	cases := []tc{
		{1, 0.5, 40_000, 10, false}, {1, 0.8, 60_000, 10, false},
		{4, 0.5, 110_000, 10, false}, {4, 0.8, 200_000, 10, false},
		{16, 0.5, 1_400_000, 10, false}, {16, 0.8, 450_000, 10, false},
	}
	if !*mmcFull {
		// make test: a quarter of the requests and 6 replications (1.6
		// million requests against 7.2 million), every queue held to 5%
		// plus its reported interval; make claims (and -mmc.full) runs the
		// claim's sizes and holds every interval to ±3%.
		for i := range cases {
			cases[i].units, cases[i].reps, cases[i].loose = max(cases[i].units/4, 20_000), 6, true
		}
		cases[4].units = 60_000
	}
	if raceEnabled {
		// The same code path, light: the claim's sizes take minutes under
		// the race detector, which has nothing to find in a
		// single-threaded run.
		cases = []tc{{4, 0.5, 10_000, 3, true}}
	}
	for _, k := range cases {
		t.Run(fmt.Sprintf("c=%d,rho=%g", k.c, k.rho), func(t *testing.T) {
			t.Parallel()
			const meanService = 0.01 // s, MMcParams'
			lambda := k.rho * float64(k.c) / meanService
			want := ErlangC(k.c, lambda, 1/meanService) * 1000 // ms
			var means []float64
			for r := range k.reps {
				res := mustRun(t, MMcParams(k.c, k.rho, k.units, uint64(1000*k.c+r)))
				run := marketplace.Summary(res)
				w := figure(t, run, "wait_post_start_ms_mean")
				l, arr, wq := figure(t, run, "queue_length_mean"), figure(t, run, "queue_arrivals_per_s"), figure(t, run, "queue_wait_ms_mean")
				if d := math.Abs(l - arr*wq/1000); !(d <= 1e-6*max(l, 1e-9)) {
					t.Errorf("replication %d: Little's law: L = %.9g, λW = %.9g × %.9g ms = %.9g", r, l, arr, wq, arr*wq/1000)
				}
				if math.Abs(w-wq) > 1e-6 {
					t.Errorf("replication %d: with no latency the wait from post to start (%.6f ms) is the queue wait (%.6f ms)", r, w, wq)
				}
				if n := res.PostStart.N; n < k.units*95/100 {
					t.Errorf("replication %d: %d requests started, want about %d", r, n, k.units)
				}
				means = append(means, w)
			}
			mean, half := replicationCI(means)
			t.Logf("mean wait %.5f ms ± %.5f (95%%, %.1f%%) over %d × %d requests; Erlang C %.5f ms (%+.1f%%)",
				mean, half, 100*half/mean, k.reps, k.units, want, 100*(mean-want)/want)
			if !k.loose && half > 0.03*mean {
				t.Errorf("the 95%% interval is ±%.1f%% of the mean, want within ±3%%: more requests", 100*half/mean)
			}
			if d := math.Abs(mean - want); d > 0.05*want+half {
				t.Errorf("mean wait %.5f ms, Erlang C %.5f ms: off by %.5f, more than 5%% (%.5f) plus the interval (%.5f)",
					mean, want, d, 0.05*want, half)
			}
		})
	}
}

var mmcFull = flag.Bool("mmc.full", false, "run TestMMcMatchesErlangC's c = 16 queues with enough requests for ±3%")

// replicationCI is the mean of independent replications' values and the
// half-width of its 95% confidence interval (Student's t).
func replicationCI(x []float64) (mean, half float64) {
	n := float64(len(x))
	for _, v := range x {
		mean += v
	}
	mean /= n
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(0.975)
	return mean, t * math.Sqrt(ss/(n-1)/n)
}

// ErlangC against a table value: c = 2, λ = 1, μ = 1 (a = 1, ρ = 0.5):
// C = 1/3, Wq = C/(cμ − λ) = 1/3.
func TestErlangC(t *testing.T) {
	for _, tc := range []struct {
		c          int
		lambda, mu float64
		want       float64
	}{
		{1, 0.5, 1, 1},     // M/M/1: ρ/(μ − λ) = 0.5/0.5
		{2, 1, 1, 1.0 / 3}, // C(2, 1) = 1/3
		{1, 0.8, 1, 4},
	} {
		if got := ErlangC(tc.c, tc.lambda, tc.mu); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("ErlangC(%d, %g, %g) = %g, want %g", tc.c, tc.lambda, tc.mu, got, tc.want)
		}
	}
}

func TestContinuousIsFCFS(t *testing.T) {
	n := 20_000
	if raceEnabled {
		n = 4_000
	}
	for _, c := range []int{1, 4, 16} {
		p := MMcParams(c, 0.8, n, 77)
		type req struct{ posted, start, service int64 }
		reqs := map[[2]uint64]*req{} // by job's first 8 bytes and unit
		key := func(j market.JobID, u uint32) [2]uint64 {
			return [2]uint64{binary.LittleEndian.Uint64(j[:8]), uint64(u)}
		}
		get := func(k [2]uint64) *req {
			r, ok := reqs[k]
			if !ok {
				r = &req{}
				reqs[k] = r
			}
			return r
		}
		p.Sink = metrics.SinkFunc(func(s metrics.Stamped) {
			switch e := s.Event.(type) {
			case market.Assigned:
				get(key(e.Job, e.Unit)).posted = int64(e.Posted)
			case market.Computed:
				r := get(key(e.Job, e.Unit))
				r.service = e.DurationNs
				r.start = s.AtNs - e.DurationNs
			}
		})
		mustRun(t, p)
		var all []*req
		for _, r := range reqs {
			if r.service > 0 {
				all = append(all, r)
			}
		}
		slices.SortFunc(all, func(a, b *req) int { return cmp.Compare(a.posted, b.posted) })
		free := make([]int64, c) // when each server is next free
		mismatch := 0
		for _, r := range all {
			k := slices.Index(free, slices.Min(free))
			start := max(r.posted, free[k])
			free[k] = start + r.service
			if start != r.start {
				if mismatch++; mismatch <= 3 {
					t.Errorf("c = %d: a request posted at %d started at %d; a FCFS queue starts it at %d", c, r.posted, r.start, start)
				}
			}
		}
		if len(all) < n*95/100 || mismatch > 0 {
			t.Errorf("c = %d: %d of %d requests start other than in a FCFS queue", c, mismatch, len(all))
		}
	}
}
