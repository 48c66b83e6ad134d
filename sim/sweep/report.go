package sweep

import (
	"bufio"
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/reports"
	"github.com/dais-sim/dais/scenarios"
)

// maxLines bounds the lines of one plot: past it, lines for evenly spaced
// values of the other axes are drawn, and the caption says so.
const maxLines = 8

// figure is one figure key as the report uses it.
type figure struct {
	key, unit, help string
	better          metrics.Better
	// stats per point (NaN mean where the point or the figure is missing).
	stats []stat
}

func (f figure) label() string {
	if f.unit == "" {
		return f.key
	}
	return f.key + " (" + f.unit + ")"
}

// figureOf collects a figure's statistics over the points.
func (r *Result) figureOf(key string) (figure, bool) {
	f := figure{key: key, stats: make([]stat, len(r.Runs))}
	found := false
	for i, run := range r.Runs {
		f.stats[i] = stat{mean: math.NaN(), lo: math.NaN(), hi: math.NaN()}
		if run == nil {
			continue
		}
		if fig, ok := run.Figure(key); ok {
			if !found {
				f.unit, f.help, f.better, found = fig.Unit, fig.Help, fig.Better, true
			}
			f.stats[i] = summarize(fig)
		}
	}
	return f, found
}

// choose picks the figures to draw: the plan's plot list, or every
// point's headline figures, and the objectives. Figures that are the same
// at every point are listed apart (a flat line says nothing), and so are
// keys no point has.
func (r *Result) choose() (plot, flat []figure, unknown []string) {
	keys := r.Plan.Plot
	if len(keys) == 0 {
		seen := map[string]bool{}
		for _, run := range r.Runs {
			if run == nil {
				continue
			}
			for _, f := range run.Figures {
				if f.Headline && !seen[f.Key] {
					seen[f.Key] = true
					keys = append(keys, f.Key)
				}
			}
		}
	}
	for _, o := range r.Plan.Objectives {
		if !contains(keys, o.Figure) {
			keys = append(keys, o.Figure)
		}
	}
	for _, k := range keys {
		f, ok := r.figureOf(k)
		switch {
		case !ok:
			unknown = append(unknown, k+suggestFigure(k, r.Runs))
		case constant(f):
			flat = append(flat, f)
		default:
			plot = append(plot, f)
		}
	}
	return plot, flat, unknown
}

