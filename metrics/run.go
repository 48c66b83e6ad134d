package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
)

// SchemaVersion is the version of the metrics.json layout. It changes when
// a key is renamed or removed, or its meaning changes; adding keys does not.
const SchemaVersion = 1

// Run is everything a run measured, as reports read it and as metrics.json
// stores it (docs/metrics.md documents every key). Everything in it is a
// function of the scenario and seed, so the same run gives the same bytes;
// measurements of the host (wall time, events/s) live in Host, which is
// written apart (host.json).
type Run struct {
	Schema  int     `json:"schema"`
	Meta    Meta    `json:"meta"`
	Figures Figures `json:"figures"`
	Dists   []Dist  `json:"distributions,omitempty"`
	Series  *Series `json:"series,omitempty"`
	Groups  []Group `json:"groups,omitempty"`
	Curves  []Curve `json:"curves,omitempty"`
	Plots   []Plot  `json:"plots,omitempty"`
	Host    *Host   `json:"-"`
}

// Meta says what produced a run, so that it can be produced again.
type Meta struct {
	// Scenario is the scenario's name; ScenarioSHA256 and ScenarioText the
	// hash and full text of its file, when it came from one.
	Scenario       string `json:"scenario"`
	ScenarioSHA256 string `json:"scenario_sha256,omitempty"`
	ScenarioText   string `json:"scenario_text,omitempty"`
	// Params are the settings of a built-in run that has no file.
	Params map[string]string `json:"params,omitempty"`
	Seed   uint64            `json:"seed"`
	// Repetitions is how many runs were summarized, with their seeds.
	Repetitions int      `json:"repetitions"`
	Seeds       []uint64 `json:"seeds,omitempty"`
	// SimEndNs is the simulated time the run ended at.
	SimEndNs  int64  `json:"sim_end_ns"`
	Version   string `json:"dais_version"`
	GoVersion string `json:"go_version"`
}

// Host holds what depends on the machine and the moment, never the seed.
type Host struct {
	WallS      float64 `json:"wall_s"`
	Events     uint64  `json:"events"`
	EventsPerS float64 `json:"events_per_s"`
	GOOS       string  `json:"goos"`
	GOARCH     string  `json:"goarch"`
	CPUs       int     `json:"cpus"`
	GOMAXPROCS int     `json:"gomaxprocs"`
}

// Figure is one scalar result.
type Figure struct {
	// Key is snake_case with the unit last (propagation_ms_p50); it is the
	// figure's name in metrics.json and stable across versions.
	Key string `json:"-"`
	// Value is the figure, or its mean over repetitions; NaN (JSON null)
	// when undefined.
	Value float64 `json:"value"`
	// Unit is empty for a plain count or a ratio.
	Unit   string `json:"unit"`
	Help   string `json:"help"`
	Better Better `json:"better,omitempty"`
	// Headline figures go in the terminal table and the report's summary.
	Headline bool  `json:"headline,omitempty"`
	Reps     *Reps `json:"reps,omitempty"`
}

// Dist is a distribution as a quantile list, enough to draw its CDF.
type Dist struct {
	Key   string `json:"key"`
	Unit  string `json:"unit"`
	Help  string `json:"help"`
	Count int64  `json:"count"`
	// Q are quantile levels ascending in [0, 1]; V[i] is the value at Q[i].
	// Q = 0 and 1 are the exact minimum and maximum.
	Q Floats `json:"q"`
	V Floats `json:"v"`
	// RelErr bounds the relative error of each V (0: exact).
	RelErr float64 `json:"rel_err"`
}

// Series are time series sharing one time step: Values[i] of a column
// covers simulated time [i·StepNs, (i+1)·StepNs).
type Series struct {
	StepNs  int64    `json:"step_ns"`
	Columns []Column `json:"columns"`
}

// Column is one time series.
type Column struct {
	Key  string `json:"key"`
	Unit string `json:"unit"`
	Help string `json:"help"`
	// Values are per step: totals for counters, counts and means for
	// distributions; NaN (null) where a mean has no sample.
	Values Floats `json:"values"`
}

// Group is a figure per label (earnings per GPU class, detection rate per
// attack), in one or more sets drawn side by side.
type Group struct {
	Key    string   `json:"key"`
	Unit   string   `json:"unit"`
	Help   string   `json:"help"`
	Labels []string `json:"labels"`
	Sets   []BarSet `json:"sets"`
}

// BarSet is one value per label of a Group.
type BarSet struct {
	Name   string `json:"name"`
	Values Floats `json:"values"`
}

// Curve is one or more lines y(x): accuracy per round, finality per height,
// a Lorenz curve.
type Curve struct {
	Key   string `json:"key"`
	XUnit string `json:"x_unit"`
	YUnit string `json:"y_unit"`
	Help  string `json:"help"`
	Lines []Line `json:"lines"`
}

