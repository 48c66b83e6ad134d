package sweep

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/reports"
)

// Files Merge writes.
const (
	TableCSV     = "table.csv"     // one row per point × repetition × figure
	TableJSONL   = "table.jsonl"   // the same rows as JSON lines
	SummaryCSV   = "summary.csv"   // one row per point × figure: mean, CI, n
	SummaryJSONL = "summary.jsonl" // the same as JSON lines
)

// ErrIncomplete is wrapped by Merge's error when some points have no
// folder in any of the folders merged.
var ErrIncomplete = errors.New("sweep: points missing")

// ErrNotSweep means a folder given to Gather or Merge is not a sweep's
// output folder.
var ErrNotSweep = errors.New("sweep: not the output folder of a sweep run")

// tableColumns come before and after the axis columns of the long table;
// an axis may not take their names.
var (
	headColumns    = []string{"point", "hash"}
	tableColumns   = []string{"repetition", "seed", "figure", "value", "unit"}
	summaryColumns = []string{"figure", "unit", "mean", "ci95_lo", "ci95_hi", "n"}
)

func reservedColumn(name string) bool {
	for _, cs := range [][]string{headColumns, tableColumns, summaryColumns} {
		for _, c := range cs {
			if c == name {
				return true
			}
		}
	}
	return false
}

// Result is a merged sweep: its plan and each point's run (nil where the
// point is missing).
type Result struct {
	Plan *Plan
	Runs []*metrics.Run
	// Records are the points' point.json (nil where missing).
	Records []*PointRecord
	// Missing are the indexes of points no folder holds.
	Missing []int
	// Warnings are what the report could not do as the sweep asked.
	Warnings []string
}

// Gather reads the plan and the point folders of dirs (a sweep's output
// folder, or the output folders of its shards). Every dir's sweep.json
// must be the same sweep.
func Gather(dirs []string) (*Result, error) {
	if len(dirs) == 0 {
		return nil, errors.New("sweep: no folder to merge")
	}
	var plan *Plan
	var planBytes []byte
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, PlanFile))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: no %s (%v)", ErrNotSweep, d, PlanFile, err)
		}
		if plan == nil {
			plan, planBytes = &Plan{}, b
			if err := json.Unmarshal(b, plan); err != nil {
				return nil, fmt.Errorf("sweep: %s: %w", filepath.Join(d, PlanFile), err)
			}
			if plan.Schema != planSchema {
				return nil, fmt.Errorf("sweep: %s: schema %d; this dais reads %d", filepath.Join(d, PlanFile), plan.Schema, planSchema)
			}
			continue
		}
		if !bytes.Equal(b, planBytes) {
			return nil, fmt.Errorf("sweep: %s holds another sweep than %s (their %s differ): merge the shards of one sweep", d, dirs[0], PlanFile)
		}
	}
	res := &Result{Plan: plan, Runs: make([]*metrics.Run, len(plan.Points)), Records: make([]*PointRecord, len(plan.Points))}
	for i, p := range plan.Points {
		for _, d := range dirs {
			dir := filepath.Join(d, PointsDir, p.Dir())
			rec, run, err := readPoint(dir, p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			res.Runs[i], res.Records[i] = run, rec
			break
		}
		if res.Runs[i] == nil {
			res.Missing = append(res.Missing, p.Index)
		}
	}
	return res, nil
}

func readPoint(dir string, p Point) (*PointRecord, *metrics.Run, error) {
	rec, err := checkPoint(dir, p)
	if err != nil {
		return nil, nil, err
	}
	run, err := reports.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	// The tables and the report read figures only; a large sweep's
	// distributions and series would not fit in memory together.
	run.Dists, run.Series, run.Groups, run.Curves, run.Plots = nil, nil, nil, nil, nil
	return rec, run, nil
}

