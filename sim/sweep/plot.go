package sweep

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	// reports also sets the plots' font, so sweep plots look like run
	// plots.
	"github.com/dais-sim/dais/reports"
)

// Plot size: the run reports'.
const (
	plotWidth  = 7 * vg.Inch
	plotHeight = 3.6 * vg.Inch
	gap        = 6 // points between the plot and what stands beside it
)

// axisView is how one axis is drawn: a coordinate per distinct value.
type axisView struct {
	name  string
	label string // with the unit: "spot check (%)"
	// values are the distinct values in first-seen order (the axis'
	// order for a grid or zip), x their coordinates: the number a value
	// writes when every value is a number with the same unit, else its
	// position (categorical, with the text as tick labels).
	values  []string
	x       []float64
	numeric bool
	log     bool
	// of maps each point to its value's position in values.
	of []int
}

var numberUnit = regexp.MustCompile(`^([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*([^0-9].*)?$`)

func newAxisView(a PlanAxis, i int, points []Point) axisView {
	v := axisView{name: a.Name, label: a.Name, numeric: true}
	pos := map[string]int{}
	unit, first := "", true
	for _, p := range points {
		text := p.Values[i]
		k, ok := pos[text]
		if !ok {
			k = len(v.values)
			pos[text] = k
			v.values = append(v.values, text)
			m := numberUnit.FindStringSubmatch(text)
			x := math.NaN()
			if m != nil {
				x, _ = strconv.ParseFloat(m[1], 64)
			}
			if m == nil || (!first && m[2] != unit) {
				v.numeric = false
			}
			if m != nil && first {
				unit, first = m[2], false
			}
			v.x = append(v.x, x)
		}
		v.of = append(v.of, k)
	}
	if !v.numeric {
		for k := range v.x {
			v.x[k] = float64(k)
		}
		return v
	}
	if unit != "" {
		v.label += " (" + unit + ")"
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v.x {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	// A log range is drawn on a log axis; so is a list of positive
	// numbers spanning two decades or more.
	v.log = lo > 0 && (a.Scale == "log" || hi/lo >= 100)
	return v
}

// ticks puts a categorical axis' values under their positions.
func (v axisView) setTicks(ax *plot.Axis) {
	switch {
	case !v.numeric:
		ticks := make(plot.ConstantTicks, len(v.values))
		for k, s := range v.values {
			ticks[k] = plot.Tick{Value: float64(k), Label: s}
		}
		ax.Tick.Marker = ticks
		ax.Min, ax.Max = -0.5, float64(len(v.values))-0.5
	case v.log:
		ax.Scale = plot.LogScale{}
		ax.Tick.Marker = plot.LogTicks{Prec: -1}
	}
}

// curve is one line of a figure against an axis: its mean at each x, with
// the 95% CI (NaN where fewer than two repetitions define it).
type curve struct {
	name         string
	x            []float64
	mean, lo, hi []float64
}

// colors gives n ordered colors for lines that stand for ordered values
// (another axis' values), from dark blue to light green, avoiding the
// palette's near-black and near-white ends.
func colors(n int) []color.Color {
	if n == 1 {
		return []color.Color{color.RGBA{R: 31, G: 95, B: 168, A: 255}}
	}
	cm := moreland.Kindlmann()
	cm.SetMin(0)
	cm.SetMax(1)
	out := make([]color.Color, n)
	for i := range out {
		c, err := cm.At(0.2 + 0.55*float64(i)/float64(n-1))
		if err != nil {
			panic(err)
		}
		out[i] = c
	}
	return out
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

// linePlot draws curves against an axis, each with its CI as a band, and
// a legend beside the plot (outside the data) when there are several.
func linePlot(title, ylabel, legendTitle string, xv axisView, curves []curve) ([]byte, error) {
	pl := newPlot(title, xv.label, ylabel)
	xv.setTicks(&pl.X)
	leg := plot.NewLegend()
	entries := 0
	if len(curves) > 1 && legendTitle != "" {
		leg.Add(legendTitle)
		entries++
	}
	cols := colors(len(curves))
	// Bands of many lines overlap: the more lines, the fainter each band.
	alpha := uint8(max(16, 60/min(len(curves), 4)))
	for i, c := range curves {
		for _, seg := range segments(c.x, c.lo, c.hi) {
			band, err := plotter.NewPolygon(seg)
			if err != nil {
				return nil, err
			}
			band.Color = withAlpha(cols[i], alpha)
			band.LineStyle.Width = 0
			pl.Add(band)
		}
		var first *plotter.Line
		for _, seg := range segments(c.x, c.mean, nil) {
			l, s, err := plotter.NewLinePoints(seg)
			if err != nil {
				return nil, err
			}
			l.Color, l.Width = cols[i], vg.Points(1.5)
			s.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = cols[i], vg.Points(2), draw.CircleGlyph{}
			pl.Add(l, s)
			if first == nil {
				first = l
			}
		}
		if first != nil && len(curves) > 1 {
			leg.Add(c.name, first)
			entries++
		}
	}
	headroom(&pl.Y)
	return render(pl, &leg, entries)
}

// segments are the runs of x where the values (and his, if given) are
// defined: one polygon or line each, so that gaps show as gaps. With his,
// a segment is the band's outline: lo forwards, then hi backwards.
func segments(x, lo, hi []float64) []plotter.XYs {
	var out []plotter.XYs
	ok := func(i int) bool {
		return !math.IsNaN(lo[i]) && !math.IsInf(lo[i], 0) && (hi == nil || !math.IsNaN(hi[i]) && !math.IsInf(hi[i], 0))
	}
	for i := 0; i < len(x); {
		if !ok(i) {
			i++
			continue
		}
		j := i
		for j < len(x) && ok(j) {
			j++
		}
		var seg plotter.XYs
		for k := i; k < j; k++ {
			seg = append(seg, plotter.XY{X: x[k], Y: lo[k]})
		}
		if hi != nil {
			if j-i < 2 {
				i = j
				continue // a band needs two points
			}
			for k := j - 1; k >= i; k-- {
				seg = append(seg, plotter.XY{X: x[k], Y: hi[k]})
			}
		}
		out = append(out, seg)
		i = j
	}
	return out
}

// scatterPlot draws one mark per point with its CI as an error bar: a
// figure against an axis of a sampled design.
func scatterPlot(title, ylabel string, xv axisView, x, mean, lo, hi []float64) ([]byte, error) {
	pl := newPlot(title, xv.label, ylabel)
	xv.setTicks(&pl.X)
	var pts plotter.XYs
	var errs plotter.YErrors
	var bars plotter.XYs
	for i := range x {
		if math.IsNaN(mean[i]) {
			continue
		}
		pts = append(pts, plotter.XY{X: x[i], Y: mean[i]})
		if !math.IsNaN(lo[i]) && !math.IsNaN(hi[i]) {
			bars = append(bars, plotter.XY{X: x[i], Y: mean[i]})
			errs = append(errs, struct{ Low, High float64 }{mean[i] - lo[i], hi[i] - mean[i]})
		}
	}
	if len(pts) == 0 {
		pl.Title.Text += " (no data)"
		return render(pl, nil, 0)
	}
	col := colors(1)[0]
	if len(bars) > 0 {
		eb, err := plotter.NewYErrorBars(yErrs{bars, errs})
		if err != nil {
			return nil, err
		}
		eb.Color = withAlpha(col, 120)
		pl.Add(eb)
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, err
	}
	s.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = col, vg.Points(2.5), draw.CircleGlyph{}
	pl.Add(s)
	headroom(&pl.Y)
	return render(pl, nil, 0)
}

type yErrs struct {
	plotter.XYs
	plotter.YErrors
}

// heatPlot draws a figure's means over a grid of two axes, each cell
// labelled with its value, and a colour bar beside the plot.
func heatPlot(title, zlabel string, xv, yv axisView, z [][]float64) ([]byte, error) {
	pl := newPlot(title, xv.name, yv.name)
	grid := heatGrid{z: z}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, col := range z {
		for _, v := range col {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if !(lo < hi) {
		lo, hi = lo-0.5, lo+0.5 // one value (or none): any colour will do
		if math.IsInf(lo, 0) {
			lo, hi = 0, 1
		}
	}
	cm := moreland.Kindlmann()
	cm.SetMin(0)
	cm.SetMax(1)
	// The palette's ends are near black and near white; the middle 80%
	// keeps every cell (and white or black text on it) visible on a
	// white page.
	shade := func(v float64) color.Color {
		c, err := cm.At(0.1 + 0.8*(v-lo)/(hi-lo))
		if err != nil {
			panic(err)
		}
		return c
	}
	pal := make(colorList, 255)
	for i := range pal {
		pal[i] = shade(lo + (hi-lo)*float64(i)/float64(len(pal)-1))
	}
	hm := plotter.NewHeatMap(grid, pal)
	hm.Min, hm.Max = lo, hi
	hm.NaN = color.Gray{Y: 200}
	pl.Add(hm)
	var xys plotter.XYs
	var labels []string
	var styles []color.Color
	for c := range z {
		for r := range z[c] {
			v := z[c][r]
			if math.IsNaN(v) {
				continue
			}
			xys = append(xys, plotter.XY{X: float64(c), Y: float64(r)})
			labels = append(labels, reports.FormatValue(v))
			styles = append(styles, contrast(shade(v)))
		}
	}
	if len(xys) > 0 {
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return nil, err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Color = styles[i]
			lb.TextStyle[i].XAlign, lb.TextStyle[i].YAlign = draw.XCenter, draw.YCenter
			lb.TextStyle[i].Font.Size = vg.Points(7)
		}
		pl.Add(lb)
	}
	// Cells are equal whatever the values: a log-spaced axis reads as a
	// log axis, and the tick labels say the values.
	for _, ax := range []struct {
		a *plot.Axis
		v axisView
	}{{&pl.X, xv}, {&pl.Y, yv}} {
		ticks := make(plot.ConstantTicks, len(ax.v.values))
		for k, s := range ax.v.values {
			ticks[k] = plot.Tick{Value: float64(k), Label: s}
		}
		ax.a.Tick.Marker = ticks
		ax.a.Min, ax.a.Max = -0.5, float64(len(ax.v.values))-0.5
	}
	bar := plot.New()
	bar.Y.Tick.Marker = ticks{}
	bar.HideX()
	bar.Y.Label.Text = zlabel
	bar.Y.Padding = 0
	// Drawn as rectangles: gonum's ColorBar embeds a one-pixel-wide image,
	// which SVG viewers keep at its aspect ratio, a hairline.
	const bands = 64
	for i := 0; i < bands; i++ {
		y0, y1 := lo+(hi-lo)*float64(i)/bands, lo+(hi-lo)*float64(i+1)/bands
		top := y1 // overlapping the next band hides anti-aliasing seams
		if i < bands-1 {
			top += (y1 - y0) / 2
		}
		r, err := plotter.NewPolygon(plotter.XYs{{X: 0, Y: y0}, {X: 1, Y: y0}, {X: 1, Y: top}, {X: 0, Y: top}})
		if err != nil {
			return nil, err
		}
		r.Color = shade((y0 + y1) / 2)
		r.LineStyle.Width = 0
		bar.Add(r)
	}
	bar.X.Min, bar.X.Max, bar.Y.Min, bar.Y.Max = 0, 1, lo, hi
	c := vgsvg.New(plotWidth, plotHeight)
	dc := draw.New(c)
	barW := vg.Inch * 1.15
	pl.Draw(draw.Crop(dc, 0, -barW, 0, 0))
	bar.Draw(draw.Crop(dc, plotWidth-barW+vg.Points(gap), -vg.Points(gap), vg.Points(30), -vg.Points(24)))
	return svgBytes(c)
}

// colorList is a palette of given colours.
type colorList []color.Color

func (l colorList) Colors() []color.Color { return l }

type heatGrid struct{ z [][]float64 } // z[column][row]

func (g heatGrid) Dims() (int, int)   { return len(g.z), len(g.z[0]) }
func (g heatGrid) Z(c, r int) float64 { return g.z[c][r] }
func (g heatGrid) X(c int) float64    { return float64(c) }
func (g heatGrid) Y(r int) float64    { return float64(r) }

// contrast is black or white, whichever reads better on c.
func contrast(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	lum := 0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)
	if lum > 0.5*0xffff {
		return color.Black
	}
	return color.White
}

// paretoPlot draws every point's two objectives (means, with CIs as error
// bars for the front), the non-dominated points joined as the front and
// labelled with their index.
func paretoPlot(title, xlabel, ylabel string, x, y, xlo, xhi, ylo, yhi []float64, front []int, index []int) ([]byte, error) {
	pl := newPlot(title, xlabel, ylabel)
	onFront := map[int]bool{}
	for _, i := range front {
		onFront[i] = true
	}
	var rest, fr plotter.XYs
	var frLabels []string
	var xbars, ybars plotter.XYs
	var xerr plotter.XErrors
	var yerr plotter.YErrors
	for i := range x {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) {
			continue
		}
		if !onFront[i] {
			rest = append(rest, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	tied := make([]int, 0, len(front)) // per mark, how many more points share it
	for k, i := range front {
		// Points with the same means (an axis that does not move these
		// figures) share one mark, labelled "first (+more)".
		if k > 0 && x[i] == x[front[k-1]] && y[i] == y[front[k-1]] {
			tied[len(tied)-1]++
			frLabels[len(frLabels)-1] = fmt.Sprintf("%s (+%d)", strings.SplitN(frLabels[len(frLabels)-1], " ", 2)[0], tied[len(tied)-1])
			continue
		}
		tied = append(tied, 0)
		fr = append(fr, plotter.XY{X: x[i], Y: y[i]})
		frLabels = append(frLabels, strconv.Itoa(index[i]))
		if !math.IsNaN(xlo[i]) && !math.IsNaN(xhi[i]) {
			xbars = append(xbars, plotter.XY{X: x[i], Y: y[i]})
			xerr = append(xerr, struct{ Low, High float64 }{x[i] - xlo[i], xhi[i] - x[i]})
		}
		if !math.IsNaN(ylo[i]) && !math.IsNaN(yhi[i]) {
			ybars = append(ybars, plotter.XY{X: x[i], Y: y[i]})
			yerr = append(yerr, struct{ Low, High float64 }{y[i] - ylo[i], yhi[i] - y[i]})
		}
	}
	leg := plot.NewLegend()
	entries := 0
	grey := color.Gray{Y: 150}
	frontColor := color.RGBA{R: 200, G: 55, B: 45, A: 255}
	if len(rest) > 0 {
		s, err := plotter.NewScatter(rest)
		if err != nil {
			return nil, err
		}
		s.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = grey, vg.Points(2.5), draw.CircleGlyph{}
		pl.Add(s)
		leg.Add("dominated", s)
		entries++
	}
	if len(fr) > 0 {
		if len(xbars) > 0 {
			eb, err := plotter.NewXErrorBars(xErrs{xbars, xerr})
			if err != nil {
				return nil, err
			}
			eb.Color = withAlpha(frontColor, 110)
			pl.Add(eb)
		}
		if len(ybars) > 0 {
			eb, err := plotter.NewYErrorBars(yErrs{ybars, yerr})
			if err != nil {
				return nil, err
			}
			eb.Color = withAlpha(frontColor, 110)
			pl.Add(eb)
		}
		l, s, err := plotter.NewLinePoints(fr)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = frontColor, vg.Points(1.2)
		l.StepStyle = plotter.NoStep
		s.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = frontColor, vg.Points(3), draw.CircleGlyph{}
		pl.Add(l, s)
		leg.Add("Pareto front (point index)", l, s)
		entries++
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: fr, Labels: frLabels})
		if err != nil {
			return nil, err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font.Size = vg.Points(8)
			lb.TextStyle[i].Color = frontColor
		}
		lb.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(3)}
		pl.Add(lb)
	}
	if entries == 0 {
		pl.Title.Text += " (no data)"
	}
	headroom(&pl.X)
	headroom(&pl.Y)
	return render(pl, &leg, entries)
}

type xErrs struct {
	plotter.XYs
	plotter.XErrors
}

// headroom widens a linear axis by 4% of its range each way, so that
// bands, error bars and labels at the ends do not touch the frame.
func headroom(ax *plot.Axis) {
	if _, log := ax.Scale.(plot.LogScale); log || !(ax.Max > ax.Min) {
		return
	}
	d := 0.04 * (ax.Max - ax.Min)
	ax.Min, ax.Max = ax.Min-d, ax.Max+d
}

// ticks are gonum's default ticks labelled as reports write numbers:
// 2500, not 2500.00.
type ticks struct{}

func (ticks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = reports.FormatValue(ts[i].Value)
		}
	}
	return ts
}

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	pl := plot.New()
	pl.X.Tick.Marker, pl.Y.Tick.Marker = ticks{}, ticks{}
	pl.Title.Text = title
	pl.X.Label.Text = xlabel
	pl.Y.Label.Text = ylabel
	pl.Add(plotter.NewGrid())
	return pl
}

