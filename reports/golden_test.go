package reports

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/sim/blockprop"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// demoRun is the golden run: the built-in demo at 200 nodes, seed 1, with
// fixed version strings so the files do not change with the build.
func demoRun(t testing.TB, overrides ...string) *metrics.Run {
	t.Helper()
	p, err := blockprop.Demo(append([]string{"population.nodes=200"}, overrides...)...)
	if err != nil {
		t.Fatal(err)
	}
	rec, sink := blockprop.NewRecorder(int64(50*protocol.Millisecond), 0)
	p.Sink = sink
	res, err := blockprop.Run(p)
	if err != nil {
		t.Fatal(err)
	}
	run := blockprop.Summary(res, rec)
	run.Meta.Scenario = "demo"
	run.Meta.Version, run.Meta.GoVersion = "golden", "go-golden"
	return run
}

// TestGolden holds report.md, metrics.json and timeseries.csv of a small
// fixed-seed run to files under testdata/golden; any change in a figure
// shows in review. go test ./reports -run Golden -update rewrites them.
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, demoRun(t)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{MetricsFile, MarkdownFile, TimeseriesFile} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "golden", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (run go test ./reports -run Golden -update if the change is intended):\n%s", name, golden, firstDiff(want, got))
		}
	}
}

// firstDiff shows the first line that differs.
func firstDiff(want, got []byte) string {
	wl, gl := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, w, g)
		}
	}
	return "(lengths differ)"
}
