// Package record keeps the measures of a run in bounded memory and turns
// them into a metrics.Run.
//
// A Recorder is a metrics.Sink. Events that implement metrics.Observable
// call back its Add, Sample and AddTo; other events are counted and ignored.
// It is not safe for concurrent use, like the simulator that drives it;
// live drivers, whose nodes emit from many goroutines, wrap it in a Locked.
//
//	rec := record.New(record.Config{StepNs: int64(100 * time.Millisecond)}, measures...)
//	world := sim.New(sim.Config{Sink: rec, ...})
//	... run ...
//	run := rec.Summary(endNs)
//
// Memory is bounded whatever the run's length: a counter is one number, a
// distribution a DDSketch of at most MaxBins buckets, a per-node measure
// one number per node, and a time series at most MaxPoints steps (past
// that, the step doubles and neighbouring steps merge).
package record

import (
	"fmt"
	"math"
	"slices"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/dais-sim/dais/metrics"
)

// Defaults of Config.
const (
	// DefaultRelErr is the quantile guarantee: every quantile a Recorder
	// reports is within ±0.5% (relative) of the exact one.
	DefaultRelErr = 0.005
	// DefaultMaxBins bounds a distribution's buckets; at 0.5% they span
	// about 8 decades (1e-3 ms to 1e5 ms), beyond which the lowest values
	// merge (only quantiles in the lowest buckets lose accuracy).
	DefaultMaxBins = 2048
	// DefaultMaxPoints bounds each time series.
	DefaultMaxPoints = 2048
)

// Quantiles are the levels at which a Dist is reported: 0 and 1 (the exact
// minimum and maximum) and every percent, with 99.5 and 99.9.
var Quantiles = func() metrics.Floats {
	q := metrics.Floats{0}
	for i := 1; i <= 99; i++ {
		q = append(q, float64(i)/100)
	}
	return append(q, 0.995, 0.999, 1)
}()

// Config sets a Recorder's resolution. The zero value keeps no time series.
type Config struct {
	// StepNs is the time-series step in nanoseconds; 0 keeps no series.
	StepNs int64
	// EndNs, if > 0, is when the run will end: the step is doubled up
	// front until the run fits in MaxPoints steps, so that repetitions of
	// a scenario share one step whatever their events.
	EndNs int64
	// MaxPoints bounds each series (DefaultMaxPoints if 0).
	MaxPoints int
	// RelErr is the relative accuracy of quantiles (DefaultRelErr if 0).
	RelErr float64
	// MaxBins bounds each distribution's buckets (DefaultMaxBins if 0).
	MaxBins int
}

// Recorder accumulates the measures of one run. The zero value is not
// usable; call New.
type Recorder struct {
	cfg     Config
	step    int64
	states  []*state // in order of declaration, then of first use
	byM     map[*metrics.Measure]*state
	names   map[string]*metrics.Measure
	cols    [][]float64 // time series, one per column; all of one length
	now     int64
	idx     int64 // now / step: the current series step
	ignored uint64
}

type state struct {
	m      *metrics.Measure
	total  float64 // counters and per-node: the total; distributions: the sum
	count  int64
	min    float64
	max    float64
	sketch *ddsketch.DDSketch
	nodes  []float64
	col    int // first series column, -1 without series
}

// New returns a Recorder with the given measures declared, in that order:
// a declared measure appears in the Summary even if never observed, so a
// run's keys do not depend on what happened in it. It panics on an invalid
// measure or two measures with one key, which are programming errors.
func New(cfg Config, declare ...*metrics.Measure) *Recorder {
	if cfg.MaxPoints <= 0 {
		cfg.MaxPoints = DefaultMaxPoints
	}
	if cfg.RelErr <= 0 {
		cfg.RelErr = DefaultRelErr
	}
	if cfg.MaxBins <= 0 {
		cfg.MaxBins = DefaultMaxBins
	}
	r := &Recorder{cfg: cfg, step: cfg.StepNs, byM: map[*metrics.Measure]*state{}, names: map[string]*metrics.Measure{}}
	if r.step > 0 && cfg.EndNs > 0 {
		// Step indices run from 0 to EndNs/step, an event at EndNs included.
		for cfg.EndNs/r.step >= int64(cfg.MaxPoints) {
			r.step *= 2
		}
	}
	for _, m := range declare {
		r.state(m, m.Kind)
	}
	return r
}