// suggestFigure is ` (did you mean "x"?)` for the figure key of the
// points closest to k, or "".
func suggestFigure(k string, runs []*metrics.Run) string {
	for _, run := range runs {
		if run == nil {
			continue
		}
		keys := make([]string, len(run.Figures))
		for i, f := range run.Figures {
			keys[i] = f.Key
		}
		return scenarios.DidYouMean(k, keys)
	}
	return ""
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// constant says whether a figure's mean is the same (or undefined) at
// every point.
func constant(f figure) bool {
	first := math.NaN()
	for _, s := range f.stats {
		switch {
		case math.IsNaN(s.mean):
		case math.IsNaN(first):
			first = s.mean
		case s.mean != first:
			return false
		}
	}
	return true
}

// sweepPlot is one plot of the report.
type sweepPlot struct {
	Title, Caption, File string
	SVG                  []byte
}

// plots draws each chosen figure against each axis (one line per value of
// the other axes in a grid; one line in a zip; a scatter for a sampled
// design), a heat map per figure for a two-axis grid, and the Pareto front
// when the sweep names two objectives.
func (r *Result) plots(figs []figure) ([]sweepPlot, error) {
	var out []sweepPlot
	views := make([]axisView, len(r.Plan.Axes))
	for i, a := range r.Plan.Axes {
		views[i] = newAxisView(a, i, r.Plan.Points)
	}
	reps := r.Plan.Repetitions
	for _, f := range figs {
		for i, xv := range views {
			title := fmt.Sprintf("%s against %s", f.key, xv.name)
			var svg []byte
			var err error
			var caption string
			switch r.Plan.Design {
			case "grid", "zip":
				curves, legend, note := r.curves(f, views, i)
				svg, err = linePlot(title, f.label(), legend, xv, curves)
				caption = fmt.Sprintf("Mean of %d repetition(s) at each point, with its 95%% confidence interval as a band (none where fewer than two repetitions define the figure)%s.", reps, note)
			default:
				x := make([]float64, len(r.Plan.Points))
				mean, lo, hi := make([]float64, len(x)), make([]float64, len(x)), make([]float64, len(x))
				for p := range r.Plan.Points {
					x[p] = xv.x[xv.of[p]]
					mean[p], lo[p], hi[p] = f.stats[p].mean, f.stats[p].lo, f.stats[p].hi
				}
				svg, err = scatterPlot(title, f.label(), xv, x, mean, lo, hi)
				caption = fmt.Sprintf("Each point of the %s design: its mean of %d repetition(s) with the 95%% confidence interval as an error bar; the other axes vary too, so the spread at one %s is theirs as much as the noise's.", r.Plan.Design, reps, xv.name)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, sweepPlot{Title: title, Caption: caption + " " + helpSentence(f), SVG: svg})
		}
		if len(views) == 2 && r.Plan.Design == "grid" {
			z := make([][]float64, len(views[0].values))
			for c := range z {
				z[c] = make([]float64, len(views[1].values))
				for k := range z[c] {
					z[c][k] = math.NaN()
				}
			}
			for p := range r.Plan.Points {
				z[views[0].of[p]][views[1].of[p]] = f.stats[p].mean
			}
			title := fmt.Sprintf("%s over %s and %s", f.key, views[0].name, views[1].name)
			svg, err := heatPlot(title, f.label(), views[0], views[1], z)
			if err != nil {
				return nil, err
			}
			out = append(out, sweepPlot{Title: title, Caption: fmt.Sprintf("Mean of %d repetition(s) at each point of the grid, written in its cell (grey: no value). %s", reps, helpSentence(f)), SVG: svg})
		}
	}
	if p, ok, err := r.paretoPlot(); err != nil {
		return nil, err
	} else if ok {
		out = append(out, p)
	}
	for i := range out {
		out[i].File = plotFile(i, out[i].Title)
	}
	return out, nil
}

func helpSentence(f figure) string {
	if f.help == "" {
		return ""
	}
	h := strings.TrimSuffix(f.help, ".")
	return fmt.Sprintf("%s: %s.", f.key, h)
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func plotFile(i int, title string) string {
	slug := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if len(slug) > 48 {
		slug = strings.TrimRight(slug[:48], "-")
	}
	return fmt.Sprintf("%s/%02d-%s.svg", reports.PlotsDir, i+1, slug)
}

// curves are a figure against axis i: in a grid, one curve per
// combination of the other axes' values (at most maxLines, evenly
// spaced); in a zip or with one axis, one curve.
func (r *Result) curves(f figure, views []axisView, i int) (out []curve, legend, note string) {
	xv := views[i]
	type key string
	order := []key{}
	byKey := map[key]*curve{}
	for p, pt := range r.Plan.Points {
		var parts []string
		if r.Plan.Design == "grid" {
			for j, v := range views {
				if j != i {
					parts = append(parts, v.name+" = "+pt.Values[j])
				}
			}
		}
		k := key(strings.Join(parts, ", "))
		c, ok := byKey[k]
		if !ok {
			c = &curve{name: string(k)}
			byKey[k] = c
			order = append(order, k)
		}
		s := f.stats[p]
		c.x = append(c.x, xv.x[xv.of[p]])
		c.mean, c.lo, c.hi = append(c.mean, s.mean), append(c.lo, s.lo), append(c.hi, s.hi)
	}
	for _, k := range order {
		c := byKey[k]
		sortCurve(c)
		out = append(out, *c)
	}
	if len(out) > maxLines {
		picked := make([]curve, maxLines)
		for j := range picked {
			picked[j] = out[j*(len(out)-1)/(maxLines-1)]
		}
		note = fmt.Sprintf("; %d of the %d combinations of the other axes are drawn, evenly spaced (table.csv has all)", maxLines, len(out))
		out = picked
	}
	if len(out) > 1 {
		var others []string
		for j, v := range views {
			if j != i {
				others = append(others, v.name)
			}
		}
		note = fmt.Sprintf(", one line per value of %s%s", strings.Join(others, " and "), note)
		if len(others) == 1 {
			// The legend's title names the axis; the entries, its values.
			for k := range out {
				out[k].name = strings.TrimPrefix(out[k].name, others[0]+" = ")
			}
			legend = others[0]
		}
	}
	return out, legend, note
}

// sortCurve orders a curve's points by x.
func sortCurve(c *curve) {
	idx := make([]int, len(c.x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return c.x[idx[a]] < c.x[idx[b]] })
	pick := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i, j := range idx {
			out[i] = v[j]
		}
		return out
	}
	c.x, c.mean, c.lo, c.hi = pick(c.x), pick(c.mean), pick(c.lo), pick(c.hi)
}

// front is the indexes (into Plan.Points) of the points no other point
// dominates on the two objectives, ordered by the first objective.
func (r *Result) front() (first, second figure, idx []int, ok bool) {
	if len(r.Plan.Objectives) != 2 {
		return figure{}, figure{}, nil, false
	}
	a, okA := r.figureOf(r.Plan.Objectives[0].Figure)
	b, okB := r.figureOf(r.Plan.Objectives[1].Figure)
	if !okA || !okB {
		return a, b, nil, false
	}
	// better(x, y): x is at least as good as y on objective k.
	sign := func(k int) float64 {
		if r.Plan.Objectives[k].Goal == "maximize" {
			return 1
		}
		return -1
	}
	sa, sb := sign(0), sign(1)
	for i := range r.Plan.Points {
		x, y := a.stats[i].mean, b.stats[i].mean
		if math.IsNaN(x) || math.IsNaN(y) {
			continue
		}
		dominated := false
		for j := range r.Plan.Points {
			u, v := a.stats[j].mean, b.stats[j].mean
			if j == i || math.IsNaN(u) || math.IsNaN(v) {
				continue
			}
			if sa*u >= sa*x && sb*v >= sb*y && (sa*u > sa*x || sb*v > sb*y) {
				dominated = true
				break
			}
		}
		if !dominated {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(p, q int) bool { return a.stats[idx[p]].mean < a.stats[idx[q]].mean })
	return a, b, idx, true
}

func (r *Result) paretoPlot() (sweepPlot, bool, error) {
	a, b, idx, ok := r.front()
	if !ok {
		return sweepPlot{}, false, nil
	}
	n := len(r.Plan.Points)
	col := func(f figure, get func(stat) float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = get(f.stats[i])
		}
		return out
	}
	mean := func(s stat) float64 { return s.mean }
	lo := func(s stat) float64 { return s.lo }
	hi := func(s stat) float64 { return s.hi }
	index := make([]int, n)
	for i, p := range r.Plan.Points {
		index[i] = p.Index
	}
	o := r.Plan.Objectives
	title := fmt.Sprintf("Pareto front of %s and %s", a.key, b.key)
	svg, err := paretoPlot("Pareto front", a.label()+", "+o[0].Goal, b.label()+", "+o[1].Goal, col(a, mean), col(b, mean), col(a, lo), col(a, hi), col(b, lo), col(b, hi), idx, index)
	if err != nil {
		return sweepPlot{}, false, err
	}
	caption := fmt.Sprintf("Each point's means of the two objectives; the points no other point beats on both (the front, by their means) are joined and labelled with their index (3 (+7): point 3 and 7 more points with the same means), with their 95%% confidence intervals as error bars: where the bars of two front points overlap, the repetitions do not tell them apart. The front's points are listed in the table below.")
	return sweepPlot{Title: title, Caption: caption, SVG: svg}, true, nil
}

// WriteReport writes report.md, report.html and plots/*.svg into dir.
// Everything in them is a function of the plan and the points' figures.
// Figure keys of the plan that no point has go to r.Warnings.
func (r *Result) WriteReport(dir string) error {
	figs, flat, unknown := r.choose()
	for _, k := range unknown {
		r.Warnings = append(r.Warnings, "no point has the figure "+k+", which the sweep file names (plot or objectives)")
	}
	plots, err := r.plots(figs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, reports.PlotsDir), dirPerm); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, p := range plots {
		if err := writeAtomic(filepath.Join(dir, p.File), p.SVG); err != nil {
			return err
		}
		keep[filepath.Base(p.File)] = true
	}
	// An earlier merge's plots that this one does not draw would be
	// mistaken for its own.
	old, _ := filepath.Glob(filepath.Join(dir, reports.PlotsDir, "*.svg"))
	for _, f := range old {
		if !keep[filepath.Base(f)] {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	var md bytes.Buffer
	r.markdown(&md, figs, flat, unknown, plots)
	if err := writeAtomic(filepath.Join(dir, reports.MarkdownFile), md.Bytes()); err != nil {
		return err
	}
	var html bytes.Buffer
	if err := r.html(&html, figs, flat, unknown, plots); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, reports.HTMLFile), html.Bytes())
}

