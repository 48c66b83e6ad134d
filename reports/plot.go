package reports

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/dais-sim/dais/metrics"
)

// Plot size: fits a report column and a laptop screen. The legend (or a
// heatmap's colour scale) takes a column to the right of the axes, never
// the data area.
const (
	plotWidth      = 7 * vg.Inch
	plotHeight     = 3.6 * vg.Inch
	titleHeight    = 22
	legendMaxShare = 0.34 // of the width; a wider legend goes below the axes
	legendPad      = 8
	heatmapCells   = 160 // time cells at most: adjacent steps are averaged
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

// figure is a plot being drawn: the axes and data, and what goes in the
// legend column beside them.
type figure struct {
	pl     *plot.Plot
	legend *plot.Legend
	// scale, if not nil, is a heatmap's colour map, drawn as a colour bar
	// in the legend column, with its label.
	scale      palette.ColorMap
	scaleLabel string
	// fixedY says the data drew its own y range (a CDF's [0, 1]).
	fixedY, fixedX bool
}

// SVGOverlay draws plot p with the data of several runs on one set of axes,
// each run's lines named by Name (when there is more than one run). Bars
// and series are drawn for every run too; a run that lacks a key is
// skipped. The SVG has three parts: the title, the axes with the data
// (an <svg class="dais-axes">) and, when there is one, the legend or
// colour scale beside them (<svg class="dais-legend">), so that the legend
// never covers data.
func SVGOverlay(runs []Named, p metrics.Plot) ([]byte, error) {
	f := &figure{pl: plot.New(), legend: newLegend()}
	pl := f.pl
	pl.X.Label.Text = p.XLabel
	pl.Y.Label.Text = p.YLabel
	pl.Add(plotter.NewGrid())
	scale := p.Scale
	if scale == 0 {
		scale = 1
	}
	title := p.Title
	var err error
	switch p.Kind {
	case metrics.PlotCDF:
		err = f.drawCDF(runs, p, scale)
	case metrics.PlotSeries:
		err = f.drawSeries(runs, p, scale)
	case metrics.PlotBars:
		err = f.drawBars(runs, p, scale)
	case metrics.PlotLines, metrics.PlotLorenz:
		err = f.drawLines(runs, p, scale)
	case metrics.PlotHeatmap:
		err = f.drawHeatmap(runs, p, scale)
	default:
		err = fmt.Errorf("unknown plot kind %q", p.Kind)
	}
	if errors.Is(err, errNoData) {
		// A measure nothing fed this run: the plot stays, empty, and says so.
		title += " (no data in this run)"
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("reports: plot %q: %w", p.Title, err)
	}
	if p.LogX {
		pl.X.Scale = plot.LogScale{}
		pl.X.Tick.Marker = logTicks{}
	}
	f.pad(p.LogX)
	return f.render(title)
}

var errNoData = errors.New("no data to draw")

// logTicks marks a log axis at 1, 2 and 5 times each power of ten, with
// labels, and at the other integers, without: a range within one decade
// still gets labels (gonum's LogTicks labels powers of ten only).
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	var out []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = FormatValue(v)
			}
			out = append(out, t)
		}
	}
	labelled := 0
	for _, t := range out {
		if t.Label != "" {
			labelled++
		}
	}
	if labelled < 2 { // a narrow range: label every tick
		for i := range out {
			out[i].Label = FormatValue(out[i].Value)
		}
	}
	if decades := math.Log10(hi / lo); decades > 3 { // crowded: label powers of ten only
		for i := range out {
			if m := out[i].Value / math.Pow(10, math.Floor(math.Log10(out[i].Value)+1e-9)); math.Abs(m-1) > 1e-9 {
				out[i].Label = ""
			}
		}
	}
	return out
}

func newLegend() *plot.Legend {
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.TextStyle.Font.Size = 10
	return &l
}