// Record implements metrics.Sink.
func (r *Recorder) Record(s metrics.Stamped) {
	ob, ok := s.Event.(metrics.Observable)
	if !ok {
		r.ignored++
		return
	}
	r.setNow(s.AtNs)
	ob.Observe(s, r)
}

// At sets the time that later observations are attributed to and returns
// the recorder as an Observer, for drivers that measure outside events.
func (r *Recorder) At(ns int64) metrics.Observer {
	r.setNow(ns)
	return r
}

func (r *Recorder) setNow(ns int64) {
	r.now = max(ns, 0)
	if r.step > 0 {
		r.idx = r.now / r.step
	}
}

// Ignored is how many recorded events were not Observable.
func (r *Recorder) Ignored() uint64 { return r.ignored }

// StepNs is the current time-series step (it doubles as a run outgrows
// MaxPoints steps).
func (r *Recorder) StepNs() int64 { return r.step }

// Add implements metrics.Observer.
func (r *Recorder) Add(m *metrics.Measure, v float64) {
	st := r.state(m, metrics.Counter)
	st.total += v
	r.bump(st.col, v)
}

// Sample implements metrics.Observer.
func (r *Recorder) Sample(m *metrics.Measure, v float64) {
	st := r.state(m, metrics.Distribution)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		panic(fmt.Sprintf("record: %s: sample %v", m.Key(), v))
	}
	if st.count == 0 || v < st.min {
		st.min = v
	}
	if st.count == 0 || v > st.max {
		st.max = v
	}
	st.count++
	st.total += v
	// Add fails only on values beyond ±1.8e308 / (1+RelErr), which the NaN/Inf check excludes in practice.
	_ = st.sketch.Add(v)
	if st.col >= 0 {
		r.bump(st.col, 1)
		r.bump(st.col+1, v)
	}
}

// AddTo implements metrics.Observer.
func (r *Recorder) AddTo(m *metrics.Measure, node uint32, v float64) {
	st := r.state(m, metrics.PerNode)
	if int(node) >= len(st.nodes) {
		st.nodes = slices.Grow(st.nodes, int(node)+1-len(st.nodes))[:node+1]
	}
	st.nodes[node] += v
	st.total += v
	r.bump(st.col, v)
}

// PerNode returns a copy of each node's total of a PerNode measure, indexed
// by node ID, at least n long (nodes never credited hold 0).
func (r *Recorder) PerNode(m *metrics.Measure, n int) []float64 {
	st := r.byM[m]
	out := make([]float64, n)
	if st != nil {
		out = append(out[:0], st.nodes...)
		for len(out) < n {
			out = append(out, 0)
		}
	}
	return out
}

// Total returns a counter's or per-node measure's total, or a
// distribution's sum of samples.
func (r *Recorder) Total(m *metrics.Measure) float64 {
	if st := r.byM[m]; st != nil {
		return st.total
	}
	return 0
}

// Quantile returns the q-quantile of a distribution (within RelErr of the
// exact value at rank ⌊q·(count−1)⌋), or NaN if it has no samples.
func (r *Recorder) Quantile(m *metrics.Measure, q float64) float64 {
	st := r.byM[m]
	if st == nil || st.count == 0 {
		return math.NaN()
	}
	return st.quantile(q)
}

func (st *state) quantile(q float64) float64 {
	switch q {
	case 0:
		return st.min
	case 1:
		return st.max
	}
	v, err := st.sketch.GetValueAtQuantile(q)
	if err != nil {
		return math.NaN()
	}
	// The sketch answers with its bucket's centre, which may lie a little
	// outside what was seen.
	return min(max(v, st.min), st.max)
}