// Line is one named line of a Curve.
type Line struct {
	Name string `json:"name"`
	X    Floats `json:"x"`
	Y    Floats `json:"y"`
}

// PlotKind says how a Plot draws its data.
type PlotKind string

const (
	PlotCDF    PlotKind = "cdf"    // Data: Dist keys
	PlotSeries PlotKind = "series" // Data: Series column keys, against time
	PlotBars   PlotKind = "bars"   // Data: one Group key
	PlotLines  PlotKind = "lines"  // Data: Curve keys
	PlotLorenz PlotKind = "lorenz" // Data: Curve keys of Lorenz curves; the diagonal is drawn
)

// Plot says what to draw and how to read it. Axis labels end with their
// unit in parentheses: "propagation delay (ms)".
type Plot struct {
	Kind    PlotKind `json:"kind"`
	Data    []string `json:"data"`
	Title   string   `json:"title"`
	XLabel  string   `json:"x_label"`
	YLabel  string   `json:"y_label"`
	Caption string   `json:"caption"`
	// Rate (series) divides each step's value by the step in seconds, and
	// Scale multiplies what is drawn (0 means 1): bytes per step with Rate
	// and Scale 8e-6 draw Mbit/s.
	Rate  bool    `json:"rate,omitempty"`
	Scale float64 `json:"scale,omitempty"`
	LogX  bool    `json:"log_x,omitempty"`
}

// Figure returns the figure with the given key.
func (r *Run) Figure(key string) (Figure, bool) {
	i := slices.IndexFunc(r.Figures, func(f Figure) bool { return f.Key == key })
	if i < 0 {
		return Figure{}, false
	}
	return r.Figures[i], true
}

// Dist returns the distribution with the given key, or nil.
func (r *Run) Dist(key string) *Dist {
	for i := range r.Dists {
		if r.Dists[i].Key == key {
			return &r.Dists[i]
		}
	}
	return nil
}

// Column returns the series column with the given key, or nil.
func (r *Run) Column(key string) *Column {
	if r.Series == nil {
		return nil
	}
	for i := range r.Series.Columns {
		if r.Series.Columns[i].Key == key {
			return &r.Series.Columns[i]
		}
	}
	return nil
}

// Group returns the group with the given key, or nil.
func (r *Run) Group(key string) *Group {
	for i := range r.Groups {
		if r.Groups[i].Key == key {
			return &r.Groups[i]
		}
	}
	return nil
}

// Curve returns the curve with the given key, or nil.
func (r *Run) Curve(key string) *Curve {
	for i := range r.Curves {
		if r.Curves[i].Key == key {
			return &r.Curves[i]
		}
	}
	return nil
}

// AddFairness adds the fairness figures of per-entity values under stem
// (stem_jain, stem_gini) and their Lorenz curve (key stem_lorenz, 100
// steps). help says what the values are ("reward per verified work unit").
func (r *Run) AddFairness(stem, help string, values []float64) {
	r.Figures = append(r.Figures,
		Figure{Key: stem + "_jain", Value: Jain(values), Better: Higher,
			Help: "Jain's fairness index of " + help + ": (Σx)²/(n·Σx²), 1 = all equal, 1/n = one holds all"},
		Figure{Key: stem + "_gini", Value: Gini(values), Better: Lower,
			Help: "Gini coefficient of " + help + " (population convention): 0 = all equal, (n−1)/n = one holds all"},
	)
	pop, share := Lorenz(values, 100)
	r.Curves = append(r.Curves, Curve{Key: stem + "_lorenz", XUnit: "share", YUnit: "share",
		Help:  "Lorenz curve of " + help + ": share of the total held by the poorest share of entities",
		Lines: []Line{{Name: stem, X: pop, Y: share}}})
}

var unitRE = regexp.MustCompile(`\([^()]+\)$`)

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("metrics: invalid run")

