package netspec

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/dais-sim/dais/protocol"
)

//go:embed data/ibm-cloud-2024-08.csv
var defaultCSV string

// DefaultIntraRegionRTT is the round trip between two nodes of one region.
// The measured table leaves its diagonal at 0; its source gives 0.08–2.2 ms
// between zones of one region, and 1 ms sits in that range.
const DefaultIntraRegionRTT = protocol.Millisecond

// Matrix is a set of regions and the round-trip time between each pair.
// RTT[i][j] is measured from region i to region j; it need not be symmetric.
type Matrix struct {
	Regions []string
	RTT     [][]protocol.Duration
}

// DefaultMatrix is the measured inter-region matrix shipped with dais (ten
// IBM Cloud regions, August 2024; see data/README.md), with the diagonal set
// to DefaultIntraRegionRTT.
func DefaultMatrix() Matrix {
	m, err := ParseMatrixCSV(strings.NewReader(defaultCSV), "data/ibm-cloud-2024-08.csv")
	if err != nil {
		panic(err) // the embedded file is tested
	}
	for i := range m.RTT {
		if m.RTT[i][i] == 0 {
			m.RTT[i][i] = DefaultIntraRegionRTT
		}
	}
	return m
}

// Index returns the position of a region by name, or -1.
func (m Matrix) Index(name string) int {
	for i, r := range m.Regions {
		if r == name {
			return i
		}
	}
	return -1
}

// OneWay is the one-way delay between two regions: half the round trip.
func (m Matrix) OneWay(from, to int) protocol.Duration { return m.RTT[from][to] / 2 }

// Validate checks that the matrix is square, names are unique and
// round trips are non-negative.
func (m Matrix) Validate() error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("netspec: %w", err)
	}
	return nil
}

func (m Matrix) validate() error {
	n := len(m.Regions)
	if n == 0 {
		return fmt.Errorf("matrix has no regions")
	}
	if len(m.RTT) != n {
		return fmt.Errorf("matrix has %d rows for %d regions", len(m.RTT), n)
	}
	seen := map[string]bool{}
	for i, r := range m.Regions {
		if seen[r] {
			return fmt.Errorf("region %q named twice", r)
		}
		seen[r] = true
		if len(m.RTT[i]) != n {
			return fmt.Errorf("row %q has %d columns, want %d", r, len(m.RTT[i]), n)
		}
		for j, d := range m.RTT[i] {
			if d < 0 {
				return fmt.Errorf("negative RTT %v from %q to %q", d, r, m.Regions[j])
			}
		}
	}
	return nil
}

// ParseMatrixCSV reads a matrix in milliseconds: a header row "from\to,r1,r2,…",
// then one row per region in the same order. name is used in errors.
func ParseMatrixCSV(r io.Reader, name string) (Matrix, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return Matrix{}, fmt.Errorf("netspec: %s: %w", name, err)
	}
	if len(rows) < 2 {
		return Matrix{}, fmt.Errorf("netspec: %s: want a header and at least one row", name)
	}
	var m Matrix
	m.Regions = append(m.Regions, rows[0][1:]...)
	for i, row := range rows[1:] {
		line := i + 2
		if len(row) != len(m.Regions)+1 {
			return Matrix{}, fmt.Errorf("netspec: %s:%d: %d fields, want %d", name, line, len(row), len(m.Regions)+1)
		}
		if i >= len(m.Regions) || row[0] != m.Regions[i] {
			return Matrix{}, fmt.Errorf("netspec: %s:%d: row %q, want rows in header order", name, line, row[0])
		}
		out := make([]protocol.Duration, len(m.Regions))
		for j, f := range row[1:] {
			ms, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || ms < 0 || math.IsInf(ms, 0) {
				return Matrix{}, fmt.Errorf("netspec: %s:%d: column %q: %q is not a latency in ms", name, line, m.Regions[j], f)
			}
			out[j] = protocol.Duration(math.Round(ms * float64(protocol.Millisecond)))
		}
		m.RTT = append(m.RTT, out)
	}
	if err := m.validate(); err != nil {
		return Matrix{}, fmt.Errorf("netspec: %s: %w", name, err)
	}
	return m, nil
}
