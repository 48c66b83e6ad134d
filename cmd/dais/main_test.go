package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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
	// Drain both pipes while the command runs: a pipe holds 64 KiB, and the
	// JSON Schema alone is larger.
	var out, errb bytes.Buffer
	done := make(chan struct{}, 2)
	go func() { out.ReadFrom(ro); done <- struct{}{} }()
	go func() { errb.ReadFrom(re); done <- struct{}{} }()
	code := run(args)
	wo.Close()
	we.Close()
	<-done
	<-done
	os.Stdout, os.Stderr = oldOut, oldErr
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
		{[]string{"run", "--nodes", "1"}, exitBadInput, "--set population.nodes=1: population.nodes: block gossip needs at least 2 nodes, not 1"},
		{[]string{"run", "--block-size", "lots"}, exitBadInput, `--set protocol.gossip.block_size=lots: protocol.gossip.block_size: "lots" is not a size`},
		{[]string{"run", "--loss", "150%"}, exitBadInput, "network.loss: 150% is out of range: want a value in [0%, 99%]"},
		{[]string{"run", "--nope"}, exitBadInput, "unknown flag: --nope"},
		{[]string{"run", "a", "b"}, exitBadInput, "accepts at most 1 arg(s), received 2"},
		{[]string{"run", filepath.Join(dir, "missing.yaml")}, exitBadInput, "no such file or directory"},
		{[]string{"run", broken}, exitBadInput, broken + `:1:22: run.seed: want a whole number >= 0, got "x"`},
		{[]string{"run", withWorkload}, exitBadInput, "workload.jobs[0].flops: missing; this key is required"},
		{[]string{"validate", broken}, exitBadInput, broken + `:2:24: population.gpus: unknown key`},
		{[]string{"validate", withWorkload}, exitBadInput, "workload.jobs[0].flops: missing"},
		{[]string{"frobnicate"}, exitBadInput, `unknown command "frobnicate"`},
		// 34 colluding equivocators of 100 break safety: the checker says
		// so, and gives the command that replays the run, overrides and all.
		{[]string{"run", "../../scenarios/bft-equivocation.yaml", "--set", "adversaries[0].count=34"}, exitFailed, "conflicting_blocks at height"},
		{[]string{"run", "../../scenarios/bft-equivocation.yaml", "--set", "adversaries[0].count=34"}, exitFailed, "replay: dais run ../../scenarios/bft-equivocation.yaml --set 'adversaries[0].count=34'\n"},
		{[]string{"run", "../../scenarios/bft-equivocation.yaml"}, exitOK, ""},
		// The run folder cannot be made inside a file: the run fails.
		{[]string{"run", "quickstart", "--set", "run.duration=10s", "-o", broken + "/x"}, exitFailed, "not a directory"},
	} {
		args := tc.args
		if args[0] == "run" && !slices.Contains(args, "-o") {
			args = append(args, "-o", t.TempDir())
		}
		if args[0] == "run" {
			args = append(args, "-q")
		}
		code, _, stderr := capture(t, args...)
		if code != tc.code || !strings.Contains(stderr, tc.err) {
			t.Errorf("dais %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.err)
		}
	}
}