// Merge gathers dirs into out: the point folders it lacks are copied in,
// then the long table, the per-point summary and the report are written.
// The files depend only on the plan and the points' metrics.json, so they
// are the same bytes however many shards ran the points. With points
// missing it writes what it has and returns an error wrapping
// ErrIncomplete that lists them.
func Merge(out string, dirs []string) (*Result, error) {
	res, err := Gather(dirs)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(out, PointsDir), dirPerm); err != nil {
		return nil, err
	}
	plan, err := res.Plan.marshal()
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(filepath.Join(out, PlanFile), plan); err != nil {
		return nil, err
	}
	for _, p := range res.Plan.Points {
		if err := copyPoint(out, dirs, p); err != nil {
			return nil, err
		}
	}
	files := map[string]func(io.Writer) error{
		TableCSV:     func(w io.Writer) error { return res.writeTable(w, false) },
		TableJSONL:   func(w io.Writer) error { return res.writeTable(w, true) },
		SummaryCSV:   func(w io.Writer) error { return res.writeSummary(w, false) },
		SummaryJSONL: func(w io.Writer) error { return res.writeSummary(w, true) },
	}
	for _, name := range []string{TableCSV, TableJSONL, SummaryCSV, SummaryJSONL} {
		var b bytes.Buffer
		if err := files[name](&b); err != nil {
			return nil, err
		}
		if err := writeAtomic(filepath.Join(out, name), b.Bytes()); err != nil {
			return nil, err
		}
	}
	if err := res.WriteReport(out); err != nil {
		return nil, err
	}
	if len(res.Missing) > 0 {
		return res, fmt.Errorf("%w: %d of %d have no folder in %s: %s", ErrIncomplete, len(res.Missing), len(res.Plan.Points), strings.Join(dirs, ", "), listInts(res.Missing, 40))
	}
	return res, nil
}

// copyPoint copies point p's folder into out when out lacks it.
func copyPoint(out string, dirs []string, p Point) error {
	dst := filepath.Join(out, PointsDir, p.Dir())
	if _, err := os.Stat(filepath.Join(dst, PointFile)); err == nil {
		return nil
	}
	for _, d := range dirs {
		src := filepath.Join(d, PointsDir, p.Dir())
		if _, err := os.Stat(filepath.Join(src, PointFile)); err != nil {
			continue
		}
		tmp := tmpDir(filepath.Join(out, PointsDir), p)
		if err := os.RemoveAll(tmp); err != nil {
			return err
		}
		if err := os.CopyFS(tmp, os.DirFS(src)); err != nil {
			return err
		}
		return os.Rename(tmp, dst)
	}
	return nil
}

func listInts(xs []int, limit int) string {
	parts := make([]string, 0, min(len(xs), limit))
	for i, x := range xs {
		if i == limit {
			parts = append(parts, fmt.Sprintf("… (%d more)", len(xs)-limit))
			break
		}
		parts = append(parts, strconv.Itoa(x))
	}
	return "points " + strings.Join(parts, ", ")
}

// cell is one table value as CSV text and as JSON: a row is written as
// CSV or as a JSON object with the same columns in the same order.
type cell struct {
	text string // CSV text; empty for a missing value
	json string // JSON value
}

func str(s string) cell {
	b, _ := json.Marshal(s)
	return cell{s, string(b)}
}

func integer(i int64) cell {
	s := strconv.FormatInt(i, 10)
	return cell{s, s}
}

func uinteger(u uint64) cell {
	s := strconv.FormatUint(u, 10)
	return cell{s, s}
}

// num is a figure's value: shortest round-trip text; NaN is empty in CSV
// and null in JSON.
func num(v float64) cell {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return cell{"", "null"}
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	return cell{s, s}
}

