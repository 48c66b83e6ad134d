package reports

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"regexp"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/dais-sim/dais/metrics"
)

// Plot size: fits a report column and a laptop screen.
const (
	plotWidth  = 7 * vg.Inch
	plotHeight = 3.6 * vg.Inch
)

func init() {
	// Sans text reads better on screen; SVG names the font, and report.html
	// falls back to Arial, whose metrics Liberation Sans shares.
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	plotter.DefaultFont = plot.DefaultFont
}

// Named is one run's data for plots that overlay runs (dais compare).
type Named struct {
	Name string
	Run  *metrics.Run
}

// SVG draws plot p of run as a standalone SVG document.
func SVG(run *metrics.Run, p metrics.Plot) ([]byte, error) {
	return SVGOverlay([]Named{{Run: run}}, p)
}

// SVGOverlay draws plot p with the data of several runs on one set of axes,
// each run's lines named by Name (when there is more than one run). Bars
// and series are drawn for every run too; a run that lacks a key is
// skipped.
func SVGOverlay(runs []Named, p metrics.Plot) ([]byte, error) {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.X.Label.Text = p.XLabel
	pl.Y.Label.Text = p.YLabel
	pl.Add(plotter.NewGrid())
	pl.Legend.Top = true
	scale := p.Scale
	if scale == 0 {
		scale = 1
	}
	var err error
	switch p.Kind {
	case metrics.PlotCDF:
		err = drawCDF(pl, runs, p, scale)
	case metrics.PlotSeries:
		err = drawSeries(pl, runs, p, scale)
	case metrics.PlotBars:
		err = drawBars(pl, runs, p, scale)
	case metrics.PlotLines, metrics.PlotLorenz:
		err = drawLines(pl, runs, p, scale)
	default:
		err = fmt.Errorf("unknown plot kind %q", p.Kind)
	}
	if errors.Is(err, errNoData) {
		// A measure nothing fed this run: the plot stays, empty, and says so.
		pl.Title.Text += " (no data in this run)"
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("reports: plot %q: %w", p.Title, err)
	}
	if p.LogX {
		pl.X.Scale = plot.LogScale{}
		pl.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	c := vgsvg.New(plotWidth, plotHeight)
	pl.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var errNoData = errors.New("no data to draw")

// series is one line to draw: its name and points.
type series struct {
	name string
	xy   plotter.XYs
}

// label names a line by run and data key, as briefly as is unambiguous.
func label(runs []Named, run Named, nData int, key string) string {
	switch {
	case len(runs) > 1 && nData > 1:
		return run.Name + ": " + key
	case len(runs) > 1:
		return run.Name
	}
	return key
}

func drawCDF(pl *plot.Plot, runs []Named, p metrics.Plot, scale float64) error {
	var ls []series
	for _, r := range runs {
		for _, k := range p.Data {
			d := r.Run.Dist(k)
			if d == nil || len(d.Q) == 0 {
				continue
			}
			xy := make(plotter.XYs, len(d.Q))
			for i := range d.Q {
				xy[i] = plotter.XY{X: d.V[i] * scale, Y: d.Q[i]}
			}
			ls = append(ls, series{label(runs, r, len(p.Data), k), xy})
		}
	}
	pl.Y.Min, pl.Y.Max = 0, 1
	return addLines(pl, ls, plotter.NoStep)
}

func drawSeries(pl *plot.Plot, runs []Named, p metrics.Plot, scale float64) error {
	var ls []series
	for _, r := range runs {
		s := r.Run.Series
		if s == nil {
			continue
		}
		stepS := float64(s.StepNs) / 1e9
		k := scale
		if p.Rate {
			k /= stepS
		}
		for _, key := range p.Data {
			c := r.Run.Column(key)
			if c == nil {
				continue
			}
			// One point per step, at its start, held to the next (a step
			// line), and a last point closing the final step.
			xy := make(plotter.XYs, 0, len(c.Values)+1)
			for i, v := range c.Values {
				xy = append(xy, plotter.XY{X: float64(i) * stepS, Y: v * k})
			}
			if n := len(c.Values); n > 0 {
				xy = append(xy, plotter.XY{X: float64(n) * stepS, Y: c.Values[n-1] * k})
			}
			ls = append(ls, series{label(runs, r, len(p.Data), key), xy})
		}
	}
	return addLines(pl, ls, plotter.PostStep)
}

func drawLines(pl *plot.Plot, runs []Named, p metrics.Plot, scale float64) error {
	var ls []series
	for _, r := range runs {
		for _, k := range p.Data {
			c := r.Run.Curve(k)
			if c == nil {
				continue
			}
			for _, l := range c.Lines {
				xy := make(plotter.XYs, len(l.X))
				for i := range l.X {
					xy[i] = plotter.XY{X: l.X[i], Y: l.Y[i] * scale}
				}
				name := l.Name
				if len(runs) > 1 {
					name = r.Name + ": " + l.Name
				}
				ls = append(ls, series{name, xy})
			}
		}
	}
	if p.Kind == metrics.PlotLorenz {
		eq, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
		eq.Color = color.Gray{Y: 120}
		eq.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		pl.Add(eq)
		pl.Legend.Add("perfect equality", eq)
		pl.Legend.Top, pl.Legend.Left = true, true
		pl.X.Min, pl.X.Max, pl.Y.Min, pl.Y.Max = 0, 1, 0, 1
	}
	return addLines(pl, ls, plotter.NoStep)
}

// addLines draws each series in its own colour and dash, splitting it where
// it has no value (NaN) so that gaps show as gaps.
func addLines(pl *plot.Plot, ls []series, step plotter.StepKind) error {
	if len(ls) == 0 {
		return errNoData
	}
	for i, s := range ls {
		var first *plotter.Line
		for _, seg := range splitNaN(s.xy) {
			l, err := plotter.NewLine(seg)
			if err != nil {
				return err
			}
			l.StepStyle = step
			l.Color = plotutil.Color(i)
			l.Dashes = plotutil.Dashes(i)
			l.Width = vg.Points(1.5)
			pl.Add(l)
			if first == nil {
				first = l
			}
		}
		if first != nil && len(ls) > 1 {
			pl.Legend.Add(s.name, first)
		}
	}
	return nil
}

func splitNaN(xy plotter.XYs) []plotter.XYs {
	var out []plotter.XYs
	start := -1
	for i, p := range xy {
		ok := !math.IsNaN(p.X) && !math.IsNaN(p.Y) && !math.IsInf(p.X, 0) && !math.IsInf(p.Y, 0)
		switch {
		case ok && start < 0:
			start = i
		case !ok && start >= 0:
			out = append(out, xy[start:i])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, xy[start:])
	}
	return out
}

func drawBars(pl *plot.Plot, runs []Named, p metrics.Plot, scale float64) error {
	type set struct {
		name string
		vals plotter.Values
	}
	var sets []set
	var labels []string
	for _, r := range runs {
		g := r.Run.Group(p.Data[0])
		if g == nil {
			continue
		}
		if labels == nil {
			labels = g.Labels
		}
		for _, s := range g.Sets {
			vals := make(plotter.Values, len(labels))
			for i, l := range labels {
				// Runs may order or lack labels differently; match by name.
				vals[i] = math.NaN()
				for j, gl := range g.Labels {
					if gl == l {
						vals[i] = s.Values[j] * scale
					}
				}
				if math.IsNaN(vals[i]) {
					vals[i] = 0
				}
			}
			name := s.Name
			if len(runs) > 1 {
				name = r.Name + ": " + s.Name
			}
			sets = append(sets, set{name, vals})
		}
	}
	if len(sets) == 0 {
		return errNoData
	}
	width := vg.Points(math.Min(40, 300/float64(len(sets)*len(labels))))
	for i, s := range sets {
		b, err := plotter.NewBarChart(s.vals, width)
		if err != nil {
			return err
		}
		b.Color = plotutil.Color(i)
		b.LineStyle.Width = 0
		b.Offset = width * vg.Length(float64(i)-float64(len(sets)-1)/2)
		pl.Add(b)
		if len(sets) > 1 {
			pl.Legend.Add(s.name, b)
		}
	}
	pl.NominalX(labels...)
	// Bars start at zero and keep a little room above the tallest.
	pl.Y.Min = math.Min(pl.Y.Min, 0)
	pl.Y.Max += 0.06 * (pl.Y.Max - pl.Y.Min)
	return nil
}

var xmlProlog = regexp.MustCompile(`(?s)^<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)

// inlineSVG strips the XML prolog and comment so an SVG document can sit
// inside HTML.
func inlineSVG(svg []byte) []byte {
	return xmlProlog.ReplaceAll(svg, nil)
}
