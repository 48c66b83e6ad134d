// Package reports turns a metrics.Run into what people read: a run folder
// (metrics.json, timeseries.csv, report.md, report.html with inline SVG
// plots, plots/*.svg), a short terminal table, and comparisons of two runs.
//
//	run := rec.Summary(end)          // metrics/record
//	run.Meta = ...; run.Plots = ...  // the driver says what it ran and what to draw
//	err := reports.Write("runs/quickstart", run)
//	reports.Table(os.Stdout, run)
//
// Everything but host.json is a function of the Run, so the same scenario
// and seed give the same bytes; host.json holds wall time and speed.
package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dais-sim/dais/metrics"
)

// Files in a run folder.
const (
	MetricsFile    = "metrics.json"
	TimeseriesFile = "timeseries.csv"
	MarkdownFile   = "report.md"
	HTMLFile       = "report.html"
	HostFile       = "host.json"
	PlotsDir       = "plots"
)

// ErrNoRun means a path holds no metrics.json.
var ErrNoRun = errors.New("reports: no run here")

// Write validates run and writes its folder, creating dir if needed. It
// replaces the files it writes and leaves others alone. formats, if given,
// limits the files to those named: json (metrics.json), csv
// (timeseries.csv), md (report.md and plots/), html (report.html);
// host.json is always written.
func Write(dir string, run *metrics.Run, formats ...string) error {
	if err := run.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, PlotsDir), 0o755); err != nil {
		return err
	}
	files := map[string][]byte{}
	js, err := run.MarshalIndent()
	if err != nil {
		return err
	}
	files[MetricsFile] = js
	var csv bytes.Buffer
	if err := CSV(&csv, run); err != nil {
		return err
	}
	files[TimeseriesFile] = csv.Bytes()
	svgs := make([][]byte, len(run.Plots))
	names := PlotFiles(run)
	for i, p := range run.Plots {
		if svgs[i], err = SVG(run, p); err != nil {
			return err
		}
		files[names[i]] = svgs[i]
	}
	var md, html bytes.Buffer
	if err := Markdown(&md, run); err != nil {
		return err
	}
	files[MarkdownFile] = md.Bytes()
	if err := writeHTML(&html, run, svgs); err != nil {
		return err
	}
	files[HTMLFile] = html.Bytes()
	if run.Host != nil {
		h, err := json.MarshalIndent(run.Host, "", "  ")
		if err != nil {
			return err
		}
		files[HostFile] = append(h, '\n')
	}
	if len(formats) > 0 {
		keep := map[string]bool{HostFile: true}
		for _, f := range formats {
			switch f {
			case "json":
				keep[MetricsFile] = true
			case "csv":
				keep[TimeseriesFile] = true
			case "md":
				keep[MarkdownFile] = true
				for _, n := range names {
					keep[n] = true
				}
			case "html":
				keep[HTMLFile] = true
			default:
				return fmt.Errorf("reports: unknown format %q (want json, csv, md or html)", f)
			}
		}
		for name := range files {
			if !keep[name] {
				delete(files, name)
			}
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Load reads a run from a run folder or a metrics.json file, and host.json
// beside it if there is one.
func Load(path string) (*metrics.Run, error) {
	file := path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		file = filepath.Join(path, MetricsFile)
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoRun, file)
	}
	if err != nil {
		return nil, err
	}
	run := &metrics.Run{}
	if err := json.Unmarshal(b, run); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", metrics.ErrInvalid, file, err)
	}
	if err := run.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if h, err := os.ReadFile(filepath.Join(filepath.Dir(file), HostFile)); err == nil {
		run.Host = &metrics.Host{}
		if err := json.Unmarshal(h, run.Host); err != nil {
			run.Host = nil
		}
	}
	return run, nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// PlotFiles are the paths, relative to the run folder, of each plot's SVG.
func PlotFiles(run *metrics.Run) []string {
	out := make([]string, len(run.Plots))
	for i, p := range run.Plots {
		slug := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(p.Title), "-"), "-")
		if len(slug) > 40 {
			slug = strings.TrimRight(slug[:40], "-")
		}
		out[i] = fmt.Sprintf("%s/%02d-%s.svg", PlotsDir, i+1, slug)
	}
	return out
}

// FormatValue prints a figure for people: integers in full, other values
// with four significant digits, NaN as "n/a".
func FormatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'f', -1, 64)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1e-3 && math.Abs(v) < 1e15:
		// Four significant digits, never an exponent below 10¹⁵: a reader
		// compares 8026000 with 534600 at a glance, not 8.026e+06.
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// formatFigure is the value with, across repetitions, its 95% CI
// half-width: "12.3 ± 0.4"; "12.3 (1 of 3 defined)" where fewer than two
// repetitions define it.
func formatFigure(f metrics.Figure) string {
	s := FormatValue(f.Value)
	switch {
	case f.Reps == nil:
	case f.Reps.N < 2 && f.Reps.N < len(f.Reps.Values):
		s += fmt.Sprintf(" (%d of %d defined)", f.Reps.N, len(f.Reps.Values))
	default:
		s += " ± " + FormatValue((f.Reps.CI95Hi-f.Reps.CI95Lo)/2)
	}
	return s
}

// headline returns the figures for a short summary: the finding's, then
// those marked headline (or, without either, the first ones), at most
// limit.
func headline(run *metrics.Run, limit int) []metrics.Figure {
	out := findingFigures(run)
	if run.Finding == nil {
		out = nil
	}
	for _, f := range run.Figures {
		if f.Headline && !slices.ContainsFunc(out, func(g metrics.Figure) bool { return g.Key == f.Key }) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = run.Figures
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// findingFigures are the figures the finding names, in its order, or,
// without a finding, the first headline figures (at most five).
func findingFigures(run *metrics.Run) []metrics.Figure {
	if run.Finding == nil {
		var out []metrics.Figure
		for _, f := range run.Figures {
			if f.Headline && len(out) < 5 {
				out = append(out, f)
			}
		}
		return out
	}
	var out []metrics.Figure
	for _, k := range run.Finding.Keys {
		if f, ok := run.Figure(k); ok {
			out = append(out, f)
		}
	}
	return out
}

func findingText(run *metrics.Run) string {
	if run.Finding == nil {
		return ""
	}
	return run.Finding.Text
}

// tileCI says how sure a figure is: its 95% CI over repetitions, or
// nothing for one run.
func tileCI(f metrics.Figure) string {
	switch {
	case f.Reps == nil:
		return ""
	case f.Reps.N < 2:
		return fmt.Sprintf("defined in %d of %d repetitions", f.Reps.N, len(f.Reps.Values))
	}
	return fmt.Sprintf("± %s (95%% CI, n = %d)", FormatValue((f.Reps.CI95Hi-f.Reps.CI95Lo)/2), f.Reps.N)
}

// description is the scenario's run.description, from the resolved
// scenario.
func description(m metrics.Meta) string {
	for _, kv := range m.Resolved {
		if v, ok := strings.CutPrefix(kv, "run.description="); ok {
			return v
		}
	}
	return ""
}

// runLine is one line that says what ran: seed, repetitions, simulated
// time and build.
func runLine(m metrics.Meta) string {
	parts := []string{fmt.Sprintf("seed %d", m.Seed), "1 run"}
	if m.Repetitions > 1 {
		parts[1] = fmt.Sprintf("%d repetitions", m.Repetitions)
	}
	parts = append(parts, "simulated "+SimulatedTime(m))
	if m.Version != "" {
		parts = append(parts, "dais "+m.Version)
	}
	return strings.Join(parts, " · ")
}
