package learnrun

import (
	"fmt"
	"math"
	"slices"

	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/datavalue"
)

// registry is the data providers' registered data sets, deduplicated.
type registry struct {
	sets []registered
	// union is every set's unique rows, provider by provider: the
	// learners' training data.
	union datasets.Dataset
	// seed is rows no provider registered, which every coalition's
	// model starts from in valuation (Valuation.Seed).
	seed datasets.Dataset
	// Rows registered, Duplicates found, Candidates checked exactly.
	Rows, Duplicates, Candidates int
}

// registered is one provider's data set.
type registered struct {
	// data is what it registered, with the labels it gave; truth the
	// true labels (the simulator knows them).
	data  datasets.Dataset
	truth []int
	// unique is the rows no earlier row duplicates; noisy how many of
	// them carry a wrong label.
	unique datasets.Dataset
	noisy  int
	// copiedFrom counts its duplicate rows by the provider whose row they
	// copy (itself for padding).
	copiedFrom []int
}

// newRegistry draws every provider's data set from pool's rows (no two
// providers draw the same row), makes the copies, and registers them
// all: originals in provider order, then copies (a copy can only follow
// what it copies), each row checked against everything before it.
func newRegistry(spec *EconomySpec, seed uint64, pool datasets.Dataset) (*registry, error) {
	n := len(spec.Data)
	reg := &registry{sets: make([]registered, n)}
	taken := make([]bool, pool.Len())
	for i, ds := range spec.Data {
		if ds.CopyOf >= 0 {
			continue
		}
		r := protocol.Stream(seed, "economy-data", uint64(i))
		allowed := make([]bool, optdigits.Classes)
		for c := range allowed {
			allowed[c] = len(ds.Classes) == 0 || slices.Contains(ds.Classes, c)
		}
		distinct := ds.Rows - int(math.Round(ds.Duplicate*float64(ds.Rows)))
		// A uniform draw from the rows no one has taken (walking one
		// shared order would leave a later provider the classes an
		// earlier skewed one skipped).
		var rows []int
		for _, k := range r.Perm(pool.Len()) {
			if len(rows) == distinct {
				break
			}
			if !taken[k] && allowed[pool.Y[k]] {
				taken[k] = true
				rows = append(rows, k)
			}
		}
		if len(rows) < distinct {
			return nil, fmt.Errorf("learnrun: data set %d (%s) wants %d distinct rows of classes %v; %d are left", i, ds.Group, distinct, ds.Classes, len(rows))
		}
		s := &reg.sets[i]
		s.data = pool.Subset(rows)
		s.truth = slices.Clone(s.data.Y)
		s.data.Y = slices.Clone(s.data.Y)
		noisy := int(math.Round(ds.LabelNoise * float64(distinct)))
		for _, k := range r.Perm(distinct)[:noisy] {
			s.data.Y[k] = (s.truth[k] + 1 + r.IntN(optdigits.Classes-1)) % optdigits.Classes
		}
		for range ds.Rows - distinct {
			k := r.IntN(distinct)
			s.data.X = append(s.data.X, s.data.X[k])
			s.data.Y = append(s.data.Y, s.data.Y[k])
			s.truth = append(s.truth, s.truth[k])
		}
	}
	var seedRows []int
	for _, k := range protocol.Stream(seed, "economy-seed", 0).Perm(pool.Len()) {
		if len(seedRows) == spec.Value.Seed {
			break
		}
		if !taken[k] {
			taken[k] = true
			seedRows = append(seedRows, k)
		}
	}
	if len(seedRows) < spec.Value.Seed {
		return nil, fmt.Errorf("learnrun: %d valuation seed rows wanted; %d are left", spec.Value.Seed, len(seedRows))
	}
	reg.seed = pool.Subset(seedRows)
	for i, ds := range spec.Data {
		if ds.CopyOf < 0 {
			continue
		}
		r := protocol.Stream(seed, "economy-data", uint64(i))
		src := reg.sets[ds.CopyOf]
		s := &reg.sets[i]
		s.truth = slices.Clone(src.truth)
		s.data.Y = slices.Clone(src.data.Y)
		for _, x := range src.data.X {
			y := slices.Clone(x)
			for k := range y {
				if r.Float64() < ds.Jitter {
					step := 1.0 / optdigits.MaxCount
					if r.IntN(2) == 0 {
						step = -step
					}
					y[k] = min(1, max(0, y[k]+step))
				}
			}
			s.data.X = append(s.data.X, y)
		}
	}
	ix, err := datavalue.NewIndex(spec.Dedup)
	if err != nil {
		return nil, err
	}
	var owner []int // provider of each registered row, by row number
	order := make([]int, 0, n)
	for i, ds := range spec.Data {
		if ds.CopyOf < 0 {
			order = append(order, i)
		}
	}
	for i, ds := range spec.Data {
		if ds.CopyOf >= 0 {
			order = append(order, i)
		}
	}
	for _, i := range order {
		s := &reg.sets[i]
		s.copiedFrom = make([]int, n)
		var keep []int
		for k, m := range ix.Add(s.data.X) {
			owner = append(owner, i)
			if m.Of >= 0 {
				s.copiedFrom[owner[m.Of]]++
				reg.Duplicates++
				continue
			}
			keep = append(keep, k)
			if s.data.Y[k] != s.truth[k] {
				s.noisy++
			}
		}
		s.unique = s.data.Subset(keep)
		reg.Rows += s.data.Len()
	}
	reg.Candidates = ix.Candidates
	for _, s := range reg.sets {
		reg.union.X = append(reg.union.X, s.unique.X...)
		reg.union.Y = append(reg.union.Y, s.unique.Y...)
	}
	if reg.union.Len() == 0 {
		return nil, fmt.Errorf("learnrun: the data sets hold no unique row to train on")
	}
	return reg, nil
}
