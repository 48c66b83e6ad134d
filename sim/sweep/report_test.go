package sweep

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dais-sim/dais/metrics"
)

// resultOf is a Result whose points have figures a and b with the given
// means (NaN: the point lacks the figure).
func resultOf(goals [2]string, a, b []float64) *Result {
	r := &Result{Plan: &Plan{Design: "grid", Repetitions: 1, Axes: []PlanAxis{{Name: "x", Key: "x", Scale: "linear"}},
		Objectives: []Objective{{Figure: "a", Goal: goals[0]}, {Figure: "b", Goal: goals[1]}}}}
	for i := range a {
		r.Plan.Points = append(r.Plan.Points, Point{Index: i, Values: []string{string(rune('a' + i))}, Hash: strings.Repeat("0", 64)})
		run := &metrics.Run{}
		if !math.IsNaN(a[i]) {
			run.Figures = append(run.Figures, metrics.Figure{Key: "a", Value: a[i]})
		}
		run.Figures = append(run.Figures, metrics.Figure{Key: "b", Value: b[i]})
		r.Runs = append(r.Runs, run)
	}
	return r
}

func TestParetoFront(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		goals [2]string
		a, b  []float64
		want  []int
	}{
		// Minimize both: (1,5), (2,2), (4,1) trade off; (3,3) and (5,5) are beaten.
		{[2]string{"minimize", "minimize"}, []float64{3, 1, 2, 5, 4}, []float64{3, 5, 2, 5, 1}, []int{1, 2, 4}},
		// Maximize a, minimize b.
		{[2]string{"maximize", "minimize"}, []float64{1, 2, 3}, []float64{1, 1, 2}, []int{0, 1, 2}[1:]},
		// Ties are all on the front; a point without the figure is not.
		{[2]string{"minimize", "minimize"}, []float64{1, 1, nan, 2}, []float64{1, 1, 0, 2}, []int{0, 1}},
	} {
		_, _, got, ok := resultOf(tc.goals, tc.a, tc.b).front()
		if !ok || !slices.Equal(got, tc.want) {
			t.Errorf("%v %v %v: front %v, want %v", tc.goals, tc.a, tc.b, got, tc.want)
		}
	}
	// Against the definition, on random points: no front point is
	// dominated, and every other point is.
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := make([]float64, 60), make([]float64, 60)
	for i := range a {
		a[i], b[i] = math.Round(rng.Float64()*20), math.Round(rng.Float64()*20)
	}
	_, _, front, _ := resultOf([2]string{"minimize", "maximize"}, a, b).front()
	dominated := func(i int) bool {
		for j := range a {
			if a[j] <= a[i] && b[j] >= b[i] && (a[j] < a[i] || b[j] > b[i]) {
				return true
			}
		}
		return false
	}
	for i := range a {
		if slices.Contains(front, i) == dominated(i) {
			t.Errorf("point %d (%v, %v): on the front %v, dominated %v", i, a[i], b[i], slices.Contains(front, i), dominated(i))
		}
	}
}

// Values with one unit are numbers on the axis; a log range, or numbers
// spanning two decades, get a log axis; anything else is categorical.
func TestAxisView(t *testing.T) {
	pts := func(vals ...string) []Point {
		var ps []Point
		for _, v := range vals {
			ps = append(ps, Point{Values: []string{v}})
		}
		return ps
	}
	for _, tc := range []struct {
		scale   string
		vals    []string
		numeric bool
		log     bool
		label   string
	}{
		{"linear", []string{"1%", "5%", "10%"}, true, false, "x (%)"},
		{"log", []string{"1ms", "10ms", "100ms"}, true, true, "x (ms)"},
		{"linear", []string{"0.001", "0.01", "0.5"}, true, true, "x"},
		{"linear", []string{"1s", "2m"}, false, false, "x"},
		{"linear", []string{"fifo", "fair_share"}, false, false, "x"},
	} {
		v := newAxisView(PlanAxis{Name: "x", Scale: tc.scale}, 0, pts(tc.vals...))
		if v.numeric != tc.numeric || v.log != tc.log || v.label != tc.label {
			t.Errorf("%v (%s): numeric %v log %v label %q", tc.vals, tc.scale, v.numeric, v.log, v.label)
		}
	}
}

// The report draws the figures the sweep names against each axis, a heat
// map for its two-axis grid and the Pareto front; a figure no axis moves
// is listed instead, and a key no point has is named.
func TestReportContents(t *testing.T) {
	out := runAndMerge(t, smallSweep+"plot: [propagation_ms_p50, nodes, no_such_figure]\n")
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, want := range []string{
		"### 1. propagation_ms_p50 against protocol.gossip.degree",
		"### 2. propagation_ms_p50 against loss",
		"### 3. propagation_ms_p50 over protocol.gossip.degree and loss",
		"against protocol.gossip.degree", "Pareto front of propagation_ms_p50 and messages_sent",
		"## Figures the axes do not move", "| `nodes` | 40 |",
		"no_such_figure",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	res, _ := Merge(out, []string{out})
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "no_such_figure") {
		t.Errorf("warnings %q", res.Warnings)
	}
	svgs, _ := filepath.Glob(filepath.Join(out, "plots", "*.svg"))
	// propagation_ms_p50 and messages_sent (an objective): two axes
	// and a heat map each, and the front.
	if len(svgs) != 7 {
		t.Errorf("%d plots, want 7: %v", len(svgs), svgs)
	}
	html, _ := os.ReadFile(filepath.Join(out, "report.html"))
	if strings.Count(string(html), "<svg") != 7 || strings.Contains(string(html), "<script") {
		t.Errorf("report.html: %d inline SVGs", strings.Count(string(html), "<svg"))
	}
}

// A sampled design is drawn as scatters with error bars: no lines joining
// points whose other axes differ, and no heat map.
func TestReportSampled(t *testing.T) {
	out := runAndMerge(t, `base: quickstart
design: latin_hypercube
points: 5
repetitions: 2
set: {run.duration: 20s, population.nodes: 40}
axes:
  - {key: network.loss, range: {min: 0, max: 0.05}}
  - {key: protocol.gossip.block_size, range: {min: 10000, max: 1000000, scale: log, integer: true}}
plot: [propagation_ms_p50]
`)
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "Each point of the latin_hypercube design") || strings.Contains(string(md), " over network.loss and ") {
		t.Errorf("report.md:\n%s", md)
	}
	svgs, _ := filepath.Glob(filepath.Join(out, "plots", "*.svg"))
	if len(svgs) != 2 {
		t.Errorf("%d plots, want 2", len(svgs))
	}
}

// runAndMerge runs a sweep file's text with two workers and merges it; it
// returns the output folder.
func runAndMerge(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	s, err := Load(write(t, dir, "s.yaml", text), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if _, err := Run(s, Options{Dir: out, Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(out, []string{out}); err != nil {
		t.Fatal(err)
	}
	return out
}