// pad widens the axes a little past the data, so that no line or marker
// sits on the frame where half of it would be cut.
func (f *figure) pad(logX bool) {
	pad := func(a *plot.Axis, log bool) {
		if !(a.Max > a.Min) || math.IsInf(a.Min, 0) || math.IsInf(a.Max, 0) {
			return
		}
		if log && a.Min > 0 {
			r := math.Pow(a.Max/a.Min, 0.03)
			a.Min, a.Max = a.Min/r, a.Max*r
			return
		}
		d := 0.03 * (a.Max - a.Min)
		a.Min, a.Max = a.Min-d, a.Max+d
	}
	if !f.fixedX {
		pad(&f.pl.X, logX)
	}
	if !f.fixedY {
		pad(&f.pl.Y, false)
	}
}

// render lays out the title, the axes and the legend column and writes
// the SVG document.
func (f *figure) render(title string) ([]byte, error) {
	w, h := plotWidth, plotHeight
	var legW, legH vg.Length
	entries := f.legendEntries()
	below := false
	if entries > 0 {
		r := f.legend.Rectangle(draw.New(vgsvg.New(w, h)))
		legW, legH = r.Size().X+2*legendPad, r.Size().Y+2*legendPad
		if legW > legendMaxShare*w {
			below = true
		}
	}
	if f.scale != nil {
		legW, legH = 96, h-titleHeight
	}
	axesW, axesH := w, h-titleHeight
	var legX, legY vg.Length // the legend column's place, from the top left
	switch {
	case legW == 0:
	case below:
		h += legH
		legX, legY = 0, titleHeight+axesH
		legW = w
	default:
		axesW = w - legW
		legX, legY = axesW, titleHeight
	}
	fitLabel(&f.pl.X.Label.TextStyle, f.pl.X.Label.Text, axesW-24)
	fitLabel(&f.pl.Y.Label.TextStyle, f.pl.Y.Label.Text, axesH-16)
	// A margin keeps the glyph boxes of the axis labels (the rotated y
	// label's ascent) inside the canvas.
	axes, err := drawSVG(axesW, axesH, func(c draw.Canvas) { f.pl.Draw(draw.Crop(c, 4, -4, 2, -2)) })
	if err != nil {
		return nil, err
	}
	var legend []byte
	if legW > 0 {
		legend, err = drawSVG(legW, legH, f.drawLegend)
		if err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?xml version=\"1.0\"?>\n<svg width=\"%spt\" height=\"%spt\" viewBox=\"0 0 %s %s\"\n\txmlns=\"http://www.w3.org/2000/svg\"\n\txmlns:xlink=\"http://www.w3.org/1999/xlink\">\n",
		num(w), num(h), num(w), num(h))
	fmt.Fprintf(&b, "<rect width=\"%s\" height=\"%s\" style=\"fill:#FFFFFF\" />\n", num(w), num(h))
	size := 13.0
	if tw := f.textWidth(title, size); tw > float64(w)-8 {
		size *= (float64(w) - 8) / tw
	}
	fmt.Fprintf(&b, "<text class=\"dais-title\" x=\"%s\" y=\"15\" text-anchor=\"middle\" style=\"font-family:Liberation Sans;font-weight:bold;font-size:%spx\">%s</text>\n",
		num(w/2), num(vg.Length(size)), html.EscapeString(title))
	nest(&b, "dais-axes", 0, titleHeight, axesW, axesH, axes)
	if legend != nil {
		nest(&b, "dais-legend", legX, legY, legW, legH, legend)
	}
	b.WriteString("</svg>\n")
	return b.Bytes(), nil
}

// fitLabel shrinks an axis label's font until the label fits in room.
func fitLabel(sty *text.Style, label string, room vg.Length) {
	for sty.Font.Size > 7 && sty.Width(label) > room {
		sty.Font.Size -= 0.5
	}
}

func (f *figure) legendEntries() int {
	// plot.Legend keeps its entries private; its rectangle is empty
	// without any.
	r := f.legend.Rectangle(draw.New(vgsvg.New(10, 10)))
	if r.Size().Y <= 0 {
		return 0
	}
	return 1
}

func (f *figure) textWidth(s string, size float64) float64 {
	sty := text.Style{Font: font.From(plot.DefaultFont, vg.Length(size)), Handler: plot.DefaultTextHandler}
	sty.Font.Weight = 700
	return float64(sty.Width(s))
}

