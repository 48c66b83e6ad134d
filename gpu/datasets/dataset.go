package datasets

import (
	"errors"
	"fmt"
)

// ErrInvalid means a Dataset is malformed: rows and labels of different
// counts, rows of different widths, or a label outside [0, classes).
var ErrInvalid = errors.New("datasets: invalid dataset")

// Dataset is a labelled classification data set held in memory: row i has
// features X[i] and class Y[i]. A Dataset's slices belong to whoever built
// it; functions here never modify them, and Subset shares rows with its
// source rather than copying them.
type Dataset struct {
	X [][]float64
	Y []int
}

// Len is the number of rows.
func (d Dataset) Len() int { return len(d.Y) }

// Features is the width of a row, or 0 for an empty Dataset.
func (d Dataset) Features() int {
	if len(d.X) == 0 {
		return 0
	}
	return len(d.X[0])
}

// Validate checks that d has as many rows as labels, that every row has
// the same width, and that every label is in [0, classes).
func (d Dataset) Validate(classes int) error {
	if len(d.X) != len(d.Y) {
		return fmt.Errorf("%w: %d rows but %d labels", ErrInvalid, len(d.X), len(d.Y))
	}
	w := d.Features()
	for i, row := range d.X {
		if len(row) != w {
			return fmt.Errorf("%w: row %d has %d features, row 0 has %d", ErrInvalid, i, len(row), w)
		}
	}
	for i, y := range d.Y {
		if y < 0 || y >= classes {
			return fmt.Errorf("%w: row %d has label %d, want [0, %d)", ErrInvalid, i, y, classes)
		}
	}
	return nil
}

// Subset is the rows of d at the given indices, in that order. The rows
// are shared with d, not copied. An index out of range panics, as slice
// indexing does.
func (d Dataset) Subset(rows []int) Dataset {
	s := Dataset{X: make([][]float64, len(rows)), Y: make([]int, len(rows))}
	for i, r := range rows {
		s.X[i], s.Y[i] = d.X[r], d.Y[r]
	}
	return s
}

// ClassCounts is the number of rows of each class in [0, classes); labels
// outside that range are not counted.
func (d Dataset) ClassCounts(classes int) []int {
	n := make([]int, classes)
	for _, y := range d.Y {
		if y >= 0 && y < classes {
			n[y]++
		}
	}
	return n
}
