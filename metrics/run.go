package metrics

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
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
	// Tables set figures side by side, for reports to print as tables.
	Tables []Table `json:"tables,omitempty"`
	// Finding is what the run found, for the head of its report.
	Finding *Finding `json:"finding,omitempty"`
	Host    *Host    `json:"-"`
}

// Finding answers the scenario's question at a glance: the few figures
// that answer it (3 to 5, in order) and one sentence made from them.
type Finding struct {
	Keys []string `json:"keys"`
	Text string   `json:"text"`
}

// Table sets figures side by side — the same measures under each of a few
// variants (relay protocols, schemes) — as one table: the cell in row i and
// column j is the figure Rows[i].Keys[j]. It names figures rather than
// holding values, so over repetitions its cells are the figures' means
// with their intervals, and every value it shows is also in Figures.
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    []TableRow `json:"rows"`
}

// TableRow is one measure of a Table: a figure key per column, "" for an
// empty cell.
type TableRow struct {
	Name string   `json:"name"`
	Keys []string `json:"keys"`
}

// Meta says what produced a run, so that it can be produced again.
type Meta struct {
	// Scenario is the scenario's name; ScenarioSHA256 and ScenarioText the
	// hash and full text of its file, when it came from one.
	Scenario       string `json:"scenario"`
	ScenarioSHA256 string `json:"scenario_sha256,omitempty"`
	ScenarioText   string `json:"scenario_text,omitempty"`
	// Overrides are the --set arguments applied to the file, in order;
	// Resolved is the scenario as it ran, one "key.path=value" per key
	// (scenarios.Scenario.Resolved), which dais compare diffs.
	Overrides []string `json:"overrides,omitempty"`
	Resolved  []string `json:"scenario_resolved,omitempty"`
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
	// Counts says the values count things per label (heights per number of
	// rounds): a label one repetition lacks counts 0 there, not missing.
	Counts bool `json:"counts,omitempty"`
}

// BarSet is one value per label of a Group.
type BarSet struct {
	Name   string `json:"name"`
	Values Floats `json:"values"`
	// CI95Lo and CI95Hi bound each value's 95% confidence interval over
	// repetitions (Aggregate sets them; NaN below two repetitions).
	CI95Lo Floats `json:"ci95_lo,omitempty"`
	CI95Hi Floats `json:"ci95_hi,omitempty"`
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
	// CI95Lo and CI95Hi bound each Y's 95% confidence interval over
	// repetitions (Aggregate sets them; NaN below two repetitions).
	CI95Lo Floats `json:"ci95_lo,omitempty"`
	CI95Hi Floats `json:"ci95_hi,omitempty"`
}

// PlotKind says how a Plot draws its data.
type PlotKind string

const (
	PlotCDF    PlotKind = "cdf"    // Data: Dist keys
	PlotSeries PlotKind = "series" // Data: Series column keys, against time
	PlotBars   PlotKind = "bars"   // Data: one Group key
	PlotLines  PlotKind = "lines"  // Data: Curve keys
	PlotLorenz PlotKind = "lorenz" // Data: Curve keys of Lorenz curves; the diagonal is drawn
	// PlotHeatmap draws Series columns as rows of cells against time, the
	// colour the value (utilization of each GPU class over time).
	PlotHeatmap PlotKind = "heatmap"
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
	// LogY draws a bar plot's values on a log axis, for groups whose bars
	// span decades (bytes per block under push and compact relays); a
	// bar of 0 is not drawn.
	LogY bool `json:"log_y,omitempty"`
	// Names, if given, name each Data key in the legend (a heatmap's
	// rows): "h100" for utilization_h100.
	Names []string `json:"names,omitempty"`
	// Bands shade windows of time on a series plot (a partition, churn).
	Bands []Band `json:"bands,omitempty"`
}

