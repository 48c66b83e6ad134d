package reports

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/dais-sim/dais/metrics"
)

func TestWriteAndLoad(t *testing.T) {
	dir := t.TempDir()
	run := demoRun(t)
	run.Host = &metrics.Host{WallS: 0.5, Events: 1601, EventsPerS: 3202, GOOS: "linux", GOARCH: "amd64", CPUs: 2, GOMAXPROCS: 2}
	if err := Write(dir, run); err != nil {
		t.Fatal(err)
	}
	for _, f := range append([]string{MetricsFile, TimeseriesFile, MarkdownFile, HTMLFile, HostFile}, PlotFiles(run)...) {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Host == nil || back.Host.EventsPerS != 3202 {
		t.Errorf("host.json not read back: %+v", back.Host)
	}
	a, _ := run.MarshalIndent()
	b, _ := back.MarshalIndent()
	if !bytes.Equal(a, b) {
		t.Error("metrics.json does not survive Load and re-encoding")
	}
	// Wall-clock figures stay out of metrics.json.
	if bytes.Contains(a, []byte("events_per_s")) || bytes.Contains(a, []byte("wall")) {
		t.Error("metrics.json holds host figures")
	}
	if _, err := Load(t.TempDir()); !errors.Is(err, ErrNoRun) {
		t.Errorf("empty folder: %v, want ErrNoRun", err)
	}
	bad := filepath.Join(t.TempDir(), MetricsFile)
	os.WriteFile(bad, []byte(`{"schema": 1, "figures": [1]}`), 0o644)
	if _, err := Load(bad); !errors.Is(err, metrics.ErrInvalid) {
		t.Errorf("malformed metrics.json: %v, want ErrInvalid", err)
	}
}

func TestWriteRefusesUnlabelledPlot(t *testing.T) {
	run := synthetic()
	run.Plots[0].YLabel = "tasks done"
	err := Write(t.TempDir(), run)
	if !errors.Is(err, metrics.ErrInvalid) || !strings.Contains(err.Error(), "unit in parentheses") {
		t.Errorf("got %v", err)
	}
}

// Same scenario and seed: byte-identical metrics.json, whatever GOMAXPROCS;
// another seed: different figures.
func TestDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	one, _ := demoRun(t).MarshalIndent()
	runtime.GOMAXPROCS(4)
	four, _ := demoRun(t).MarshalIndent()
	if !bytes.Equal(one, four) {
		t.Errorf("GOMAXPROCS 1 and 4 differ:\n%s", firstDiff(one, four))
	}
	other, _ := demoRun(t, "run.seed=2").MarshalIndent()
	if bytes.Equal(one, other) {
		t.Error("seeds 1 and 2 gave the same metrics.json")
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	run := demoRun(t)
	if err := Table(&b, run); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	p50, _ := run.Figure("propagation_ms_p50")
	for _, want := range []string{"propagation_ms_p50", FormatValue(p50.Value), "coverage", "duplicate_share"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "messages_sent") {
		t.Errorf("table shows a figure that is not a headline:\n%s", out)
	}
	// Repetitions show the CI; no more than TableRows rows ever.
	reps := &metrics.Run{Schema: 1, Meta: metrics.Meta{Repetitions: 3}}
	for i := 0; i < 40; i++ {
		reps.Figures = append(reps.Figures, metrics.Figure{Key: "f", Value: 10, Reps: &metrics.Reps{N: 3, CI95Lo: 9, CI95Hi: 11}})
	}
	b.Reset()
	Table(&b, reps)
	if n := strings.Count(b.String(), "10 ± 1"); n != TableRows {
		t.Errorf("%d rows of 10 ± 1, want %d:\n%s", n, TableRows, b.String())
	}
}

func TestCSV(t *testing.T) {
	run := demoRun(t)
	var b bytes.Buffer
	if err := CSV(&b, run); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	s := run.Series
	if len(rows) != 1+len(s.Columns[0].Values) || rows[0][0] != "t_s" || rows[0][1] != s.Columns[0].Key {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	if rows[2][0] != "0.05" { // the second 50 ms step starts at 0.05 s
		t.Errorf("second row starts at %s", rows[2][0])
	}
	// The deliveries column sums to the deliveries figure.
	col := -1
	for i, h := range rows[0] {
		if h == "deliveries" {
			col = i
		}
	}
	var sum float64
	for _, r := range rows[1:] {
		var v float64
		if r[col] != "" {
			v = mustFloat(t, r[col])
		}
		sum += v
	}
	if f, _ := run.Figure("deliveries"); sum != f.Value || sum == 0 {
		t.Errorf("deliveries column sums to %v, figure %v", sum, f.Value)
	}
}

func TestMarkdownAndHTML(t *testing.T) {
	run := synthetic()
	var md, html bytes.Buffer
	if err := Markdown(&md, run); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&html, run); err != nil {
		t.Fatal(err)
	}
	for i, f := range PlotFiles(run) {
		p := run.Plots[i]
		if !strings.Contains(md.String(), "]("+f+")") || !strings.Contains(md.String(), p.Caption) {
			t.Errorf("report.md lacks plot %s or its caption", f)
		}
	}
	h := html.String()
	if n := strings.Count(h, `<svg class="dais-axes"`); n != len(run.Plots) {
		t.Errorf("%d inline plots, want %d", n, len(run.Plots))
	}
	// The report leads with its finding; the full figure table is folded.
	if i, j := strings.Index(h, `<section class="finding">`), strings.Index(h, "<details><summary>All "); i < 0 || j < i || !strings.Contains(h, "task_completion_s_p50") {
		t.Errorf("report.html: finding at %d, folded figures at %d", i, j)
	}
	if n := strings.Count(h, "<figcaption>"); n != len(run.Plots) {
		t.Errorf("%d captions, want %d", n, len(run.Plots))
	}
	checkSelfContained(t, h)
}

// checkSelfContained fails on what selfContainedProblems finds.
func checkSelfContained(t *testing.T, h string) {
	t.Helper()
	for _, p := range selfContainedProblems(h) {
		t.Error("report.html: " + p)
	}
}

// selfContainedProblems lists anything that would run code or fetch: a
// script, an external URL in src, href or url(), an @import, any other URL;
// and a missing CSP that forbids them.
func selfContainedProblems(h string) []string {
	var out []string
	if strings.Contains(strings.ToLower(h), "<script") {
		out = append(out, "has a script")
	}
	if !strings.Contains(h, `http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;`) {
		out = append(out, "lacks its Content-Security-Policy")
	}
	ref := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']([^"']*)["']|url\(([^)]*)\)|@import`)
	for _, m := range ref.FindAllStringSubmatch(h, -1) {
		target := m[2] + m[3]
		if m[0] == "@import" || (!strings.HasPrefix(target, "data:") && !strings.HasPrefix(target, "#")) {
			out = append(out, "refers to "+m[0])
		}
	}
	// xmlns values are names, not fetches; nothing else may be a URL.
	rest := regexp.MustCompile(`xmlns(:\w+)?="[^"]*"`).ReplaceAllString(h, "")
	if i := strings.Index(rest, "://"); i >= 0 {
		out = append(out, "mentions a URL: "+rest[max(0, i-40):min(len(rest), i+60)])
	}
	return out
}

