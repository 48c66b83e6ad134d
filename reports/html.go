package reports

import (
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/dais-sim/dais/metrics"
)

// css is shared by every HTML page; it is inline so pages open from disk
// with nothing to fetch.
const css = `
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;color:#1d232a;background:#fff;margin:0}
main{max-width:60rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:.2rem 0 1rem}
h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d8dde3;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.92rem}
th,td{border:1px solid #d8dde3;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-family:ui-monospace,"Liberation Mono",Menlo,monospace;font-size:.88em}
figure{margin:1.5rem 0;padding:0}
figure svg{display:block;width:100%;height:auto;max-width:48rem}
svg text{font-family:"Liberation Sans",Arial,Helvetica,sans-serif !important}
figcaption{font-size:.92rem;color:#3b4550;max-width:48rem;margin-top:.3rem}
.better{color:#17692f}.worse{color:#a3261d}
details{margin:1rem 0}pre{background:#f6f8fa;padding:.8rem;overflow:auto;font-size:.85rem}
footer{margin-top:2rem;color:#5b6670;font-size:.85rem}
`

// csp forbids every fetch and every script: a report that tried to load
// anything would log a console error, which the Chromium test catches.
const csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"value":  FormatValue,
	"figure": formatFigure,
	"pct":    func(v float64) string { return FormatValue(100 * v) },
	"q":      quantile,
	"dur":    func(ns int64) string { return time.Duration(ns).String() },
	"inc":    func(i int) int { return i + 1 },
	"figs": func(fs []metrics.Figure, reps, help bool) figuresArgs {
		return figuresArgs{Figures: fs, Reps: reps, Help: help}
	},
	"n": func(f metrics.Figure) int {
		if f.Reps != nil {
			return f.Reps.N
		}
		return 1
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<link rel="icon" href="data:,">
<title>{{.Run.Meta.Scenario}}: dais run report</title>
<style>{{.CSS}}</style>
</head>
<body>
<main>
<h1>{{.Run.Meta.Scenario}}: dais run report</h1>
<table>
{{- range .Meta}}
<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{- end}}
</table>
{{- with .Run.Meta.Params}}
<table><tr><th>parameter</th><th>value</th></tr>
{{- range $k, $v := .}}
<tr><td>{{$k}}</td><td>{{$v}}</td></tr>
{{- end}}
</table>
{{- end}}

<h2>Key figures</h2>
{{template "figures" figs .Headline .Reps false}}

{{- if .Plots}}
<h2>Plots</h2>
{{- range $i, $p := .Plots}}
<figure id="plot-{{inc $i}}">
{{$p.SVG}}
<figcaption><b>{{inc $i}}. {{$p.Plot.Title}}.</b> {{$p.Plot.Caption}}</figcaption>
</figure>
{{- end}}
{{- end}}

<h2>All figures</h2>
<p>Keys are stable; docs/metrics.md in the dais repository says how each is computed.</p>
{{template "figures" figs .Run.Figures .Reps true}}

{{- if .Run.Dists}}
<h2>Distributions</h2>
<table>
<tr><th>distribution</th><th>unit</th><th>count</th><th>min</th><th>p10</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>error</th></tr>
{{- range .Run.Dists}}
<tr><td><code>{{.Key}}</code></td><td>{{.Unit}}</td><td class="num">{{.Count}}</td>
<td class="num">{{value (q . 0)}}</td><td class="num">{{value (q . 0.1)}}</td><td class="num">{{value (q . 0.5)}}</td><td class="num">{{value (q . 0.9)}}</td><td class="num">{{value (q . 0.99)}}</td><td class="num">{{value (q . 0.999)}}</td><td class="num">{{value (q . 1)}}</td><td class="num">±{{pct .RelErr}}%</td></tr>
{{- end}}
</table>
{{- end}}

{{- with .Run.Meta.ScenarioText}}
<details><summary>Scenario file</summary><pre>{{.}}</pre></details>
{{- end}}
{{- with .Run.Host}}
<footer>On this host (host.json, not part of the deterministic results): {{value .WallS}} s of wall time,
{{value .EventsPerS}} events/s, {{.GOOS}}/{{.GOARCH}}, {{.CPUs}} CPUs, GOMAXPROCS {{.GOMAXPROCS}}.</footer>
{{- end}}
</main>
</body>
</html>
{{define "figures"}}
<table>
<tr><th>figure</th><th>{{if .Reps}}mean ± 95% CI{{else}}value{{end}}</th><th>unit</th>{{if .Reps}}<th>n</th>{{end}}{{if .Help}}<th>meaning</th>{{end}}</tr>
{{- range .Figures}}
<tr><td><code>{{.Key}}</code></td><td class="num">{{figure .}}</td><td>{{.Unit}}</td>{{if $.Reps}}<td class="num">{{n .}}</td>{{end}}{{if $.Help}}<td>{{.Help}}</td>{{end}}</tr>
{{- end}}
</table>
{{- end}}
`))

type figuresArgs struct {
	Figures []metrics.Figure
	Reps    bool
	Help    bool
}

type htmlPlot struct {
	Plot metrics.Plot
	SVG  template.HTML
}

// HTML writes report.html: the Markdown report's content with every plot
// inline as SVG and the style inline, so it is one file that opens from
// disk, fetches nothing and needs no JavaScript.
func HTML(w io.Writer, run *metrics.Run) error {
	if err := run.Validate(); err != nil {
		return err
	}
	svgs := make([][]byte, len(run.Plots))
	for i, p := range run.Plots {
		var err error
		if svgs[i], err = SVG(run, p); err != nil {
			return err
		}
	}
	return writeHTML(w, run, svgs)
}

func writeHTML(w io.Writer, run *metrics.Run, svgs [][]byte) error {
	plots := make([]htmlPlot, len(run.Plots))
	for i, p := range run.Plots {
		// The SVG is gonum/plot's output, whose text it escapes itself.
		plots[i] = htmlPlot{Plot: p, SVG: template.HTML(inlineSVG(svgs[i]))}
	}
	err := reportTmpl.Execute(w, map[string]any{
		"CSS":      template.CSS(css),
		"CSP":      csp,
		"Run":      run,
		"Meta":     metaRows(run.Meta),
		"Headline": headline(run, TableRows),
		"Reps":     run.Meta.Repetitions > 1,
		"Plots":    plots,
	})
	if err != nil {
		return fmt.Errorf("reports: html: %w", err)
	}
	return nil
}