// Bins is the number of buckets a distribution's sketch holds: its memory
// is about 8 bytes a bucket.
func (r *Recorder) Bins(m *metrics.Measure) int {
	st := r.byM[m]
	if st == nil || st.sketch == nil {
		return 0
	}
	n := 0
	for range st.sketch.GetPositiveValueStore().Bins() {
		n++
	}
	for range st.sketch.GetNegativeValueStore().Bins() {
		n++
	}
	return n
}

func (r *Recorder) state(m *metrics.Measure, k metrics.Kind) *state {
	// A run has a handful of measures: scanning them beats hashing the
	// pointer, and this runs for every observation.
	var found *state
	if len(r.states) <= 16 {
		for _, st := range r.states {
			if st.m == m {
				found = st
				break
			}
		}
	} else {
		found = r.byM[m]
	}
	if st := found; st != nil {
		if st.m.Kind != k {
			panic(fmt.Sprintf("record: measure %s is a %v, used as a %v", m.Key(), st.m.Kind, k))
		}
		return st
	}
	if err := m.Validate(); err != nil {
		panic(err)
	}
	if m.Kind != k {
		panic(fmt.Sprintf("record: measure %s is a %v, used as a %v", m.Key(), m.Kind, k))
	}
	if prev := r.names[m.Key()]; prev != nil {
		panic(fmt.Sprintf("record: two measures named %s", m.Key()))
	}
	r.names[m.Key()] = m
	st := &state{m: m, col: -1}
	if k == metrics.Distribution {
		mp, err := mapping.NewCubicallyInterpolatedMapping(r.cfg.RelErr)
		if err != nil {
			panic(fmt.Sprintf("record: relative error %g: %v", r.cfg.RelErr, err))
		}
		st.sketch = ddsketch.NewDDSketch(mp,
			store.NewCollapsingLowestDenseStore(r.cfg.MaxBins),
			store.NewCollapsingLowestDenseStore(r.cfg.MaxBins))
	}
	if r.step > 0 {
		st.col = len(r.cols)
		n := 1
		if k == metrics.Distribution {
			n = 2 // count and sum per step
		}
		for range n {
			r.cols = append(r.cols, make([]float64, r.points()))
		}
	}
	r.states = append(r.states, st)
	r.byM[m] = st
	return st
}

func (r *Recorder) points() int {
	if len(r.cols) == 0 {
		return 0
	}
	return len(r.cols[0])
}

// bump adds v to column col at the current time's step.
func (r *Recorder) bump(col int, v float64) {
	if col < 0 {
		return
	}
	for r.idx >= int64(r.cfg.MaxPoints) {
		r.coarsen()
		r.idx = r.now / r.step
	}
	i := r.idx
	if n := r.points(); int(i) >= n {
		grow := int(i) + 1
		for c := range r.cols {
			r.cols[c] = slices.Grow(r.cols[c], grow-n)[:grow]
		}
	}
	r.cols[col][i] += v
}

// coarsen doubles the step, merging neighbouring steps of every column.
func (r *Recorder) coarsen() {
	r.step *= 2
	for c, col := range r.cols {
		n := (len(col) + 1) / 2
		for i := 0; i < n; i++ {
			v := col[2*i]
			if 2*i+1 < len(col) {
				v += col[2*i+1]
			}
			col[i] = v
		}
		clear(col[n:]) // growing reslices into this capacity
		r.cols[c] = col[:n]
	}
}