// Validate checks what reports rely on: snake_case unique keys, quantile
// lists that are ascending, series columns of one length, and plots that
// name existing data and have a title, axis labels ending in a unit and a
// caption.
func (r *Run) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	if r.Schema != SchemaVersion {
		return bad("schema %d, this dais reads %d", r.Schema, SchemaVersion)
	}
	seen := map[string]string{}
	claim := func(key, what string) error {
		if !keyPart.MatchString(key) {
			return bad("%s key %q is not snake_case", what, key)
		}
		if prev, dup := seen[what+key]; dup {
			return bad("%s key %q used twice (%s)", what, key, prev)
		}
		seen[what+key] = what
		return nil
	}
	for _, f := range r.Figures {
		if err := claim(f.Key, "figure"); err != nil {
			return err
		}
	}
	for _, d := range r.Dists {
		if err := claim(d.Key, "distribution"); err != nil {
			return err
		}
		if len(d.Q) != len(d.V) || (len(d.Q) == 0) != (d.Count == 0) {
			return bad("distribution %s: %d levels, %d values", d.Key, len(d.Q), len(d.V))
		}
		for i := range d.Q {
			if d.Q[i] < 0 || d.Q[i] > 1 || (i > 0 && !(d.Q[i] > d.Q[i-1] && d.V[i] >= d.V[i-1])) {
				return bad("distribution %s: quantiles not ascending at %d", d.Key, i)
			}
		}
	}
	if s := r.Series; s != nil {
		if s.StepNs <= 0 {
			return bad("series step %d ns", s.StepNs)
		}
		for _, c := range s.Columns {
			if err := claim(c.Key, "column"); err != nil {
				return err
			}
			if len(c.Values) != len(s.Columns[0].Values) {
				return bad("series column %s has %d values, %s has %d", c.Key, len(c.Values), s.Columns[0].Key, len(s.Columns[0].Values))
			}
		}
	}
	for _, g := range r.Groups {
		if err := claim(g.Key, "group"); err != nil {
			return err
		}
		for _, set := range g.Sets {
			if len(set.Values) != len(g.Labels) {
				return bad("group %s set %q: %d values for %d labels", g.Key, set.Name, len(set.Values), len(g.Labels))
			}
		}
	}
	for _, c := range r.Curves {
		if err := claim(c.Key, "curve"); err != nil {
			return err
		}
		for _, l := range c.Lines {
			if len(l.X) != len(l.Y) {
				return bad("curve %s line %q: %d x, %d y", c.Key, l.Name, len(l.X), len(l.Y))
			}
		}
	}
	for i, p := range r.Plots {
		if p.Title == "" || p.Caption == "" {
			return bad("plot %d (%s) lacks a title or caption", i, p.Title)
		}
		if !unitRE.MatchString(p.XLabel) || !unitRE.MatchString(p.YLabel) {
			return bad("plot %q: axis labels %q and %q must end with a unit in parentheses", p.Title, p.XLabel, p.YLabel)
		}
		if len(p.Data) == 0 {
			return bad("plot %q has no data", p.Title)
		}
		for _, k := range p.Data {
			var ok bool
			switch p.Kind {
			case PlotCDF:
				ok = r.Dist(k) != nil
			case PlotSeries:
				ok = r.Column(k) != nil
			case PlotBars:
				ok = r.Group(k) != nil && len(p.Data) == 1
			case PlotLines, PlotLorenz:
				ok = r.Curve(k) != nil
			default:
				return bad("plot %q: unknown kind %q", p.Title, p.Kind)
			}
			if !ok {
				return bad("plot %q (%s): no data %q", p.Title, p.Kind, k)
			}
		}
	}
	return nil
}

// Floats is a list of numbers whose NaNs are JSON nulls.
type Floats []float64

// MarshalJSON implements json.Marshaler.
func (fs Floats) MarshalJSON() ([]byte, error) {
	if fs == nil {
		return []byte("[]"), nil
	}
	b := make([]byte, 0, 2+len(fs)*8)
	b = append(b, '[')
	for i, v := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, v)
	}
	return append(b, ']'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (fs *Floats) UnmarshalJSON(b []byte) error {
	var ps []*float64
	if err := json.Unmarshal(b, &ps); err != nil {
		return err
	}
	out := make(Floats, len(ps))
	for i, p := range ps {
		out[i] = math.NaN()
		if p != nil {
			out[i] = *p
		}
	}
	*fs = out
	return nil
}

// appendFloat writes v as encoding/json would, and NaN or ±Inf as null.
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	enc, _ := json.Marshal(v)
	return append(b, enc...)
}

// Figures are the scalar results in a fixed order. In JSON they are one
// object keyed by Figure.Key, written in that order.
type Figures []Figure

