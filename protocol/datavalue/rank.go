package datavalue

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Ranks are x's ranks from 1, ties given the mean of the ranks they span.
func Ranks(x []float64) []float64 {
	order := make([]int, len(x))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case x[a] < x[b]:
			return -1
		case x[a] > x[b]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(x))
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && x[order[hi]] == x[order[lo]] {
			hi++
		}
		mean := float64(lo+hi+1) / 2 // ranks lo+1 … hi
		for _, i := range order[lo:hi] {
			r[i] = mean
		}
		lo = hi
	}
	return r
}

// Spearman is Spearman's rank correlation of x and y: Pearson's
// correlation of their ranks (ties at mean rank). NaN for fewer than two
// pairs or a constant side.
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) || len(x) < 2 {
		return math.NaN()
	}
	return stat.Correlation(Ranks(x), Ranks(y), nil)
}
