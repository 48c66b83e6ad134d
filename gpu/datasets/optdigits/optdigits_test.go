package optdigits

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dais-sim/dais/gpu/datasets"
)

// The class tables of optdigits.names, section 9.
var (
	wantTrainCounts = []int{376, 389, 380, 389, 387, 376, 377, 387, 380, 382}
	wantTestCounts  = []int{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}
)

func TestLoad(t *testing.T) {
	train, test, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		rows   int
		counts []int
		ds     datasets.Dataset
	}{
		{"train", TrainRows, wantTrainCounts, train},
		{"test", TestRows, wantTestCounts, test},
	} {
		if got := c.ds.Len(); got != c.rows {
			t.Errorf("%s: %d rows, want %d", c.name, got, c.rows)
		}
		if err := c.ds.Validate(Classes); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if got := c.ds.ClassCounts(Classes); !slices.Equal(got, c.counts) {
			t.Errorf("%s: class counts %v, want %v", c.name, got, c.counts)
		}
	}
	for _, ds := range [][][]float64{train.X, test.X} {
		for i, row := range ds {
			if len(row) != Features {
				t.Fatalf("row %d has %d features", i, len(row))
			}
			for j, v := range row {
				if v < 0 || v > 1 || v*MaxCount != float64(int(v*MaxCount)) {
					t.Fatalf("row %d feature %d = %v, want k/16 in [0, 1]", i, j, v)
				}
			}
		}
	}
	// First row of optdigits.tra, checked against the raw file.
	first := []int{0, 1, 6, 15, 12, 1, 0, 0, 0, 7, 16, 6, 6, 10, 0, 0}
	for j, raw := range first {
		if got := train.X[0][j] * MaxCount; got != float64(raw) {
			t.Errorf("train row 0 feature %d = %v/16, want %d/16", j, got, raw)
		}
	}
	if train.Y[0] != 0 {
		t.Errorf("train row 0 class %d, want 0", train.Y[0])
	}
}

func TestLoadFreshSlices(t *testing.T) {
	a, _, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	a.X[0][0], a.Y[0] = 99, 99
	b, _, _ := Load()
	if b.X[0][0] == 99 || b.Y[0] == 99 {
		t.Fatal("Load returned slices shared with an earlier call")
	}
}

func TestParseRejects(t *testing.T) {
	row := strings.Repeat("0,", Features) + "3"
	for _, c := range []struct{ name, in string }{
		{"short row", "1,2,3"},
		{"count over 16", "17," + strings.Repeat("0,", Features-1) + "3"},
		{"negative count", "-1," + strings.Repeat("0,", Features-1) + "3"},
		{"class 10", strings.Repeat("0,", Features) + "10"},
		{"not a number", "x," + strings.Repeat("0,", Features-1) + "3"},
		{"too few rows", row},
	} {
		if _, err := parse(strings.NewReader(c.in), 2); err == nil {
			t.Errorf("%s: parsed without error", c.name)
		}
	}
	ds, err := parse(strings.NewReader(row+"\r\n\n"+row+"\n"), 2)
	if err != nil || ds.Len() != 2 || ds.Y[1] != 3 {
		t.Fatalf("two good rows: %v, %d rows", err, ds.Len())
	}
}

func TestLoadErrorIsCorrupt(t *testing.T) {
	if _, err := load("data/missing.gz", 1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("missing file: %v, want ErrCorrupt", err)
	}
	if _, err := load("data/optdigits.tes.gz", TrainRows); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("wrong row count: %v, want ErrCorrupt", err)
	}
}
