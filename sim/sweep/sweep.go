// Package sweep runs a scenario over a set of parameter points — a grid,
// lists advanced together, or a Latin hypercube or random sample over
// ranges — on a local worker pool or as shards of a cluster job, and
// gathers the points into long-format tables and a report.
//
//	s, err := sweep.Load("scenarios/sweeps/marketplace-tokenomics.yaml", sweep.LoadOptions{})
//	// s.Points: every point's overrides and content hash, each scenario validated
//	out, err := sweep.Run(s, sweep.Options{Dir: "sweeps/x", Jobs: 2})
//	// sweeps/x/points/<hash>/ per point; then Merge writes the tables and the report
//	res, err := sweep.Merge("sweeps/x", []string{"sweeps/x"})
//
// A point's folder is named by a hash of the base scenario's bytes and the
// point's overrides (which carry its seed), and appears whole or not at all
// (written in a temporary folder, then renamed), so a rerun skips finished
// points and a killed sweep resumes. A point's results depend on nothing
// else: not on -j, the shard, or the order points ran in; so Merge writes
// the same bytes however many shards made the points.
package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/runner"
)

// Sweep is a sweep file loaded and checked: every point's scenario loads
// and its runner takes it.
type Sweep struct {
	File File
	// Path is the sweep file as given.
	Path string
	// Name is File.Name, or the file's name.
	Name string
	// BaseFile names the base scenario in errors and is the base for its
	// relative paths; Base holds its bytes.
	BaseFile string
	Base     []byte
	// BaseBuiltin says the base is a shipped scenario, which every dais
	// binary holds.
	BaseBuiltin bool
	// Seed is the design's seed: File.Seed or the base's run.seed.
	Seed uint64
	// Repetitions is every point's run.repetitions.
	Repetitions int
	// Kind is the runner every point runs on.
	Kind   runner.Kind
	Points []Point
	doc    *scenarios.Document
}

// Point is one parameter point.
type Point struct {
	Index int `json:"index"`
	// Values are the axes' values at this point, in axis order, as given
	// to --set.
	Values []string `json:"values"`
	// Overrides are everything applied to the base scenario, in order:
	// set, the seed and repetitions, then the axes.
	Overrides []string `json:"overrides"`
	// Hash is the SHA-256 of the base scenario's bytes and Overrides.
	Hash string `json:"hash"`
}

// Dir is the point's folder name under points/.
func (p Point) Dir() string { return p.Hash[:16] }

// LoadOptions change how a sweep file is read.
type LoadOptions struct {
	// Base, if set, replaces the file's base (a cluster job that ships
	// the base scenario beside the sweep file). Points hash the base's
	// bytes, not its path, so their folders are the same.
	Base string
	// Jobs bounds the goroutines that check points (0: GOMAXPROCS).
	Jobs int
}

// Load reads a sweep file, expands its points and checks every point's
// scenario before anything runs. Errors in the file, in an axis' key path
// or values, and in the scenario a point makes are scenarios.Errors, each
// at the sweep file's line and column.
func Load(path string, opt LoadOptions) (*Sweep, error) {
	var f File
	doc, err := scenarios.DecodeFile(path, &f, "a sweep")
	if err != nil {
		return nil, err
	}
	if errs := f.check(doc); len(errs) > 0 {
		return nil, errs.Sorted()
	}
	s := &Sweep{File: f, Path: path, doc: doc, Name: f.Name}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	base := f.Base
	if opt.Base != "" {
		base = opt.Base
	}
	s.BaseFile, s.Base, s.BaseBuiltin, err = resolveBase(path, base)
	if err != nil {
		return nil, scenarios.Errors{doc.Errorf("base", "%v", err)}
	}
	if err := s.expand(); err != nil {
		return nil, err
	}
	if err := s.checkPoints(opt.Jobs); err != nil {
		return nil, err
	}
	return s, nil
}

