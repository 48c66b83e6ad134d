package calibrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/dais-sim/dais/reports"
)

// Files a calibration writes in its folder, beside the live/ and sim/ run
// folders.
const (
	MarkdownFile = "calibration.md"
	JSONFile     = "calibration.json"
)

// MarshalJSON writes NaN (a missing figure or gap) as null.
func (m Metric) MarshalJSON() ([]byte, error) {
	num := func(v float64) any {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return v
	}
	return json.Marshal(struct {
		Name   string `json:"name"`
		Key    string `json:"key"`
		Unit   string `json:"unit"`
		Live   any    `json:"live"`
		Sim    any    `json:"sim"`
		GapPct any    `json:"gap_pct"`
		Free   any    `json:"sim_free"`
	}{m.Name, m.Key, m.Unit, num(m.Live), num(m.Sim), num(m.GapPct), num(m.SimFree)})
}

// Write writes the calibration folder: calibration.md (the table and the
// notes), calibration.json, and the live and simulated runs' folders
// (live/, sim/) as dais run writes them, for dais compare.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := reports.Write(filepath.Join(dir, "live"), r.Live); err != nil {
		return fmt.Errorf("calibrate: writing the live run: %w", err)
	}
	if err := reports.Write(filepath.Join(dir, "sim"), r.Sim); err != nil {
		return fmt.Errorf("calibrate: writing the simulated run: %w", err)
	}
	if r.MarketSim != nil {
		if err := reports.Write(filepath.Join(dir, "sim-market"), r.MarketSim); err != nil {
			return fmt.Errorf("calibrate: writing the simulated market run: %w", err)
		}
	}
	var md bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, MarkdownFile), md.Bytes(), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, JSONFile), append(js, '\n'), 0o644)
}

// cells are a metric's table row.
func (m Metric) cells() []string {
	f := func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return reports.FormatValue(v)
	}
	gap := "–"
	if !math.IsNaN(m.GapPct) {
		gap = fmt.Sprintf("%+.1f%%", m.GapPct)
	}
	name := m.Name
	if m.Unit != "" {
		name += " (" + m.Unit + ")"
	}
	return []string{name, f(m.Live), f(m.Sim), gap, f(m.SimFree)}
}

// Table prints the metrics as a terminal table.
func (r *Report) Table(w io.Writer) error {
	t := reports.NewTable(w)
	t.Header("metric", "live", "simulated", "gap", "sim, no costs")
	for _, m := range r.Metrics {
		if err := t.Append(m.cells()); err != nil {
			return err
		}
	}
	return t.Render()
}

// Markdown writes the calibration as a Markdown page.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Calibration: %s\n\n", r.Scenario)
	fmt.Fprintf(&b, "%d nodes, live for %.0f s on an in-process loopback testnet (live/node over libp2p), and simulated for %.0f s (sim/consensusrun) on a one-region network with the measured round trip. Taken %s.\n\n",
		r.Nodes, r.LiveS, r.SimS, r.Date.Format("2006-01-02 15:04 MST"))
	m := r.Costs.Message
	fmt.Fprintf(&b, "Measured loopback round trip of a dais message between two live runtimes (%d samples %v apart): p50 %.3f ms, p99 %.3f ms, min %.3f ms — the simulated network's RTT. libp2p ping (%d samples %v apart): p50 %.3f ms, p99 %.3f ms, min %.3f ms; back to back, p50 %.3f ms.\n\n",
		m.Samples, LatenessPeriod, m.P50Ms, m.P99Ms, m.MinMs, r.RTT.Samples, LatenessPeriod, r.RTT.P50Ms, r.RTT.P99Ms, r.RTT.MinMs, r.RTT.BackToBackP50Ms)
	if r.Profile != "" {
		fmt.Fprintf(&b, "Hardware profile: %s.\n\n", r.Profile)
	}
	c := r.Costs
	fmt.Fprintf(&b, "Processing measured while the live nodes ran: ed25519 sign %.1f µs, verify %.1f µs (medians of %d); CPU %.2f ms per node per block over %.1f messages received, so %.0f µs per message on %d cores (the simulated receive cost); block store write %.2f ms (mean of %d, fsync included); signed-round write %.2f ms (mean of %d); timers %.3f ms late (mean of %d, p99 %.3f ms).\n\n",
		c.SignUs, c.VerifyUs, c.Samples, c.CPUPerBlockMs, c.MsgsPerBlock, c.ReceiveUs, c.Cores, c.StoreMs, c.StoreWrites, c.SignedRoundMs, c.SignedRoundWrites, c.Timers.MeanMs, c.Timers.Samples, c.Timers.P99Ms)
	b.WriteString("| metric | live | simulated | gap (sim − live) / live | sim, no costs |\n|---|---:|---:|---:|---:|\n")
	for _, m := range r.Metrics {
		b.WriteString("| " + strings.Join(m.cells(), " | ") + " |\n")
	}
	b.WriteString("\nWhat differs between the two runs:\n\n")
	for _, n := range r.Notes {
		b.WriteString("- " + n + "\n")
	}
	b.WriteString("\nThe simulated run changed the scenario with:\n\n")
	for _, o := range r.Overrides {
		b.WriteString("    --set " + o + "\n")
	}
	b.WriteString("\nEvery figure of both runs: `dais compare live sim` in this folder (live/ and sim/ are run folders).\n")
	_, err := io.WriteString(w, b.String())
	return err
}
