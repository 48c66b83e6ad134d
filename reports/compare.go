package reports

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/dais-sim/dais/metrics"
)

// Significance is the level below which Welch's test calls a difference
// significant.
const Significance = 0.05

// Comparison is two runs' figures side by side, and what differs between
// the scenarios that produced them.
type Comparison struct {
	A, B Named
	Rows []CompareRow
	// Diff are the scenario keys whose resolved values differ (seed and
	// repetitions included), in schema order; nil when the runs do not
	// record their resolved scenarios (DiffKnown false).
	Diff      []KeyDiff
	DiffKnown bool
}

// KeyDiff is one scenario key that differs between two runs: its value
// in each ("" where a run's scenario does not have the key).
type KeyDiff struct {
	Key string `json:"key"`
	A   string `json:"a"`
	B   string `json:"b"`
}

// CompareRow is one figure in two runs.
type CompareRow struct {
	Key, Unit, Help string
	Better          metrics.Better
	// A and B are the figures (means over repetitions); NaN where a run
	// lacks the key or the figure is undefined. ALo…BHi bound their 95%
	// CIs over repetitions (NaN below two); NA and NB count the
	// repetitions that define them.
	A, B               float64
	ALo, AHi, BLo, BHi float64
	NA, NB             int
	// Delta is B − A; DeltaPct the same as a percentage of A (NaN when A
	// is 0).
	Delta, DeltaPct float64
	// Test is Welch's t-test of the repetitions, when both runs have at
	// least two and some variance; nil otherwise.
	Test *metrics.TTest
}

// Tested reports whether both runs have at least two repetitions that
// define the figure, so that Welch's test can tell a difference from noise.
func (r CompareRow) Tested() bool { return r.NA >= 2 && r.NB >= 2 }

// Significant reports whether Welch's test rejects equal means at the
// Significance level.
func (r CompareRow) Significant() bool { return r.Test != nil && r.Test.P < Significance }

// Verdict says whether B is better or worse than A for figures with a
// direction: "better" or "worse" where Welch's test finds the difference
// significant, "same" where the values are equal or the test cannot tell
// the difference from noise, "1 run" where a side has fewer than two
// repetitions (one run cannot tell a seed's luck from an effect), or ""
// when the figure has no direction or a run lacks it.
func (r CompareRow) Verdict() string {
	switch {
	case r.Better == "" || math.IsNaN(r.Delta):
		return ""
	case r.Delta == 0:
		return "same"
	case !r.Tested():
		return "1 run"
	case r.Test == nil || !r.Significant():
		return "same"
	case (r.Delta < 0) == (r.Better == metrics.Lower):
		return "better"
	}
	return "worse"
}

// Compare lines up the figures of a and b: a's in order, then those only
// b has, and diffs their resolved scenarios.
func Compare(a, b Named) *Comparison {
	c := &Comparison{A: a, B: b}
	add := func(f metrics.Figure) {
		nan := math.NaN()
		row := CompareRow{Key: f.Key, Unit: f.Unit, Help: f.Help, Better: f.Better, A: nan, B: nan, ALo: nan, AHi: nan, BLo: nan, BHi: nan}
		fa, okA := a.Run.Figure(f.Key)
		fb, okB := b.Run.Figure(f.Key)
		if okA {
			row.A, row.ALo, row.AHi, row.NA = spread(fa)
		}
		if okB {
			row.B, row.BLo, row.BHi, row.NB = spread(fb)
		}
		row.Delta = row.B - row.A
		row.DeltaPct = math.NaN()
		if row.A != 0 {
			row.DeltaPct = 100 * row.Delta / math.Abs(row.A)
		}
		if row.Tested() {
			if t, ok := metrics.Welch(fa.Value, fa.Reps.Std, fa.Reps.N, fb.Value, fb.Reps.Std, fb.Reps.N); ok {
				row.Test = &t
			}
		}
		c.Rows = append(c.Rows, row)
	}
	for _, f := range a.Run.Figures {
		add(f)
	}
	for _, f := range b.Run.Figures {
		if _, ok := a.Run.Figure(f.Key); !ok {
			add(f)
		}
	}
	c.Diff, c.DiffKnown = diffScenarios(a.Run.Meta.Resolved, b.Run.Meta.Resolved)
	return c
}

