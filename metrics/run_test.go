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
	odd.Figures = odd.Figures[:1]
	if _, err := Aggregate([]*Run{sampleRun(1, 1), odd}); err == nil || !strings.Contains(err.Error(), "figure alpha") {
		t.Errorf("mismatched repetitions: %v", err)
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