type figureJSON struct {
	Value    *float64 `json:"value"`
	Unit     string   `json:"unit"`
	Help     string   `json:"help"`
	Better   Better   `json:"better,omitempty"`
	Headline bool     `json:"headline,omitempty"`
	Reps     *Reps    `json:"reps,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (fs Figures) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.Key)
		b.Write(k)
		b.WriteByte(':')
		fj := figureJSON{Unit: f.Unit, Help: f.Help, Better: f.Better, Headline: f.Headline, Reps: f.Reps}
		if !math.IsNaN(f.Value) && !math.IsInf(f.Value, 0) {
			fj.Value = &f.Value
		}
		v, err := json.Marshal(fj)
		if err != nil {
			return nil, fmt.Errorf("figure %s: %w", f.Key, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON implements json.Unmarshaler, keeping the written order.
func (fs *Figures) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("metrics: figures: want an object")
	}
	var out Figures
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		var fj figureJSON
		if err := dec.Decode(&fj); err != nil {
			return fmt.Errorf("metrics: figure %s: %w", key, err)
		}
		f := Figure{Key: key, Value: math.NaN(), Unit: fj.Unit, Help: fj.Help, Better: fj.Better, Headline: fj.Headline, Reps: fj.Reps}
		if fj.Value != nil {
			f.Value = *fj.Value
		}
		out = append(out, f)
	}
	*fs = out
	return nil
}

// MarshalIndent is the canonical metrics.json encoding of a run: indented,
// newline-terminated, the same bytes for the same run.
func (r *Run) MarshalIndent() ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Aggregate summarizes repetitions of one scenario into one Run: each
// figure's Value becomes its mean with Reps (spread, 95% CI, the values);
// distributions, series, groups and curves become the element-wise mean
// (for quantiles, the mean of each quantile across repetitions); the meta
// and plots are the first repetition's, with Repetitions and Seeds set.
// Repetitions must have the same keys and shapes.
func Aggregate(reps []*Run) (*Run, error) {
	if len(reps) == 0 {
		return nil, fmt.Errorf("%w: no repetitions", ErrInvalid)
	}
	first := reps[0]
	out := &Run{Schema: first.Schema, Meta: first.Meta, Plots: first.Plots}
	out.Meta.Repetitions = len(reps)
	out.Meta.Seeds = nil
	for _, r := range reps {
		out.Meta.Seeds = append(out.Meta.Seeds, r.Meta.Seed)
	}
	mismatch := func(what string, i int) error {
		return fmt.Errorf("%w: repetition %d differs from the first in %s", ErrInvalid, i, what)
	}
	for _, f := range first.Figures {
		vals := make([]float64, len(reps))
		for i, r := range reps {
			g, ok := r.Figure(f.Key)
			if !ok {
				return nil, mismatch("figure "+f.Key, i)
			}
			vals[i] = g.Value
		}
		f.Value, f.Reps = Summarize(vals)
		out.Figures = append(out.Figures, f)
	}
	for _, d := range first.Dists {
		d.Count = 0
		vs := make([]Floats, len(reps))
		for i, r := range reps {
			o := r.Dist(d.Key)
			if o == nil || !slices.Equal(o.Q, d.Q) {
				return nil, mismatch("distribution "+d.Key, i)
			}
			vs[i] = o.V
			d.Count += o.Count
		}
		d.V = meanOf(vs)
		out.Dists = append(out.Dists, d)
	}
	if first.Series != nil {
		s := &Series{StepNs: first.Series.StepNs}
		for _, c := range first.Series.Columns {
			vs := make([]Floats, len(reps))
			for i, r := range reps {
				o := r.Column(c.Key)
				if o == nil || r.Series.StepNs != s.StepNs {
					return nil, mismatch("series column "+c.Key+" or step", i)
				}
				vs[i] = o.Values
			}
			c.Values = meanOf(vs)
			s.Columns = append(s.Columns, c)
		}
		out.Series = s
	}
	for _, g := range first.Groups {
		g.Sets = slices.Clone(g.Sets)
		for j := range g.Sets {
			vs := make([]Floats, len(reps))
			for i, r := range reps {
				o := r.Group(g.Key)
				if o == nil || len(o.Sets) != len(g.Sets) || !slices.Equal(o.Labels, g.Labels) || len(o.Sets[j].Values) != len(g.Labels) {
					return nil, mismatch("group "+g.Key, i)
				}
				vs[i] = o.Sets[j].Values
			}
			g.Sets[j].Values = meanOf(vs)
		}
		out.Groups = append(out.Groups, g)
	}
	for _, c := range first.Curves {
		c.Lines = slices.Clone(c.Lines)
		for j := range c.Lines {
			vs := make([]Floats, len(reps))
			for i, r := range reps {
				o := r.Curve(c.Key)
				if o == nil || len(o.Lines) != len(c.Lines) || !slices.Equal(o.Lines[j].X, c.Lines[j].X) {
					return nil, mismatch("curve "+c.Key, i)
				}
				vs[i] = o.Lines[j].Y
			}
			c.Lines[j].Y = meanOf(vs)
		}
		out.Curves = append(out.Curves, c)
	}
	return out, nil
}

// meanOf is the element-wise mean of lists, over the longest list, skipping
// NaNs and missing elements (NaN where none has a value).
func meanOf(vs []Floats) Floats {
	n := 0
	for _, v := range vs {
		n = max(n, len(v))
	}
	out := make(Floats, n)
	for i := range out {
		var sum float64
		k := 0
		for _, v := range vs {
			if i < len(v) && !math.IsNaN(v[i]) {
				sum += v[i]
				k++
			}
		}
		out[i] = math.NaN()
		if k > 0 {
			out[i] = sum / float64(k)
		}
	}
	return out
}