// spread is a figure's mean, 95% CI and the repetitions that define it.
func spread(f metrics.Figure) (mean, lo, hi float64, n int) {
	if f.Reps == nil {
		if math.IsNaN(f.Value) {
			return f.Value, math.NaN(), math.NaN(), 0
		}
		return f.Value, math.NaN(), math.NaN(), 1
	}
	return f.Value, f.Reps.CI95Lo, f.Reps.CI95Hi, f.Reps.N
}

// diffScenarios lists the keys whose values differ between two resolved
// scenarios ("key=value" lines), in a's order then b's.
func diffScenarios(a, b []string) ([]KeyDiff, bool) {
	if a == nil || b == nil {
		return nil, false
	}
	split := func(lines []string) ([]string, map[string]string) {
		var keys []string
		m := map[string]string{}
		for _, l := range lines {
			k, v, _ := strings.Cut(l, "=")
			keys = append(keys, k)
			m[k] = v
		}
		return keys, m
	}
	ka, ma := split(a)
	kb, mb := split(b)
	var out []KeyDiff
	for _, k := range ka {
		if vb, ok := mb[k]; !ok || vb != ma[k] {
			out = append(out, KeyDiff{Key: k, A: ma[k], B: vb})
		}
	}
	for _, k := range kb {
		if _, ok := ma[k]; !ok {
			out = append(out, KeyDiff{Key: k, B: mb[k]})
		}
	}
	return out, true
}

// diffLines says what differs between the scenarios, one line a key.
func (c *Comparison) diffLines() []string {
	if !c.DiffKnown {
		return []string{"the runs do not record their resolved scenarios (written by an older dais): compare their scenario files"}
	}
	if len(c.Diff) == 0 {
		return []string{"none: the same scenario, seed and repetitions (the figures should be equal)"}
	}
	out := make([]string, len(c.Diff))
	for i, d := range c.Diff {
		va, vb := d.A, d.B
		if va == "" {
			va = "(none)"
		}
		if vb == "" {
			vb = "(none)"
		}
		out[i] = fmt.Sprintf("%s: %s → %s", d.Key, va, vb)
	}
	return out
}

// significance describes the test for people: "yes (p = 0.003)", "no (p =
// 0.41)", "1 run" where a side has fewer than two repetitions, or "—"
// where a run lacks the figure or the test has no variance to work with.
func (r CompareRow) significance() string {
	switch {
	case r.NA == 0 || r.NB == 0:
		return "—"
	case !r.Tested():
		return "1 run"
	case r.Test == nil:
		return "—"
	}
	p := FormatValue(r.Test.P)
	if r.Test.P < 1e-4 {
		p = "< 0.0001"
	} else {
		p = "= " + p
	}
	if r.Significant() {
		return "yes (p " + p + ")"
	}
	return "no (p " + p + ")"
}

// meanCI writes a mean with its 95% CI half-width: "7 ± 2.1", or the
// mean alone without repetitions.
func meanCI(v, lo, hi float64) string {
	s := FormatValue(v)
	if !math.IsNaN(lo) && !math.IsNaN(hi) {
		s += " ± " + FormatValue((hi-lo)/2)
	}
	return s
}

func signed(v float64) string {
	if v > 0 {
		return "+" + FormatValue(v)
	}
	return FormatValue(v)
}

func (r CompareRow) cells() []string {
	pct := "n/a"
	if !math.IsNaN(r.DeltaPct) {
		pct = signed(r.DeltaPct) + "%"
	}
	return []string{r.Key, meanCI(r.A, r.ALo, r.AHi), meanCI(r.B, r.BLo, r.BHi), signed(r.Delta), pct, r.significance(), r.Verdict(), r.Unit}
}

var compareHeader = []string{"figure", "A (mean ± 95% CI)", "B (mean ± 95% CI)", "B − A", "change", "significant (Welch)", "B is", "unit"}

func (c *Comparison) legend() [2]string {
	desc := func(n Named) string {
		m := n.Run.Meta
		return fmt.Sprintf("%s: scenario %s, seed %d, %d repetition(s), dais %s", n.Name, m.Scenario, m.Seed, max(m.Repetitions, 1), m.Version)
	}
	return [2]string{desc(c.A), desc(c.B)}
}