// drawLegend draws the legend entries, or the colour scale, in the legend
// column.
func (f *figure) drawLegend(c draw.Canvas) {
	if f.scale != nil {
		cb := plot.New()
		cb.Add(&colorScale{cm: f.scale})
		cb.HideX()
		cb.Y.Label.Text = f.scaleLabel
		cb.Y.Padding, cb.X.Padding = 0, 0
		cb.Y.Label.TextStyle.Font.Size = 10
		cb.Draw(draw.Crop(c, legendPad, -legendPad, 12, -12))
		return
	}
	f.legend.Draw(draw.Crop(c, legendPad, -legendPad, legendPad, -legendPad))
}

// drawSVG draws onto a fresh SVG canvas of the given size and returns the
// document.
func drawSVG(w, h vg.Length, fn func(draw.Canvas)) ([]byte, error) {
	c := vgsvg.New(w, h)
	fn(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var svgOpen = regexp.MustCompile(`(?s)^.*?<svg[^>]*>`)

// nest writes an SVG document as an element of another, placed at x, y.
func nest(b *bytes.Buffer, class string, x, y, w, h vg.Length, doc []byte) {
	inner := svgOpen.ReplaceAll(doc, nil)
	inner = bytes.TrimSpace(inner)
	inner = bytes.TrimSuffix(inner, []byte("</svg>"))
	fmt.Fprintf(b, "<svg class=\"%s\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" viewBox=\"0 0 %s %s\">\n", class, num(x), num(y), num(w), num(h), num(w), num(h))
	b.Write(bytes.TrimSpace(inner))
	b.WriteString("\n</svg>\n")
}

func num(v vg.Length) string { return FormatValue(math.Round(float64(v)*100) / 100) }

// series is one line to draw: its name and points, and optionally a band
// (a 95% CI) around it.
type series struct {
	name   string
	xy     plotter.XYs
	lo, hi []float64
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

// dataName is how a plot names its i-th data key: its Names entry, or
// the key.
func dataName(p metrics.Plot, i int) string {
	if i < len(p.Names) && p.Names[i] != "" {
		return p.Names[i]
	}
	return p.Data[i]
}

func (f *figure) drawCDF(runs []Named, p metrics.Plot, scale float64) error {
	var ls []series
	for _, r := range runs {
		for i, k := range p.Data {
			d := r.Run.Dist(k)
			if d == nil || len(d.Q) == 0 {
				continue
			}
			xy := make(plotter.XYs, 0, len(d.Q))
			for i := range d.Q {
				if x := d.V[i] * scale; !p.LogX || x > 0 { // a log axis has no 0
					xy = append(xy, plotter.XY{X: x, Y: d.Q[i]})
				}
			}
			ls = append(ls, series{name: label(runs, r, len(p.Data), dataName(p, i)), xy: xy})
		}
	}
	f.pl.Y.Min, f.pl.Y.Max = -0.02, 1.03
	f.fixedY = true
	return f.addLines(ls, plotter.NoStep)
}

func (f *figure) drawSeries(runs []Named, p metrics.Plot, scale float64) error {
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
		for i, key := range p.Data {
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
			ls = append(ls, series{name: label(runs, r, len(p.Data), dataName(p, i)), xy: xy})
		}
	}
	for i, b := range p.Bands {
		f.pl.Add(&band{from: float64(b.FromNs) / 1e9, until: float64(b.UntilNs) / 1e9, label: b.Label, row: i})
	}
	if len(p.Bands) > 0 {
		f.legend.Add("shaded: "+bandWhat(p.Bands), bandThumb{bandColor})
	}
	return f.addLines(ls, plotter.PostStep)
}

// bandWhat names what the shaded windows are: "partition 1, partition 2".
func bandWhat(bs []metrics.Band) string {
	var names []string
	for _, b := range bs {
		if !slices.Contains(names, b.Label) {
			names = append(names, b.Label)
		}
	}
	return strings.Join(names, ", ")
}

func (f *figure) drawLines(runs []Named, p metrics.Plot, scale float64) error {
	var ls []series
	for _, r := range runs {
		for _, k := range p.Data {
			c := r.Run.Curve(k)
			if c == nil {
				continue
			}
			for _, l := range c.Lines {
				s := series{name: l.Name, xy: make(plotter.XYs, len(l.X))}
				for i := range l.X {
					s.xy[i] = plotter.XY{X: l.X[i], Y: l.Y[i] * scale}
				}
				if len(l.CI95Lo) == len(l.X) && len(l.CI95Hi) == len(l.X) {
					for i := range l.X {
						s.lo = append(s.lo, l.CI95Lo[i]*scale)
						s.hi = append(s.hi, l.CI95Hi[i]*scale)
					}
				}
				if p.Kind == metrics.PlotLorenz {
					// A Lorenz curve's figure stem_gini sits beside it.
					if g, ok := r.Run.Figure(strings.TrimSuffix(k, "_lorenz") + "_gini"); ok {
						s.name = fmt.Sprintf("%s (Gini %s)", s.name, FormatValue(g.Value))
					}
				}
				if len(runs) > 1 {
					s.name = r.Name + ": " + s.name
				}
				ls = append(ls, s)
			}
		}
	}
	if p.Kind == metrics.PlotLorenz {
		eq, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
		eq.Color = color.Gray{Y: 120}
		eq.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		f.pl.Add(eq)
		f.legend.Add("perfect equality", eq)
		f.pl.X.Min, f.pl.X.Max, f.pl.Y.Min, f.pl.Y.Max = -0.02, 1.02, -0.02, 1.02
		f.fixedX, f.fixedY = true, true
	}
	return f.addLines(ls, plotter.NoStep)
}

// addLines draws each series in its own colour and dash, with its band
// when it has one, splitting it where it has no value (NaN) so that gaps
// show as gaps. A single series needs no legend.
func (f *figure) addLines(ls []series, step plotter.StepKind) error {
	if len(ls) == 0 {
		return errNoData
	}
	for i, s := range ls {
		if s.lo != nil {
			f.addBand(s, plotutil.Color(i))
		}
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
			f.pl.Add(l)
			if first == nil {
				first = l
			}
		}
		if first != nil && (len(ls) > 1 || f.legendEntries() > 0) {
			f.legend.Add(s.name, first)
		}
	}
	if len(ls) > 1 && slices.ContainsFunc(ls, func(s series) bool { return s.lo != nil }) {
		f.legend.Add("band: 95% CI over repetitions", bandThumb{color.NRGBA{R: 120, G: 120, B: 120, A: 70}})
	}
	return nil
}

// addBand shades a series' confidence band in its colour.
func (f *figure) addBand(s series, c color.Color) {
	var pts plotter.XYs
	var back plotter.XYs
	for i, p := range s.xy {
		if math.IsNaN(s.lo[i]) || math.IsNaN(s.hi[i]) {
			continue
		}
		pts = append(pts, plotter.XY{X: p.X, Y: s.lo[i]})
		back = append(back, plotter.XY{X: p.X, Y: s.hi[i]})
	}
	if len(pts) < 2 {
		return
	}
	slices.Reverse(back)
	poly, err := plotter.NewPolygon(append(pts, back...))
	if err != nil {
		return
	}
	r, g, b, _ := c.RGBA()
	poly.Color = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 56}
	poly.LineStyle.Width = 0
	f.pl.Add(poly)
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

func (f *figure) drawBars(runs []Named, p metrics.Plot, scale float64) error {
	type set struct {
		name         string
		vals, lo, hi []float64
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
			st := set{name: s.Name, vals: make([]float64, len(labels)), lo: make([]float64, len(labels)), hi: make([]float64, len(labels))}
			for i, l := range labels {
				// Runs may order or lack labels differently; match by name.
				st.vals[i], st.lo[i], st.hi[i] = 0, math.NaN(), math.NaN()
				if j := slices.Index(g.Labels, l); j >= 0 {
					st.vals[i] = s.Values[j] * scale
					if math.IsNaN(st.vals[i]) {
						st.vals[i] = 0
					}
					if j < len(s.CI95Lo) && j < len(s.CI95Hi) {
						st.lo[i], st.hi[i] = s.CI95Lo[j]*scale, s.CI95Hi[j]*scale
					}
				}
			}
			if len(runs) > 1 {
				st.name = r.Name + ": " + s.Name
			}
			sets = append(sets, st)
		}
	}
	if len(sets) == 0 {
		return errNoData
	}
	// Each label's bars share 80% of its slot (less for one or two
	// labels), side by side, in data units, so nothing leaves the axes
	// whatever the canvas.
	slot := [...]float64{0.35, 0.6, 0.8}[min(len(labels), 3)-1]
	w := slot / float64(len(sets))
	ci := false
	base, top := 0.0, 0.0
	if p.LogY {
		// Bars rise from the power of ten below the smallest value.
		lo := math.Inf(1)
		for _, s := range sets {
			for _, v := range append(slices.Clone(s.vals), s.hi...) {
				if v > 0 {
					lo, top = math.Min(lo, v), math.Max(top, v)
				}
			}
		}
		if math.IsInf(lo, 1) {
			return errNoData
		}
		base = math.Pow(10, math.Floor(math.Log10(lo)))
	}
	for i, s := range sets {
		x := make([]float64, len(labels))
		for j := range x {
			x[j] = float64(j) + (float64(i)-float64(len(sets)-1)/2)*w
		}
		b := &bars{x: x, y: s.vals, lo: s.lo, hi: s.hi, width: w * 0.92, color: plotutil.Color(i), base: base}
		f.pl.Add(b)
		ci = ci || b.hasCI()
		if len(sets) > 1 {
			f.legend.Add(s.name, b)
		}
	}
	if ci {
		f.legend.Add("whiskers: 95% CI over repetitions", whiskerThumb{})
	}
	f.pl.NominalX(labels...)
	f.pl.X.Min, f.pl.X.Max = -0.5, float64(len(labels))-0.5
	f.fixedX = true
	if p.LogY {
		f.pl.Y.Scale, f.pl.Y.Tick.Marker = plot.LogScale{}, logTicks{}
		f.pl.Y.Min, f.pl.Y.Max = base, top*1.5
		f.fixedY = true
		return nil
	}
	// Bars start at zero and keep a little room above the tallest.
	f.pl.Y.Min = math.Min(f.pl.Y.Min, 0)
	f.pl.Y.Max = math.Max(f.pl.Y.Max, 0)
	d := 0.06 * (f.pl.Y.Max - f.pl.Y.Min)
	if f.pl.Y.Min < 0 {
		f.pl.Y.Min -= d
	}
	f.pl.Y.Max += d
	f.fixedY = true
	return nil
}