// Summary returns what the recorder holds as a metrics.Run with Figures,
// Dists and Series filled in; the caller adds Meta, its own figures and
// Plots. Series cover [0, endNs) and every step that had an observation.
// The Recorder may go on recording afterwards.
//
// Figure keys, for a measure with key K (Name, or Name_Unit) and name N:
// counter K; distribution N_count and K_mean, K_p50, K_p90, K_p95, K_p99,
// K_max; per-node K_total. Series columns: counter and per-node K (total
// per step); distribution N_count (samples per step) and K_mean.
func (r *Recorder) Summary(endNs int64) *metrics.Run {
	run := &metrics.Run{Schema: metrics.SchemaVersion}
	for _, st := range r.states {
		m := st.m
		fig := func(key string, v float64, unit string, help string) {
			run.Figures = append(run.Figures, metrics.Figure{Key: key, Value: v, Unit: unit, Help: help, Better: m.Better})
		}
		switch m.Kind {
		case metrics.Counter:
			fig(m.Key(), st.total, m.Unit, m.Help)
		case metrics.PerNode:
			fig(m.Key()+"_total", st.total, m.Unit, m.Help+" (sum over nodes)")
		case metrics.Distribution:
			run.Figures = append(run.Figures, metrics.Figure{Key: m.Name + "_count", Value: float64(st.count),
				Help: "samples of " + m.Key() + ": " + m.Help})
			mean := math.NaN()
			if st.count > 0 {
				mean = st.total / float64(st.count)
			}
			fig(m.Key()+"_mean", mean, m.Unit, "mean "+m.Help)
			for _, p := range []struct {
				q    float64
				name string
			}{{0.5, "p50"}, {0.9, "p90"}, {0.95, "p95"}, {0.99, "p99"}, {1, "max"}} {
				v := math.NaN()
				if st.count > 0 {
					v = st.quantile(p.q)
				}
				help := fmt.Sprintf("%s of %s (±%g%%)", p.name, m.Help, 100*r.cfg.RelErr)
				if p.q == 1 {
					help = "largest " + m.Help + " (exact)"
				}
				fig(m.Key()+"_"+p.name, v, m.Unit, help)
			}
			d := metrics.Dist{Key: m.Key(), Unit: m.Unit, Help: m.Help, Count: st.count, RelErr: r.cfg.RelErr}
			if st.count > 0 {
				d.Q = Quantiles
				d.V = make(metrics.Floats, len(Quantiles))
				for i, q := range Quantiles {
					d.V[i] = st.quantile(q)
				}
				// The sketch's buckets are monotone, the exact ends too;
				// clamping can only tie neighbours, never invert them.
				for i := 1; i < len(d.V); i++ {
					d.V[i] = max(d.V[i], d.V[i-1])
				}
			}
			run.Dists = append(run.Dists, d)
		}
	}
	if r.step > 0 && len(r.cols) > 0 {
		run.Series = r.series(endNs)
	}
	return run
}

func (r *Recorder) series(endNs int64) *metrics.Series {
	n := max(r.points(), int((endNs+r.step-1)/r.step))
	col := func(c int) metrics.Floats {
		out := make(metrics.Floats, n)
		copy(out, r.cols[c])
		return out
	}
	s := &metrics.Series{StepNs: r.step}
	for _, st := range r.states {
		m := st.m
		switch m.Kind {
		case metrics.Counter:
			s.Columns = append(s.Columns, metrics.Column{Key: m.Key(), Unit: m.Unit, Help: m.Help + ", per step", Values: col(st.col)})
		case metrics.PerNode:
			s.Columns = append(s.Columns, metrics.Column{Key: m.Key(), Unit: m.Unit, Help: m.Help + ", all nodes, per step", Values: col(st.col)})
		case metrics.Distribution:
			counts, sums := col(st.col), col(st.col+1)
			means := make(metrics.Floats, n)
			for i := range means {
				means[i] = math.NaN()
				if counts[i] > 0 {
					means[i] = sums[i] / counts[i]
				}
			}
			s.Columns = append(s.Columns,
				metrics.Column{Key: m.Name + "_count", Help: "samples of " + m.Key() + " per step", Values: counts},
				metrics.Column{Key: m.Key() + "_mean", Unit: m.Unit, Help: "mean " + m.Help + " in each step", Values: means})
		}
	}
	return s
}
