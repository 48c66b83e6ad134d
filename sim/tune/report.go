package tune

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/dais-sim/dais/reports"
)

// block is one piece of the report, written as Markdown and as HTML from
// the same content.
type block struct {
	heading string     // a section heading
	text    string     // a paragraph (Markdown: `code` only)
	table   [][]string // a table, the first row its header
	svg     []byte     // a plot, with text as its caption
	file    string     // the plot's file, for Markdown
	code    string     // a code block
}

// reportBlocks is the report's content.
func (r *Result) reportBlocks(svg []byte) []block {
	t := r.Tune
	best := r.BestEvaluation()
	stop := "the budget"
	if r.Converged {
		stop = "the optimizer converged"
	}
	method := t.Method
	if t.Method != "nelder_mead" {
		method += fmt.Sprintf(", %d per generation", t.batch())
	}
	head := [][]string{{"tuning", ""},
		{"tune file", "`" + t.Path + "`"},
		{"base scenario", "`" + t.BaseFile + "`" + setText(t.Set)},
		{"method", fmt.Sprintf("%s, initial step %s of each range", method, reports.FormatValue(t.StepSize))},
		{"candidates", fmt.Sprintf("%d of a budget of %d (stopped by %s), each the mean of %d repetitions on the same seeds (run.seed = %d)", len(r.Evaluations), t.Budget, stop, t.Repetitions, t.Seed)},
		{"runs", strconv.Itoa(r.Runs)},
		{"objective", t.direction()},
	}
	for j, c := range t.Constraints {
		head = append(head, []string{fmt.Sprintf("constraint %d", j+1), fmt.Sprintf("%s, penalty %s per unit past the bound", t.bound(j), reports.FormatValue(c.Penalty))})
	}
	feasible := "meets every constraint"
	if !best.Feasible {
		feasible = "**violates a constraint**: no candidate found met them all, or the penalties are too small"
	}
	bs := []block{{table: head},
		{heading: "Best candidate"},
		{text: fmt.Sprintf("Candidate %d (generation %d) has the best score, %s, and %s.", best.Index, best.Generation, reports.FormatValue(best.Score), feasible)},
	}
	params := [][]string{{"parameter", "range", "scale", "start", "best"}}
	for i, p := range t.Parameters {
		scale := p.Scale
		if p.Integer {
			scale += ", integer"
		}
		params = append(params, []string{"`" + p.Key + "`", p.text(p.Min) + " … " + p.text(p.Max), scale,
			p.text(p.value(p.start())), p.text(best.Values[i])})
	}
	bs = append(bs, block{table: params})
	figs := [][]string{{"figure", "best: mean ± 95% CI", "bound"}, {"objective: " + t.objective.String(), statText(best.Objective), ""}}
	for j := range t.Constraints {
		figs = append(figs, []string{t.constraints[j].text, statText(best.Constraints[j]), t.bound(j)})
	}
	bs = append(bs, block{table: figs})
	if v := r.Validation; v != nil {
		bs = append(bs, block{heading: "Validation on fresh seeds"},
			block{text: fmt.Sprintf("The base scenario as given and the best candidate, %d repetitions each on seeds derived from %d (no candidate ran with them); the score of each repetition is its objective with the penalties of its own figures.", v.Repetitions, v.Seed)})
		val := [][]string{{"figure", "base: mean ± 95% CI", "best: mean ± 95% CI"},
			{"score", statText(v.Base.Score), statText(v.Best.Score)},
			{"objective", statText(v.Base.Objective), statText(v.Best.Objective)}}
		for j := range t.Constraints {
			val = append(val, []string{t.constraints[j].text + " (" + t.bound(j) + ")", statText(v.Base.Constraints[j]), statText(v.Best.Constraints[j])})
		}
		val = append(val, []string{"meets the constraints", yesNo(v.Base.Feasible), yesNo(v.Best.Feasible)})
		bs = append(bs, block{table: val}, block{text: v.verdict(t.maximize)})
	}
	caption := "Each dot is a candidate's score: its objective, averaged over the repetitions, with the penalties of its constraints. The line is the best so far. Look for the line flattening (more budget would gain little) and for the dots gathering near it (the search has narrowed). Crosses are candidates past a constraint's bound; the axis spans the candidates within them."
	bs = append(bs, block{heading: "Convergence"}, block{svg: svg, file: "plots/convergence.svg", text: caption},
		block{heading: "Files"},
		block{table: [][]string{{"file", "what it holds"},
			{"`trace.csv`, `trace.jsonl`", "every candidate in order: its parameters, score, objective and constraints with 95% CIs, and every figure of its runs (mean, CI, n)"},
			{"`best.yaml`", "the best candidate as a scenario: `dais run` it"},
			{"`tune.json`", "this report's figures, machine-readable"}}},
		block{heading: "Tune file"}, block{code: string(t.Source)})
	return bs
}

