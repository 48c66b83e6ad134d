package learn

import (
	"math"
	"testing"
)

func TestDPClipsAveragesAndNoises(t *testing.T) {
	us := []Update{
		{Delta: []float64{3, 4}, Weight: 100}, // norm 5, clipped to 1: (0.6, 0.8)
		{Delta: []float64{0, 0.5}, Weight: 1}, // under the clip
	}
	got, err := DP{Clip: 1, Sigma: 0}.Aggregate(us)
	if err != nil {
		t.Fatal(err)
	}
	// Equal weights, whatever the sample counts.
	if want := []float64{0.3, 0.65}; math.Abs(got[0]-want[0]) > 1e-12 || math.Abs(got[1]-want[1]) > 1e-12 {
		t.Errorf("σ = 0: got %v, want %v", got, want)
	}
	if us[0].Delta[0] != 3 {
		t.Error("DP modified an update")
	}

	// With noise: the same updates give the same noise (so committee
	// members agree), other updates or another seed other noise, and the
	// noise's spread is σ·clip/n.
	rule := DP{Clip: 1, Sigma: 2, Seed: 7}
	big := make([]Update, 4)
	for i := range big {
		big[i] = Update{Delta: make([]float64, 20000)}
	}
	a, _ := rule.Aggregate(big)
	b, _ := rule.Aggregate(big)
	if a[0] != b[0] || a[19999] != b[19999] {
		t.Error("the same updates drew different noise")
	}
	other := DP{Clip: 1, Sigma: 2, Seed: 8}
	if c, _ := other.Aggregate(big); c[0] == a[0] {
		t.Error("another seed drew the same noise")
	}
	var ss float64
	for _, x := range a {
		ss += x * x
	}
	if sd, want := math.Sqrt(ss/float64(len(a))), 2*1/4.0; math.Abs(sd-want) > 0.02*want {
		t.Errorf("noise sd %.4f, want %.4f (σ·clip/n)", sd, want)
	}
	if _, err := (DP{Clip: 0, Sigma: 1}).Aggregate(us); err == nil {
		t.Error("clip 0 accepted")
	}
}

// TestEpsilon checks the closed form against a direct minimization over α
// and known monotonicity: more noise or fewer rounds, less ε.
func TestEpsilon(t *testing.T) {
	for _, tc := range []struct {
		sigma  float64
		rounds int
	}{{1, 1}, {1.1, 20}, {4, 100}, {0.5, 5}} {
		const delta = 1e-5
		best := math.Inf(1)
		for a := 1.0001; a < 2000; a *= 1.0005 {
			best = min(best, float64(tc.rounds)*a/(2*tc.sigma*tc.sigma)+math.Log(1/delta)/(a-1))
		}
		if got := Epsilon(tc.sigma, tc.rounds, delta); math.Abs(got-best) > 1e-3*best {
			t.Errorf("σ %v, %d rounds: closed form %.5f, minimization %.5f", tc.sigma, tc.rounds, got, best)
		}
	}
	if !(Epsilon(2, 20, 1e-5) < Epsilon(1, 20, 1e-5)) || !(Epsilon(1, 10, 1e-5) < Epsilon(1, 20, 1e-5)) {
		t.Error("ε does not fall with more noise or fewer rounds")
	}
	if !math.IsInf(Epsilon(0, 5, 1e-5), 1) {
		t.Error("σ = 0 should give ε = +Inf")
	}
	if !math.IsNaN(Epsilon(1, 5, 1)) {
		t.Error("δ = 1 should give NaN")
	}
	// Replacing one learner's update moves the sum by 2·clip: DP's ε is
	// the Gaussian mechanism's at half its noise multiplier.
	if got, want := (DP{Clip: 3, Sigma: 4}).Epsilon(20, 1e-5), Epsilon(2, 20, 1e-5); got != want {
		t.Errorf("DP σ 4: ε %v, want %v (σ/2 against sensitivity 2·clip)", got, want)
	}
}
