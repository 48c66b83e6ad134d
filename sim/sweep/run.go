package sweep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/dais-sim/dais/reports"
	"github.com/dais-sim/dais/reports/progress"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/runner"
)

// Files and folders of a sweep's output folder.
const (
	PlanFile   = "sweep.json" // the points, as every shard and merge sees them
	PointsDir  = "points"     // one folder per point, named by Point.Dir
	PointFile  = "point.json" // in a point's folder: which point it is
	tmpPrefix  = ".tmp-"      // a point's folder while it is written
	planSchema = 1            // version of sweep.json's layout
	dirPerm    = fs.FileMode(0o755)
	filePerm   = fs.FileMode(0o644)
	defaultOut = "sweeps"
)

// Plan is sweep.json: the sweep as run, so that shards and merge agree on
// its points without reading the sweep file again. It depends only on the
// sweep file and the base scenario's bytes.
type Plan struct {
	Schema      int         `json:"schema"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Base        string      `json:"base"`
	BaseSHA256  string      `json:"base_sha256"`
	Runner      string      `json:"runner"`
	Design      string      `json:"design"`
	Seed        uint64      `json:"seed"`
	Repetitions int         `json:"repetitions"`
	Set         []string    `json:"set,omitempty"`
	Axes        []PlanAxis  `json:"axes"`
	Objectives  []Objective `json:"objectives,omitempty"`
	Plot        []string    `json:"plot,omitempty"`
	Points      []Point     `json:"points"`
}

// PlanAxis is an axis as the tables and plots need it.
type PlanAxis struct {
	Name string `json:"name"`
	Key  string `json:"key"`
	// Scale is log for a log range, else linear (a list of values is drawn
	// on a log scale when they are positive numbers spanning two decades).
	Scale string `json:"scale"`
	Unit  string `json:"unit,omitempty"`
}

// Plan is the sweep as sweep.json records it.
func (s *Sweep) Plan() *Plan {
	p := &Plan{Schema: planSchema, Name: s.Name, Description: s.File.Description, Base: s.File.Base,
		BaseSHA256: sha256Hex(s.Base), Runner: string(s.Kind), Design: s.File.Design, Seed: s.Seed,
		Repetitions: s.Repetitions, Objectives: s.File.Objectives, Plot: s.File.Plot, Points: s.Points}
	for _, st := range s.File.Set {
		p.Set = append(p.Set, st.Override())
	}
	for _, a := range s.File.Axes {
		pa := PlanAxis{Name: a.column(), Key: a.Key, Scale: "linear"}
		if a.Range != nil {
			pa.Scale, pa.Unit = a.Range.Scale, a.Range.Unit
		}
		p.Axes = append(p.Axes, pa)
	}
	return p
}

func (p *Plan) marshal() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// PointRecord is point.json, in a point's folder.
type PointRecord struct {
	Index     int      `json:"index"`
	Hash      string   `json:"hash"`
	Sweep     string   `json:"sweep"`
	Axes      []string `json:"axes"`
	Values    []string `json:"values"`
	Overrides []string `json:"overrides"`
	Base      string   `json:"base"`
	BaseSHA   string   `json:"base_sha256"`
	// MetricsSHA256 is the hash of the folder's metrics.json: a torn
	// folder fails it.
	MetricsSHA256 string `json:"metrics_sha256"`
	Version       string `json:"dais_version"`
	// Failures are the invariant checker's violations in this point's
	// repetitions: the point ran and its figures stand, but a safety or
	// conservation check broke.
	Failures []string `json:"failures,omitempty"`
}

// Shard selects the points one task of a cluster job runs: those whose
// index is Index modulo Count. The zero value runs every point.
type Shard struct{ Index, Count int }

// Has says whether the shard runs point i.
func (s Shard) Has(i int) bool { return s.Count <= 1 || i%s.Count == s.Index }

func (s Shard) String() string {
	if s.Count <= 1 {
		return "all points"
	}
	return fmt.Sprintf("shard %d/%d", s.Index, s.Count)
}

// Options tune Run.
type Options struct {
	// Dir is the output folder; empty: File.Outputs.Dir or sweeps/<name>.
	Dir string
	// Jobs is how many points run at once (0: GOMAXPROCS).
	Jobs  int
	Shard Shard
	// Version is the dais version written into each point.
	Version string
	// Progress, if not nil, gets a line or bar of points done and the ETA.
	Progress io.Writer
	// ProgressMode picks the display (progress.Auto: a bar on a terminal).
	ProgressMode progress.Mode
}

// Outcome says what a Run did.
type Outcome struct {
	Dir string
	// Points this run was given (its shard's), how many were already done
	// (skipped), ran now, and failed (no folder written; a rerun retries).
	Points, Skipped, Ran int
	// OtherVersion counts the skipped points another dais version ran:
	// their hash covers the inputs, not the code, so their figures may
	// differ from what this version would give.
	OtherVersion int
	Failed       []error
	// Violations are the points whose runs broke an invariant.
	Violations []string
}

// OutDir is where a run writes when Options.Dir is empty.
func (s *Sweep) OutDir() string {
	if s.File.Outputs.Dir != "" {
		return s.File.Outputs.Dir
	}
	return filepath.Join(defaultOut, s.Name)
}

// Run runs the sweep's points of opt.Shard that have no folder yet, each
// on its own goroutine of a pool of opt.Jobs, and writes each point's
// folder atomically. It does not merge: with every point done, call Merge.
func Run(s *Sweep, opt Options) (*Outcome, error) {
	dir := opt.Dir
	if dir == "" {
		dir = s.OutDir()
	}
	out := &Outcome{Dir: dir}
	points := filepath.Join(dir, PointsDir)
	if err := os.MkdirAll(points, dirPerm); err != nil {
		return nil, err
	}
	plan, err := s.Plan().marshal()
	if err != nil {
		return nil, err
	}
	// Every shard writes the same bytes; the rename makes each write whole.
	if err := writeAtomic(filepath.Join(dir, PlanFile), plan); err != nil {
		return nil, err
	}
	removeStaleTemps(points)
	var todo []Point
	for _, p := range s.Points {
		if !opt.Shard.Has(p.Index) {
			continue
		}
		out.Points++
		dir := filepath.Join(points, p.Dir())
		if rec, err := checkPoint(dir, p); err == nil {
			out.Skipped++
			if rec.Version != opt.Version {
				out.OtherVersion++
			}
			continue
		} else if fileExists(dir) {
			// Damaged (a machine crash mid-write): out of the way, to
			// be run again.
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
		}
		todo = append(todo, p)
	}
	var bar *progress.Counter
	if opt.Progress != nil {
		bar = progress.NewCounter(opt.Progress, out.Points, out.Skipped, progress.Options{Mode: opt.ProgressMode})
	}
	// Each worker writes only its points' slots: the messages come out in
	// point order whatever order the points finish in.
	failed := make([]error, len(todo))
	violations := make([]string, len(todo))
	parallel(len(todo), opt.Jobs, func(k int) {
		p := todo[k]
		failures, err := s.runPoint(points, p, opt)
		if err != nil {
			failed[k] = fmt.Errorf("point %d (%s): %w", p.Index, s.describe(p), err)
		}
		if len(failures) > 0 {
			violations[k] = fmt.Sprintf("point %d (%s): %s", p.Index, s.describe(p), strings.Join(failures, "; "))
		}
		if bar != nil {
			bar.Add(1)
		}
	})
	if bar != nil {
		bar.Done()
	}
	for k := range todo {
		if failed[k] != nil {
			out.Failed = append(out.Failed, failed[k])
		} else {
			out.Ran++
		}
		if violations[k] != "" {
			out.Violations = append(out.Violations, violations[k])
		}
	}
	return out, nil
}

// done says whether point p's folder is there, whole and p's: its
// point.json names p and holds the SHA-256 of its metrics.json. Folders
// are renamed into place whole, so only a crash of the machine (not of the
// process) can leave one that fails this; it is then run again.
func done(points string, p Point) bool {
	_, err := checkPoint(filepath.Join(points, p.Dir()), p)
	return err == nil
}

// checkPoint reads a point folder's point.json and checks it against p
// and the folder's metrics.json.
func checkPoint(dir string, p Point) (*PointRecord, error) {
	b, err := os.ReadFile(filepath.Join(dir, PointFile))
	if err != nil {
		return nil, err
	}
	rec := &PointRecord{}
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("sweep: %s: %w", filepath.Join(dir, PointFile), err)
	}
	if rec.Hash != p.Hash {
		return nil, fmt.Errorf("sweep: %s holds point %s, want %s", dir, rec.Hash, p.Hash)
	}
	m, err := os.ReadFile(filepath.Join(dir, reports.MetricsFile))
	if err != nil {
		return nil, err
	}
	if sha256Hex(m) != rec.MetricsSHA256 {
		return nil, fmt.Errorf("sweep: %s is damaged: its %s does not match the hash in %s; delete the folder and run the sweep again", dir, reports.MetricsFile, PointFile)
	}
	return rec, nil
}

// runPoint runs every repetition of point p and writes its folder: first
// into a temporary folder beside it, then renamed into place, so the
// folder is whole or absent whatever happens to the process.
func (s *Sweep) runPoint(points string, p Point, opt Options) ([]string, error) {
	sc, err := scenarios.Parse(s.BaseFile, s.Base, p.Overrides...)
	if err != nil {
		return nil, err
	}
	res, err := runner.Run(sc, runner.Options{Version: opt.Version})
	if err != nil {
		return nil, err
	}
	tmp := tmpDir(points, p)
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	formats := []string{"json"}
	if s.File.Outputs.Reports {
		formats = nil
	}
	if err := reports.Write(tmp, res.Run, formats...); err != nil {
		return nil, err
	}
	if len(formats) > 0 {
		// reports.Write makes plots/ for the SVGs a full report has.
		_ = os.Remove(filepath.Join(tmp, reports.PlotsDir))
	}
	m, err := os.ReadFile(filepath.Join(tmp, reports.MetricsFile))
	if err != nil {
		return nil, err
	}
	rec := PointRecord{Index: p.Index, Hash: p.Hash, Sweep: s.Name, Values: p.Values, Overrides: p.Overrides,
		Base: s.File.Base, BaseSHA: sha256Hex(s.Base), MetricsSHA256: sha256Hex(m), Version: opt.Version, Failures: res.Failures}
	for _, a := range s.File.Axes {
		rec.Axes = append(rec.Axes, a.column())
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, PointFile), append(b, '\n'), filePerm); err != nil {
		return nil, err
	}
	// No fsync: it cost more than the runs on a busy disk (a fifth of a
	// second per point), and a folder a machine crash leaves torn fails
	// done's check and runs again.
	final := filepath.Join(points, p.Dir())
	if err := os.Rename(tmp, final); err != nil {
		// Another process (a shard run twice) finished the point first:
		// its folder is as good as ours.
		if done(points, p) {
			return res.Failures, os.RemoveAll(tmp)
		}
		return nil, err
	}
	return res.Failures, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// tmpDir is where this process writes point p's folder before renaming
// it into place: .tmp-<dir>-<host>-<pid>, so a later run on this host can
// tell that its writer is gone.
func tmpDir(points string, p Point) string {
	host, _ := os.Hostname()
	return filepath.Join(points, fmt.Sprintf("%s%s-%s-%d", tmpPrefix, p.Dir(), host, os.Getpid()))
}

// writeAtomic writes a file through a temporary file and a rename.
func writeAtomic(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), tmpPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), filePerm)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// removeStaleTemps deletes the temporary folders that runs on this host
// left when they were killed (their process is gone). Other hosts' (a
// shared volume) are left: their processes may be running.
func removeStaleTemps(points string) {
	host, _ := os.Hostname()
	ents, err := os.ReadDir(points)
	if err != nil {
		return
	}
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), tmpPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		// .tmp-<dir>-<host>-<pid>; host names may hold '-'.
		rest, pidText, ok1 := cutLast(name, "-")
		_, h, ok2 := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok1 || !ok2 || err != nil || h != host {
			continue
		}
		if pid == os.Getpid() || syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(filepath.Join(points, e.Name()))
		}
	}
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
