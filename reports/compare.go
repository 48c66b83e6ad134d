package reports

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/dais-sim/dais/metrics"
)

// Significance is the level below which Welch's test calls a difference
// significant.
const Significance = 0.05

// Comparison is two runs' figures side by side.
type Comparison struct {
	A, B Named
	Rows []CompareRow
}

// CompareRow is one figure in two runs.
type CompareRow struct {
	Key, Unit, Help string
	Better          metrics.Better
	// A and B are the figures (means over repetitions); NaN where a run
	// lacks the key or the figure is undefined.
	A, B float64
	// Delta is B − A; DeltaPct the same as a percentage of A (NaN when A
	// is 0).
	Delta, DeltaPct float64
	// Test is Welch's t-test of the repetitions, when both runs have at
	// least two and some variance; nil otherwise.
	Test *metrics.TTest
}

// Significant reports whether Welch's test rejects equal means at the
// Significance level.
func (r CompareRow) Significant() bool { return r.Test != nil && r.Test.P < Significance }

// Verdict says whether B is better or worse than A for figures with a
// direction: "better", "worse", "same" (equal, or a difference the
// repetitions cannot tell from noise), or "" when the figure has no
// direction or a run lacks it.
func (r CompareRow) Verdict() string {
	if r.Better == "" || math.IsNaN(r.Delta) {
		return ""
	}
	if r.Delta == 0 || (r.Test != nil && !r.Significant()) {
		return "same"
	}
	if (r.Delta < 0) == (r.Better == metrics.Lower) {
		return "better"
	}
	return "worse"
}

// Compare lines up the figures of a and b: a's in order, then those only
// b has.
func Compare(a, b Named) *Comparison {
	c := &Comparison{A: a, B: b}
	add := func(f metrics.Figure) {
		row := CompareRow{Key: f.Key, Unit: f.Unit, Help: f.Help, Better: f.Better, A: math.NaN(), B: math.NaN()}
		fa, okA := a.Run.Figure(f.Key)
		fb, okB := b.Run.Figure(f.Key)
		if okA {
			row.A = fa.Value
		}
		if okB {
			row.B = fb.Value
		}
		row.Delta = row.B - row.A
		row.DeltaPct = math.NaN()
		if row.A != 0 {
			row.DeltaPct = 100 * row.Delta / math.Abs(row.A)
		}
		if okA && okB && fa.Reps != nil && fb.Reps != nil {
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
	return c
}

// significance describes the test for people: "yes (p = 0.003)", "no (p =
// 0.41)", or "—" without repetitions on both sides.
func (r CompareRow) significance() string {
	if r.Test == nil {
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
	return []string{r.Key, FormatValue(r.A), FormatValue(r.B), signed(r.Delta), pct, r.significance(), r.Verdict(), r.Unit}
}

var compareHeader = []string{"figure", "A", "B", "B − A", "change", "significant (Welch)", "B is", "unit"}

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
	fmt.Fprintf(w, "A = %s\nB = %s\n\n", l[0], l[1])
	t := NewTable(w)
	// tablewriter upper-cases headers and spaces out punctuation, so the
	// terminal gets plain words.
	t.Header("figure", "A", "B", "difference", "change", "significant", "B is", "unit")
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
	return fmt.Sprintf("Significant: Welch's t-test of the repetitions rejects equal means at p < %g; — where a run has fewer than two repetitions.", Significance)
}

// Markdown writes the comparison as a Markdown table.
func (c *Comparison) Markdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	l := c.legend()
	fmt.Fprintf(b, "# dais compare\n\n- **A** = %s\n- **B** = %s\n\n", mdEscape(l[0]), mdEscape(l[1]))
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
		"Header": compareHeader, "Rows": rows, "Footnote": c.footnote(), "Plots": plots,
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