// batch is how many candidates the method evaluates together.
func (t *Tune) batch() int {
	_, n := t.method(len(t.Parameters))
	return n
}

func setText(set []string) string {
	if len(set) == 0 {
		return ""
	}
	return " with `--set " + strings.Join(set, "`, `--set ") + "`"
}

// bound is constraint j's bounds as text.
func (t *Tune) bound(j int) string {
	c, s := t.Constraints[j], t.constraints[j].text
	switch {
	case c.Min != nil && c.Max != nil:
		return fmt.Sprintf("%s ≤ %s ≤ %s", reports.FormatValue(*c.Min), s, reports.FormatValue(*c.Max))
	case c.Min != nil:
		return fmt.Sprintf("%s ≥ %s", s, reports.FormatValue(*c.Min))
	}
	return fmt.Sprintf("%s ≤ %s", s, reports.FormatValue(*c.Max))
}

// verdict says whether the best beat the base beyond the noise.
func (v *Validation) verdict(maximize bool) string {
	better := (v.Diff.Mean > 0) == maximize
	word := "better"
	if !better {
		word = "worse"
	}
	s := fmt.Sprintf("Best − base score, repetition by repetition: %s (the best is %s).", statText(v.Diff), word)
	switch {
	case math.IsNaN(v.Base.Score.Lo) || math.IsNaN(v.Best.Score.Lo):
		s += " With fewer than two repetitions there are no intervals to compare."
	case Overlap(v.Base.Score, v.Best.Score):
		s += " The two scores' 95% confidence intervals overlap."
	default:
		s += fmt.Sprintf(" The two scores' 95%% confidence intervals do not overlap: the best is %s beyond the run-to-run noise.", word)
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// statText is "mean ± half-width", or the mean alone without an interval.
func statText(s Stat) string {
	out := reports.FormatValue(s.Mean)
	if !math.IsNaN(s.Lo) {
		out += " ± " + reports.FormatValue((s.Hi-s.Lo)/2)
	}
	return out
}

// markdown writes the report as Markdown.
func markdown(title string, bs []block) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n", title)
	for _, x := range bs {
		b.WriteString("\n")
		switch {
		case x.heading != "":
			fmt.Fprintf(&b, "## %s\n", x.heading)
		case x.table != nil:
			for i, row := range x.table {
				cells := make([]string, len(row))
				for j, c := range row {
					cells[j] = strings.ReplaceAll(c, "|", `\|`)
				}
				fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
				if i == 0 {
					fmt.Fprintf(&b, "|%s\n", strings.Repeat("---|", len(row)))
				}
			}
		case x.svg != nil:
			fmt.Fprintf(&b, "![convergence](%s)\n\n%s\n", x.file, x.text)
		case x.code != "":
			fmt.Fprintf(&b, "```yaml\n%s\n```\n", strings.TrimRight(x.code, "\n"))
		default:
			fmt.Fprintf(&b, "%s\n", x.text)
		}
	}
	return b.Bytes()
}

// html writes the report as one self-contained page.
func html(title string, bs []block) ([]byte, error) {
	var body strings.Builder
	esc := template.HTMLEscapeString
	// `code` and **bold** are the only Markdown the text uses.
	inline := func(s string) string {
		s = esc(s)
		for _, m := range [][3]string{{"`", "<code>", "</code>"}, {"**", "<b>", "</b>"}} {
			parts := strings.Split(s, m[0])
			var o strings.Builder
			for i, p := range parts {
				if i > 0 {
					o.WriteString(map[bool]string{true: m[1], false: m[2]}[i%2 == 1])
				}
				o.WriteString(p)
			}
			s = o.String()
		}
		return s
	}
	for _, x := range bs {
		switch {
		case x.heading != "":
			fmt.Fprintf(&body, "<h2>%s</h2>\n", esc(x.heading))
		case x.table != nil:
			body.WriteString("<table>\n")
			for i, row := range x.table {
				body.WriteString("<tr>")
				for _, c := range row {
					tag := "td"
					if i == 0 {
						tag = "th"
					}
					fmt.Fprintf(&body, "<%s>%s</%s>", tag, inline(c), tag)
				}
				body.WriteString("</tr>\n")
			}
			body.WriteString("</table>\n")
		case x.svg != nil:
			fmt.Fprintf(&body, "<figure>\n%s\n<figcaption>%s</figcaption>\n</figure>\n", reports.InlineSVG(x.svg), inline(x.text))
		case x.code != "":
			fmt.Fprintf(&body, "<details><summary>tune file</summary><pre>%s</pre></details>\n", esc(x.code))
		default:
			fmt.Fprintf(&body, "<p>%s</p>\n", inline(x.text))
		}
	}
	var b bytes.Buffer
	err := reports.Page(&b, title, template.HTML(body.String()))
	return b.Bytes(), err
}

// convergenceSVG draws every candidate's score and the best so far.
func (r *Result) convergenceSVG() ([]byte, error) {
	pl := plot.New()
	pl.Title.Text = "Score by candidate, and the best so far"
	pl.X.Label.Text = "candidate (evaluation order)"
	pl.Y.Label.Text = "score (lower is better)"
	if r.Tune.maximize {
		pl.Y.Label.Text = "score (higher is better)"
	}
	pl.Add(plotter.NewGrid())
	var ok, bad, line plotter.XYs
	best := math.NaN()
	for _, e := range r.Evaluations {
		if math.IsNaN(e.Score) {
			continue
		}
		pt := plotter.XY{X: float64(e.Index), Y: e.Score}
		if e.Feasible {
			ok = append(ok, pt)
		} else {
			bad = append(bad, pt)
		}
		if math.IsNaN(best) || (r.Tune.maximize && e.Score > best) || (!r.Tune.maximize && e.Score < best) {
			best = e.Score
		}
		line = append(line, plotter.XY{X: float64(e.Index), Y: best})
	}
	// The axis spans the feasible candidates (all of them if none is):
	// one heavily penalized candidate would flatten everything else. The
	// best line is clipped to it.
	lo, hi := math.Inf(1), math.Inf(-1)
	span := ok
	if len(ok) == 0 {
		span = bad
	}
	for _, p := range span {
		lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
	}
	var shown plotter.XYs
	for _, p := range bad {
		if p.Y >= lo && p.Y <= hi {
			shown = append(shown, p)
		}
	}
	if len(line) > 0 {
		l, err := plotter.NewLine(line)
		if err != nil {
			return nil, err
		}
		l.StepStyle = plotter.PostStep
		l.Color, l.Width = plotutil.Color(0), vg.Points(1.5)
		pl.Add(l)
		pl.Legend.Add("best so far", l)
	}
	for _, s := range []struct {
		xy    plotter.XYs
		name  string
		shape draw.GlyphDrawer
		col   color.Color
	}{{ok, "candidate", draw.CircleGlyph{}, plotutil.Color(1)}, {shown, "past a constraint", draw.CrossGlyph{}, color.Gray{Y: 110}}} {
		if len(s.xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(s.xy)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Shape, sc.GlyphStyle.Color, sc.GlyphStyle.Radius = s.shape, s.col, vg.Points(2.5)
		pl.Add(sc)
		pl.Legend.Add(s.name, sc)
	}
	if hi > lo {
		pad := 0.05 * (hi - lo)
		pl.Y.Min, pl.Y.Max = lo-pad, hi+pad
	}
	pl.Legend.Top = !r.Tune.maximize
	if n := len(bad) - len(shown); n > 0 {
		pl.Title.Text += fmt.Sprintf(" (%d penalized off the axis)", n)
	}
	c := vgsvg.New(7*vg.Inch, 3.6*vg.Inch)
	pl.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
