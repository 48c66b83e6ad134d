package learnrun

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/scenarios/learning"
)

// FitCurve recovers a curve from its own points, with and without noise.
func TestFitCurve(t *testing.T) {
	for _, want := range []learning.Curve{{A: 0.96, B: 0.86, C: 0.45}, {A: 0.91, B: 0.8, C: 1.2}, {A: 0.95, B: 0.85, C: 0.08}} {
		acc := make([]float64, 21)
		for r := range acc {
			acc[r] = want.At(float64(r))
		}
		got, err := FitCurve(acc)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.A-want.A) > 1e-4 || math.Abs(got.B-want.B) > 1e-4 || math.Abs(got.C-want.C) > 1e-3 || got.RMSE > 1e-5 {
			t.Errorf("fit of %+v = %+v", want, got)
		}
		// A deterministic ±0.5-point zigzag: the fit stays close and the
		// residuals say how far the points are from it.
		for r := range acc {
			acc[r] += 0.005 * float64(1-2*(r%2))
		}
		got, err = FitCurve(acc)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.A-want.A) > 0.01 || got.RMSE < 0.004 || got.RMSE > 0.006 || got.MaxResidual > 0.01 {
			t.Errorf("noisy fit of %+v = %+v", want, got)
		}
	}
	if _, err := FitCurve([]float64{0.1, 0.5, 0.9}); err == nil {
		t.Error("fitted three points")
	}
}

// surrogateParams is a small surrogate run: the curve fitted to 20
// providers × 6 rounds, then learners learners for 4 rounds.
func surrogateParams(learners int) learning.Params {
	p := learning.DefaultParams()
	p.Providers, p.Rounds = learners, 4
	p.Surrogate = &learning.Surrogate{FitProviders: 20, FitRounds: 6}
	return p
}