// kv is a row of the report's head table.
type kv struct{ K, V string }

func (r *Result) metaRows() []kv {
	p := r.Plan
	done := len(p.Points) - len(r.Missing)
	rows := []kv{
		{"base scenario", p.Base},
		{"base sha256", p.BaseSHA256},
		{"runner", p.Runner},
		{"design", p.Design},
		{"points", fmt.Sprintf("%d (%d done)", len(p.Points), done)},
		{"repetitions per point", strconv.Itoa(p.Repetitions)},
		{"seed", strconv.FormatUint(p.Seed, 10)},
	}
	if len(p.Set) > 0 {
		rows = append(rows, kv{"set at every point", strings.Join(p.Set, "; ")})
	}
	for i, a := range p.Axes {
		v := newAxisView(a, i, p.Points)
		desc := a.Key
		if a.Name != a.Key {
			desc = a.Name + " = " + a.Key
		}
		vals := v.values
		if len(vals) > 12 {
			vals = append(append([]string(nil), vals[:5]...), fmt.Sprintf("… (%d values) …", len(v.values)-10))
			vals = append(vals, v.values[len(v.values)-5:]...)
		}
		rows = append(rows, kv{fmt.Sprintf("axis %d", i+1), fmt.Sprintf("%s: %s", desc, strings.Join(vals, ", "))})
	}
	for _, run := range r.Runs {
		if run != nil {
			rows = append(rows, kv{"dais version", run.Meta.Version}, kv{"Go version", run.Meta.GoVersion})
			break
		}
	}
	return rows
}