func TestRunWritesTheFolder(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	args := []string{"run", "--nodes", "300", "--block-size", "100KB", "--seed", "3", "-q"}
	code, out, _ := capture(t, append(args, "-o", dirA)...)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"demo (scenarios/demo.yaml): 300 nodes, seed 3", "coverage", "propagation_ms_p50", "propagation_ms_p99", "report: " + dirA} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"metrics.json", "timeseries.csv", "report.md", "report.html", "host.json"} {
		if st, err := os.Stat(filepath.Join(dirA, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	// Same scenario and seed: byte-identical results.
	if code, _, _ := capture(t, append(args, "-o", dirB)...); code != exitOK {
		t.Fatal("second run failed")
	}
	for _, f := range []string{"metrics.json", "timeseries.csv", "report.md", "report.html"} {
		a, _ := os.ReadFile(filepath.Join(dirA, f))
		b, _ := os.ReadFile(filepath.Join(dirB, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs of the same seed", f)
		}
	}
	// Another seed, other figures.
	dirC := t.TempDir()
	capture(t, "run", "--nodes", "300", "--block-size", "100KB", "--seed", "4", "-q", "-o", dirC)
	a, _ := os.ReadFile(filepath.Join(dirA, "metrics.json"))
	c, _ := os.ReadFile(filepath.Join(dirC, "metrics.json"))
	if bytes.Equal(a, c) {
		t.Error("seeds 3 and 4 wrote the same metrics.json")
	}
}

func TestRunFormatsAndRepetitions(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := capture(t, "run", "quickstart", "-q", "-o", dir, "--set", "run.duration=30s",
		"--set", "run.repetitions=3", "--set", "outputs.formats=[json, md]")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "3 repetition(s)") || !strings.Contains(out, "mean ± 95% CI") || !strings.Contains(out, "coverage           │ 1 ± 0") {
		t.Errorf("no repetition summary:\n%s", out)
	}
	for f, want := range map[string]bool{"metrics.json": true, "report.md": true, "report.html": false, "timeseries.csv": false} {
		if _, err := os.Stat(filepath.Join(dir, f)); (err == nil) != want {
			t.Errorf("%s present = %v, want %v", f, err == nil, want)
		}
	}
}

func TestValidateShippedScenarios(t *testing.T) {
	all, _ := filepath.Glob("../../scenarios/*.yaml")
	// Scenarios and tune files; sweep files are dais sweep's.
	files := slices.DeleteFunc(all, func(f string) bool { return strings.HasPrefix(filepath.Base(f), "sweep-") })
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

// The replay command a failed run prints runs the same scenario with the
// same overrides, shortcut flags included, and fails the same way.
func TestReplayReproducesTheFailure(t *testing.T) {
	args := []string{"run", "../../scenarios/bft-equivocation.yaml", "--set", "adversaries[0].count=34", "--seed", "2", "-q", "-o", t.TempDir()}
	code, _, stderr := capture(t, args...)
	i := strings.Index(stderr, "replay: ")
	if code != exitFailed || i < 0 {
		t.Fatalf("exit %d, no replay line:\n%s", code, stderr)
	}
	replay := strings.TrimSpace(stderr[i+len("replay: "):])
	if want := "dais run ../../scenarios/bft-equivocation.yaml --set 'adversaries[0].count=34' --set run.seed=2"; replay != want {
		t.Fatalf("replay %q, want %q", replay, want)
	}
	words := shellWords(t, replay)[1:]
	code2, _, stderr2 := capture(t, append(words, "-q", "-o", t.TempDir())...)
	violations := func(s string) string { return s[:strings.Index(s, "replay: ")] }
	if code2 != exitFailed || !strings.Contains(stderr2, "replay: ") || violations(stderr2) != violations(stderr) {
		t.Fatalf("the replay gave exit %d:\n%s\nthe run:\n%s", code2, stderr2, stderr)
	}
}

// shellWords splits a command as a POSIX shell does for the quoting
// replayCommand writes: plain words and single-quoted ones.
func shellWords(t *testing.T, s string) []string {
	var words []string
	var cur strings.Builder
	in, has := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			in, has = !in, true
		case r == ' ' && !in:
			if has {
				words = append(words, cur.String())
			}
			cur.Reset()
			has = false
		default:
			cur.WriteRune(r)
			has = true
		}
	}
	if in {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	if has {
		words = append(words, cur.String())
	}
	return words
}

// A folder named like a shipped scenario does not hide it.
func TestShippedNameBesideAFolder(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(dir)
	os.Mkdir("quickstart", 0o755)
	code, out, stderr := capture(t, "run", "quickstart", "--set", "run.duration=10s", "-q", "-o", filepath.Join(dir, "out"))
	if code != exitOK || !strings.Contains(out, "quickstart (scenarios/quickstart.yaml)") || !strings.Contains(stderr, "quickstart is a folder here; running the shipped scenario quickstart") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	os.Mkdir("mine", 0o755)
	if code, _, stderr := capture(t, "run", "mine"); code != exitBadInput || !strings.Contains(stderr, "mine is a folder, not a scenario file") {
		t.Fatalf("a folder: exit %d, %s", code, stderr)
	}
}

// Everything in a run folder but host.json is a function of the scenario
// and seed: two runs, one with GOMAXPROCS 1 and one with 2, write the same
// bytes, for a runner of each kind (learning trains on a worker pool).
func TestRunFolderIsByteStable(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range [][]string{
		{"quickstart", "--set", "run.duration=30s"},
		{"bft-validators", "--set", "run.duration=50s", "--set", "network.partitions[0].from=20s", "--set", "network.partitions[0].until=30s"},
		{"marketplace-fairness", "--set", "run.duration=1m"},
		{"federated-poisoning", "--set", "protocol.learning.rounds=2", "--set", "run.repetitions=2"},
	} {
		var dirs []string
		for _, procs := range []int{1, 2} {
			runtime.GOMAXPROCS(procs)
			dir := t.TempDir()
			if code, _, errs := capture(t, append(append([]string{"run"}, tc...), "-q", "-o", dir)...); code != exitOK {
				t.Fatalf("%s: exit %d: %s", tc[0], code, errs)
			}
			dirs = append(dirs, dir)
		}
		files, _ := filepath.Glob(filepath.Join(dirs[0], "plots", "*.svg"))
		for i := range files {
			files[i], _ = filepath.Rel(dirs[0], files[i])
		}
		for _, f := range append([]string{"metrics.json", "report.md", "report.html", "timeseries.csv"}, files...) {
			a, errA := os.ReadFile(filepath.Join(dirs[0], f))
			b, errB := os.ReadFile(filepath.Join(dirs[1], f))
			if errA != nil || errB != nil || len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("%s: %s differs between GOMAXPROCS 1 and 2 (%v, %v)", tc[0], f, errA, errB)
			}
		}
		if h, _ := os.ReadFile(filepath.Join(dirs[0], "host.json")); !bytes.Contains(h, []byte(`"gomaxprocs": 1`)) {
			t.Errorf("%s: host.json %s", tc[0], h)
		}
	}
}

// The simulated time dais run prints is the one the report's header
// gives: a marketplace drains its jobs after run.duration, and both say
// so.
func TestSimulatedTimeAgrees(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := capture(t, "run", "marketplace-fairness", "--set", "run.duration=30s", "--set", "run.repetitions=1", "-q", "-o", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	i := strings.Index(out, "simulated ")
	j := strings.Index(out, ", 1 repetition(s)")
	if i < 0 || j < i {
		t.Fatalf("no simulated time in %q", out)
	}
	sim := out[i:j]
	if !strings.Contains(sim, "(run.duration 30s)") {
		t.Errorf("terminal says %q, not the run.duration it differs from", sim)
	}
	for _, f := range []string{"report.html", "report.md"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if !strings.Contains(string(b), sim) {
			t.Errorf("%s does not say %q", f, sim)
		}
	}
}

func TestSweepFilesAndSchema(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/sweeps/*.yaml")
	code, out, stderr := capture(t, append([]string{"sweep", "validate"}, files...)...)
	if code != exitOK || strings.Count(out, "ok  ") != len(files) || len(files) == 0 {
		t.Fatalf("sweep validate %v: exit %d\n%s%s", files, code, out, stderr)
	}
	code, out, _ = capture(t, "sweep", "schema")
	shipped, err := os.ReadFile("../../scenarios/sweep.schema.json")
	if code != exitOK || err != nil || string(shipped) != out {
		t.Error("scenarios/sweep.schema.json differs from dais sweep schema (regenerate: go run ./cmd/dais sweep schema > scenarios/sweep.schema.json)")
	}
}

func TestSweepCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s.yaml")
	os.WriteFile(file, []byte("base: quickstart\nrepetitions: 2\nset: {run.duration: 10s, population.nodes: 30}\naxes: [{key: protocol.gossip.degree, values: [3, 5]}]\nplot: [coverage, propagation_ms_p50]\n"), 0o644)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := capture(t, "sweep", file, "-j", "2", "-q", "-o", out)
	if code != exitOK || !strings.Contains(stdout, "ran 2 points") || !strings.Contains(stdout, "merged 2 of 2 points") {
		t.Fatalf("sweep: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, f := range []string{"table.csv", "table.jsonl", "summary.csv", "summary.jsonl", "report.md", "report.html", "sweep.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	code, stdout, _ = capture(t, "sweep", "run", file, "-q", "-o", out, "--shard", "1/2")
	if code != exitOK || !strings.Contains(stdout, "ran 0 points") || !strings.Contains(stdout, "1 were already done") || !strings.Contains(stdout, "dais sweep merge") {
		t.Errorf("a rerun of shard 1/2: exit %d\n%s", code, stdout)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("base: quickstart\naxes: [{key: protocol.gossip.degre, values: [3]}]\n"), 0o644)
	for _, args := range [][]string{{"sweep", "run", bad}, {"sweep", "validate", bad}} {
		code, _, stderr = capture(t, args...)
		if code != exitBadInput || !strings.Contains(stderr, bad+`:2:14: axes[0].key: protocol.gossip.degre: unknown key (did you mean "degree"?)`) {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
		}
	}
	code, _, stderr = capture(t, "sweep", "run", file, "--shard", "/2")
	if code != exitBadInput || !strings.Contains(stderr, "no shard index") {
		t.Errorf("--shard /2 without an index: exit %d %s", code, stderr)
	}
	code, stdout, _ = capture(t, "sweep", "k8s", file, "-n", "3", "--image", "dais:dev", "--pvc", "r")
	if code != exitOK || !strings.Contains(stdout, "completionMode: Indexed") {
		t.Errorf("sweep k8s: exit %d\n%s", code, stdout)
	}
	code, _, stderr = capture(t, "sweep", "k8s", file, "-n", "3")
	if code != exitBadInput || !strings.Contains(stderr, "needs an image") {
		t.Errorf("sweep k8s without an image: exit %d %s", code, stderr)
	}
	script := filepath.Join(dir, "s.sbatch")
	code, _, stderr = capture(t, "sweep", "slurm", file, "-n", "2", "-o", script, "--out-dir", out)
	b, _ := os.ReadFile(script)
	if code != exitOK || !strings.Contains(string(b), "#SBATCH --array=0-1") {
		t.Errorf("sweep slurm: exit %d %s\n%s", code, stderr, b)
	}
}

// Points another dais version ran are kept, with a warning.
func TestSweepWarnsOfOtherVersions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s.yaml")
	os.WriteFile(file, []byte("base: quickstart\nset: {run.duration: 10s, population.nodes: 30}\naxes: [{key: protocol.gossip.degree, values: [3, 5]}]\nplot: [coverage]\n"), 0o644)
	out := filepath.Join(dir, "out")
	if code, _, stderr := capture(t, "sweep", file, "-q", "-o", out); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	old := version
	version = "v0.0.0-test"
	defer func() { version = old }()
	code, stdout, stderr := capture(t, "sweep", file, "-q", "-o", out)
	if code != exitOK || !strings.Contains(stdout, "2 were already done") || !strings.Contains(stderr, "2 of the points already done were run by another dais version") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}
