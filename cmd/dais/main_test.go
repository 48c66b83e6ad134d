package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// capture runs the CLI with args and returns its exit code, stdout and stderr.
func capture(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	oldOut, oldErr := os.Stdout, os.Stderr
	ro, wo, _ := os.Pipe()
	re, we, _ := os.Pipe()
	os.Stdout, os.Stderr = wo, we
	code := run(args)
	wo.Close()
	we.Close()
	os.Stdout, os.Stderr = oldOut, oldErr
	var out, errb bytes.Buffer
	out.ReadFrom(ro)
	errb.ReadFrom(re)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("run: {name: t, seed: x}\npopulation: {nodes: 3, gpus: 2}\n"), 0o644)
	withWorkload := filepath.Join(dir, "w.yaml")
	os.WriteFile(withWorkload, []byte("run: {name: t}\npopulation: {nodes: 3}\nworkload:\n  arrivals: {process: poisson, rate: 1/s}\n  jobs: [{name: j, kind: inference}]\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"version"}, exitOK, ""},
		{[]string{"run", "--nodes", "200", "--block-size", "64KiB"}, exitOK, ""},
		{[]string{"run", "quickstart", "--set", "run.duration=20s"}, exitOK, ""},
		{[]string{"run", "--nodes", "1"}, exitBadInput, "blockprop: 1 nodes, need at least 2"},
		{[]string{"run", "--block-size", "lots"}, exitBadInput, `--set protocol.gossip.block_size=lots: protocol.gossip.block_size: "lots" is not a size`},
		{[]string{"run", "--loss", "150%"}, exitBadInput, "network.loss: 150% is out of range: want a value in [0%, 99%]"},
		{[]string{"run", "--nope"}, exitBadInput, "unknown flag: --nope"},
		{[]string{"run", "a", "b"}, exitBadInput, "accepts at most 1 arg(s), received 2"},
		{[]string{"run", filepath.Join(dir, "missing.yaml")}, exitBadInput, "no such file or directory"},
		{[]string{"run", broken}, exitBadInput, broken + `:1:22: run.seed: want a whole number >= 0, got "x"`},
		{[]string{"run", withWorkload}, exitBadInput, "the simulator does not run workload or adversaries yet"},
		{[]string{"validate", broken}, exitBadInput, broken + `:2:24: population.gpus: unknown key`},
		{[]string{"validate", withWorkload}, exitOK, ""},
		{[]string{"frobnicate"}, exitBadInput, `unknown command "frobnicate"`},
	} {
		code, _, stderr := capture(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.err) {
			t.Errorf("dais %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.err)
		}
	}
}

func TestRunPrintsFigures(t *testing.T) {
	args := []string{"run", "--nodes", "300", "--block-size", "100KB", "--seed", "3"}
	code, out, _ := capture(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"demo: scenarios/demo.yaml, 300 nodes, 98 KiB blocks", "seed 3", "100.00%", "propagation p50", "propagation p90", "propagation p100", "events/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Same seed, same figures (wall time and speed excluded).
	_, again, _ := capture(t, args...)
	if stable(out) != stable(again) {
		t.Errorf("same seed, different figures:\n%s\n%s", out, again)
	}
}

func TestValidateShippedScenarios(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/*.yaml")
	code, out, stderr := capture(t, append([]string{"validate"}, files...)...)
	if code != exitOK || strings.Count(out, "ok  ") != len(files) || len(files) < 2 {
		t.Fatalf("validate %v: exit %d\n%s%s", files, code, out, stderr)
	}
}

func TestSchemaFileIsCurrent(t *testing.T) {
	for _, tc := range []struct{ file, flag string }{
		{"../../scenarios/scenario.schema.json", ""},
		{"../../scenarios/README.md", "--markdown"},
	} {
		args := []string{"schema"}
		if tc.flag != "" {
			args = append(args, tc.flag)
		}
		code, out, _ := capture(t, args...)
		shipped, err := os.ReadFile(tc.file)
		if code != exitOK || err != nil || string(shipped) != out {
			t.Errorf("%s differs from dais %s (regenerate: go run ./cmd/dais %s > %s)", tc.file, strings.Join(args, " "), strings.Join(args, " "), strings.TrimPrefix(tc.file, "../../"))
		}
	}
}

func stable(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "wall time") && !strings.Contains(l, "events/s") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func TestHelpShowsExamples(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run", "--help"}} {
		code, out, _ := capture(t, args...)
		if code != exitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "dais run") {
			t.Errorf("dais %s: exit %d, no examples:\n%s", strings.Join(args, " "), code, out)
		}
	}
	code, out, _ := capture(t, "completion", "bash")
	if code != exitOK || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: exit %d, %.80q", code, out)
	}
}
