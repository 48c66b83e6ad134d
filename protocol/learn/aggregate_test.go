package learn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func ups(ws []float64, vs ...[]float64) []Update {
	out := make([]Update, len(vs))
	for i, v := range vs {
		out[i] = Update{Delta: v}
		if ws != nil {
			out[i].Weight = ws[i]
		}
	}
	return out
}

func near(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			return false
		}
	}
	return true
}

// Worked examples, computed by hand in the comments.
func TestRules(t *testing.T) {
	line := ups(nil, []float64{0}, []float64{1}, []float64{2}, []float64{3}, []float64{100})
	for _, tc := range []struct {
		rule Rule
		in   []Update
		want []float64
	}{
		// (1·[1,2] + 3·[3,4]) / 4
		{FedAvg{}, ups([]float64{1, 3}, []float64{1, 2}, []float64{3, 4}), []float64{2.5, 3.5}},
		// Scores with n=5, f=1 (sum of the 2 nearest squared distances):
		// 0→1+4=5, 1→1+1=2, 2→1+1=2, 3→1+4=5, 100→9409+9604; the first of
		// the two best (1) wins.
		{Krum{F: 1}, line, []float64{1}},
		// Multi-Krum m=3: the best three are 1, 2 and then 0 (ties by order).
		{Krum{F: 1, M: 3}, line, []float64{1}},
		{Median{}, line, []float64{2}},
		{Median{}, ups(nil, []float64{1, 8}, []float64{10, 2}, []float64{3, 4}, []float64{4, 6}), []float64{3.5, 5}},
		// Drop 0 and 100, average 1, 2, 3.
		{TrimmedMean{Beta: 1}, line, []float64{2}},
		// Two honest learners (orthogonal) and two identical Sybils: the
		// Sybils get weight 0, the honest 1.
		{FoolsGold{}, ups(nil, []float64{1, 0, 0}, []float64{0, 1, 0}, []float64{0, 0, 1}, []float64{0, 0, 1}), []float64{0.5, 0.5, 0}},
		// [3,4] has norm 5: clipped to norm 1 it is [0.6, 0.8].
		{Clip{Norm: 1, Inner: FedAvg{}}, ups(nil, []float64{3, 4}, []float64{0.3, 0.4}), []float64{0.45, 0.6}},
	} {
		got, err := tc.rule.Aggregate(tc.in)
		if err != nil || !near(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.rule.Name(), got, err, tc.want)
		}
	}
}

func TestFoolsGoldWeights(t *testing.T) {
	w, err := FoolsGold{}.Weights(ups(nil, []float64{1, 0, 0}, []float64{0, 1, 0}, []float64{0, 0, 1}, []float64{0, 0, 1}))
	if err != nil || fmt.Sprint(w) != "[1 1 0 0]" {
		t.Fatalf("weights %v, %v; want [1 1 0 0]", w, err)
	}
	// Zero updates get weight 0 and leave the others' weights as they
	// were without them; all zeros, all 0.
	w, err = FoolsGold{}.Weights(ups(nil, []float64{0, 0, 0}, []float64{1, 0, 0}, []float64{0, 1, 0},
		[]float64{0, 0, 0}, []float64{0, 0, 1}, []float64{0, 0, 1}))
	if err != nil || fmt.Sprint(w) != "[0 1 1 0 0 0]" {
		t.Fatalf("weights with zero updates %v, %v; want [0 1 1 0 0 0]", w, err)
	}
	w, err = FoolsGold{}.Weights(ups(nil, []float64{0, 0}, []float64{0, 0}))
	if err != nil || fmt.Sprint(w) != "[0 0]" {
		t.Fatalf("weights of zeros %v, %v; want [0 0]", w, err)
	}
	// Honest updates that agree, beside zero updates: the mean is theirs,
	// not diluted by the zeros.
	agg, err := FoolsGold{}.Aggregate(ups(nil, []float64{1, 0.1}, []float64{1, -0.1}, []float64{0.9, 0}, []float64{0, 0}, []float64{0, 0}))
	if err != nil || !(agg[0] > 0.9) {
		t.Fatalf("foolsgold over agreeing updates and zeros: %v, %v; want the first coordinate above 0.9", agg, err)
	}
	// Nor by near-zero noise, which is as directionless as zeros.
	agg, err = FoolsGold{}.Aggregate(ups(nil, []float64{1, 0.1}, []float64{1, -0.1}, []float64{0.9, 0}, []float64{1e-12, -3e-12}, []float64{-2e-12, 1e-12}))
	if err != nil || !(agg[0] > 0.9) {
		t.Fatalf("foolsgold over agreeing updates and 1e-12 noise: %v, %v; want the first coordinate above 0.9", agg, err)
	}
}

func TestRuleErrors(t *testing.T) {
	if _, err := (FedAvg{}).Aggregate(nil); !errors.Is(err, ErrNoUpdates) {
		t.Errorf("no updates: %v", err)
	}
	if _, err := (Median{}).Aggregate(ups(nil, []float64{1}, []float64{1, 2})); !errors.Is(err, ErrShape) {
		t.Errorf("mixed shapes: %v", err)
	}
	if _, err := (Krum{F: 2}).Aggregate(ups(nil, []float64{1}, []float64{2}, []float64{3}, []float64{4}, []float64{5}, []float64{6})); !errors.Is(err, ErrTooFew) {
		t.Errorf("krum f=2 with 6 updates: %v", err)
	}
	if _, err := (TrimmedMean{Beta: 2}).Aggregate(ups(nil, []float64{1}, []float64{2}, []float64{3}, []float64{4})); !errors.Is(err, ErrTooFew) {
		t.Errorf("trimming 2+2 of 4: %v", err)
	}
}

// Robust rules ignore one huge update; the mean does not.
func TestRobustAgainstOneOutlier(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var us []Update
	for i := 0; i < 9; i++ {
		v := make([]float64, 20)
		for j := range v {
			v[j] = 1 + 0.1*r.NormFloat64()
		}
		us = append(us, Update{Delta: v})
	}
	bad := make([]float64, 20)
	for j := range bad {
		bad[j] = -1000
	}
	us = append(us, Update{Delta: bad})
	for _, rule := range []Rule{Krum{F: 1}, Krum{F: 1, M: 5}, Median{}, TrimmedMean{Beta: 1}} {
		got, _ := rule.Aggregate(us)
		for j, x := range got {
			if math.Abs(x-1) > 0.5 {
				t.Fatalf("%s: coordinate %d = %g, pulled off 1 by the outlier", rule.Name(), j, x)
			}
		}
	}
	if mean, _ := (FedAvg{}).Aggregate(us); mean[0] > -90 {
		t.Fatalf("fedavg %g: the outlier should drag the mean to about -99", mean[0])
	}
}

func TestGaussianNoiseScale(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	agg := make([]float64, 100000)
	GaussianNoise(agg, 2, 1.5, 10, r) // sd = 2·1.5/10 = 0.3
	var sq float64
	for _, x := range agg {
		sq += x * x
	}
	if sd := math.Sqrt(sq / float64(len(agg))); math.Abs(sd-0.3) > 0.005 {
		t.Fatalf("noise sd %.4f, want 0.3", sd)
	}
}