func (r *Result) violations() []string {
	var out []string
	for i, rec := range r.Records {
		if rec != nil && len(rec.Failures) > 0 {
			out = append(out, fmt.Sprintf("point %d: %s", r.Plan.Points[i].Index, strings.Join(rec.Failures, "; ")))
		}
	}
	return out
}

func fmtStat(s stat) string {
	v := reports.FormatValue(s.mean)
	if !math.IsNaN(s.lo) && !math.IsNaN(s.hi) {
		v += " ± " + reports.FormatValue((s.hi-s.lo)/2)
	}
	return v
}

// pointRows is the per-point table of the chosen figures (at most
// maxTableRows points; the summary table has them all).
const maxTableRows = 200

func (r *Result) pointTable(figs []figure, only []int) (head []string, rows [][]string) {
	head = []string{"point"}
	for _, a := range r.Plan.Axes {
		head = append(head, a.Name)
	}
	for _, f := range figs {
		head = append(head, f.label())
	}
	if only == nil {
		for i := range r.Plan.Points {
			only = append(only, i)
		}
	}
	for n, i := range only {
		if n == maxTableRows {
			break
		}
		p := r.Plan.Points[i]
		row := []string{strconv.Itoa(p.Index)}
		row = append(row, p.Values...)
		for _, f := range figs {
			row = append(row, fmtStat(f.stats[i]))
		}
		rows = append(rows, row)
	}
	return head, rows
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func mdTable(b *bufio.Writer, head []string, rows [][]string) {
	fmt.Fprintf(b, "| %s |\n|", strings.Join(head, " | "))
	for range head {
		b.WriteString("---|")
	}
	b.WriteByte('\n')
	for _, row := range rows {
		esc := make([]string, len(row))
		for i, c := range row {
			esc[i] = mdEscape(c)
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(esc, " | "))
	}
}

func (r *Result) markdown(w io.Writer, figs, flat []figure, unknown []string, plots []sweepPlot) {
	b := bufio.NewWriter(w)
	defer b.Flush()
	p := r.Plan
	fmt.Fprintf(b, "# %s: dais sweep report\n\n", mdEscape(p.Name))
	if p.Description != "" {
		fmt.Fprintf(b, "%s\n\n", mdEscape(p.Description))
	}
	var rows [][]string
	for _, kv := range r.metaRows() {
		rows = append(rows, []string{kv.K, kv.V})
	}
	mdTable(b, []string{"sweep", ""}, rows)
	fmt.Fprintf(b, "\n%s\n", r.tablesNote())
	if len(r.Missing) > 0 {
		fmt.Fprintf(b, "\n**%d point(s) missing** (no folder in the merged output folders): %s. Their rows are absent from the tables.\n", len(r.Missing), listInts(r.Missing, 40))
	}
	if v := r.violations(); len(v) > 0 {
		fmt.Fprintf(b, "\n## Invariant violations\n\n")
		for _, s := range v {
			fmt.Fprintf(b, "- %s\n", mdEscape(s))
		}
	}
	if len(unknown) > 0 {
		fmt.Fprintf(b, "\nNo point has these figures the sweep file names: %s; metrics.json of any point lists the keys.\n", mdEscape(strings.Join(unknown, "; ")))
	}
	if _, _, idx, ok := r.front(); ok {
		fmt.Fprintf(b, "\n## Pareto front\n\n")
		head, rows := r.pointTable(r.objectiveFigures(), idx)
		mdTable(b, head, rows)
	}
	if len(plots) > 0 {
		fmt.Fprintf(b, "\n## Plots\n")
		for i, pl := range plots {
			fmt.Fprintf(b, "\n### %d. %s\n\n![%s](%s)\n\n%s\n", i+1, mdEscape(pl.Title), mdEscape(pl.Title), pl.File, mdEscape(pl.Caption))
		}
	}
	if len(flat) > 0 {
		fmt.Fprintf(b, "\n## Figures the axes do not move\n\nThe same mean at every point, so not drawn:\n\n")
		rows := flatRows(flat)
		for _, row := range rows {
			row[0] = "`" + row[0] + "`"
		}
		mdTable(b, []string{"figure", "value", "unit"}, rows)
	}
	if len(figs) > 0 {
		fmt.Fprintf(b, "\n## Points\n\nMean ± half the 95%% CI over the repetitions.%s\n\n", r.truncNote())
		head, rows := r.pointTable(figs, nil)
		mdTable(b, head, rows)
	}
}

// flatRows are the figures the axes do not move, with their one value.
func flatRows(flat []figure) [][]string {
	var rows [][]string
	for _, f := range flat {
		v := math.NaN()
		for _, s := range f.stats {
			if !math.IsNaN(s.mean) {
				v = s.mean
				break
			}
		}
		rows = append(rows, []string{f.key, reports.FormatValue(v), f.unit})
	}
	return rows
}

func (r *Result) objectiveFigures() []figure {
	var out []figure
	for _, o := range r.Plan.Objectives {
		if f, ok := r.figureOf(o.Figure); ok {
			out = append(out, f)
		}
	}
	return out
}

func (r *Result) truncNote() string {
	if len(r.Plan.Points) > maxTableRows {
		return fmt.Sprintf(" The first %d of %d points; summary.csv has all.", maxTableRows, len(r.Plan.Points))
	}
	return ""
}

func (r *Result) tablesNote() string {
	return fmt.Sprintf("Every figure of every point is in `%s` / `%s` (one row per point × repetition × figure) and `%s` / `%s` (per point and figure: mean, 95%% CI, n); each point's run folder is `points/<hash>/`.", TableCSV, TableJSONL, SummaryCSV, SummaryJSONL)
}

var htmlTmpl = template.Must(template.New("sweep").Parse(`
{{with .Description}}<p>{{.}}</p>{{end}}
<table>
{{- range .Meta}}
<tr><th>{{.K}}</th><td>{{.V}}</td></tr>
{{- end}}
</table>
<p>Every figure of every point is in <code>table.csv</code> / <code>table.jsonl</code> (one row per point × repetition × figure) and <code>summary.csv</code> / <code>summary.jsonl</code> (per point and figure: mean, 95% CI, n); each point's run folder is <code>points/&lt;hash&gt;/</code>.</p>
{{- if .Missing}}
<p><b>{{len .MissingList}} point(s) missing</b> (no folder in the merged output folders): {{.Missing}}. Their rows are absent from the tables.</p>
{{- end}}
{{- if .Violations}}
<h2>Invariant violations</h2>
<ul>{{range .Violations}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
{{- if .Unknown}}
<p>No point has these figures the sweep file names: {{range $i, $k := .Unknown}}{{if $i}}; {{end}}{{$k}}{{end}}; metrics.json of any point lists the keys.</p>
{{- end}}
{{- with .Front}}
<h2>Pareto front</h2>
{{template "table" .}}
{{- end}}
{{- if .Plots}}
<h2>Plots</h2>
{{- range $i, $p := .Plots}}
<figure id="plot-{{$p.N}}">
{{$p.SVG}}
<figcaption><b>{{$p.N}}. {{$p.Title}}.</b> {{$p.Caption}}</figcaption>
</figure>
{{- end}}
{{- end}}
{{- with .Flat}}
<h2>Figures the axes do not move</h2>
<p>The same mean at every point, so not drawn:</p>
<table><tr><th>figure</th><th>value</th><th>unit</th></tr>
{{- range .}}<tr><td><code>{{index . 0}}</code></td><td class="num">{{index . 1}}</td><td>{{index . 2}}</td></tr>{{end}}
</table>
{{- end}}
{{- with .Points}}
<h2>Points</h2>
<p>Mean ± half the 95% CI over the repetitions.{{$.Trunc}}</p>
{{template "table" .}}
{{- end}}
{{define "table"}}<div style="overflow-x:auto"><table>
<tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{- range .Rows}}
<tr>{{range $j, $c := .}}<td{{if $j}} class="num"{{end}}>{{$c}}</td>{{end}}</tr>
{{- end}}
</table></div>{{end}}
`))

type htmlTable struct {
	Head []string
	Rows [][]string
}

type htmlPlot struct {
	N              int
	Title, Caption string
	SVG            template.HTML
}

func (r *Result) html(w io.Writer, figs, flat []figure, unknown []string, plots []sweepPlot) error {
	data := map[string]any{
		"Name": r.Plan.Name, "Description": r.Plan.Description, "Meta": r.metaRows(),
		"Violations": r.violations(), "Unknown": unknown, "Trunc": r.truncNote(),
		"MissingList": r.Missing,
	}
	if len(r.Missing) > 0 {
		data["Missing"] = listInts(r.Missing, 40)
	}
	if _, _, idx, ok := r.front(); ok {
		head, rows := r.pointTable(r.objectiveFigures(), idx)
		data["Front"] = &htmlTable{head, rows}
	}
	var hp []htmlPlot
	for i, p := range plots {
		// The SVG is gonum/plot's output, whose text it escapes itself.
		hp = append(hp, htmlPlot{N: i + 1, Title: p.Title, Caption: p.Caption, SVG: reports.InlineSVG(p.SVG)})
	}
	data["Plots"] = hp
	if len(flat) > 0 {
		data["Flat"] = flatRows(flat)
	}
	if len(figs) > 0 {
		head, rows := r.pointTable(figs, nil)
		data["Points"] = &htmlTable{head, rows}
	}
	var body bytes.Buffer
	if err := htmlTmpl.Execute(&body, data); err != nil {
		return fmt.Errorf("sweep: report: %w", err)
	}
	return reports.Page(w, r.Plan.Name+": dais sweep report", template.HTML(body.String()))
}
