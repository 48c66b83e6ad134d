package learnrun

import (
	"math"
	"testing"

	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/scenarios/learning"
)

// TestDifferentialPrivacy: DP-FedAvg with clipping only costs little
// accuracy, with a noise multiplier of 4 it costs much more (20 providers:
// the noise's sd, 4·clip/20, is the size of an honest round's step), and
// the report carries the guarantee and the cost, measured against the same
// run without DP.
func TestDifferentialPrivacy(t *testing.T) {
	skipClaimUnderRace(t)
	cost := map[float64]float64{}
	for _, sigma := range []float64{0, 4} {
		p := learning.DefaultParams()
		p.Rounds, p.Baseline = 6, false
		p.DP = &learning.DP{Clip: 2, Sigma: sigma, Delta: 1e-5}
		res, err := Run(&p)
		if err != nil {
			t.Fatal(err)
		}
		if res.NoDP == nil || res.NoDP.NoDP != nil {
			t.Fatal("no run without DP beside the DP run")
		}
		cost[sigma] = res.NoDP.Final() - res.Final()
		figs := map[string]float64{}
		for _, f := range learning.Summary(res.Result).Figures {
			figs[f.Key] = f.Value
		}
		if got, want := figs["dp_epsilon"], (learn.DP{Clip: 2, Sigma: sigma}).Epsilon(6, 1e-5); got != want && !(math.IsInf(got, 1) && math.IsInf(want, 1)) {
			t.Errorf("σ %v: dp_epsilon %v, want %v", sigma, got, want)
		}
		if got := figs["dp_accuracy_cost"]; got != cost[sigma] {
			t.Errorf("σ %v: dp_accuracy_cost %v, want %v", sigma, got, cost[sigma])
		}
		t.Logf("σ %v: accuracy %.4f, without DP %.4f, ε %.2f", sigma, res.Final(), res.NoDP.Final(), figs["dp_epsilon"])
	}
	if cost[0] > 0.03 {
		t.Errorf("clipping to 2 without noise cost %.3f of accuracy, want <= 0.03", cost[0])
	}
	if cost[4] < cost[0]+0.1 {
		t.Errorf("noise multiplier 4 cost %.3f, clipping alone %.3f: want the noise to cost at least 10 points more", cost[4], cost[0])
	}

	bad := learning.DefaultParams()
	bad.Rule = learn.RuleMedian
	bad.DP = &learning.DP{Clip: 1, Sigma: 1, Delta: 1e-5}
	if err := bad.Validate(); err == nil {
		t.Error("DP with the median accepted")
	}
}
