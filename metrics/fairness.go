package metrics

import (
	"math"
	"slices"
)

// Jain returns Jain's fairness index (Σx)² / (n·Σx²) of non-negative
// values: 1 when all are equal, 1/n when one holds everything. All zeros
// count as equal (1). It returns NaN for no values or a negative value.
func Jain(x []float64) float64 {
	if len(x) == 0 || hasNegative(x) {
		return math.NaN()
	}
	var sum, sq float64
	for _, v := range x {
		sum += v
		sq += v * v
	}
	if sq == 0 {
		return 1
	}
	return sum * sum / (float64(len(x)) * sq)
}

// Gini returns the Gini coefficient of non-negative values with the
// population convention: Σᵢ Σⱼ |xᵢ − xⱼ| / (2·n²·mean). It is 0 when all are
// equal and (n−1)/n when one holds everything (multiply by n/(n−1) for the
// sample convention, whose maximum is 1). All zeros give 0. It returns NaN
// for no values or a negative value.
func Gini(x []float64) float64 {
	if len(x) == 0 || hasNegative(x) {
		return math.NaN()
	}
	s := slices.Clone(x)
	slices.Sort(s)
	// With s ascending and ranks i = 1..n,
	// Σᵢ Σⱼ |xᵢ − xⱼ| = 2 Σᵢ (2i − n − 1)·s_i.
	var sum, weighted float64
	n := float64(len(s))
	for i, v := range s {
		sum += v
		weighted += (2*float64(i+1) - n - 1) * v
	}
	if sum == 0 {
		return 0
	}
	return weighted / (n * sum)
}

// Nakamoto returns the Nakamoto coefficient: the fewest entities whose
// combined share strictly exceeds threshold of the total. Use 1/3 for BFT
// consensus (more than a third can halt it) and 1/2 for longest-chain (a
// majority can rewrite it). It returns 0 when the total is 0, and panics on
// a threshold outside (0, 1).
func Nakamoto(x []float64, threshold float64) int {
	if !(threshold > 0 && threshold < 1) {
		panic("metrics: Nakamoto threshold outside (0, 1)")
	}
	s := slices.Clone(x)
	slices.SortFunc(s, func(a, b float64) int { return -cmpFloat(a, b) })
	var total float64
	for _, v := range s {
		total += v
	}
	if !(total > 0) {
		return 0
	}
	var acc float64
	for i, v := range s {
		acc += v
		if acc > threshold*total {
			return i + 1
		}
	}
	return len(s)
}

// Lorenz returns the Lorenz curve of non-negative values at points+1 evenly
// spaced population shares 0, 1/points, …, 1: pop[k] = k/points and share[k]
// the share of the total held by the poorest pop[k] of the entities
// (linearly interpolated within an entity). The diagonal is perfect
// equality; the area between it and the curve is half the Gini coefficient
// (exactly, when points is a multiple of len(x)). It returns nil for no
// values.
func Lorenz(x []float64, points int) (pop, share []float64) {
	if len(x) == 0 || points < 1 {
		return nil, nil
	}
	s := slices.Clone(x)
	slices.Sort(s)
	cum := make([]float64, len(s)+1)
	for i, v := range s {
		cum[i+1] = cum[i] + v
	}
	total := cum[len(s)]
	pop = make([]float64, points+1)
	share = make([]float64, points+1)
	n := float64(len(s))
	for k := 0; k <= points; k++ {
		p := float64(k) / float64(points)
		pop[k] = p
		if total == 0 {
			share[k] = p
			continue
		}
		pos := p * n
		i := int(pos)
		if i >= len(s) {
			share[k] = 1
			continue
		}
		share[k] = (cum[i] + (pos-float64(i))*s[i]) / total
	}
	return pop, share
}

func hasNegative(x []float64) bool {
	for _, v := range x {
		if v < 0 || math.IsNaN(v) {
			return true
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