// drawHeatmap draws series columns as rows of cells against time, the
// colour their value, with the colour scale in the legend column.
func (f *figure) drawHeatmap(runs []Named, p metrics.Plot, scale float64) error {
	r := runs[0].Run // one run: heatmaps do not overlay
	s := r.Series
	if s == nil {
		return errNoData
	}
	var rows [][]float64
	var names []string
	for i, key := range p.Data {
		c := r.Column(key)
		if c == nil {
			continue
		}
		row := make([]float64, len(c.Values))
		for j, v := range c.Values {
			row[j] = v * scale
		}
		rows = append(rows, row)
		names = append(names, dataName(p, i))
	}
	if len(rows) == 0 || len(rows[0]) == 0 {
		return errNoData
	}
	g := newCells(rows, float64(s.StepNs)/1e9, heatmapCells)
	lo, hi := zRange(g.z)
	if strings.HasSuffix(p.YLabel, "(fraction)") || strings.Contains(p.Caption, "fraction") {
		lo, hi = math.Min(lo, 0), math.Max(hi, 1)
	}
	if !(hi > lo) {
		hi = lo + 1
	}
	cm := moreland.Kindlmann()
	cm.SetMin(lo)
	cm.SetMax(hi)
	f.pl.Add(&heatmap{cells: g, cm: cm})
	f.pl.NominalY(names...)
	f.pl.Y.Min, f.pl.Y.Max = -0.5, float64(len(names))-0.5
	f.pl.X.Min, f.pl.X.Max = 0, float64(g.cols())*g.step
	f.fixedX, f.fixedY = true, true
	f.scale, f.scaleLabel = cm, scaleLabel(p)
	return nil
}

