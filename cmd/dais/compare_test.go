package main

import (
	"encoding/csv"
	"encoding/json"
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
	if code, out, _ := capture(t, "compare", a, b, "--format", "md"); code != exitOK || !strings.Contains(out, "| `latency_ms_p50` | 3 ± 1.963 | 7 ± 3.927 | +4 |") {
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

// --format json is one JSON document a program can read: the runs, the
// scenario keys that differ, and per figure both sides with their CIs and
// the test; a side of one run gets no test and the verdict "1 run".
func TestCompareJSON(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	base := []string{"run", "quickstart", "-q", "--set", "run.duration=20s"}
	for _, r := range []struct {
		dir  string
		sets []string
	}{
		{a, []string{"--set", "run.repetitions=3"}},
		{b, []string{"--set", "run.repetitions=3", "--set", "network.loss=5%"}},
		{c, []string{"--seed", "9"}},
	} {
		if code, _, errs := capture(t, append(append(append([]string{}, base...), r.sets...), "-o", r.dir)...); code != exitOK {
			t.Fatalf("run: %s", errs)
		}
	}
	type side struct {
		Mean   *float64 `json:"mean"`
		CI95Lo *float64 `json:"ci95_lo"`
		N      int      `json:"n"`
	}
	type doc struct {
		A, B struct {
			Name        string
			Repetitions int
		}
		ScenarioDiff *[]struct{ Key, A, B string } `json:"scenario_diff"`
		Figures      []struct {
			Key         string
			A, B        side
			P           *float64
			Significant *bool
			Verdict     string
		}
	}
	read := func(args ...string) doc {
		code, out, errs := capture(t, append([]string{"compare", "--format", "json"}, args...)...)
		if code != exitOK {
			t.Fatalf("compare: %s", errs)
		}
		var d doc
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		return d
	}
	d := read(a, b)
	if d.A.Repetitions != 3 || d.ScenarioDiff == nil || len(*d.ScenarioDiff) != 1 || (*d.ScenarioDiff)[0] != (struct{ Key, A, B string }{"network.loss", "0.1%", "5%"}) {
		t.Fatalf("runs %+v %+v, diff %+v", d.A, d.B, d.ScenarioDiff)
	}
	var p50 bool
	for _, f := range d.Figures {
		if f.Key != "propagation_ms_p50" {
			continue
		}
		p50 = true
		if f.A.N != 3 || f.B.N != 3 || f.A.Mean == nil || f.A.CI95Lo == nil || f.P == nil || f.Significant == nil {
			t.Errorf("propagation_ms_p50 with 3 repetitions a side: %+v", f)
		}
	}
	if !p50 {
		t.Error("no propagation_ms_p50 row")
	}
	d = read(a, c)
	diff := map[string][2]string{}
	for _, k := range *d.ScenarioDiff {
		diff[k.Key] = [2]string{k.A, k.B}
	}
	if diff["run.seed"] != [2]string{"1", "9"} || diff["run.repetitions"] != [2]string{"3", "1"} || len(diff) != 2 {
		t.Errorf("diff %v", diff)
	}
	for _, f := range d.Figures {
		if f.P != nil || f.Significant != nil || (f.Verdict != "1 run" && f.Verdict != "same" && f.Verdict != "") {
			t.Errorf("%s: a test or verdict %q with one run on a side", f.Key, f.Verdict)
		}
	}
	code, out, _ := capture(t, "compare", "--format", "csv", a, c)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != exitOK || err != nil || len(rows) < 5 || rows[0][2] != "a_mean" || rows[0][13] != "significance" {
		t.Fatalf("csv: exit %d, %v\n%s", code, err, out)
	}
	for _, r := range rows[1:] {
		if r[5] == "3" && r[9] == "1" && r[13] != "1 run" {
			t.Errorf("csv row %v: want significance \"1 run\"", r)
		}
	}
}