// Band is a window of simulated time a plot shades, with its label.
type Band struct {
	FromNs  int64  `json:"from_ns"`
	UntilNs int64  `json:"until_ns"`
	Label   string `json:"label"`
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
		if p.Names != nil && len(p.Names) != len(p.Data) {
			return bad("plot %q: %d names for %d data keys", p.Title, len(p.Names), len(p.Data))
		}
		for _, b := range p.Bands {
			if b.UntilNs < b.FromNs || p.Kind != PlotSeries {
				return bad("plot %q: band %q from %d to %d ns on a %s plot", p.Title, b.Label, b.FromNs, b.UntilNs, p.Kind)
			}
		}
		for _, k := range p.Data {
			var ok bool
			switch p.Kind {
			case PlotCDF:
				ok = r.Dist(k) != nil
			case PlotSeries, PlotHeatmap:
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
	for _, t := range r.Tables {
		if t.Title == "" || len(t.Columns) == 0 {
			return bad("table %q lacks a title or columns", t.Title)
		}
		for _, row := range t.Rows {
			if len(row.Keys) != len(t.Columns) {
				return bad("table %q row %q: %d keys for %d columns", t.Title, row.Name, len(row.Keys), len(t.Columns))
			}
			for _, k := range row.Keys {
				if _, ok := r.Figure(k); k != "" && !ok {
					return bad("table %q row %q: no figure %q", t.Title, row.Name, k)
				}
			}
		}
	}
	if f := r.Finding; f != nil {
		for _, k := range f.Keys {
			if _, ok := r.Figure(k); !ok {
				return bad("finding: no figure %q", k)
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
// figure's Value becomes its mean over the repetitions where it is defined
// (not NaN), with Reps (count of defined values, spread, 95% CI, every
// repetition's value, NaN where undefined); distributions, series, groups
// and curves become the element-wise mean over the repetitions that have
// the element (for quantiles, the mean of each quantile across repetitions
// with samples). Keys are the union over repetitions in first-seen order:
// a figure one repetition lacks counts as undefined there, a group label
// as missing (0 for a Counts group), a curve point as missing. The meta and
// plots and tables are the first repetition's, with Repetitions and Seeds set.
// Distributions must share quantile levels and series their step.
func Aggregate(reps []*Run) (*Run, error) {
	if len(reps) == 0 {
		return nil, fmt.Errorf("%w: no repetitions", ErrInvalid)
	}
	first := reps[0]
	out := &Run{Schema: first.Schema, Meta: first.Meta, Plots: first.Plots, Tables: first.Tables, Finding: first.Finding}
	out.Meta.Repetitions = len(reps)
	out.Meta.Seeds = nil
	for _, r := range reps {
		out.Meta.Seeds = append(out.Meta.Seeds, r.Meta.Seed)
	}
	mismatch := func(what string, i int) error {
		return fmt.Errorf("%w: repetition %d differs from the first in %s", ErrInvalid, i+1, what)
	}
	var figKeys []string
	figs := map[string]Figure{}
	for _, r := range reps {
		for _, f := range r.Figures {
			if _, ok := figs[f.Key]; !ok {
				figKeys = append(figKeys, f.Key)
				figs[f.Key] = f
			}
		}
	}
	for _, k := range figKeys {
		f := figs[k]
		vals := make([]float64, len(reps))
		for i, r := range reps {
			vals[i] = math.NaN()
			if g, ok := r.Figure(k); ok {
				vals[i] = g.Value
			}
		}
		f.Value, f.Reps = Summarize(vals)
		out.Figures = append(out.Figures, f)
	}
	for _, d := range unionBy(reps, func(r *Run) []Dist { return r.Dists }, func(d Dist) string { return d.Key }) {
		d.Count = 0
		var vs []Floats
		for i, r := range reps {
			o := r.Dist(d.Key)
			if o == nil || o.Count == 0 {
				continue
			}
			if len(d.Q) == 0 {
				d.Q = o.Q
			}
			if !slices.Equal(o.Q, d.Q) {
				return nil, mismatch("the quantile levels of distribution "+d.Key, i)
			}
			vs = append(vs, o.V)
			d.Count += o.Count
		}
		d.V = meanOf(vs)
		if len(vs) == 0 {
			d.Q, d.V = nil, nil
		}
		out.Dists = append(out.Dists, d)
	}
	if first.Series != nil {
		s := &Series{StepNs: first.Series.StepNs}
		for i, r := range reps {
			if r.Series != nil && r.Series.StepNs != s.StepNs {
				return nil, mismatch("the series step", i)
			}
		}
		cols := unionBy(reps, func(r *Run) []Column {
			if r.Series == nil {
				return nil
			}
			return r.Series.Columns
		}, func(c Column) string { return c.Key })
		n := 0
		for _, c := range cols {
			var vs []Floats
			for _, r := range reps {
				if o := r.Column(c.Key); o != nil {
					vs = append(vs, o.Values)
				}
			}
			c.Values = meanOf(vs)
			n = max(n, len(c.Values))
			s.Columns = append(s.Columns, c)
		}
		for i := range s.Columns { // one length for every column
			for len(s.Columns[i].Values) < n {
				s.Columns[i].Values = append(s.Columns[i].Values, math.NaN())
			}
		}
		out.Series = s
	}
	for _, g := range unionBy(reps, func(r *Run) []Group { return r.Groups }, func(g Group) string { return g.Key }) {
		out.Groups = append(out.Groups, aggregateGroup(g, reps))
	}
	for _, c := range unionBy(reps, func(r *Run) []Curve { return r.Curves }, func(c Curve) string { return c.Key }) {
		out.Curves = append(out.Curves, aggregateCurve(c, reps))
	}
	return out, nil
}

// unionBy is the union of every repetition's items by key, in first-seen
// order, each as the first repetition that has it wrote it.
func unionBy[T any](reps []*Run, items func(*Run) []T, key func(T) string) []T {
	var out []T
	seen := map[string]bool{}
	for _, r := range reps {
		for _, it := range items(r) {
			if k := key(it); !seen[k] {
				seen[k] = true
				out = append(out, it)
			}
		}
	}
	return out
}

// aggregateGroup is the mean of a group over the repetitions, per set name
// and label: labels are the union in first-seen order (numerically sorted
// when every label is a number, as "rounds per height" is).
func aggregateGroup(g Group, reps []*Run) Group {
	labels := unionBy(reps, func(r *Run) []string {
		if o := r.Group(g.Key); o != nil {
			return o.Labels
		}
		return nil
	}, func(s string) string { return s })
	sortNumeric(labels)
	sets := unionBy(reps, func(r *Run) []BarSet {
		if o := r.Group(g.Key); o != nil {
			return o.Sets
		}
		return nil
	}, func(b BarSet) string { return b.Name })
	out := g
	out.Labels = labels
	out.Sets = nil
	for _, set := range sets {
		vs := make([]Floats, 0, len(reps))
		for _, r := range reps {
			o := r.Group(g.Key)
			if o == nil {
				continue
			}
			row := make(Floats, len(labels))
			for j := range row {
				row[j] = math.NaN()
				if g.Counts {
					row[j] = 0
				}
			}
			for _, os := range o.Sets {
				if os.Name != set.Name {
					continue
				}
				for li, l := range o.Labels {
					if li < len(os.Values) {
						row[slices.Index(labels, l)] = os.Values[li]
					}
				}
			}
			vs = append(vs, row)
		}
		lo, hi := ciOf(vs)
		out.Sets = append(out.Sets, BarSet{Name: set.Name, Values: meanOf(vs), CI95Lo: lo, CI95Hi: hi})
	}
	return out
}

// aggregateCurve is the mean of a curve over the repetitions, per line name
// and x: the x values are the union, ascending.
func aggregateCurve(c Curve, reps []*Run) Curve {
	lines := unionBy(reps, func(r *Run) []Line {
		if o := r.Curve(c.Key); o != nil {
			return o.Lines
		}
		return nil
	}, func(l Line) string { return l.Name })
	out := c
	out.Lines = nil
	for _, line := range lines {
		var xs []float64
		same := true
		for _, r := range reps {
			if o := r.Curve(c.Key); o != nil {
				for _, ol := range o.Lines {
					if ol.Name == line.Name {
						same = same && slices.Equal(ol.X, line.X)
						xs = append(xs, ol.X...)
					}
				}
			}
		}
		if !same {
			slices.Sort(xs)
			xs = slices.Compact(xs)
		} else {
			xs = line.X
		}
		var vs []Floats
		for _, r := range reps {
			o := r.Curve(c.Key)
			if o == nil {
				continue
			}
			for _, ol := range o.Lines {
				if ol.Name != line.Name {
					continue
				}
				if same {
					vs = append(vs, ol.Y)
					continue
				}
				row := make(Floats, len(xs))
				for j := range row {
					row[j] = math.NaN()
				}
				for k, x := range ol.X {
					if j, ok := slices.BinarySearch(xs, x); ok && k < len(ol.Y) {
						row[j] = ol.Y[k]
					}
				}
				vs = append(vs, row)
			}
		}
		y := meanOf(vs)
		lo, hi := ciOf(vs)
		for len(y) < len(xs) {
			y = append(y, math.NaN())
		}
		l := Line{Name: line.Name, X: append(Floats(nil), xs...), Y: y[:len(xs)]}
		if lo != nil {
			for len(lo) < len(xs) {
				lo, hi = append(lo, math.NaN()), append(hi, math.NaN())
			}
			l.CI95Lo, l.CI95Hi = lo[:len(xs)], hi[:len(xs)]
		}
		out.Lines = append(out.Lines, l)
	}
	return out
}

// sortNumeric sorts labels by value when every one is a number, and leaves
// them as they are otherwise.
func sortNumeric(labels []string) {
	vals := make(map[string]float64, len(labels))
	for _, l := range labels {
		v, err := strconv.ParseFloat(l, 64)
		if err != nil {
			return
		}
		vals[l] = v
	}
	slices.SortStableFunc(labels, func(a, b string) int { return cmp.Compare(vals[a], vals[b]) })
}

// ciOf is the element-wise 95% confidence interval of the mean of lists
// (Summarize), NaN where fewer than two have a value; nil for fewer than
// two lists.
func ciOf(vs []Floats) (lo, hi Floats) {
	if len(vs) < 2 {
		return nil, nil
	}
	n := 0
	for _, v := range vs {
		n = max(n, len(v))
	}
	lo, hi = make(Floats, n), make(Floats, n)
	col := make([]float64, len(vs))
	for i := range lo {
		for j, v := range vs {
			col[j] = math.NaN()
			if i < len(v) {
				col[j] = v[i]
			}
		}
		lo[i], hi[i] = math.NaN(), math.NaN()
		if _, r := Summarize(col); r != nil {
			lo[i], hi[i] = r.CI95Lo, r.CI95Hi
		}
	}
	return lo, hi
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
