package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/runner"
)

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every error in a broken sweep file names the sweep file's line and
// column and the key: the sweep's own keys, and the scenario loader's
// errors moved to the axis (or set entry) that caused them.
func TestValidationErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"design", "base: quickstart\ndesign: gird\naxes: [{key: run.seed, values: [1, 2]}]\n",
			[]string{`design.yaml:2:9: design: "gird" is not allowed; want one of grid, zip`}},
		{"keypath", "base: lazy-providers\naxes:\n  - key: protocol.verification.spot_chek\n    values: [0.1, 0.2]\n",
			[]string{`keypath.yaml:3:10: axes[0].key: protocol.verification.spot_chek: unknown key (did you mean "spot_check"?)`}},
		{"zip", "base: quickstart\ndesign: zip\naxes:\n  - {key: run.seed, values: [1, 2, 3]}\n  - key: network.loss\n    values: [0, 1%]\n",
			[]string{"zip.yaml:5:5: axes[1]: zip advances the axes together, so they need equal lengths: this axis has 2 values, axes[0] has 3"}},
		{"minmax", "base: quickstart\naxes:\n  - key: network.loss\n    range: {min: 0.5, max: 0.1, steps: 3}\n",
			[]string{"minmax.yaml:4:18: axes[0].range.min: min 0.5 is above max 0.1"}},
		{"logzero", "base: quickstart\naxes:\n  - key: network.loss\n    range: {min: 0, max: 0.1, scale: log, steps: 3}\n",
			[]string{"logzero.yaml:4:18: axes[0].range.min: a log range needs min > 0, got 0"}},
		{"value", "base: quickstart\naxes:\n  - key: network.loss\n    values: [0, 150%, 1%]\n",
			[]string{"value.yaml:4:17: axes[0].values[1]: network.loss: 150% is out of range: want a value in [0%, 99%]"}},
		{"rangevalue", "base: quickstart\naxes:\n  - key: network.loss\n    range: {min: 0.5, max: 2, steps: 4}\n",
			[]string{"rangevalue.yaml:4:13: axes[0].range: value 1: network.loss: 1 is out of range"}},
		{"set", "base: quickstart\nset:\n  run.duration: 20s\n  network.los: 1%\naxes: [{key: run.seed, values: [1, 2]}]\n",
			[]string{`set.yaml:4:3: set: network.los: unknown key (did you mean "loss"?)`}},
		{"together", "base: lazy-providers\naxes:\n  - key: population.groups[0].count\n    values: [50, 1000]\n",
			[]string{"together.yaml:4:18: axes[0].values[1]: with population.groups[0].count=1000: scenarios/lazy-providers.yaml:16:10: population.nodes: 114, but the group counts add up to 1064"}},
		{"sampled", "base: quickstart\ndesign: random\naxes:\n  - key: network.loss\n    range: {min: 0, max: 0.1, steps: 3}\n",
			[]string{"sampled.yaml:2:9: design: random needs points", "sampled.yaml:5:38: axes[0].range.steps: steps is for grid and zip"}},
		{"missing", "axes: [{key: run.seed, values: [1]}]\n", []string{"missing.yaml:1:1: base: missing; this key is required"}},
		{"nobase", "base: nowhere\naxes: [{key: run.seed, values: [1]}]\n", []string{"nobase.yaml:1:7: base: nowhere is neither a file"}},
		{"duplicate", "base: quickstart\naxes:\n  - {key: network.loss, range: {min: 0.1, max: 0.2, steps: 3, integer: true}}\n",
			[]string{"duplicate.yaml:3:3: axes: point 1 (network.loss=0) repeats point 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, dir, tc.name+".yaml", tc.text)
			_, err := Load(path, LoadOptions{})
			var es scenarios.Errors
			if !errors.As(err, &es) {
				t.Fatalf("want scenarios.Errors, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), strings.ReplaceAll(w, tc.name+".yaml", path)) {
					t.Errorf("errors lack\n  %s\ngot\n  %v", w, err)
				}
			}
			for _, e := range es {
				if e.Pos.File != path {
					t.Errorf("an error not in the sweep file: %v", e)
				}
			}
		})
	}
}