// axisCell is an axis value: a JSON number where the text is one, else a
// string.
func axisCell(text string) cell {
	if f, err := strconv.ParseFloat(text, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && json.Valid([]byte(text)) {
		return cell{text, text}
	}
	return str(text)
}

type tableWriter struct {
	w     *bufio.Writer
	csv   *csv.Writer
	jsonl bool
	err   error
}

func newTableWriter(w io.Writer, jsonl bool, header []string) *tableWriter {
	t := &tableWriter{w: bufio.NewWriter(w), jsonl: jsonl}
	if !jsonl {
		t.csv = csv.NewWriter(t.w)
		t.err = t.csv.Write(header)
	}
	return t
}

func (t *tableWriter) write(names []string, cells []cell) {
	if t.err != nil {
		return
	}
	if !t.jsonl {
		texts := make([]string, len(cells))
		for i, c := range cells {
			texts[i] = c.text
		}
		t.err = t.csv.Write(texts)
		return
	}
	t.w.WriteByte('{')
	for i, c := range cells {
		if i > 0 {
			t.w.WriteByte(',')
		}
		k, _ := json.Marshal(names[i])
		t.w.Write(k)
		t.w.WriteByte(':')
		t.w.WriteString(c.json)
	}
	_, t.err = t.w.WriteString("}\n")
}

func (t *tableWriter) close() error {
	if t.csv != nil {
		t.csv.Flush()
		if t.err == nil {
			t.err = t.csv.Error()
		}
	}
	if err := t.w.Flush(); t.err == nil {
		t.err = err
	}
	return t.err
}

func (r *Result) header(tail []string) []string {
	h := append([]string(nil), headColumns...)
	for _, a := range r.Plan.Axes {
		h = append(h, a.Name)
	}
	return append(h, tail...)
}

func (r *Result) pointCells(i int) []cell {
	p := r.Plan.Points[i]
	cells := []cell{integer(int64(p.Index)), str(p.Dir())}
	for _, v := range p.Values {
		cells = append(cells, axisCell(v))
	}
	return cells
}

// writeTable writes the long table: for each point (in index order), each
// repetition, each figure (in metrics.json's order), one row.
func (r *Result) writeTable(w io.Writer, jsonl bool) error {
	head := r.header(tableColumns)
	t := newTableWriter(w, jsonl, head)
	for i, run := range r.Runs {
		if run == nil {
			continue
		}
		pc := r.pointCells(i)
		reps := max(run.Meta.Repetitions, 1)
		for rep := 0; rep < reps; rep++ {
			seed := run.Meta.Seed
			if rep < len(run.Meta.Seeds) {
				seed = run.Meta.Seeds[rep]
			}
			for _, f := range run.Figures {
				v := f.Value
				if reps > 1 {
					if f.Reps == nil || len(f.Reps.Values) != reps {
						return fmt.Errorf("sweep: point %d: figure %s has no value per repetition", r.Plan.Points[i].Index, f.Key)
					}
					v = f.Reps.Values[rep]
				}
				t.write(head, append(pc[:len(pc):len(pc)], integer(int64(rep)), uinteger(seed), str(f.Key), num(v), str(f.Unit)))
			}
		}
	}
	return t.close()
}

// writeSummary writes one row per point and figure: the mean over
// repetitions, its 95% CI and how many repetitions define the figure.
func (r *Result) writeSummary(w io.Writer, jsonl bool) error {
	head := r.header(summaryColumns)
	t := newTableWriter(w, jsonl, head)
	for i, run := range r.Runs {
		if run == nil {
			continue
		}
		pc := r.pointCells(i)
		for _, f := range run.Figures {
			s := summarize(f)
			t.write(head, append(pc[:len(pc):len(pc)], str(f.Key), str(f.Unit), num(s.mean), num(s.lo), num(s.hi), integer(int64(s.n))))
		}
	}
	return t.close()
}

// stat is a figure's mean and 95% CI at one point; lo and hi are NaN when
// fewer than two repetitions define it.
type stat struct {
	mean, lo, hi float64
	n            int
}

func summarize(f metrics.Figure) stat {
	s := stat{mean: f.Value, lo: math.NaN(), hi: math.NaN()}
	switch {
	case f.Reps != nil:
		s.n, s.lo, s.hi = f.Reps.N, f.Reps.CI95Lo, f.Reps.CI95Hi
	case !math.IsNaN(f.Value):
		s.n = 1
	}
	return s
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
