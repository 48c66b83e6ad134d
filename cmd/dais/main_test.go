package main

import (
	"bytes"
	"os"
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
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"version"}, exitOK, ""},
		{[]string{"run", "--nodes", "200", "--block-size", "64KiB"}, exitOK, ""},
		{[]string{"run", "--nodes", "1"}, exitBadInput, "nodes = 1, need at least 2"},
		{[]string{"run", "--block-size", "lots"}, exitBadInput, `--block-size "lots"`},
		{[]string{"run", "--loss", "1.5"}, exitBadInput, "loss 1.5 outside [0, 1)"},
		{[]string{"run", "--nope"}, exitBadInput, "unknown flag: --nope"},
		{[]string{"run", "extra-arg"}, exitBadInput, "unknown command"},
		{[]string{"frobnicate"}, exitBadInput, `unknown command "frobnicate"`},
		// Heavy loss strands nodes: the run itself fails.
		{[]string{"run", "--nodes", "200", "--block-size", "1KB", "--loss", "0.9"}, exitFailed, "reproduce with: dais run --nodes 200 --seed 1 --loss 0.9"},
	} {
		code, _, stderr := capture(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.err) {
			t.Errorf("dais %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.err)
		}
	}
}

func TestRunPrintsFigures(t *testing.T) {
	code, out, _ := capture(t, "run", "--nodes", "300", "--block-size", "100KB", "--seed", "3")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"98 KiB block, 300 nodes", "300 / 300", "propagation p50", "propagation p90", "propagation p100", "events/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Same seed, same figures (wall time and speed excluded).
	_, again, _ := capture(t, "run", "--nodes", "300", "--block-size", "100KB", "--seed", "3")
	if stable(out) != stable(again) {
		t.Errorf("same seed, different figures:\n%s\n%s", out, again)
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
