package reports

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/dais-sim/dais/metrics"
)

// synthetic holds data for every plot kind, including those later issues
// will feed (earnings per GPU class, finality, accuracy per round, attack
// results, fairness).
func synthetic() *metrics.Run {
	r := &metrics.Run{Schema: metrics.SchemaVersion, Meta: metrics.Meta{Scenario: "synthetic", Seed: 3, Repetitions: 1}}
	r.Figures = metrics.Figures{{Key: "task_completion_s_p50", Value: 12.5, Unit: "s", Help: "median task completion", Headline: true}}
	r.Dists = []metrics.Dist{
		{Key: "task_completion_s", Unit: "s", Count: 5, Q: metrics.Floats{0, 0.5, 1}, V: metrics.Floats{1, 12.5, 40}},
		{Key: "finality_ms", Unit: "ms", Count: 3, Q: metrics.Floats{0, 0.5, 1}, V: metrics.Floats{800, 1200, 3000}},
	}
	r.Series = &metrics.Series{StepNs: 1e9, Columns: []metrics.Column{
		{Key: "work_units", Values: metrics.Floats{0, 4, 8, 8, 6}},
		{Key: "gpu_busy_share_h100", Unit: "share", Values: metrics.Floats{0, 0.5, math.NaN(), 0.9, 0.8}},
	}}
	r.Groups = []metrics.Group{
		{Key: "earnings_tokens_per_gpu_h_by_class", Unit: "tokens_per_gpu_h", Labels: []string{"h100", "a100", "rtx4090", "t4"},
			Sets: []metrics.BarSet{{Name: "honest", Values: metrics.Floats{9.5, 6.1, 2.2, 0.7}}, {Name: "with lazy workers", Values: metrics.Floats{9.1, 5.8, 2.4, 0.9}}}},
		{Key: "attacker_reward_share_by_attack", Unit: "share", Labels: []string{"label-flip", "sybil", "lazy"},
			Sets: []metrics.BarSet{{Name: "reward share", Values: metrics.Floats{0.02, 0.11, 0.05}}}},
	}
	r.Curves = []metrics.Curve{
		{Key: "accuracy_by_round", XUnit: "round", YUnit: "share", Lines: []metrics.Line{
			{Name: "honest", X: metrics.Floats{1, 2, 3, 4}, Y: metrics.Floats{0.4, 0.7, 0.82, 0.88}},
			{Name: "20% poisoners", X: metrics.Floats{1, 2, 3, 4}, Y: metrics.Floats{0.35, 0.5, 0.6, 0.62}}}},
		{Key: "finality_ms_by_height", XUnit: "height", YUnit: "ms", Lines: []metrics.Line{
			{Name: "finality", X: metrics.Floats{1, 2, 3}, Y: metrics.Floats{900, 1100, 2500}}}},
	}
	r.AddFairness("reward_per_work", "reward per verified work unit", []float64{1, 1, 2, 3, 8})
	r.Plots = []metrics.Plot{
		{Kind: metrics.PlotCDF, Data: []string{"task_completion_s"}, Title: "Task completion time", XLabel: "submit to verified result (s)", YLabel: "tasks done (fraction)", Caption: "c1", LogX: true},
		{Kind: metrics.PlotCDF, Data: []string{"finality_ms"}, Title: "Consensus finality", XLabel: "proposal to finality (ms)", YLabel: "blocks final (fraction)", Caption: "c2"},
		{Kind: metrics.PlotSeries, Data: []string{"work_units"}, Rate: true, Title: "Verified throughput", XLabel: "simulated time (s)", YLabel: "work units (1/s)", Caption: "c3"},
		{Kind: metrics.PlotSeries, Data: []string{"gpu_busy_share_h100"}, Scale: 100, Title: "GPU utilization", XLabel: "simulated time (s)", YLabel: "busy (%)", Caption: "c4"},
		{Kind: metrics.PlotBars, Data: []string{"earnings_tokens_per_gpu_h_by_class"}, Title: "Earnings per GPU class", XLabel: "GPU class (name)", YLabel: "earnings (tokens/GPU-h)", Caption: "c5"},
		{Kind: metrics.PlotLorenz, Data: []string{"reward_per_work_lorenz"}, Title: "Fairness of rewards", XLabel: "providers, poorest first (fraction)", YLabel: "reward held (fraction)", Caption: "c6"},
		{Kind: metrics.PlotLines, Data: []string{"accuracy_by_round"}, Title: "Model accuracy per round", XLabel: "round (count)", YLabel: "held-out accuracy (fraction)", Caption: "c7"},
		{Kind: metrics.PlotLines, Data: []string{"finality_ms_by_height"}, Title: "Finality per height", XLabel: "height (blocks)", YLabel: "finality (ms)", Caption: "c8"},
		{Kind: metrics.PlotBars, Data: []string{"attacker_reward_share_by_attack"}, Title: "Attack results", XLabel: "attack (kind)", YLabel: "attacker reward share (fraction)", Caption: "c9"},
	}
	return r
}

