package sweep

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary run a sweep as a child process, for the
// kill test: DAIS_SWEEP_CHILD names the sweep file, DAIS_SWEEP_OUT the
// output folder.
func TestMain(m *testing.M) {
	if file := os.Getenv("DAIS_SWEEP_CHILD"); file != "" {
		s, err := Load(file, LoadOptions{})
		if err == nil {
			_, err = Run(s, Options{Dir: os.Getenv("DAIS_SWEEP_OUT"), Jobs: 2})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const killSweep = `name: kill
base: quickstart
seed: 2
set:
  run.duration: 40s
axes:
  - key: protocol.gossip.degree
    values: [3, 4, 5, 6]
  - key: network.loss
    values: [0, 0.5%, 1%, 2%]
`

// A sweep SIGKILLed with some but not all of its points done, started
// again, finishes with every point exactly once: the points done before
// the kill are kept as they were (not run again), the rest run once, the
// half-written folder the killed process left is removed, and the table
// has each point × repetition × figure once.
func TestKilledSweepResumes(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "kill.yaml", killSweep)
	out := filepath.Join(dir, "out")
	s, err := Load(file, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "DAIS_SWEEP_CHILD="+file, "DAIS_SWEEP_OUT="+out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Wait for the first finished point, then kill at once.
	finished := func() []string {
		ents, _ := os.ReadDir(filepath.Join(out, PointsDir))
		var names []string
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") {
				names = append(names, e.Name())
			}
		}
		return names
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for len(finished()) == 0 {
		select {
		case err := <-exited:
			t.Fatalf("the sweep exited (%v) before a point was done: %s", err, stderr.String())
		case <-tick.C:
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil {
		t.Fatal("the child exited 0: it finished before the kill")
	}
	done := finished()
	if len(done) == 0 || len(done) >= len(s.Points) {
		t.Fatalf("%d of %d points done at the kill; want some but not all", len(done), len(s.Points))
	}
	// What a kill in the middle of writing leaves: a temporary folder of
	// the dead process, with part of a point in it.
	host, _ := os.Hostname()
	half := filepath.Join(out, PointsDir, fmt.Sprintf("%s%s-%s-%d", tmpPrefix, s.Points[len(s.Points)-1].Dir(), host, cmd.Process.Pid))
	if err := os.MkdirAll(half, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, half, "metrics.json", `{"schema": 1, "meta": {`)
	type stamp struct {
		ino   uint64
		mtime time.Time
	}
	before := map[string]stamp{}
	for _, d := range done {
		st, err := os.Stat(filepath.Join(out, PointsDir, d, PointFile))
		if err != nil {
			t.Fatalf("finished folder %s lacks %s: %v", d, PointFile, err)
		}
		before[d] = stamp{st.Sys().(*syscall.Stat_t).Ino, st.ModTime()}
	}

	res, err := Run(s, Options{Dir: out, Jobs: 2})
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("resume: %v %v", err, res.Failed)
	}
	if res.Skipped != len(done) || res.Ran != len(s.Points)-len(done) {
		t.Errorf("resume skipped %d and ran %d; %d were done of %d", res.Skipped, res.Ran, len(done), len(s.Points))
	}
	for d, b := range before {
		st, _ := os.Stat(filepath.Join(out, PointsDir, d, PointFile))
		if a := (stamp{st.Sys().(*syscall.Stat_t).Ino, st.ModTime()}); a != b {
			t.Errorf("point folder %s was written again", d)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(out, PointsDir))
	if len(ents) != len(s.Points) {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("points/ holds %v, want the %d point folders only", names, len(s.Points))
	}
	merged, err := Merge(out, []string{out})
	if err != nil {
		t.Fatal(err)
	}
	table, _ := os.ReadFile(filepath.Join(out, TableCSV))
	rows := strings.Split(strings.TrimSpace(string(table)), "\n")[1:]
	seen := map[string]bool{}
	for _, r := range rows {
		c := strings.Split(r, ",")
		k := c[0] + "/" + c[4] + "/" + c[6] // point, repetition, figure
		if seen[k] {
			t.Fatalf("row %s twice", k)
		}
		seen[k] = true
	}
	if want := len(s.Points) * len(merged.Runs[0].Figures); len(rows) != want {
		t.Errorf("%d rows, want %d", len(rows), want)
	}
}
