package datasets

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// ErrPartition means a partition was asked for with parameters that cannot
// produce one: no providers, a concentration α that is not a positive
// finite number, fewer providers than classes for OneClass, or an unknown
// scheme.
var ErrPartition = errors.New("datasets: invalid partition")

// Partition schemes, as a scenario names them.
const (
	SchemeIID       = "iid"
	SchemeDirichlet = "dirichlet"
	SchemeOneClass  = "one-class"
)

// Scheme says how rows are spread over data providers.
type Scheme struct {
	// Kind is SchemeIID, SchemeDirichlet or SchemeOneClass.
	Kind string
	// Alpha is the Dirichlet concentration; only SchemeDirichlet reads it.
	Alpha float64
}

// streamPartition is the PCG stream of every partition draw, so that a
// partition seed and a training seed with the same value still give
// unrelated streams.
const streamPartition = 0x64_61_69_73_2d_64_61_74 // "dais-dat"

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, streamPartition)) }

// Partition spreads the rows of ds over providers by the scheme; see IID,
// Dirichlet and OneClass.
func Partition(ds Dataset, classes, providers int, s Scheme, seed uint64) ([][]int, error) {
	switch s.Kind {
	case SchemeIID:
		return IID(ds, providers, seed)
	case SchemeDirichlet:
		return Dirichlet(ds, classes, providers, s.Alpha, seed)
	case SchemeOneClass:
		return OneClass(ds, classes, providers, seed)
	}
	return nil, fmt.Errorf("%w: unknown scheme %q, want %q, %q or %q",
		ErrPartition, s.Kind, SchemeIID, SchemeDirichlet, SchemeOneClass)
}

// IID shuffles the rows and deals them round-robin to providers, so every
// provider holds a uniform random sample and the sizes differ by at most
// one. Result i is provider i's row indices in ascending order; together
// the results are a disjoint cover of the rows. The same seed gives the
// same partition on every platform.
func IID(ds Dataset, providers int, seed uint64) ([][]int, error) {
	if providers < 1 {
		return nil, fmt.Errorf("%w: %d providers, want >= 1", ErrPartition, providers)
	}
	rng := newRand(seed)
	out := make([][]int, providers)
	for j, r := range rng.Perm(ds.Len()) {
		out[j%providers] = append(out[j%providers], r)
	}
	return sorted(out), nil
}

// Dirichlet is the usual non-IID split of federated-learning studies
// (Hsu et al. 2019): for each class, provider shares are drawn from a
// symmetric Dirichlet(α) and the class's rows, shuffled, are cut in those
// proportions. Small α (0.1) gives each provider a few dominant classes;
// large α (100) approaches IID. Providers may end up with no rows at all
// when α is small. Result i is provider i's row indices in ascending
// order; together the results are a disjoint cover of the rows with
// labels in [0, classes).
func Dirichlet(ds Dataset, classes, providers int, alpha float64, seed uint64) ([][]int, error) {
	if providers < 1 {
		return nil, fmt.Errorf("%w: %d providers, want >= 1", ErrPartition, providers)
	}
	if !(alpha > 0) || math.IsInf(alpha, 1) {
		return nil, fmt.Errorf("%w: Dirichlet alpha %v, want a finite number > 0", ErrPartition, alpha)
	}
	rng := newRand(seed)
	// Gamma draws normalized are a Dirichlet draw; drawing them directly,
	// rather than through distmv.Dirichlet, lets an all-zero draw (every
	// gamma underflowing at tiny α) be handled instead of turning into NaN.
	gamma := distuv.Gamma{Alpha: alpha, Beta: 1, Src: rng}
	share := make([]float64, providers)
	out := make([][]int, providers)
	for _, rows := range rowsByClass(ds, classes) {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		var sum float64
		for i := range share {
			share[i] = gamma.Rand()
			sum += share[i]
		}
		if !(sum > 0) || math.IsInf(sum, 1) {
			p := rng.IntN(providers)
			out[p] = append(out[p], rows...)
			continue
		}
		// Cut at the rounded-down cumulative share; the last cut is the
		// class size exactly, so rounding never loses or repeats a row.
		var cum float64
		lo := 0
		for i := range share {
			cum += share[i]
			hi := int(math.Floor(cum / sum * float64(len(rows))))
			if i == providers-1 {
				hi = len(rows)
			}
			hi = min(max(hi, lo), len(rows))
			out[i] = append(out[i], rows[lo:hi]...)
			lo = hi
		}
	}
	return sorted(out), nil
}

// OneClass is the extreme non-IID split: provider i holds only rows of
// class i mod classes, and the rows of a class are shuffled and dealt
// round-robin among the providers that hold it. It needs at least as many
// providers as classes, or some rows would belong to no one. Result i is
// provider i's row indices in ascending order; together the results are a
// disjoint cover of the rows with labels in [0, classes).
func OneClass(ds Dataset, classes, providers int, seed uint64) ([][]int, error) {
	if classes < 1 || providers < classes {
		return nil, fmt.Errorf("%w: one class per provider needs providers >= classes >= 1, got %d providers, %d classes",
			ErrPartition, providers, classes)
	}
	rng := newRand(seed)
	out := make([][]int, providers)
	for c, rows := range rowsByClass(ds, classes) {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		// Providers holding class c are c, c+classes, c+2·classes, ...
		holders := (providers - c + classes - 1) / classes
		for j, r := range rows {
			p := c + (j%holders)*classes
			out[p] = append(out[p], r)
		}
	}
	return sorted(out), nil
}

// rowsByClass is the ascending row indices of each class in [0, classes).
func rowsByClass(ds Dataset, classes int) [][]int {
	by := make([][]int, max(classes, 0))
	for r, y := range ds.Y {
		if y >= 0 && y < classes {
			by[y] = append(by[y], r)
		}
	}
	return by
}

func sorted(parts [][]int) [][]int {
	for _, p := range parts {
		slices.Sort(p)
	}
	return parts
}
