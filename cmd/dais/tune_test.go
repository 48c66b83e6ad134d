package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTuneSchemaFileIsCurrent(t *testing.T) {
	code, out, _ := capture(t, "tune", "schema")
	shipped, err := os.ReadFile("../../scenarios/tune.schema.json")
	if code != exitOK || err != nil || string(shipped) != out {
		t.Error("scenarios/tune.schema.json differs from dais tune schema (regenerate: go run ./cmd/dais tune schema > scenarios/tune.schema.json)")
	}
}

// dais tune writes its folder and prints the best; a bad tune file is bad
// input with its line; the shipped tune file checks against a run of its
// base, by path and by name.
func TestTuneCommand(t *testing.T) {
	base, err := filepath.Abs("../../sim/tune/testdata/emission.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("base: "+base+"\nparameters:\n  - {key: protocol.rewards.emission_per_block, min: 0.001, max: 0.1, scale: log}\n"+
		"objective:\n  maximize: earnings_per_gpu_hour_by_class[rtx4090]\nconstraints: [{figure: inflation_yearly, max: 0.05}]\nbudget: 6\nrepetitions: 1\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("base: "+base+"\nparameters: [{key: protocol.rewards.emision_per_block, min: 0.001, max: 0.1}]\nobjective: {maximize: blocks}\n"), 0o644)
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"tune", good, "-o", out, "-q"}, exitOK, "protocol.rewards.emission_per_block", ""},
		{[]string{"tune", bad, "-q"}, exitBadInput, "", bad + `:2:20: parameters[0].key: in ` + base + `: protocol.rewards.emision_per_block: unknown key (did you mean "emission_per_block"?)`},
		{[]string{"tune", filepath.Join(dir, "none.yaml")}, exitBadInput, "", "no such file"},
		{[]string{"tune", "../../scenarios/tune-tokenomics.yaml", "--check"}, exitOK, "ok  ../../scenarios/tune-tokenomics.yaml", ""},
		{[]string{"tune", "tune-tokenomics", "--check", "-q"}, exitOK, "ok  scenarios/tune-tokenomics.yaml", ""},
		{[]string{"tune", "lazy-providers", "--check"}, exitBadInput, "", "no such file, nor a shipped tune file"},
	} {
		code, stdout, stderr := capture(t, tc.args...)
		if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("dais %s: exit %d\nstdout %s\nstderr %s\nwant exit %d, %q, %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
		}
	}
	for _, f := range []string{"trace.csv", "trace.jsonl", "best.yaml", "tune.json", "report.md", "report.html", "plots/convergence.svg", "host.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("dais tune wrote no %s", f)
		}
	}
	// best.yaml runs.
	if code, _, stderr := capture(t, "run", filepath.Join(out, "best.yaml"), "-q", "-o", filepath.Join(dir, "run")); code != exitOK {
		t.Errorf("dais run best.yaml: exit %d: %s", code, stderr)
	}
}