// scaleLabel is what a heatmap's colour means: the caption's unit, or
// "value".
func scaleLabel(p metrics.Plot) string {
	if m := unitOf.FindStringSubmatch(p.Caption); m != nil {
		return m[1]
	}
	return "value"
}

var unitOf = regexp.MustCompile(`^Colour: ([^.]+)\.`)

// cells is a heatmap's grid: rows of values, adjacent time steps averaged
// into at most max cells.
type cells struct {
	z    [][]float64
	step float64 // seconds per cell
}

func newCells(rows [][]float64, stepS float64, max int) *cells {
	n := len(rows[0])
	k := (n + max - 1) / max
	g := &cells{step: stepS * float64(k)}
	for _, row := range rows {
		var out []float64
		for i := 0; i < n; i += k {
			var sum float64
			m := 0
			for _, v := range row[i:min(i+k, len(row))] {
				if !math.IsNaN(v) {
					sum += v
					m++
				}
			}
			v := math.NaN()
			if m > 0 {
				v = sum / float64(m)
			}
			out = append(out, v)
		}
		g.z = append(g.z, out)
	}
	return g
}

func (g *cells) cols() int { return len(g.z[0]) }

func zRange(z [][]float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, row := range z {
		for _, v := range row {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return 0, 1
	}
	return lo, hi
}

// heatmap draws cells as rectangles in data units, a row's run of cells
// of one colour as one rectangle, each a hair wider than its cells so that
// no seam shows between neighbours; grey where a cell has no value.
type heatmap struct {
	cells *cells
	cm    palette.ColorMap
}

// Plot implements plot.Plotter.
func (h *heatmap) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	g := h.cells
	colorOf := func(v float64) color.Color {
		if math.IsNaN(v) {
			return color.Gray{Y: 235}
		}
		col, err := h.cm.At(math.Max(h.cm.Min(), math.Min(h.cm.Max(), v)))
		if err != nil {
			return color.Gray{Y: 235}
		}
		return col
	}
	const seam = 0.4
	for r, row := range g.z {
		y0, y1 := trY(float64(r)-0.5), trY(float64(r)+0.5)
		for start := 0; start < len(row); {
			col := colorOf(row[start])
			end := start + 1
			for end < len(row) && colorOf(row[end]) == col {
				end++
			}
			x0, x1 := trX(float64(start)*g.step), trX(float64(end)*g.step)
			pts := []vg.Point{{X: x0, Y: y0}, {X: x1 + seam, Y: y0}, {X: x1 + seam, Y: y1 + seam}, {X: x0, Y: y1 + seam}}
			c.FillPolygon(col, c.ClipPolygonXY(pts))
			start = end
		}
	}
}

