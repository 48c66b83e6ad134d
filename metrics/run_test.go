package metrics

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func sampleRun(seed uint64, scale float64) *Run {
	return &Run{
		Schema: SchemaVersion,
		Meta:   Meta{Scenario: "t", Seed: seed, Repetitions: 1},
		Figures: Figures{
			{Key: "zeta_ms_p50", Value: 10 * scale, Unit: "ms", Help: "z", Headline: true, Better: Lower},
			{Key: "alpha", Value: 2 * scale, Help: "a"},
			{Key: "undefined_jain", Value: math.NaN(), Help: "no data"},
		},
		Dists:  []Dist{{Key: "lat_ms", Unit: "ms", Count: 3, Q: Floats{0, 0.5, 1}, V: Floats{1 * scale, 2 * scale, 3 * scale}}},
		Series: &Series{StepNs: 1e9, Columns: []Column{{Key: "msgs", Values: Floats{1 * scale, 2, math.NaN()}}}},
		Groups: []Group{{Key: "earn", Unit: "tokens", Labels: []string{"h100", "t4"}, Sets: []BarSet{{Name: "mean", Values: Floats{4 * scale, 1}}}}},
		Curves: []Curve{{Key: "acc", XUnit: "round", YUnit: "share", Lines: []Line{{Name: "honest", X: Floats{1, 2}, Y: Floats{0.5, 0.7 * scale}}}}},
		Plots: []Plot{
			{Kind: PlotCDF, Data: []string{"lat_ms"}, Title: "Latency", XLabel: "latency (ms)", YLabel: "share (fraction)", Caption: "c"},
			{Kind: PlotSeries, Data: []string{"msgs"}, Title: "Msgs", XLabel: "time (s)", YLabel: "messages (1/s)", Caption: "c", Rate: true},
			{Kind: PlotBars, Data: []string{"earn"}, Title: "Earn", XLabel: "class (GPU)", YLabel: "earnings (tokens)", Caption: "c"},
			{Kind: PlotLines, Data: []string{"acc"}, Title: "Acc", XLabel: "round (count)", YLabel: "accuracy (share)", Caption: "c"},
		},
	}
}

