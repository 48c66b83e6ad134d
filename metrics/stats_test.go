package metrics

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	// mean 3, sample std √2.5, t(0.975, 4) = 2.776445105; half-width
	// 2.776445105 · √2.5 / √5 = 1.963243.
	mean, reps := Summarize([]float64{1, 2, 3, 4, 5})
	if mean != 3 || reps == nil || reps.N != 5 {
		t.Fatalf("Summarize = %v %+v", mean, reps)
	}
	if !near(reps.Std, math.Sqrt(2.5), 1e-12) || !near(reps.CI95Lo, 3-1.963243, 1e-6) || !near(reps.CI95Hi, 3+1.963243, 1e-6) {
		t.Errorf("std %v, CI [%v, %v]; want √2.5, [1.036757, 4.963243]", reps.Std, reps.CI95Lo, reps.CI95Hi)
	}
	if mean, reps := Summarize([]float64{7}); mean != 7 || reps != nil {
		t.Errorf("one value: %v %+v, want 7 and no spread", mean, reps)
	}
	if got := TQuantile(0.975, 1); !near(got, 12.706204736, 1e-6) {
		t.Errorf("t(0.975, 1) = %v, want 12.7062", got)
	}
}

func TestWelch(t *testing.T) {
	// A = 1..5 (mean 3, var 2.5), B = 2,4,…,12 (mean 7, var 14):
	// se² = 2.5/5 + 14/6 = 2.8333, t = −4/√2.8333 = −2.376354,
	// df = 2.8333² / (0.5²/4 + 2.3333²/5) = 6.972256; the two-sided p,
	// integrating the t density numerically, is 0.049284.
	res, ok := Welch(3, math.Sqrt(2.5), 5, 7, math.Sqrt(14), 6)
	if !ok || !near(res.T, -2.376354, 1e-6) || !near(res.DF, 6.972256, 1e-6) || !near(res.P, 0.049284, 1e-5) {
		t.Errorf("Welch = %+v, %v; want t −2.376354, df 6.972256, p 0.049284", res, ok)
	}
	// Swapping the samples flips t only.
	if sw, _ := Welch(7, math.Sqrt(14), 6, 3, math.Sqrt(2.5), 5); !near(sw.T, -res.T, 1e-12) || !near(sw.P, res.P, 1e-12) {
		t.Errorf("swapped: %+v vs %+v", sw, res)
	}
	if _, ok := Welch(1, 0, 3, 2, 0, 3); ok {
		t.Error("no variance: want not ok")
	}
	if _, ok := Welch(1, 1, 1, 2, 1, 3); ok {
		t.Error("one value: want not ok")
	}
}
