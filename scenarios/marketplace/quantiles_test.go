package marketplace

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// quantiles' selection gives the nearest-rank order statistics a sort
// gives, on ties and odd sizes alike.
func TestQuantilesSelect(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 3000; n += 7 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(r.IntN(50))
		}
		got := quantiles(v)
		s := slices.Clone(v)
		slices.Sort(s)
		q := func(p float64) float64 {
			k := int(math.Ceil(p*float64(len(s)))) - 1
			return s[min(max(k, 0), len(s)-1)]
		}
		if got.P50 != q(0.5) || got.P95 != q(0.95) || got.P99 != q(0.99) || got.Max != s[len(s)-1] || got.Min != s[0] {
			t.Fatalf("n %d: %+v vs %v %v %v %v", n, got, q(0.5), q(0.95), q(0.99), s[len(s)-1])
		}
	}
}

// Pathwise: under continuous matching with no latency, every request
// starts exactly when a first-come-first-served queue of c servers fed the
// same arrival and service times starts it (to the nanosecond). So the
// marketplace is that queue, and what separates its mean wait from Erlang
// C is sampling alone.
