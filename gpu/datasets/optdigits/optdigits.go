package optdigits

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dais-sim/dais/gpu/datasets"
)

// Shape of the data set.
const (
	Features  = 64   // 8×8 pixel counts per row
	Classes   = 10   // digits 0..9
	TrainRows = 3823 // rows of optdigits.tra
	TestRows  = 1797 // rows of optdigits.tes
	// MaxCount is the largest raw feature: a 4×4 block has 16 pixels.
	MaxCount = 16
)

// ErrCorrupt means the embedded data did not parse as the data set: a
// broken gzip stream, a malformed row or the wrong number of rows. It can
// only happen if the data files were altered.
var ErrCorrupt = errors.New("optdigits: corrupt embedded data")

//go:embed data/optdigits.tra.gz data/optdigits.tes.gz
var files embed.FS

// Load parses the embedded training and test sets. Features are the raw
// counts divided by 16, so they lie in [0, 1]. Every call returns fresh
// slices that the caller owns. It takes a few milliseconds.
func Load() (train, test datasets.Dataset, err error) {
	if train, err = load("data/optdigits.tra.gz", TrainRows); err != nil {
		return datasets.Dataset{}, datasets.Dataset{}, err
	}
	if test, err = load("data/optdigits.tes.gz", TestRows); err != nil {
		return datasets.Dataset{}, datasets.Dataset{}, err
	}
	return train, test, nil
}

func load(name string, rows int) (datasets.Dataset, error) {
	raw, err := files.ReadFile(name)
	if err != nil {
		return datasets.Dataset{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return datasets.Dataset{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
	}
	ds, err := parse(zr, rows)
	if err != nil {
		return datasets.Dataset{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
	}
	return ds, nil
}

// parse reads rows of 64 counts and a class, comma-separated, one row a
// line, and checks every value's range and the row count.
func parse(r io.Reader, rows int) (datasets.Dataset, error) {
	ds := datasets.Dataset{X: make([][]float64, 0, rows), Y: make([]int, 0, rows)}
	// One backing array for all features keeps the rows contiguous, which
	// is kinder to the cache when batches are gathered.
	feats := make([]float64, 0, rows*Features)
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != Features+1 {
			return datasets.Dataset{}, fmt.Errorf("line %d: %d fields, want %d", line, len(fields), Features+1)
		}
		start := len(feats)
		for i, f := range fields {
			v, err := strconv.Atoi(f)
			if err != nil {
				return datasets.Dataset{}, fmt.Errorf("line %d field %d: %v", line, i+1, err)
			}
			if i == Features {
				if v < 0 || v >= Classes {
					return datasets.Dataset{}, fmt.Errorf("line %d: class %d, want 0..%d", line, v, Classes-1)
				}
				ds.Y = append(ds.Y, v)
				continue
			}
			if v < 0 || v > MaxCount {
				return datasets.Dataset{}, fmt.Errorf("line %d field %d: count %d, want 0..%d", line, i+1, v, MaxCount)
			}
			feats = append(feats, float64(v)/MaxCount)
		}
		ds.X = append(ds.X, feats[start:len(feats):len(feats)])
	}
	if err := sc.Err(); err != nil {
		return datasets.Dataset{}, err
	}
	if len(ds.Y) != rows {
		return datasets.Dataset{}, fmt.Errorf("%d rows, want %d", len(ds.Y), rows)
	}
	return ds, nil
}
