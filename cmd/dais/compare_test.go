package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/reports"
)

// writeRun writes a run folder whose figure latency_ms takes vals over
// repetitions.
func writeRun(t *testing.T, dir string, vals ...float64) {
	t.Helper()
	var reps []*metrics.Run
	for i, v := range vals {
		reps = append(reps, &metrics.Run{
			Schema: metrics.SchemaVersion,
			Meta:   metrics.Meta{Scenario: "quickstart", Seed: uint64(i + 1), Repetitions: 1, Version: "test"},
			Figures: metrics.Figures{
				{Key: "latency_ms_p50", Value: v, Unit: "ms", Help: "median latency", Better: metrics.Lower, Headline: true},
				{Key: "nodes", Value: 300, Help: "nodes"},
			},
			Dists: []metrics.Dist{{Key: "latency_ms", Unit: "ms", Count: 3, Q: metrics.Floats{0, 0.5, 1}, V: metrics.Floats{v / 2, v, 2 * v}}},
			Plots: []metrics.Plot{{Kind: metrics.PlotCDF, Data: []string{"latency_ms"}, Title: "Latency",
				XLabel: "latency (ms)", YLabel: "messages (fraction)", Caption: "Lower is better."}},
		})
	}
	run, err := metrics.Aggregate(reps)
	if err != nil {
		t.Fatal(err)
	}
	if err := reports.Write(dir, run); err != nil {
		t.Fatal(err)
	}
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "base"), filepath.Join(dir, "lossy")
	writeRun(t, a, 1, 2, 3, 4, 5)
	writeRun(t, b, 2, 4, 6, 8, 10, 12)

	code, out, errs := capture(t, "compare", a, filepath.Join(b, "metrics.json"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// Means 3 and 7; Welch p = 0.0493 (worked in metrics/stats_test.go).
	for _, want := range []string{"A = base", "B = lossy", "latency_ms_p50", "+133.3%", "yes (p = 0.04928)", "worse"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := capture(t, "compare", a, b, "--format", "md"); code != exitOK || !strings.Contains(out, "| `latency_ms_p50` | 3 | 7 | +4 |") {
		t.Errorf("md: exit %d\n%s", code, out)
	}
	page := filepath.Join(dir, "c.html")
	if code, _, errs := capture(t, "compare", a, b, "--format", "html", "-o", page); code != exitOK {
		t.Fatalf("html: exit %d: %s", code, errs)
	}
	if h, _ := os.ReadFile(page); !strings.Contains(string(h), "<svg ") || !strings.Contains(string(h), "latency_ms_p50") {
		t.Errorf("html page lacks the table or the overlaid plot")
	}

	os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{"), 0o644)
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"compare", a}, "accepts 2 arg(s)"},
		{[]string{"compare", a, filepath.Join(dir, "nope")}, "no run here"},
		{[]string{"compare", a, filepath.Join(dir, "broken.json")}, "invalid run"},
		{[]string{"compare", a, b, "--format", "pdf"}, `--format "pdf"`},
	} {
		code, _, errs := capture(t, tc.args...)
		if code != exitBadInput || !strings.Contains(errs, tc.err) {
			t.Errorf("dais %s: exit %d, %q; want 2 and %q", strings.Join(tc.args, " "), code, errs, tc.err)
		}
	}
}