// texts returns the text elements of an SVG document, failing on bad XML.
func texts(t *testing.T, svg []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var out []string
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("bad SVG: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
		case xml.EndElement:
			inText = false
		case xml.CharData:
			if inText {
				out = append(out, strings.TrimSpace(string(tok)))
			}
		}
	}
}

func TestPlotsOfEveryKind(t *testing.T) {
	run := synthetic()
	if err := run.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		plot int
		want []string // texts the SVG must show, beyond title and axis labels
	}{
		{0, []string{"10"}}, // log axis ticks
		{1, nil},            // one line: no legend
		{2, []string{"8"}},  // 8 per 1 s step peaks at 8/s
		{3, []string{"80"}}, // share ×100
		{4, []string{"h100", "a100", "rtx4090", "t4", "honest", "with lazy workers"}}, // bars per class, two sets
		{5, []string{"perfect equality"}},
		{6, []string{"honest", "20% poisoners"}},
		{7, []string{"2500"}},
		{8, []string{"label-flip", "sybil", "lazy"}},
	} {
		p := run.Plots[tc.plot]
		svg, err := SVG(run, p)
		if err != nil {
			t.Fatalf("%s: %v", p.Title, err)
		}
		els := texts(t, svg)
		got := strings.Join(els, "|")
		for _, want := range append([]string{p.Title, p.XLabel, p.YLabel}, tc.want...) {
			if !slices.Contains(els, want) {
				t.Errorf("%s: SVG has no text %q; it has %s", p.Title, want, got)
			}
		}
		if tc.plot == 1 && strings.Contains(got, "finality_ms") {
			t.Errorf("a single line got a legend: %s", got)
		}
	}
}

func TestOverlayNamesRuns(t *testing.T) {
	a, b := synthetic(), synthetic()
	b.Dists[0].V = metrics.Floats{2, 20, 50}
	svg, err := SVGOverlay([]Named{{"baseline", a}, {"faster-gpus", b}}, a.Plots[0])
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(texts(t, svg), "|")
	if !strings.Contains(got, "baseline") || !strings.Contains(got, "faster-gpus") {
		t.Errorf("overlay legend lacks run names: %s", got)
	}
}

func TestPlotErrors(t *testing.T) {
	run := synthetic()
	if _, err := SVG(run, metrics.Plot{Kind: "pie", Title: "x"}); err == nil {
		t.Error("unknown kind: no error")
	}
}

// A measure nothing fed (declared, never observed) still gets its plot,
// empty and saying so, and the run folder is written.
func TestEmptyDistribution(t *testing.T) {
	run := synthetic()
	run.Dists[1] = metrics.Dist{Key: "finality_ms", Unit: "ms"}
	if err := run.Validate(); err != nil {
		t.Fatal(err)
	}
	svg, err := SVG(run, run.Plots[1])
	if err != nil {
		t.Fatal(err)
	}
	if els := texts(t, svg); !slices.Contains(els, "Consensus finality (no data in this run)") {
		t.Errorf("empty plot texts: %v", els)
	}
	if err := Write(t.TempDir(), run); err != nil {
		t.Error(err)
	}
}

// A log-y bar plot (LogY) of values spanning decades: the axis is
// labelled at powers of ten from the one below the smallest value, and a
// zero bar is left out rather than drawn to −∞.
func TestBarsLogY(t *testing.T) {
	r := &metrics.Run{Groups: []metrics.Group{{Key: "bytes_by_relay", Unit: "bytes", Labels: []string{"push", "announce", "compact"},
		Sets: []metrics.BarSet{{Name: "block", Values: metrics.Floats{8.026e6, 534600, 0}}, {Name: "sketch", Values: metrics.Floats{0, 0, 26900}}}}}}
	p := metrics.Plot{Kind: metrics.PlotBars, Data: []string{"bytes_by_relay"}, Title: "Bytes", XLabel: "relay (name)",
		YLabel: "bytes (log)", Caption: "c", LogY: true}
	svg, err := SVG(r, p)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(texts(t, svg), " ")
	for _, want := range []string{"10000 ", "100000 ", "1000000 ", "10000000"} {
		if !strings.Contains(got+" ", want) {
			t.Errorf("log axis lacks the label %q: %s", strings.TrimSpace(want), got)
		}
	}
	if strings.Contains(got, "1000 ") || bytes.Contains(svg, []byte("NaN")) || bytes.Contains(svg, []byte("Inf")) {
		t.Errorf("the axis starts below the power of ten under the smallest value, or a zero bar was drawn: %s", got)
	}
	p.LogY = false
	lin, err := SVG(r, p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(lin, svg) {
		t.Error("LogY changed nothing")
	}
}