// DataRange implements plot.DataRanger.
func (h *heatmap) DataRange() (xmin, xmax, ymin, ymax float64) {
	return 0, float64(h.cells.cols()) * h.cells.step, -0.5, float64(len(h.cells.z)) - 0.5
}

// colorScale draws a colour map as a vertical bar against its values (the
// y axis), in stripes (gonum's ColorBar draws a one-pixel image that SVG
// viewers keep at its aspect ratio, a hairline).
type colorScale struct{ cm palette.ColorMap }

// Plot implements plot.Plotter.
func (s *colorScale) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	const n = 96
	lo, hi := s.cm.Min(), s.cm.Max()
	for i := 0; i < n; i++ {
		v0, v1 := lo+(hi-lo)*float64(i)/n, lo+(hi-lo)*float64(i+1)/n
		col, err := s.cm.At((v0 + v1) / 2)
		if err != nil {
			continue
		}
		pts := []vg.Point{{X: trX(0), Y: trY(v0)}, {X: trX(1), Y: trY(v0)}, {X: trX(1), Y: trY(v1) + 0.4}, {X: trX(0), Y: trY(v1) + 0.4}}
		c.FillPolygon(col, c.ClipPolygonXY(pts))
	}
}

// DataRange implements plot.DataRanger.
func (s *colorScale) DataRange() (xmin, xmax, ymin, ymax float64) {
	return 0, 1, s.cm.Min(), s.cm.Max()
}

// bars draws one set of a group's bars in data units (so they never leave
// the axes), from zero to each value, with a whisker for the value's 95%
// CI where it has one.
type bars struct {
	x, y, lo, hi []float64
	width        float64
	color        color.Color
	// base is where bars start: 0, or on a log axis the power of ten
	// below the smallest value (bars at or below it are not drawn).
	base float64
}

