package reports

import (
	"fmt"
	"html/template"
	"io"

	"github.com/dais-sim/dais/metrics"
)

// css is shared by every HTML page; it is inline so pages open from disk
// with nothing to fetch.
const css = `
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;color:#1d232a;background:#fff;margin:0}
main{max-width:62rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:.2rem 0 .3rem}
p.sub{color:#4a5561;margin:0 0 1rem;font-size:.95rem}
h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d8dde3;padding-bottom:.3rem}
section.finding{border:1px solid #c9d3dd;border-left:5px solid #2f6db5;background:#f6f9fc;padding:1rem 1.2rem;border-radius:4px}
p.sentence{font-size:1.12rem;line-height:1.45;margin:0 0 .9rem}
div.tiles{display:flex;flex-wrap:wrap;gap:.7rem}
div.tile{background:#fff;border:1px solid #d8dde3;border-radius:4px;padding:.6rem .8rem;flex:1 1 10rem;max-width:15rem}
div.tile .v{font-size:1.45rem;font-weight:600;font-variant-numeric:tabular-nums}
div.tile .u{font-size:.85rem;font-weight:400;color:#4a5561;margin-left:.25rem}
div.tile .ci{font-size:.82rem;color:#4a5561}
div.tile .k{font-size:.8rem;margin-top:.3rem}
div.tile .h{font-size:.8rem;color:#4a5561;margin-top:.2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.92rem}
th,td{border:1px solid #d8dde3;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-family:ui-monospace,"Liberation Mono",Menlo,monospace;font-size:.88em}
figure{margin:1.5rem 0;padding:0}
figure svg{display:block;width:100%;height:auto;max-width:52rem}
svg text{font-family:"Liberation Sans",Arial,Helvetica,sans-serif !important}
figcaption{font-size:.92rem;color:#3b4550;max-width:52rem;margin-top:.3rem}
.better{color:#17692f}.worse{color:#a3261d}
details{margin:1rem 0}summary{cursor:pointer;font-weight:600}pre{background:#f6f8fa;padding:.8rem;overflow:auto;font-size:.85rem}
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
	"ci": tileCI,
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
<h1>{{.Run.Meta.Scenario}}</h1>
<p class="sub">{{with .Description}}{{.}}<br>{{end}}{{.Line}}</p>

<section class="finding">
{{- with .Finding}}
<p class="sentence">{{.}}</p>
{{- end}}
<div class="tiles">
{{- range .Tiles}}
<div class="tile"><div class="v">{{value .Value}}{{with .Unit}}<span class="u">{{.}}</span>{{end}}</div>{{with ci .}}<div class="ci">{{.}}</div>{{end}}<div class="k"><code>{{.Key}}</code></div><div class="h">{{.Help}}</div></div>
{{- end}}
</div>
</section>

{{- range .Tables}}
<h2>{{.Title}}</h2>
<table>
<tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{- range .Rows}}
<tr>{{range $i, $c := .}}{{if $i}}<td class="num">{{$c}}</td>{{else}}<td>{{$c}}</td>{{end}}{{end}}</tr>
{{- end}}
</table>
{{- end}}

{{- if .Plots}}
<h2>Plots</h2>
{{- range $i, $p := .Plots}}
<figure id="plot-{{inc $i}}">
{{$p.SVG}}
<figcaption><b>{{inc $i}}. {{$p.Plot.Title}}.</b> {{$p.Plot.Caption}}</figcaption>
</figure>
{{- end}}
{{- end}}

<h2>Details</h2>
<details><summary>All {{len .Run.Figures}} figures</summary>
<p>Keys are stable; docs/metrics.md in the dais repository says how each is computed.</p>
{{template "figures" figs .Run.Figures .Reps true}}
</details>

{{- if .Run.Dists}}
<details><summary>Distributions ({{len .Run.Dists}})</summary>
<table>
<tr><th>distribution</th><th>unit</th><th>count</th><th>min</th><th>p10</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>error</th></tr>
{{- range .Run.Dists}}
<tr><td><code>{{.Key}}</code></td><td>{{.Unit}}</td><td class="num">{{.Count}}</td>
<td class="num">{{value (q . 0)}}</td><td class="num">{{value (q . 0.1)}}</td><td class="num">{{value (q . 0.5)}}</td><td class="num">{{value (q . 0.9)}}</td><td class="num">{{value (q . 0.99)}}</td><td class="num">{{value (q . 0.999)}}</td><td class="num">{{value (q . 1)}}</td><td class="num">±{{pct .RelErr}}%</td></tr>
{{- end}}
</table>
</details>
{{- end}}

<details><summary>The run: scenario, seeds, versions</summary>
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
</details>
{{- with .Run.Meta.ScenarioText}}
<details><summary>Scenario file</summary><pre>{{.}}</pre></details>
{{- end}}
<footer>Everything on this page is a function of the scenario and its seed. Wall time and speed are in host.json beside it, the one file of a run folder that differs between two runs of the same scenario and seed.</footer>
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
		"CSS":         template.CSS(css),
		"CSP":         csp,
		"Run":         run,
		"Meta":        metaRows(run.Meta),
		"Description": description(run.Meta),
		"Line":        runLine(run.Meta),
		"Finding":     findingText(run),
		"Tiles":       findingFigures(run),
		"Reps":        run.Meta.Repetitions > 1,
		"Plots":       plots,
		"Tables":      htmlTables(run),
	})
	if err != nil {
		return fmt.Errorf("reports: html: %w", err)
	}
	return nil
}

type htmlTable struct {
	Title string
	Head  []string
	Rows  [][]string
}

func htmlTables(run *metrics.Run) []htmlTable {
	var out []htmlTable
	for _, t := range run.Tables {
		head, rows := tableCells(run, t)
		out = append(out, htmlTable{Title: t.Title, Head: head, Rows: rows})
	}
	return out
}