// fixed are the overrides of every point, with where each was written.
func (s *Sweep) fixed() []source {
	var out []source
	for _, st := range s.File.Set {
		out = append(out, source{override: st.Override(), key: st.Key, keyPos: st.KeyPos, valPos: st.Value.Pos, path: "set"})
	}
	if s.File.Seed != nil {
		out = append(out, source{override: "run.seed=" + strconv.FormatUint(*s.File.Seed, 10), key: "run.seed", keyPos: s.doc.At("seed"), valPos: s.doc.At("seed"), path: "seed"})
	}
	if s.File.Repetitions != nil {
		out = append(out, source{override: "run.repetitions=" + strconv.Itoa(*s.File.Repetitions), key: "run.repetitions", keyPos: s.doc.At("repetitions"), valPos: s.doc.At("repetitions"), path: "repetitions"})
	}
	return out
}

// expand loads the base with the fixed overrides and makes the points.
func (s *Sweep) expand() error {
	fixed := s.fixed()
	sc, err := scenarios.Parse(s.BaseFile, s.Base, overrides(fixed)...)
	if err != nil {
		return s.mapErrors(err, fixed, nil)
	}
	s.Kind = runner.KindOf(sc)
	s.Repetitions = sc.Run.Repetitions
	s.Seed = sc.Run.Seed
	combos, err := s.File.combos(s.Seed)
	if err != nil {
		return scenarios.Errors{s.doc.Errorf("axes", "%v", err)}
	}
	baseSum := sha256.Sum256(s.Base)
	seen := map[string]int{}
	var errs scenarios.Errors
	for i, vals := range combos {
		p := Point{Index: i, Values: vals, Overrides: overrides(fixed)}
		for j, a := range s.File.Axes {
			p.Overrides = append(p.Overrides, a.Key+"="+vals[j])
		}
		p.Hash = pointHash(baseSum, p.Overrides)
		if j, ok := seen[p.Hash]; ok {
			errs = append(errs, s.doc.Errorf("axes", "point %d (%s) repeats point %d: give each axis distinct values (a range drawn with integer: true or few digits can repeat one)", i, s.describe(p), j))
			if len(errs) >= 10 {
				break
			}
			continue
		}
		seen[p.Hash] = i
		s.Points = append(s.Points, p)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// pointHash is the content hash that names a point's folder.
func pointHash(baseSum [32]byte, overrides []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "dais sweep point 1\nbase %x\n", baseSum)
	for _, o := range overrides {
		fmt.Fprintf(h, "set %q\n", o)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// describe is a point's axis values, for messages.
func (s *Sweep) describe(p Point) string {
	parts := make([]string, len(p.Values))
	for i, a := range s.File.Axes {
		parts[i] = a.column() + "=" + p.Values[i]
	}
	return strings.Join(parts, ", ")
}

// source is one override and where the sweep file wrote it.
type source struct {
	override string
	key      string // the scenario key path it sets
	keyPos   scenarios.Pos
	valPos   scenarios.Pos
	path     string // where in the sweep file: set, seed, axes[0].values[2]
}

func overrides(srcs []source) []string {
	out := make([]string, len(srcs))
	for i, s := range srcs {
		out[i] = s.override
	}
	return out
}

// axisSource is axis i's override for value v.
func (s *Sweep) axisSource(i int, v string) source {
	a := s.File.Axes[i]
	p := fmt.Sprintf("axes[%d]", i)
	src := source{override: a.Key + "=" + v, key: a.Key, keyPos: s.doc.At(p + ".key"), path: p + ".range", valPos: s.doc.At(p + ".range")}
	for j, rv := range a.Values {
		if rv.Text == v {
			src.path, src.valPos = fmt.Sprintf("%s.values[%d]", p, j), rv.Pos
			break
		}
	}
	return src
}

// checkPoints loads every axis value on its own, then every point, and
// checks that its runner takes it. A bad axis value is reported once, at
// the value; a point whose values are each fine but not together, at the
// axes.
func (s *Sweep) checkPoints(jobs int) error {
	fixed := s.fixed()
	var errs scenarios.Errors
	seen := map[string]bool{}
	add := func(es scenarios.Errors) {
		for _, e := range es {
			if k := e.Error(); !seen[k] {
				seen[k] = true
				errs = append(errs, e)
			}
		}
	}
	for i := range s.File.Axes {
		done := map[string]bool{}
		for _, p := range s.Points {
			v := p.Values[i]
			if done[v] {
				continue
			}
			done[v] = true
			src := s.axisSource(i, v)
			srcs := append(append([]source(nil), fixed...), src)
			if _, err := scenarios.Parse(s.BaseFile, s.Base, overrides(srcs)...); err != nil {
				add(asErrors(s.mapErrors(err, srcs, &scenarios.Error{Pos: src.valPos, Path: src.path, Msg: "with " + src.override})))
				if s.File.Axes[i].Range != nil {
					break // a range's values share one position: its first bad value says it
				}
			}
		}
	}
	if len(errs) > 0 {
		return errs.Sorted()
	}
	perPoint := make([]scenarios.Errors, len(s.Points))
	parallel(len(s.Points), jobs, func(k int) {
		p := s.Points[k]
		srcs := append([]source(nil), fixed...)
		for i := range s.File.Axes {
			srcs = append(srcs, s.axisSource(i, p.Values[i]))
		}
		where := fmt.Sprintf("point %d (%s)", p.Index, s.describe(p))
		sc, err := scenarios.Parse(s.BaseFile, s.Base, overrides(srcs)...)
		if err != nil {
			perPoint[k] = asErrors(s.mapErrors(err, srcs, s.doc.Errorf("axes", "%s", where)))
			return
		}
		if err := runner.Check(sc); err != nil {
			perPoint[k] = scenarios.Errors{s.doc.Errorf("axes", "%s: %v", where, strings.TrimPrefix(err.Error(), runner.ErrScenario.Error()+": "))}
		}
	})
	for _, es := range perPoint {
		add(es)
		if len(errs) >= 20 {
			break
		}
	}
	if len(errs) > 0 {
		return errs.Sorted()
	}
	return nil
}

func asErrors(err error) scenarios.Errors {
	var es scenarios.Errors
	if errors.As(err, &es) {
		return es
	}
	return scenarios.Errors{{Msg: err.Error()}}
}

// structural are the loader's messages about a key path rather than a
// value: they point at the axis' key.
var structural = []string{"unknown key", "bad key path", "has no item", "not a mapping", "want key.path=value"}

// mapErrors moves the scenario loader's errors onto the sweep file: an
// error in an override goes to where the sweep wrote it (its key for a bad
// key path, its value for a bad value). An error at a position in the base
// file is the base's own when blame is nil; otherwise the overrides caused
// it (shares that no longer sum to 100%), and it goes to blame's position
// with blame's message before it.
func (s *Sweep) mapErrors(err error, srcs []source, blame *scenarios.Error) error {
	var es scenarios.Errors
	if !errors.As(err, &es) {
		return err
	}
	var out scenarios.Errors
	for _, e := range es {
		if e.Pos.Override == "" {
			if blame == nil {
				out = append(out, e) // the base is broken: its own file and line
				continue
			}
			out = append(out, &scenarios.Error{Pos: blame.Pos, Path: blame.Path, Msg: fmt.Sprintf("%s: %v", blame.Msg, e)})
			continue
		}
		var src *source
		for i := range srcs {
			if srcs[i].override == e.Pos.Override {
				src = &srcs[i]
			}
		}
		if src == nil {
			out = append(out, e)
			continue
		}
		onKey := false
		if !strings.HasPrefix(e.Path, src.key+".") && !strings.HasPrefix(e.Path, src.key+"[") {
			for _, m := range structural {
				onKey = onKey || strings.Contains(e.Msg, m)
			}
		}
		msg := e.Msg
		if e.Path != "" {
			msg = e.Path + ": " + msg
		}
		switch {
		case onKey && strings.HasPrefix(src.path, "axes["):
			out = append(out, &scenarios.Error{Pos: src.keyPos, Path: src.path[:strings.Index(src.path, "]")+1] + ".key", Msg: msg})
		case onKey:
			out = append(out, &scenarios.Error{Pos: src.keyPos, Path: src.path, Msg: msg})
		case strings.HasSuffix(src.path, ".range"):
			out = append(out, &scenarios.Error{Pos: src.valPos, Path: src.path, Msg: fmt.Sprintf("value %s: %s", strings.TrimPrefix(src.override, src.key+"="), msg)})
		default:
			out = append(out, &scenarios.Error{Pos: src.valPos, Path: src.path, Msg: msg})
		}
	}
	return out.Sorted()
}

// parallel calls fn(0..n-1) on up to jobs goroutines (0: GOMAXPROCS).
func parallel(n, jobs int, fn func(int)) {
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(jobs, n); w++ {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
