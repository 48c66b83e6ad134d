package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Worked by hand; the comments show the arithmetic.
func TestJain(t *testing.T) {
	for _, tc := range []struct {
		x    []float64
		want float64
	}{
		{[]float64{1, 1, 1, 1}, 1},          // 16 / (4·4)
		{[]float64{1, 0, 0, 0}, 0.25},       // 1 / (4·1): one holds all → 1/n
		{[]float64{1, 2, 3, 4}, 100. / 120}, // 10² / (4·30)
		{[]float64{10, 20}, 0.9},            // 30² / (2·500)
		{[]float64{0, 0, 0}, 1},             // all equal
		{[]float64{7}, 1},
	} {
		if got := Jain(tc.x); !near(got, tc.want, 1e-12) {
			t.Errorf("Jain(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	for _, x := range [][]float64{nil, {1, -1}, {math.NaN()}} {
		if got := Jain(x); !math.IsNaN(got) {
			t.Errorf("Jain(%v) = %v, want NaN", x, got)
		}
	}
}

func TestGini(t *testing.T) {
	for _, tc := range []struct {
		x    []float64
		want float64
	}{
		{[]float64{1, 1, 1, 1}, 0},
		{[]float64{0, 0, 0, 1}, 0.75},   // (n−1)/n
		{[]float64{1, 2, 3, 4}, 0.25},   // Σ|xᵢ−xⱼ| = 20 over ordered pairs; 20 / (2·16·2.5)
		{[]float64{8, 2, 6, 4}, 0.25},   // scale and order do not matter
		{[]float64{1, 3}, 0.25},         // 4 / (2·4·2)
		{[]float64{0, 0}, 0},            // all equal
		{[]float64{5, 0, 0, 0, 0}, 0.8}, // (n−1)/n
	} {
		if got := Gini(tc.x); !near(got, tc.want, 1e-12) {
			t.Errorf("Gini(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if got := Gini([]float64{1, -2}); !math.IsNaN(got) {
		t.Errorf("Gini of a negative value = %v, want NaN", got)
	}
}

// The O(n log n) Gini against the O(n²) definition.
func TestGiniOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		x := make([]float64, 1+r.IntN(40))
		for i := range x {
			x[i] = math.Floor(r.ExpFloat64() * 100)
		}
		var diff, sum float64
		for _, a := range x {
			sum += a
			for _, b := range x {
				diff += math.Abs(a - b)
			}
		}
		n := float64(len(x))
		want := 0.0
		if sum > 0 {
			want = diff / (2 * n * n * (sum / n))
		}
		if got := Gini(x); !near(got, want, 1e-12) {
			t.Fatalf("Gini(%v) = %v, want %v", x, got, want)
		}
		// The Lorenz curve's area gives the same figure (Brown's formula)
		// when every entity is a breakpoint.
		pop, share := Lorenz(x, 10*len(x))
		var area float64
		for k := 1; k < len(pop); k++ {
			area += (pop[k] - pop[k-1]) * (share[k] + share[k-1])
		}
		if sum > 0 && !near(1-area, want, 1e-9) {
			t.Fatalf("Lorenz of %v: 1 − 2·area = %v, Gini %v", x, 1-area, want)
		}
	}
}

func TestNakamoto(t *testing.T) {
	equal := make([]float64, 10)
	for i := range equal {
		equal[i] = 10
	}
	for _, tc := range []struct {
		x         []float64
		threshold float64
		want      int
	}{
		{[]float64{10, 40, 20, 30}, 1. / 3, 1}, // 40 > 33.3
		{[]float64{10, 40, 20, 30}, 0.5, 2},    // 40 ≤ 50 < 40+30
		{equal, 1. / 3, 4},                     // 30 ≤ 33.3 < 40
		{equal, 0.5, 6},                        // 50 is not a majority
		{[]float64{50, 50}, 0.5, 2},            // strictly more than half
		{[]float64{0, 0}, 0.5, 0},              // nothing to hold
		{[]float64{1}, 0.99, 1},
	} {
		if got := Nakamoto(tc.x, tc.threshold); got != tc.want {
			t.Errorf("Nakamoto(%v, %.3f) = %d, want %d", tc.x, tc.threshold, got, tc.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Nakamoto with threshold 1 did not panic")
		}
	}()
	Nakamoto(equal, 1)
}

func TestLorenz(t *testing.T) {
	// Poorest half holds 1 of 1+3 = 25%; the whole holds 100%.
	pop, share := Lorenz([]float64{3, 1}, 4)
	wantPop := []float64{0, 0.25, 0.5, 0.75, 1}
	wantShare := []float64{0, 0.125, 0.25, 0.625, 1}
	for k := range pop {
		if !near(pop[k], wantPop[k], 1e-12) || !near(share[k], wantShare[k], 1e-12) {
			t.Fatalf("Lorenz = %v %v, want %v %v", pop, share, wantPop, wantShare)
		}
	}
	if p, s := Lorenz(nil, 4); p != nil || s != nil {
		t.Errorf("Lorenz(nil) = %v %v", p, s)
	}
}
