package datasets_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
)

func loadTrain(t testing.TB) datasets.Dataset {
	t.Helper()
	train, _, err := optdigits.Load()
	if err != nil {
		t.Fatal(err)
	}
	return train
}

// checkCover fails unless parts is a disjoint cover of [0, rows), each part
// ascending.
func checkCover(t *testing.T, parts [][]int, rows int) {
	t.Helper()
	seen := make([]int, rows)
	for p, idx := range parts {
		if !slices.IsSorted(idx) {
			t.Errorf("provider %d: rows not ascending", p)
		}
		for _, r := range idx {
			if r < 0 || r >= rows {
				t.Fatalf("provider %d: row %d out of range", p, r)
			}
			seen[r]++
		}
	}
	for r, n := range seen {
		if n != 1 {
			t.Fatalf("row %d is held by %d providers, want 1", r, n)
		}
	}
}

// shares is each provider's class histogram as fractions of its rows;
// empty providers are left out.
func shares(ds datasets.Dataset, parts [][]int) [][]float64 {
	var out [][]float64
	for _, idx := range parts {
		if len(idx) == 0 {
			continue
		}
		counts := ds.Subset(idx).ClassCounts(optdigits.Classes)
		s := make([]float64, len(counts))
		for c, n := range counts {
			s[c] = float64(n) / float64(len(idx))
		}
		out = append(out, s)
	}
	return out
}

// meanMaxShare is the mean over non-empty providers of the share of their
// most common class: 0.1 for a perfectly balanced 10-class provider, 1 for
// a provider holding one class.
func meanMaxShare(ds datasets.Dataset, parts [][]int) float64 {
	var sum float64
	sh := shares(ds, parts)
	for _, s := range sh {
		sum += slices.Max(s)
	}
	return sum / float64(len(sh))
}