func TestPlainDecimal(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want string
	}{{0, "0"}, {1, "1"}, {0.1, "0.1"}, {123456, "123500"}, {0.000123456, "0.0001235"}, {2.68269580, "2.683"}, {-3.14159, "-3.142"}, {1e-9, "0.000000001"}} {
		if got := plainDecimal(tc.x, 4); got != tc.want {
			t.Errorf("plainDecimal(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
}

// A grid's last axis varies fastest; a log range is spaced by ratio; zip
// pairs the i-th values.
func TestGridAndZip(t *testing.T) {
	dir := t.TempDir()
	s, err := Load(write(t, dir, "g.yaml", "base: quickstart\naxes:\n  - {key: protocol.gossip.degree, values: [3, 5]}\n  - {key: network.loss, range: {min: 0.001, max: 0.1, scale: log, steps: 3}}\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range s.Points {
		got = append(got, strings.Join(p.Values, " "))
	}
	want := []string{"3 0.001", "3 0.01", "3 0.1", "5 0.001", "5 0.01", "5 0.1"}
	if !slices.Equal(got, want) {
		t.Errorf("grid points %q, want %q", got, want)
	}
	if p := s.Points[4]; !slices.Equal(p.Overrides, []string{"protocol.gossip.degree=5", "network.loss=0.01"}) || p.Index != 4 {
		t.Errorf("point 4: %+v", p)
	}
	z, err := Load(write(t, dir, "z.yaml", "base: quickstart\ndesign: zip\naxes:\n  - {key: protocol.gossip.degree, values: [3, 5, 7]}\n  - {key: network.loss, range: {min: 0, max: 0.02, steps: 3}}\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, p := range z.Points {
		got = append(got, strings.Join(p.Values, " "))
	}
	if want := []string{"3 0", "5 0.01", "7 0.02"}; !slices.Equal(got, want) {
		t.Errorf("zip points %q, want %q", got, want)
	}
}

// A Latin hypercube puts exactly one point in each of the n equal cells of
// every axis' range; random draws stay in the range; both depend on the
// seed only.
func TestSampledDesigns(t *testing.T) {
	dir := t.TempDir()
	const n = 40
	text := func(design string, seed int) string {
		return fmt.Sprintf("base: quickstart\ndesign: %s\npoints: %d\nseed: %d\naxes:\n  - {key: network.loss, range: {min: 0, max: 0.4}}\n  - {key: protocol.gossip.block_size, range: {min: 1000, max: 1000000, scale: log, integer: true}}\n", design, n, seed)
	}
	lhs, err := Load(write(t, dir, "l.yaml", text("latin_hypercube", 3)), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cellsLoss, cellsSize := make([]int, n), make([]int, n)
	for _, p := range lhs.Points {
		loss, _ := strconv.ParseFloat(p.Values[0], 64)
		size, _ := strconv.ParseFloat(p.Values[1], 64)
		// Rounding to four digits can move a value by 5e-4 of itself:
		// never across a cell of 1/40 of the range.
		cellsLoss[min(int(loss/0.4*n), n-1)]++
		cellsSize[min(int(math.Log(size/1000)/math.Log(1000)*n), n-1)]++
		if size != math.Round(size) {
			t.Errorf("integer axis gave %v", size)
		}
	}
	for i := range cellsLoss {
		if cellsLoss[i] != 1 || cellsSize[i] != 1 {
			t.Fatalf("cell %d holds %d loss and %d size points, want 1 each:\n%v\n%v", i, cellsLoss[i], cellsSize[i], cellsLoss, cellsSize)
		}
	}
	again, _ := Load(write(t, dir, "l2.yaml", text("latin_hypercube", 3)), LoadOptions{})
	other, _ := Load(write(t, dir, "l3.yaml", text("latin_hypercube", 4)), LoadOptions{})
	if again.Points[7].Hash != lhs.Points[7].Hash || other.Points[7].Hash == lhs.Points[7].Hash {
		t.Error("the design does not follow the seed alone")
	}
	rnd, err := Load(write(t, dir, "r.yaml", text("random", 3)), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rnd.Points {
		if loss, _ := strconv.ParseFloat(p.Values[0], 64); loss < 0 || loss > 0.4 {
			t.Errorf("random loss %v outside [0, 0.4]", loss)
		}
	}
}

// A point's hash covers the base's bytes and every override, and nothing
// else: not the sweep file's name or where the base lives.
func TestPointHash(t *testing.T) {
	dir := t.TempDir()
	base, _ := scenarios.Builtin("quickstart")
	write(t, dir, "copy.yaml", string(base.Source))
	a, err := Load(write(t, dir, "a.yaml", "base: quickstart\nseed: 2\naxes: [{key: network.loss, values: [0, 1%]}]\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(write(t, dir, "b.yaml", "name: other\nbase: copy.yaml\nseed: 2\naxes: [{key: network.loss, name: l, values: [0, 1%]}]\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Load(write(t, dir, "c.yaml", "base: quickstart\nseed: 3\naxes: [{key: network.loss, values: [0, 1%]}]\n"), LoadOptions{})
	if a.Points[1].Hash != b.Points[1].Hash {
		t.Error("the same base bytes and overrides hash differently")
	}
	if a.Points[1].Hash == c.Points[1].Hash || a.Points[0].Hash == a.Points[1].Hash {
		t.Error("another seed or value hashes the same")
	}
}

// smallSweep is a quick gossip sweep: 6 points × 2 repetitions.
const smallSweep = `name: small
base: quickstart
seed: 5
repetitions: 2
set:
  run.duration: 20s
  population.nodes: 40
axes:
  - key: protocol.gossip.degree
    values: [3, 6]
  - key: network.loss
    name: loss
    range: {min: 0, max: 0.02, steps: 3}
objectives:
  - {figure: propagation_ms_p50, goal: minimize}
  - {figure: messages_sent, goal: minimize}
`

// The same sweep run whole with one worker, as 3 shards and as 8 shards
// (two of them empty), each shard in its own folder, merges into the same
// bytes: tables and report. A point's metrics.json is what runner.Run
// gives for the same scenario.
func TestShardsMergeIdentically(t *testing.T) {
	dir := t.TempDir()
	s, err := Load(write(t, dir, "small.yaml", smallSweep), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	merged := map[int]string{}
	for _, n := range []int{1, 3, 8} {
		var dirs []string
		for i := 0; i < n; i++ {
			d := filepath.Join(dir, fmt.Sprintf("n%d-shard%d", n, i))
			out, err := Run(s, Options{Dir: d, Jobs: 1 + i%2, Shard: Shard{Index: i, Count: n}})
			if err != nil || len(out.Failed) > 0 {
				t.Fatalf("shard %d/%d: %v %v", i, n, err, out.Failed)
			}
			if want := (len(s.Points) - i + n - 1) / n; out.Ran != want {
				t.Errorf("shard %d/%d ran %d points, want %d", i, n, out.Ran, want)
			}
			dirs = append(dirs, d)
		}
		merged[n] = filepath.Join(dir, fmt.Sprintf("merged-%d", n))
		res, err := Merge(merged[n], dirs)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Missing) != 0 {
			t.Fatalf("missing %v", res.Missing)
		}
	}
	files := []string{TableCSV, TableJSONL, SummaryCSV, SummaryJSONL, PlanFile, "report.md", "report.html"}
	for _, f := range files {
		one, err := os.ReadFile(filepath.Join(merged[1], f))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{3, 8} {
			other, _ := os.ReadFile(filepath.Join(merged[n], f))
			if !bytes.Equal(one, other) {
				t.Errorf("%s differs between 1 and %d shards", f, n)
			}
		}
	}
	// 6 points × 2 repetitions × every figure, each once.
	table, _ := os.ReadFile(filepath.Join(merged[1], TableCSV))
	lines := strings.Split(strings.TrimSpace(string(table)), "\n")
	if lines[0] != "point,hash,protocol.gossip.degree,loss,repetition,seed,figure,value,unit" {
		t.Errorf("header %q", lines[0])
	}
	res, _ := Gather([]string{merged[1]})
	figs := len(res.Runs[0].Figures)
	if len(lines)-1 != 6*2*figs {
		t.Errorf("%d rows, want %d", len(lines)-1, 6*2*figs)
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		c := strings.Split(l, ",")
		k := c[0] + "/" + c[4] + "/" + c[6]
		if seen[k] {
			t.Fatalf("row %s twice", k)
		}
		seen[k] = true
	}
	// Point 4 (degree 6, loss 0.01) is the run dais run would make.
	sc, err := scenarios.Builtin("quickstart", s.Points[4].Overrides...)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := runner.Run(sc, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := direct.Run.MarshalIndent()
	got, _ := os.ReadFile(filepath.Join(merged[1], PointsDir, s.Points[4].Dir(), "metrics.json"))
	if !bytes.Equal(got, want) {
		t.Error("point 4's metrics.json differs from runner.Run of its scenario")
	}
}

// Merge says which points no folder holds, and still writes the rest.
func TestMergeMissing(t *testing.T) {
	dir := t.TempDir()
	s, err := Load(write(t, dir, "small.yaml", smallSweep), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(dir, "out")
	if _, err := Run(s, Options{Dir: d, Jobs: 2, Shard: Shard{Index: 1, Count: 3}}); err != nil {
		t.Fatal(err)
	}
	res, err := Merge(d, []string{d})
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "4 of 6 have no folder") || !strings.Contains(err.Error(), "points 0, 2, 3, 5") {
		t.Fatalf("merge of one shard of three: %v", err)
	}
	if !slices.Equal(res.Missing, []int{0, 2, 3, 5}) {
		t.Errorf("missing %v", res.Missing)
	}
	other := filepath.Join(dir, "other")
	s2, _ := Load(write(t, dir, "other.yaml", strings.Replace(smallSweep, "seed: 5", "seed: 6", 1)), LoadOptions{})
	if _, err := Run(s2, Options{Dir: other, Shard: Shard{Index: 0, Count: 6}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(d, []string{d, other}); err == nil || !strings.Contains(err.Error(), "holds another sweep") {
		t.Errorf("merging two sweeps: %v", err)
	}
}

func TestParseShard(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		spec string
		env  func(string) string
		want Shard
		err  string
	}{
		{"2/4", env(), Shard{2, 4}, ""},
		{"/4", env("JOB_COMPLETION_INDEX", "3"), Shard{3, 4}, ""},
		{"/4", env("SLURM_ARRAY_TASK_ID", "2"), Shard{2, 4}, ""},
		{"/4", env("SLURM_ARRAY_TASK_ID", "4", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_COUNT", "4"), Shard{3, 4}, ""},
		{"/4", env("SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_COUNT", "8"), Shard{}, "the Slurm array has 8 tasks, not 4"},
		{"/4", env(), Shard{}, "no shard index"},
		{"4/4", env(), Shard{}, "not in [0, 4)"},
		{"x", env(), Shard{}, "want i/n"},
	} {
		got, err := ParseShard(tc.spec, tc.env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %v %v, want %v", tc.spec, got, err, tc.want)
		}
	}
}

// docs/metrics.md names every column of the sweep tables.
func TestDocsNameEveryColumn(t *testing.T) {
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range [][]string{headColumns, tableColumns, summaryColumns, {TableCSV, TableJSONL, SummaryCSV, SummaryJSONL, PlanFile, PointFile}} {
		for _, c := range cs {
			if !strings.Contains(string(doc), "`"+c+"`") {
				t.Errorf("docs/metrics.md does not name %s", c)
			}
		}
	}
}
