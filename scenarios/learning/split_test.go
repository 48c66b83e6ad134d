package learning

import (
	"slices"
	"testing"

	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
)

// The split holds ValidationRows out and deals them among the validators,
// partitions every other training row over the providers exactly once,
// and is the seed's: the same seed splits alike, another differently.
func TestSplit(t *testing.T) {
	p := DefaultParams()
	p.Providers, p.Validators, p.ValidationRows = 7, 3, 301
	s, err := NewSplit(&p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Shards) != 7 || len(s.Validation) != 3 {
		t.Fatalf("%d shards, %d validation shards", len(s.Shards), len(s.Validation))
	}
	val := 0
	for _, v := range s.Validation {
		val += v.Len()
		if v.Len() < 100 || v.Len() > 101 {
			t.Errorf("validation shard of %d rows, want 100 or 101", v.Len())
		}
	}
	rows := 0
	for _, sh := range s.Shards {
		rows += sh.Len()
	}
	if val != 301 || rows != optdigits.TrainRows-301 || s.Pool.Len() != rows {
		t.Errorf("%d validation rows, %d provider rows of a pool of %d: want 301 and %d", val, rows, s.Pool.Len(), optdigits.TrainRows-301)
	}
	again, err := NewSplit(&p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Shards[3].Y, s.Shards[3].Y) {
		t.Error("the same seed split differently")
	}
	p.Seed++
	other, err := NewSplit(&p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(other.Validation[0].Y, s.Validation[0].Y) {
		t.Error("another seed held out the same rows")
	}
}

// A Register hook sees the validation shards and its pool replaces the
// providers' rows (the simulator's data economy).
func TestSplitRegister(t *testing.T) {
	p := DefaultParams()
	p.Providers, p.Validators = 4, 2
	var seen int
	s, err := NewSplit(&p, func(pool datasets.Dataset, validation []datasets.Dataset) (datasets.Dataset, error) {
		seen = len(validation)
		return pool.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, sh := range s.Shards {
		rows += sh.Len()
	}
	if seen != 2 || s.Pool.Len() != 8 || rows != 8 {
		t.Errorf("hook saw %d validation shards; pool %d rows, shards %d: want 2, 8, 8", seen, s.Pool.Len(), rows)
	}
}