// Table prints the comparison as a terminal table.
func (c *Comparison) Table(w io.Writer) error {
	l := c.legend()
	fmt.Fprintf(w, "A = %s\nB = %s\nScenario keys that differ:\n  %s\n\n", l[0], l[1], strings.Join(c.diffLines(), "\n  "))
	t := NewTable(w)
	t.Header("figure", "A (mean ± 95% CI)", "B (mean ± 95% CI)", "difference", "change", "significant", "B is", "unit")
	for _, r := range c.Rows {
		if err := t.Append(r.cells()); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, c.footnote())
	return nil
}

func (c *Comparison) footnote() string {
	return fmt.Sprintf("Significant: Welch's t-test of the repetitions rejects equal means at p < %g. "+
		"It needs at least two repetitions on each side (run.repetitions): with one run a side, a difference may be a seed's luck, and the row says \"1 run\" instead of better or worse.", Significance)
}

// Markdown writes the comparison as a Markdown table.
func (c *Comparison) Markdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	l := c.legend()
	fmt.Fprintf(b, "# dais compare\n\n- **A** = %s\n- **B** = %s\n\nScenario keys that differ:\n\n", mdEscape(l[0]), mdEscape(l[1]))
	for _, d := range c.diffLines() {
		fmt.Fprintf(b, "- %s\n", mdEscape(d))
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "| %s |\n|---|---:|---:|---:|---:|---|---|---|\n", strings.Join(compareHeader, " | "))
	for _, r := range c.Rows {
		cells := r.cells()
		cells[0] = "`" + cells[0] + "`"
		for i := range cells {
			cells[i] = mdEscape(cells[i])
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintf(b, "\n%s\n", c.footnote())
	return b.Flush()
}

var compareTmpl = template.Must(template.New("compare").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<link rel="icon" href="data:,">
<title>dais compare: {{.A}} vs {{.B}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<main>
<h1>dais compare</h1>
<ul><li><b>A</b> = {{index .Legend 0}}</li><li><b>B</b> = {{index .Legend 1}}</li></ul>
<p><b>Scenario keys that differ:</b></p>
<ul>{{range .Diff}}<li>{{.}}</li>{{end}}</ul>
<table>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{- range .Rows}}
<tr class="{{.Class}}">{{range $i, $c := .Cells}}{{if eq $i 0}}<td><code>{{$c}}</code></td>{{else if lt $i 5}}<td class="num">{{$c}}</td>{{else}}<td>{{$c}}</td>{{end}}{{end}}</tr>
{{- end}}
</table>
<p>{{.Footnote}}</p>
{{- if .Plots}}
<h2>Plots, A and B overlaid</h2>
{{- range $i, $p := .Plots}}
<figure>
{{$p.SVG}}
<figcaption><b>{{$p.Plot.Title}}.</b> {{$p.Plot.Caption}}</figcaption>
</figure>
{{- end}}
{{- end}}
</main>
</body>
</html>
`))

// HTML writes the comparison as one self-contained page: the table, and
// every plot of A whose data B has too, with both runs overlaid.
func (c *Comparison) HTML(w io.Writer) error {
	type row struct {
		Class string
		Cells []string
	}
	rows := make([]row, len(c.Rows))
	for i, r := range c.Rows {
		rows[i] = row{Class: map[string]string{"better": "better", "worse": "worse"}[r.Verdict()], Cells: r.cells()}
	}
	var plots []htmlPlot
	for _, p := range c.A.Run.Plots {
		if !hasData(c.B.Run, p) {
			continue
		}
		svg, err := SVGOverlay([]Named{c.A, c.B}, p)
		if err != nil {
			return err
		}
		plots = append(plots, htmlPlot{Plot: p, SVG: template.HTML(inlineSVG(svg))})
	}
	l := c.legend()
	return compareTmpl.Execute(w, map[string]any{
		"CSS": template.CSS(css), "CSP": csp,
		"A": c.A.Name, "B": c.B.Name, "Legend": l,
		"Header": compareHeader, "Rows": rows, "Footnote": c.footnote(), "Plots": plots, "Diff": c.diffLines(),
	})
}

// hasData reports whether run holds every key plot p draws.
func hasData(run *metrics.Run, p metrics.Plot) bool {
	for _, k := range p.Data {
		var ok bool
		switch p.Kind {
		case metrics.PlotCDF:
			ok = run.Dist(k) != nil
		case metrics.PlotSeries:
			ok = run.Column(k) != nil
		case metrics.PlotBars:
			ok = run.Group(k) != nil
		default:
			ok = run.Curve(k) != nil
		}
		if !ok {
			return false
		}
	}
	return true
}

// compareJSON is the machine-readable comparison (dais compare --format
// json); NaN is null.
type compareJSON struct {
	A        runJSON    `json:"a"`
	B        runJSON    `json:"b"`
	Scenario *[]KeyDiff `json:"scenario_diff"`
	Rows     []rowJSON  `json:"figures"`
}

type runJSON struct {
	Name        string   `json:"name"`
	Scenario    string   `json:"scenario"`
	Seed        uint64   `json:"seed"`
	Seeds       []uint64 `json:"seeds,omitempty"`
	Repetitions int      `json:"repetitions"`
	Version     string   `json:"dais_version"`
}

type sideJSON struct {
	Mean   *float64 `json:"mean"`
	CI95Lo *float64 `json:"ci95_lo"`
	CI95Hi *float64 `json:"ci95_hi"`
	N      int      `json:"n"`
}

type rowJSON struct {
	Key         string         `json:"key"`
	Unit        string         `json:"unit"`
	Help        string         `json:"help"`
	Better      metrics.Better `json:"better,omitempty"`
	A           sideJSON       `json:"a"`
	B           sideJSON       `json:"b"`
	Delta       *float64       `json:"delta"`
	DeltaPct    *float64       `json:"delta_pct"`
	WelchT      *float64       `json:"welch_t"`
	WelchDF     *float64       `json:"welch_df"`
	P           *float64       `json:"p"`
	Significant *bool          `json:"significant"`
	Verdict     string         `json:"verdict"`
}

func num64(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func runInfo(n Named) runJSON {
	m := n.Run.Meta
	return runJSON{Name: n.Name, Scenario: m.Scenario, Seed: m.Seed, Seeds: m.Seeds, Repetitions: max(m.Repetitions, 1), Version: m.Version}
}

// JSON writes the comparison as one JSON document: both runs, the
// scenario keys that differ (null when a run does not record its resolved
// scenario), and per figure each side's mean, 95% CI and repetition
// count, the difference, Welch's test where both sides have two or more
// repetitions (null elsewhere) and the verdict.
func (c *Comparison) JSON(w io.Writer) error {
	out := compareJSON{A: runInfo(c.A), B: runInfo(c.B), Rows: []rowJSON{}}
	if c.DiffKnown {
		d := append([]KeyDiff{}, c.Diff...)
		out.Scenario = &d
	}
	for _, r := range c.Rows {
		row := rowJSON{Key: r.Key, Unit: r.Unit, Help: r.Help, Better: r.Better,
			A:     sideJSON{Mean: num64(r.A), CI95Lo: num64(r.ALo), CI95Hi: num64(r.AHi), N: r.NA},
			B:     sideJSON{Mean: num64(r.B), CI95Lo: num64(r.BLo), CI95Hi: num64(r.BHi), N: r.NB},
			Delta: num64(r.Delta), DeltaPct: num64(r.DeltaPct), Verdict: r.Verdict()}
		if r.Test != nil {
			sig := r.Significant()
			row.WelchT, row.WelchDF, row.P, row.Significant = num64(r.Test.T), num64(r.Test.DF), num64(r.Test.P), &sig
		}
		out.Rows = append(out.Rows, row)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// CSV writes one row per figure: each side's mean, CI and repetitions,
// the difference, Welch's p where both sides have two or more
// repetitions, and the verdict; empty cells where a value is undefined.
func (c *Comparison) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"figure", "unit", "a_mean", "a_ci95_lo", "a_ci95_hi", "a_n", "b_mean", "b_ci95_lo", "b_ci95_hi", "b_n", "delta", "delta_pct", "welch_p", "significance", "verdict"})
	cell := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	for _, r := range c.Rows {
		p := math.NaN()
		if r.Test != nil {
			p = r.Test.P
		}
		cw.Write([]string{r.Key, r.Unit, cell(r.A), cell(r.ALo), cell(r.AHi), strconv.Itoa(r.NA), cell(r.B), cell(r.BLo), cell(r.BHi), strconv.Itoa(r.NB),
			cell(r.Delta), cell(r.DeltaPct), cell(p), r.significance(), r.Verdict()})
	}
	cw.Flush()
	return cw.Error()
}
