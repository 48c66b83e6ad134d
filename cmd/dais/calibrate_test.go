package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dais-sim/dais/cmd/dais/calibrate"
	"github.com/dais-sim/dais/gpu/profile"
	"github.com/dais-sim/dais/live/livetest"
)

const testProfile = "../../scenarios/testdata/profiles/test_box.yaml"

// A missing or broken hardware profile is bad input (exit 2) wherever it
// is named: in a scenario, or to calibrate; so are bad bench options.
func TestProfileExitCodes(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	sc := filepath.Join(dir, "s.yaml")
	os.WriteFile(sc, []byte("run: {name: t}\npopulation:\n  hardware_profiles: [nope.yaml]\n  groups: [{name: g, gpu: cpu, count: 2}]\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"validate", sc}, exitBadInput, sc + ":3:23: population.hardware_profiles[0]: profile: invalid hardware profile: " + filepath.Join(dir, "nope.yaml") + ": no such file or directory"},
		{[]string{"run", sc, "-q", "-o", dir}, exitBadInput, "population.hardware_profiles[0]"},
		{[]string{"calibrate", "--profile", missing, "-o", dir}, exitBadInput, missing + ": no such file or directory"},
		{[]string{"calibrate", "--scenario", "quickstart", "--profile", testProfile, "-o", dir}, exitBadInput, "a live testnet runs BFT consensus"},
		{[]string{"gpu", "bench", "--name", "h100", "--quick"}, exitBadInput, "built-in catalog"},
		{[]string{"gpu", "bench", "--fit", "guess", "--quick"}, exitBadInput, "fit \"guess\""},
	} {
		code, _, stderr := capture(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.err) {
			t.Errorf("dais %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.err)
		}
	}
}

// gpu bench -o writes a profile that loads, names its class and says
// what it measured.
func TestGPUBenchWritesAProfile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "p.yaml")
	code, stdout, stderr := capture(t, "gpu", "bench", "--quick", "--name", "quick_box", "--fit", "matmul", "-o", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	p, err := profile.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Class.Name != "quick_box" || len(p.Measured.Train) != 2 || len(p.Measured.Kernel) != 1 || p.Fit != profile.FitMatMul || p.Host.Ran != "cpu" {
		t.Errorf("profile %+v", p)
	}
	for _, w := range []string{"measuring on the CPU", "GEMM fp32", "stream triad", "train step mlp", "market unit matmul", "class quick_box (fit: matmul)", "wrote " + out} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, stdout)
		}
	}
}

// calibrate on the shipped scenario for two seconds, market off: it
// prints the table and writes the folder.
func TestCalibrateCommand(t *testing.T) {
	livetest.RequireLoopback(t)
	dir := t.TempDir()
	code, stdout, stderr := capture(t, "calibrate", "--duration", "2s", "--market-jobs", "0", "--profile", testProfile, "-o", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	for _, w := range []string{"BFT finality p50 (ms)", "block interval p50 (ms)", "measured loopback RTT", "report: "} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, stdout)
		}
	}
	for _, f := range []string{calibrate.MarkdownFile, calibrate.JSONFile, "live/report.md", "sim/report.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