func (b *bars) hasCI() bool {
	return slices.ContainsFunc(b.lo, func(v float64) bool { return !math.IsNaN(v) })
}

// Plot implements plot.Plotter.
func (b *bars) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	for i, x := range b.x {
		if b.base > 0 && !(b.y[i] > b.base) {
			continue // nothing to draw on a log axis
		}
		x0, x1 := trX(x-b.width/2), trX(x+b.width/2)
		y0, y1 := trY(b.base), trY(b.y[i])
		c.FillPolygon(b.color, c.ClipPolygonXY([]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}))
		if math.IsNaN(b.lo[i]) || math.IsNaN(b.hi[i]) {
			continue
		}
		sty := draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
		xm, cap := trX(x), (x1-x0)/4
		lo, hi := trY(math.Max(b.lo[i], b.base)), trY(b.hi[i])
		c.StrokeLines(sty, c.ClipLinesXY([]vg.Point{{X: xm, Y: lo}, {X: xm, Y: hi}})...)
		c.StrokeLines(sty, c.ClipLinesXY([]vg.Point{{X: xm - cap, Y: lo}, {X: xm + cap, Y: lo}})...)
		c.StrokeLines(sty, c.ClipLinesXY([]vg.Point{{X: xm - cap, Y: hi}, {X: xm + cap, Y: hi}})...)
	}
}

// DataRange implements plot.DataRanger.
func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = math.Inf(1), math.Inf(-1), b.base, b.base
	for i, x := range b.x {
		xmin, xmax = math.Min(xmin, x-b.width/2), math.Max(xmax, x+b.width/2)
		for _, v := range []float64{b.y[i], b.lo[i], b.hi[i]} {
			if !math.IsNaN(v) && (b.base == 0 || v > 0) {
				ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
			}
		}
	}
	return xmin, xmax, ymin, ymax
}

// Thumbnail implements plot.Thumbnailer.
func (b *bars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(b.color, c.ClipPolygonXY(pts))
}

// band shades a window of time across the whole height of the axes, with
// its label at the top.
type band struct {
	from, until float64
	label       string
	row         int
}

var bandColor = color.NRGBA{R: 230, G: 120, B: 30, A: 40}

// Plot implements plot.Plotter.
func (b *band) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, _ := plt.Transforms(&c)
	x0, x1 := max(trX(b.from), c.Min.X), min(trX(b.until), c.Max.X)
	if x1 <= x0 {
		return
	}
	c.FillPolygon(bandColor, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	sty := text.Style{Font: font.From(plot.DefaultFont, 9), Color: color.Gray{Y: 70}, Handler: plot.DefaultTextHandler}
	if sty.Width(b.label) < x1-x0-4 {
		y := c.Max.Y - sty.Height(b.label)*vg.Length(1+b.row%3)
		c.FillText(sty, vg.Point{X: x0 + 3, Y: y}, b.label)
	}
}

// DataRange implements plot.DataRanger: the window's time, no values.
func (b *band) DataRange() (xmin, xmax, ymin, ymax float64) {
	return b.from, b.until, math.Inf(1), math.Inf(-1)
}

// bandThumb is a legend icon for shaded windows and CI bands.
type bandThumb struct{ color color.Color }

// Thumbnail implements plot.Thumbnailer.
func (b bandThumb) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.color, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// whiskerThumb is a legend icon for error bars.
type whiskerThumb struct{}

// Thumbnail implements plot.Thumbnailer.
func (whiskerThumb) Thumbnail(c *draw.Canvas) {
	sty := draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
	xm := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(sty, xm, c.Min.Y, xm, c.Max.Y)
	c.StrokeLine2(sty, xm-3, c.Min.Y, xm+3, c.Min.Y)
	c.StrokeLine2(sty, xm-3, c.Max.Y, xm+3, c.Max.Y)
}

var xmlProlog = regexp.MustCompile(`(?s)^<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)

// inlineSVG strips the XML prolog and comment so an SVG document can sit
// inside HTML.
func inlineSVG(svg []byte) []byte {
	return xmlProlog.ReplaceAll(svg, nil)
}
