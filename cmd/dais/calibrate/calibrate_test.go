package calibrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/cmd/dais/calibrate"
	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/scenarios"
)

// Calibrating the shipped scenario for a few seconds: both runs report
// every consensus probe, each metric holds the two runs' own figures and
// their gap, the simulated network is the measured round trip, the
// simulated nodes run on the given hardware profile, and the folder holds
// the report and both run folders.
func TestCalibrateShippedScenario(t *testing.T) {
	livetest.RequireLoopback(t)
	if raceEnabled {
		t.Skip("the live nodes it starts are raced in live/node and live/testnet; make test runs it without -race")
	}
	t.Parallel() // its checks are of structure, not of the figures the other run would disturb
	sc, err := scenarios.Load("../../../scenarios/calibrate-live.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const pings = 5
	rep, err := calibrate.Run(context.Background(), calibrate.Options{Scenario: sc, Dir: dir, Duration: 4 * time.Second,
		Pings: pings, Profile: "../../../scenarios/testdata/profiles/test_box.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Nodes != 4 || rep.RTT.Samples != 4*pings || !(rep.RTT.P50Ms > 0) || rep.RTT.P99Ms < rep.RTT.P50Ms {
		t.Errorf("nodes %d, RTT %+v: want 4 nodes, %d samples, 0 < p50 <= p99", rep.Nodes, rep.RTT, 4*pings)
	}
	if len(rep.Metrics) != len(calibrate.ConsensusProbes) {
		t.Fatalf("%d metrics for %d probes", len(rep.Metrics), len(calibrate.ConsensusProbes))
	}
	for _, m := range rep.Metrics {
		lf, lok := rep.Live.Figure(m.Key)
		sf, sok := rep.Sim.Figure(m.Key)
		if !lok || !sok {
			t.Errorf("%s: live has it %v, sim has it %v", m.Key, lok, sok)
			continue
		}
		if m.Live != lf.Value || m.Sim != sf.Value {
			t.Errorf("%s: metric %v / %v, runs %v / %v", m.Key, m.Live, m.Sim, lf.Value, sf.Value)
		}
		if want := 100 * (sf.Value - lf.Value) / lf.Value; lf.Value != 0 && math.Abs(m.GapPct-want) > 1e-9 {
			t.Errorf("%s: gap %v%%, want %v%%", m.Key, m.GapPct, want)
		}
	}
	for _, key := range []string{"finality_ms_p50", "block_interval_ms_p50", "tx_per_s"} {
		if f, _ := rep.Live.Figure(key); !(f.Value > 0) {
			t.Errorf("live %s = %v: the testnet did not commit blocks with transfers", key, f.Value)
		}
	}
	c := rep.Costs
	if !(c.SignUs > 0) || !(c.VerifyUs > 0) || c.Samples != 300 || !(c.StoreMs > 0) || c.StoreWrites < 4 {
		t.Errorf("costs %+v: want ed25519 timings and the live nodes' store writes", c)
	}
	if !(c.SignedRoundMs > 0) || c.SignedRoundWrites != 4*30 || !(c.CPUPerBlockMs > 0) || !(c.MsgsPerBlock > 0) || c.ReceiveUs < c.VerifyUs ||
		c.Message.Samples != 4*pings || !(c.Message.P50Ms > 0) || c.Timers.Samples == 0 || c.Timers.MeanMs < 0 {
		t.Errorf("costs %+v: want the signed-round writes, CPU per block, messages per block, a receive cost of at least a verify, message round trips and timer lateness", c)
	}
	if want := fmt.Sprintf("rtt_ms: [[%.4f]]", c.Message.P50Ms); !strings.Contains(strings.Join(rep.Overrides, "\n"), want) {
		t.Errorf("the simulated network is not the measured message round trip %q: %q", want, rep.Overrides)
	}
	// The measured costs lengthen the simulated finality.
	for _, m := range rep.Metrics {
		if m.Key == "finality_ms_p50" && !(m.Sim > m.SimFree) {
			t.Errorf("finality p50 simulated %v with the costs, %v without", m.Sim, m.SimFree)
		}
	}
	over := strings.Join(rep.Overrides, "\n")
	for _, w := range []string{"rtt_ms: [[", "population.groups[0].gpu=test_box", "run.duration=4s",
		fmt.Sprintf("processing.send=%dns", int64(c.SignUs*1e3)), fmt.Sprintf("processing.receive=%dns", int64(c.ReceiveUs*1e3)),
		fmt.Sprintf("processing.commit=%dns", int64(c.StoreMs*1e6)), fmt.Sprintf("processing.signed_round=%dns", int64(c.SignedRoundMs*1e6)),
		fmt.Sprintf("processing.timer_late=%dns", int64(c.Timers.MeanMs*1e6))} {
		if !strings.Contains(over, w) {
			t.Errorf("sim overrides do not contain %q:\n%s", w, over)
		}
	}
	if rep.Profile != "test_box" {
		t.Errorf("profile %q, want test_box", rep.Profile)
	}
	if err := rep.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{calibrate.MarkdownFile, calibrate.JSONFile, "live/metrics.json", "sim/metrics.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	var back struct {
		Metrics []struct {
			Key    string   `json:"key"`
			GapPct *float64 `json:"gap_pct"`
		} `json:"metrics"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, calibrate.JSONFile))
	if err := json.Unmarshal(b, &back); err != nil || len(back.Metrics) != len(rep.Metrics) {
		t.Fatalf("calibration.json: %v, %d metrics", err, len(back.Metrics))
	}
	md, _ := os.ReadFile(filepath.Join(dir, calibrate.MarkdownFile))
	if !strings.Contains(string(md), "| BFT finality p50 (ms) |") {
		t.Errorf("calibration.md has no finality row:\n%s", md)
	}
}

func TestCalibrateRejects(t *testing.T) {
	sc, err := scenarios.Builtin("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := calibrate.Run(context.Background(), calibrate.Options{Scenario: sc, Dir: t.TempDir()}); !errors.Is(err, calibrate.ErrOptions) {
		t.Errorf("a gossip scenario: err = %v, want ErrOptions", err)
	}
	bft, err := scenarios.Load("../../../scenarios/calibrate-live.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = calibrate.Run(context.Background(), calibrate.Options{Scenario: bft, Dir: t.TempDir(), Profile: "missing.yaml"})
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("a missing profile: err = %v", err)
	}
}

func TestGap(t *testing.T) {
	for _, c := range []struct{ live, sim, want float64 }{{100, 120, 20}, {100, 80, -20}, {0, 5, math.NaN()}, {math.NaN(), 1, math.NaN()}} {
		got := calibrate.Gap(c.live, c.sim)
		if got != c.want && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("Gap(%v, %v) = %v, want %v", c.live, c.sim, got, c.want)
		}
	}
}

// The market probe: a live marketplace and its simulated twin both report
// task completion, and the live figures are real (the units took time).
func TestCalibrateMarket(t *testing.T) {
	livetest.RequireLoopback(t)
	if raceEnabled {
		t.Skip("the live nodes it starts are raced in live/node and live/testnet; make test runs it without -race")
	}
	t.Parallel() // its checks are of structure, not of the figures the other run would disturb
	sc, err := scenarios.Load("../../../scenarios/calibrate-live.yaml", "population.groups[0].count=3")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := calibrate.Run(context.Background(), calibrate.Options{Scenario: sc, Dir: t.TempDir(), Duration: 2 * time.Second,
		Pings: 3, MarketJobs: 2, Probes: []calibrate.Probe{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Metrics) != len(calibrate.MarketProbes) {
		t.Fatalf("metrics %+v, want the market probes", rep.Metrics)
	}
	for _, m := range rep.Metrics {
		if !(m.Live > 0) || !(m.Sim > 0) || math.IsNaN(m.GapPct) {
			t.Errorf("%s: live %v, sim %v, gap %v", m.Key, m.Live, m.Sim, m.GapPct)
		}
		if f, ok := rep.MarketSim.Figure(m.Key); !ok || f.Value != m.Sim {
			t.Errorf("%s: sim %v, the simulated market's figure %v", m.Key, m.Sim, f.Value)
		}
	}
	if f, _ := rep.MarketSim.Figure("jobs_posted"); f.Value != 2 {
		t.Errorf("the simulated twin posted %v jobs, want 2", f.Value)
	}
}