func TestIID(t *testing.T) {
	ds := loadTrain(t)
	parts, err := datasets.IID(ds, 20, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkCover(t, parts, ds.Len())
	for p, idx := range parts {
		if n := len(idx); n != 191 && n != 192 { // 3,823 = 20 × 191 + 3
			t.Errorf("provider %d holds %d rows, want 191 or 192", p, n)
		}
	}
	// A class share of a 191-row uniform sample has a standard deviation
	// of about 0.022 around the global ~0.1; 0.09 is four of them.
	global := ds.ClassCounts(optdigits.Classes)
	for p, s := range shares(ds, parts) {
		for c, f := range s {
			g := float64(global[c]) / float64(ds.Len())
			if math.Abs(f-g) > 0.09 {
				t.Errorf("provider %d class %d share %.3f, global %.3f", p, c, f, g)
			}
		}
	}
	if m := meanMaxShare(ds, parts); m > 0.2 {
		t.Errorf("IID mean max-class share %.3f, want <= 0.2", m)
	}
}

func TestDirichletSkew(t *testing.T) {
	ds := loadTrain(t)
	var prev float64 = 2
	for _, c := range []struct {
		alpha    float64
		min, max float64 // bounds on the mean max-class share
	}{
		{0.05, 0.75, 1},
		{0.1, 0.6, 1},
		{1, 0.2, 0.5},
		{1000, 0.1, 0.2},
	} {
		t.Run(fmt.Sprint(c.alpha), func(t *testing.T) {
			parts, err := datasets.Dirichlet(ds, optdigits.Classes, 20, c.alpha, 7)
			if err != nil {
				t.Fatal(err)
			}
			checkCover(t, parts, ds.Len())
			m := meanMaxShare(ds, parts)
			t.Logf("alpha %v: mean max-class share %.3f", c.alpha, m)
			if m < c.min || m > c.max {
				t.Errorf("mean max-class share %.3f, want [%v, %v]", m, c.min, c.max)
			}
			if m >= prev {
				t.Errorf("share %.3f not below the smaller alpha's %.3f", m, prev)
			}
			prev = m
		})
	}
}

func TestOneClass(t *testing.T) {
	ds := loadTrain(t)
	for _, n := range []int{10, 20, 23} {
		parts, err := datasets.OneClass(ds, optdigits.Classes, n, 3)
		if err != nil {
			t.Fatal(err)
		}
		checkCover(t, parts, ds.Len())
		for p, idx := range parts {
			if len(idx) == 0 {
				t.Fatalf("%d providers: provider %d is empty", n, p)
			}
			for _, r := range idx {
				if ds.Y[r] != p%optdigits.Classes {
					t.Fatalf("%d providers: provider %d holds class %d, want only %d", n, p, ds.Y[r], p%optdigits.Classes)
				}
			}
		}
	}
	if _, err := datasets.OneClass(ds, optdigits.Classes, 9, 3); !errors.Is(err, datasets.ErrPartition) {
		t.Errorf("9 providers for 10 classes: %v, want ErrPartition", err)
	}
}

// The same seed gives the same partition; another seed a different one.
func TestPartitionSeeded(t *testing.T) {
	ds := loadTrain(t)
	for _, s := range []datasets.Scheme{
		{Kind: datasets.SchemeIID},
		{Kind: datasets.SchemeDirichlet, Alpha: 0.5},
		{Kind: datasets.SchemeOneClass},
	} {
		a, err := datasets.Partition(ds, optdigits.Classes, 20, s, 42)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := datasets.Partition(ds, optdigits.Classes, 20, s, 42)
		c, _ := datasets.Partition(ds, optdigits.Classes, 20, s, 43)
		if !slices.EqualFunc(a, b, slices.Equal) {
			t.Errorf("%s: same seed, different partitions", s.Kind)
		}
		if slices.EqualFunc(a, c, slices.Equal) {
			t.Errorf("%s: seeds 42 and 43 gave the same partition", s.Kind)
		}
	}
}

// A golden figure pins the draw sequence, so a change in the generator or
// in how it is consumed (which would silently change every scenario's
// data split) fails here.
func TestPartitionGolden(t *testing.T) {
	ds := loadTrain(t)
	parts, err := datasets.Dirichlet(ds, optdigits.Classes, 5, 0.5, 1)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, p := range parts {
		sizes = append(sizes, len(p))
	}
	want := []int{969, 528, 608, 701, 1017}
	if !slices.Equal(sizes, want) {
		t.Errorf("Dirichlet(0.5, 5 providers, seed 1) sizes %v, want %v", sizes, want)
	}
}

func TestPartitionErrors(t *testing.T) {
	ds := loadTrain(t)
	for _, c := range []struct {
		name string
		s    datasets.Scheme
		n    int
	}{
		{"no providers", datasets.Scheme{Kind: datasets.SchemeIID}, 0},
		{"alpha 0", datasets.Scheme{Kind: datasets.SchemeDirichlet}, 5},
		{"alpha NaN", datasets.Scheme{Kind: datasets.SchemeDirichlet, Alpha: math.NaN()}, 5},
		{"alpha +Inf", datasets.Scheme{Kind: datasets.SchemeDirichlet, Alpha: math.Inf(1)}, 5},
		{"unknown", datasets.Scheme{Kind: "zipf"}, 5},
	} {
		if _, err := datasets.Partition(ds, optdigits.Classes, c.n, c.s, 1); !errors.Is(err, datasets.ErrPartition) {
			t.Errorf("%s: %v, want ErrPartition", c.name, err)
		}
	}
}

func TestSubsetAndValidate(t *testing.T) {
	ds := datasets.Dataset{X: [][]float64{{0, 1}, {2, 3}, {4, 5}}, Y: []int{2, 0, 1}}
	s := ds.Subset([]int{2, 0})
	if s.Len() != 2 || s.Y[0] != 1 || s.X[1][1] != 1 {
		t.Fatalf("Subset = %+v", s)
	}
	if err := ds.Validate(3); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []datasets.Dataset{
		{X: [][]float64{{0}}, Y: []int{0, 1}},
		{X: [][]float64{{0}, {1, 2}}, Y: []int{0, 1}},
		{X: [][]float64{{0}}, Y: []int{3}},
	} {
		if err := bad.Validate(3); !errors.Is(err, datasets.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}