// A surrogate run of 2,000 learners: the protocol runs every round (every
// learner's update is collected, scored and paid), accuracy is the fitted
// curve's, every curve figure is labelled surrogate, and attacks and a
// lying committee act as documented.
func TestSurrogate(t *testing.T) {
	skipClaimUnderRace(t)
	run := func(p learning.Params) *Result {
		t.Helper()
		res, err := Run(&p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	n := 500 // make claims runs the 2,000 this test is named for
	if claims {
		n = 2000
	}
	clean := run(surrogateParams(n))
	f := clean.Surrogate
	if f == nil || len(f.FitAccuracy) != 7 || clean.Updates != 4*n || clean.Accepted != 4*n || f.Progress != 4 {
		t.Fatalf("clean surrogate: fit %+v, %d updates, %d accepted", f, clean.Updates, clean.Accepted)
	}
	for k, acc := range clean.Accuracy {
		if acc != f.Curve.At(float64(k)) {
			t.Errorf("round %d accuracy %v, want the curve's %v", k, acc, f.Curve.At(float64(k)))
		}
	}
	if f.Curve.RMSE > 0.05 || math.Abs(f.Curve.At(6)-f.FitAccuracy[6]) > 0.05 {
		t.Errorf("fit %+v to %v", f.Curve, f.FitAccuracy)
	}
	// Every honest learner scored alike, so the pot splits evenly.
	if lo, hi := slices.Min(clean.Payout[4:4+n]), slices.Max(clean.Payout[4:4+n]); lo == 0 || hi-lo > 1 {
		t.Errorf("honest payouts from %d to %d", lo, hi)
	}

	sum := learning.Summary(clean.Result)
	keys := map[string]metrics.Figure{}
	for _, fig := range sum.Figures {
		keys[fig.Key] = fig
	}
	for _, k := range []string{"accuracy_final", "attack_success_rate", "attack_success_rate_mean"} {
		if _, ok := keys[k]; ok {
			t.Errorf("surrogate summary has the measured key %s", k)
		}
		if fig, ok := keys["surrogate_"+k]; !ok || !strings.HasPrefix(fig.Help, "SURROGATE") {
			t.Errorf("surrogate summary: surrogate_%s = %+v", k, fig)
		}
	}
	if keys["surrogate"].Value != 1 || !strings.Contains(sum.Meta.Params["accuracy_source"], "surrogate learning curve") ||
		sum.Curves[0].Key != "surrogate_accuracy_by_round" || !strings.HasPrefix(sum.Plots[0].Caption, "SURROGATE") {
		t.Errorf("surrogate summary not flagged: %+v %q %s", keys["surrogate"], sum.Meta.Params["accuracy_source"], sum.Curves[0].Key)
	}

	// The runs below reuse the fit. 30% sign flippers under FedAvg: the
	// measured table says the model collapses to chance; they score below
	// zero and earn nothing.
	reuse := func(learners int) learning.Params {
		p := surrogateParams(learners)
		p.Surrogate.Curve = &f.Curve
		return p
	}
	p := reuse(n)
	p.Attack = learning.Attack{Kind: learning.SignFlip, Share: 0.3}
	flipped := run(p)
	if flipped.Final() > 0.11 || flipped.AttackerTokenShare() != 0 || len(flipped.Attackers) != 3*n/10 {
		t.Errorf("30%% sign flip: accuracy %v, attackers' token share %v of %d", flipped.Final(), flipped.AttackerTokenShare(), len(flipped.Attackers))
	}
	p.Trace = true
	once, again := run(p), run(p)
	if once.TraceHash == 0 || again.TraceHash != once.TraceHash || !slices.Equal(again.Payout, flipped.Payout) {
		t.Error("the same surrogate run twice differs")
	}
	p.Trace = false
	// Under the median the table says it holds within a few points (of
	// the curve it scales; the median's own fit would differ).
	p.Rule = "median"
	if m := run(p); clean.Final()-m.Final() > 0.03 {
		t.Errorf("30%% sign flip under the median: %v against %v clean", m.Final(), clean.Final())
	}

	// Two liars in a committee of four: no round has a quorum, the
	// model never moves and accuracy stays at the curve's start.
	p = reuse(n)
	p.Aggregators, p.Attack.LyingAggregators = 4, 2
	stalled := run(p)
	if stalled.NoQuorum != 4 || stalled.Final() != stalled.Surrogate.Curve.At(0) {
		t.Errorf("2 liars of 4: %d rounds without quorum, accuracy %v", stalled.NoQuorum, stalled.Accuracy)
	}
	// Three liars of four commit their model, which walks back.
	p.Attack.LyingAggregators = 3
	if lied := run(p); lied.Surrogate.Progress != 0 || lied.Dissents != 4 {
		t.Errorf("3 liars of 4: progress %d, %d dissents", lied.Surrogate.Progress, lied.Dissents)
	}
}

// BenchmarkSurrogate100k runs scenarios/federated-100k.yaml: 100,000
// learners in surrogate mode, 10,000 selected per round, 10 rounds, 3
// validators, a committee of 4, FedAvg; and the same with every learner
// training every round (3 rounds, server links of 100 Gbit/s and 5-minute
// timeouts, since 10⁵ copies of the model take 31 s on 1 Gbit/s). The
// fit run (20 providers × 20 rounds of real training) is included, its
// host time reported apart as fit-wall-s. It reports the host wall time
// of the surrogate run, events per host second, the peak resident memory
// of the process (VmHWM), the Go heap in use after the run, and the
// simulated round time.
func BenchmarkSurrogate100k(b *testing.B) {
	sc, err := scenarios.Load("../../scenarios/federated-100k.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, all := range []bool{false, true} {
		b.Run(fmt.Sprintf("all=%v", all), func(b *testing.B) {
			p, err := learning.FromScenario(sc, 0)
			if err != nil {
				b.Fatal(err)
			}
			if all {
				p.PerRound, p.Rounds = 0, 3
				p.ServerLink.UpBps, p.ServerLink.DownBps = 100e9, 100e9
				p.RoundTimeout, p.ScoreTimeout = 5*protocol.Minute, 5*protocol.Minute
			}
			var res *Result
			for b.Loop() {
				var err error
				if res, err = Run(p); err != nil {
					b.Fatal(err)
				}
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(res.Wall.Seconds(), "wall-s")
			b.ReportMetric(res.Surrogate.FitWall.Seconds(), "fit-wall-s")
			b.ReportMetric(float64(res.Events)/res.Wall.Seconds(), "events/s")
			b.ReportMetric(float64(res.Events), "events")
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
			b.ReportMetric(peakRSS()/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(roundTime(res)/1e6, "sim-ms/round")
			b.ReportMetric(100*res.Final(), "surrogate-acc-%")
		})
	}
}

// peakRSS is the process's peak resident set (Linux VmHWM), or NaN.
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return math.NaN()
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if kb, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			var v float64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), &v)
			return v * 1024
		}
	}
	return math.NaN()
}

// The shipped 100k scenario maps to a surrogate run (it is run by the
// benchmark, not here).
func TestFederated100kScenario(t *testing.T) {
	sc, err := scenarios.Load("../../scenarios/federated-100k.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := learning.FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Providers != 100_000 || p.PerRound != 10_000 || p.Surrogate == nil || p.Surrogate.FitProviders != 20 ||
		p.Surrogate.FitRounds != 20 || p.Aggregators != 4 || p.Rounds != 10 {
		t.Fatalf("params %+v surrogate %+v", p, p.Surrogate)
	}
	// Without the surrogate the same population is refused, saying why.
	sc, err = scenarios.Load("../../scenarios/federated-100k.yaml", "protocol.learning.surrogate=null")
	if err == nil {
		_, err = learning.FromScenario(sc, 0)
	}
	if err == nil || !strings.Contains(err.Error(), "surrogate") {
		t.Fatalf("100k learners with real gradients: %v", err)
	}
}