// render draws pl with its legend (when it has entries) in a column to
// the right of the plot, outside the data.
func render(pl *plot.Plot, leg *plot.Legend, entries int) ([]byte, error) {
	c := vgsvg.New(plotWidth, plotHeight)
	dc := draw.New(c)
	if leg == nil || entries == 0 {
		pl.Draw(dc)
		return svgBytes(c)
	}
	leg.Top, leg.Left = true, true
	leg.TextStyle.Font.Size = vg.Points(10)
	leg.Padding = vg.Points(2)
	r := leg.Rectangle(dc)
	w := r.Max.X - r.Min.X + vg.Points(2*gap)
	w = min(w, plotWidth/3) // a long name is cut rather than squeeze the plot
	pl.Draw(draw.Crop(dc, 0, -w, 0, 0))
	// Below the title, level with the top of the data.
	top := pl.Title.TextStyle.Rectangle(pl.Title.Text).Max.Y - pl.Title.TextStyle.Rectangle(pl.Title.Text).Min.Y + pl.Title.Padding + vg.Points(gap)
	leg.Draw(draw.Crop(dc, plotWidth-w+vg.Points(gap), 0, 0, -top))
	return svgBytes(c)
}

func svgBytes(c *vgsvg.Canvas) ([]byte, error) {
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("sweep: plot: %w", err)
	}
	return b.Bytes(), nil
}