func TestRunJSONRoundTrip(t *testing.T) {
	r := sampleRun(1, 1)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := r.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	// Figures keep their order (zeta before alpha), NaN is null.
	if i, j := strings.Index(s, `"zeta_ms_p50"`), strings.Index(s, `"alpha"`); i < 0 || j < i {
		t.Errorf("figure order lost:\n%s", s)
	}
	if !strings.Contains(s, `"undefined_jain": {
      "value": null`) || !strings.Contains(s, `null`) {
		t.Errorf("NaN not written as null:\n%s", s)
	}
	var back Run
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Figures) != 3 || back.Figures[0].Key != "zeta_ms_p50" || back.Figures[0].Value != 10 || !back.Figures[0].Headline || !math.IsNaN(back.Figures[2].Value) {
		t.Errorf("figures back: %+v", back.Figures)
	}
	if v := back.Series.Columns[0].Values; v[1] != 2 || !math.IsNaN(v[2]) {
		t.Errorf("series back: %v", v)
	}
	again, _ := back.MarshalIndent()
	if string(again) != s {
		t.Errorf("re-encoding differs:\n%s\n%s", s, again)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(r *Run)
		want   string
	}{
		{"dup key", func(r *Run) { r.Figures = append(r.Figures, Figure{Key: "alpha"}) }, `"alpha" used twice`},
		{"camel key", func(r *Run) { r.Figures[1].Key = "Alpha" }, "not snake_case"},
		{"no unit", func(r *Run) { r.Plots[0].XLabel = "latency" }, "must end with a unit"},
		{"no caption", func(r *Run) { r.Plots[1].Caption = "" }, "lacks a title or caption"},
		{"missing data", func(r *Run) { r.Plots[2].Data = []string{"nope"} }, `no data "nope"`},
		{"cdf of a column", func(r *Run) { r.Plots[0].Data = []string{"msgs"} }, `no data "msgs"`},
		{"descending", func(r *Run) { r.Dists[0].V[2] = 0 }, "not ascending"},
		{"ragged group", func(r *Run) { r.Groups[0].Labels = r.Groups[0].Labels[:1] }, "2 values for 1 labels"},
		{"schema", func(r *Run) { r.Schema = 99 }, "schema 99"},
	} {
		r := sampleRun(1, 1)
		tc.mutate(r)
		err := r.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestAggregate(t *testing.T) {
	reps := []*Run{sampleRun(1, 1), sampleRun(2, 2), sampleRun(3, 3)}
	agg, err := Aggregate(reps)
	if err != nil {
		t.Fatal(err)
	}
	if agg.Meta.Repetitions != 3 || len(agg.Meta.Seeds) != 3 || agg.Meta.Seeds[2] != 3 {
		t.Errorf("meta %+v", agg.Meta)
	}
	// zeta = 10, 20, 30: mean 20, std 10, half-width t(0.975,2)·10/√3 = 24.841.
	f, _ := agg.Figure("zeta_ms_p50")
	if f.Value != 20 || f.Reps == nil || f.Reps.N != 3 || !near(f.Reps.Std, 10, 1e-12) || !near(f.Reps.CI95Hi, 20+24.8414, 1e-3) || !f.Headline {
		t.Errorf("zeta: %+v %+v", f, f.Reps)
	}
	if d := agg.Dist("lat_ms"); d.Count != 9 || d.V[1] != 4 {
		t.Errorf("dist: %+v", d)
	}
	if c := agg.Column("msgs"); c.Values[0] != 2 || c.Values[1] != 2 || !math.IsNaN(c.Values[2]) {
		t.Errorf("series: %v", c.Values)
	}
	if g := agg.Group("earn"); g.Sets[0].Values[0] != 8 {
		t.Errorf("group: %v", g.Sets[0].Values)
	}
	if c := agg.Curve("acc"); !near(c.Lines[0].Y[1], 1.4, 1e-12) {
		t.Errorf("curve: %v", c.Lines[0].Y)
	}
	if err := agg.Validate(); err != nil {
		t.Error(err)
	}
	odd := sampleRun(4, 1)
	odd.Dists[0].Q = Floats{0, 1}
	odd.Dists[0].V = Floats{1, 2}
	if _, err := Aggregate([]*Run{sampleRun(1, 1), odd}); err == nil || !strings.Contains(err.Error(), "distribution lat_ms") {
		t.Errorf("mismatched quantile levels: %v", err)
	}
}

// A figure undefined in some repetitions is the mean of the others with
// their count, and the whole aggregate encodes to JSON (NaN as null).
func TestAggregateUndefined(t *testing.T) {
	a, b, c := sampleRun(1, 1), sampleRun(2, 2), sampleRun(3, 3)
	a.Figures[1].Value = math.NaN()             // alpha undefined in repetition 1
	c.Figures = c.Figures[:1]                   // repetition 3 lacks alpha and undefined_jain
	b.Groups[0].Labels = []string{"t4", "a100"} // another label set
	b.Groups[0].Sets[0].Values = Floats{5, 7}
	c.Curves[0].Lines[0].X = Floats{1, 3}
	agg, err := Aggregate([]*Run{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := agg.Figure("alpha")
	if f.Value != 4 || f.Reps.N != 1 || !math.IsNaN(f.Reps.Values[0]) || !math.IsNaN(f.Reps.Values[2]) || !math.IsNaN(f.Reps.CI95Lo) {
		t.Errorf("alpha: %v %+v", f.Value, f.Reps)
	}
	u, _ := agg.Figure("undefined_jain")
	if !math.IsNaN(u.Value) || u.Reps.N != 0 {
		t.Errorf("undefined_jain: %v %+v", u.Value, u.Reps)
	}
	g := agg.Group("earn")
	// h100: 4 (a), 12 (c); t4: 1, 5, 1; a100: 7 (b only).
	if len(g.Labels) != 3 || g.Sets[0].Values[0] != 8 || !near(g.Sets[0].Values[1], 7.0/3, 1e-12) || g.Sets[0].Values[2] != 7 {
		t.Errorf("group: %v %v", g.Labels, g.Sets[0].Values)
	}
	cv := agg.Curve("acc").Lines[0]
	// x 1: 0.5 ×3; x 2: 0.7, 1.4; x 3: 2.1.
	if len(cv.X) != 3 || cv.Y[0] != 0.5 || !near(cv.Y[1], 1.05, 1e-12) || !near(cv.Y[2], 2.1, 1e-12) {
		t.Errorf("curve: %v %v", cv.X, cv.Y)
	}
	if err := agg.Validate(); err != nil {
		t.Error(err)
	}
	js, err := agg.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	var back Run
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if f, _ := back.Figure("alpha"); f.Reps.N != 1 || !math.IsNaN(f.Reps.Std) || f.Reps.Values[1] != 4 {
		t.Errorf("alpha back: %+v", f.Reps)
	}
}

// A counts group treats a label a repetition lacks as 0.
func TestAggregateCounts(t *testing.T) {
	a, b := sampleRun(1, 1), sampleRun(2, 1)
	a.Groups[0].Counts, b.Groups[0].Counts = true, true
	b.Groups[0].Labels = []string{"1", "2"}
	a.Groups[0].Labels = []string{"1", "3"}
	agg, err := Aggregate([]*Run{a, b})
	if err != nil {
		t.Fatal(err)
	}
	g := agg.Group("earn")
	// 1: 4, 4; 2: 0, 1; 3: 1, 0 — labels sorted numerically.
	if strings.Join(g.Labels, ",") != "1,2,3" || g.Sets[0].Values[0] != 4 || g.Sets[0].Values[1] != 0.5 || g.Sets[0].Values[2] != 0.5 {
		t.Errorf("counts group: %v %v", g.Labels, g.Sets[0].Values)
	}
}

func TestAddFairness(t *testing.T) {
	var r Run
	r.AddFairness("reward_per_work", "reward per verified work unit", []float64{0, 0, 0, 1})
	j, _ := r.Figure("reward_per_work_jain")
	g, _ := r.Figure("reward_per_work_gini")
	if j.Value != 0.25 || g.Value != 0.75 || r.Curve("reward_per_work_lorenz") == nil {
		t.Errorf("jain %v gini %v curves %v", j.Value, g.Value, r.Curves)
	}
}