func TestSelfContainedCatches(t *testing.T) {
	for _, bad := range []string{
		`<script>alert(1)</script>`,
		`<img src="https://cdn.example/x.png">`,
		`<link href="style.css" rel="stylesheet">`,
		`<style>@import "x.css"; body{background:url(x.png)}</style>`,
		`<p>see http://example.org</p>`,
	} {
		var b bytes.Buffer
		HTML(&b, synthetic())
		h := strings.Replace(b.String(), "</main>", bad+"</main>", 1)
		if len(selfContainedProblems(h)) == 0 {
			t.Errorf("missed %s", bad)
		}
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	var v float64
	if _, err := fmt.Sscan(s, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A metrics.Table prints in the terminal, report.md and report.html with
// each cell its figure's value and unit (and CI over repetitions), a
// missing cell empty; a table naming a figure the run lacks is refused.
func TestFigureTables(t *testing.T) {
	run := &metrics.Run{Schema: metrics.SchemaVersion, Meta: metrics.Meta{Scenario: "t", Repetitions: 2},
		Figures: metrics.Figures{
			{Key: "a_ms", Value: 12.5, Unit: "ms", Reps: &metrics.Reps{N: 2, CI95Lo: 11.5, CI95Hi: 13.5}},
			{Key: "b_ms", Value: 30, Unit: "ms", Reps: &metrics.Reps{N: 2, CI95Lo: 30, CI95Hi: 30}},
			{Key: "a_share", Value: 0.25, Reps: &metrics.Reps{N: 2, CI95Lo: 0.25, CI95Hi: 0.25}},
		},
		Tables: []metrics.Table{{Title: "Side by side", Columns: []string{"left", "right"},
			Rows: []metrics.TableRow{{Name: "time", Keys: []string{"a_ms", "b_ms"}}, {Name: "share", Keys: []string{"a_share", ""}}}}},
	}
	if err := run.Validate(); err != nil {
		t.Fatal(err)
	}
	var term, md, html bytes.Buffer
	if err := Table(&term, run); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, run); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&html, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Side by side", "left", "right", "12.5 ± 1 ms", "30 ± 0 ms", "0.25 ± 0"} {
		for name, out := range map[string]string{"terminal": term.String(), "markdown": md.String(), "html": html.String()} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, out)
			}
		}
	}
	if !strings.Contains(md.String(), "| share | 0.25 ± 0 |  |") {
		t.Errorf("markdown row with an empty cell:\n%s", md.String())
	}
	run.Tables[0].Rows[1].Keys[1] = "nope"
	if err := run.Validate(); err == nil || !strings.Contains(err.Error(), `no figure "nope"`) {
		t.Errorf("a table naming a missing figure: %v", err)
	}
}

// Figures print with four significant digits and no exponent between
// 10⁻³ and 10¹⁵, so a table of bytes reads at a glance.
func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{8.026e6 + 123.4, "8026000"}, {534600, "534600"}, {26900.5, "26900"}, {0.69951, "0.6995"},
		{3.14159e-4, "0.0003142"}, {2.5e16, "2.5e+16"}, {math.NaN(), "n/a"}, {12, "12"},
	} {
		if got := FormatValue(c.v); got != c.want {
			t.Errorf("FormatValue(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
