package scenarios

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// base is a valid scenario the broken cases start from.
const base = `run:
  name: t
  duration: 10s
population:
  nodes: 10
`

// TestBrokenFiles: each broken scenario gives exactly these errors, with
// file:line:column and key path.
func TestBrokenFiles(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"empty file", "", []string{
			"f.yaml: the file is empty: a scenario needs at least a run section"}},
		{"only a comment", "# nothing\n", []string{
			"f.yaml: the file is empty: a scenario needs at least a run section"}},
		{"binary garbage", "run:\n  name: t\n\x00\x01\xff\xfe", []string{
			"f.yaml:3:1: not a text file: scenario files are UTF-8 YAML"}},
		{"not a mapping", "- a\n- b\n", []string{
			"f.yaml:1:1: a scenario is a mapping of sections (run, network, population, …), got a list"}},
		{"syntax error", "run:\n  name: [t\n", nil},
		{"unknown top-level key", base + "netwrok:\n  loss: 1%\n", []string{
			`f.yaml:6:1: netwrok: unknown key (did you mean "network"?); the keys here are run, network, population, workload, protocol, adversaries, economics, outputs`}},
		{"typo in a nested key", base + "network:\n  jiter: {dist: exponential, mean: 2ms}\n", []string{
			`f.yaml:7:3: network.jiter: unknown key (did you mean "jitter"?); the keys in network are latency, bandwidth, jitter, loss, partitions, churn`}},
		{"missing run", "population:\n  nodes: 3\n", []string{
			"f.yaml:1:1: run: missing; this key is required (The run: its name, seed, length and repetitions)"}},
		{"missing run name", "run:\n  seed: 3\npopulation: {nodes: 3}\n", []string{
			"f.yaml:2:3: run.name: missing; this key is required (Short name of the run; used for the output folder)"}},
		{"wrong type: list for a number", base + "  groups: [{name: a, count: [1, 2]}]\n", []string{
			"f.yaml:6:29: population.groups[0].count: want a whole number, got a list"}},
		{"wrong type: word for a number", "run: {name: t, seed: lots}\npopulation: {nodes: 3}\n", []string{
			`f.yaml:1:22: run.seed: want a whole number >= 0, got "lots"`}},
		{"wrong type: scalar for a section", base + "network: fast\n", []string{
			`f.yaml:6:10: network: want a mapping of keys (latency, bandwidth, jitter, loss, partitions, churn), got a value ("fast")`}},
		{"negative duration", "run: {name: t, duration: -5s}\npopulation: {nodes: 3}\n", []string{
			"f.yaml:1:26: run.duration: -5s is out of range: want a value in [1ms, 8760h]"}},
		{"duration without unit", "run: {name: t, duration: 90}\npopulation: {nodes: 3}\n", []string{
			`f.yaml:1:26: run.duration: "90" has no unit: write a duration such as 90s or 90ms`}},
		{"share over 100%", base + "network: {loss: 150%}\n", []string{
			"f.yaml:6:17: network.loss: 150% is out of range: want a value in [0%, 99%]"}},
		{"shares not summing", base + "network:\n  bandwidth:\n    - {name: a, share: 30%, up: 1Gbps, down: 1Gbps}\n    - {name: b, share: 30%, up: 1Gbps, down: 1Gbps}\n", []string{
			"f.yaml:8:5: network.bandwidth: class shares sum to 60%, want 100%"}},
		{"matrix not square", "run: {name: t}\npopulation: {nodes: 3}\nnetwork:\n  latency:\n    matrix: inline\n    regions: [a, b]\n    rtt_ms:\n      - [0, 10]\n      - [10, 0, 5]\n", []string{
			"f.yaml:9:9: network.latency.rtt_ms[1]: matrix is not square: row 1 (b) has 3 values for 2 regions"}},
		{"unknown region", base + "  groups: [{name: a, count: 10, regions: [frankfurt, tokio]}]\n", []string{
			`f.yaml:6:54: population.groups[0].regions[1]: unknown region "tokio" (did you mean "tokyo"?)`}},
		{"token amount with too many decimals", base + "  groups: [{name: a, count: 10, stake: \"1.0000000001\"}]\n", []string{
			`f.yaml:6:40: population.groups[0].stake: "1.0000000001" has 10 decimal places; a token has at most 9`}},
		{"negative token amount", base + "  groups: [{name: a, count: 10, stake: \"-5\"}]\n", []string{
			`f.yaml:6:40: population.groups[0].stake: "-5" is negative: a token amount is at least 0`}},
		{"unknown GPU class", base + "  groups: [{name: a, count: 10, gpu: h200}]\n", []string{
			`f.yaml:6:38: population.groups[0].gpu: unknown GPU class "h200" (did you mean "h100"?); the catalog has a100, cpu, h100, l40s, rtx3060, rtx3090, rtx4090, t4`}},
		{"continuous matching on the BFT chain", base + "protocol:\n  market: {settlement: chain, matching: continuous}\n", []string{
			"f.yaml:7:41: protocol.market.matching: continuous matching with settlement: chain: on the BFT chain a job opens when the block holding its post commits, and its results settle in batches, one Merkle root per block; use per_block"}},
		{"norm bound below 1", base + "protocol:\n  learning: {norm_bound: 0.5}\n", []string{
			"f.yaml:7:26: protocol.learning.norm_bound: 0.5 would reject the median update itself: give 0 (no bound) or at least 1"}},
		{"dp with median", base + "protocol:\n  learning: {aggregation: median, dp: {noise_multiplier: 1}}\n", []string{
			"f.yaml:7:40: protocol.learning.dp: differential privacy is DP-FedAvg: set aggregation to fedavg (it is median; the guarantee is the mean's)"}},
		{"secure aggregation with robust rules", base + "protocol:\n  learning:\n    aggregation: krum\n    filter: true\n    secure_aggregation: {dropout: 10%}\n", []string{
			"f.yaml:8:18: protocol.learning.aggregation: krum compares individual updates, which secure aggregation hides from the coordinator: use fedavg (or dp), or run krum in clear with secure_aggregation.clear_rule",
			"f.yaml:9:13: protocol.learning.filter: the score filter needs validators to score individual updates, which secure aggregation hides"}},
		{"count and share", base + "  groups: [{name: a, count: 10, share: 50%}]\n", []string{
			"f.yaml:6:40: population.groups[0].share: give count or share, not both"}},
		{"counts do not add up", base + "  groups: [{name: a, count: 4}, {name: b, count: 5}]\n", []string{
			"f.yaml:5:10: population.nodes: 10, but the group counts add up to 9"}},
		{"group shares over 100%", base + "  groups: [{name: a, share: 60%}, {name: b, share: 50%}]\n", []string{
			"f.yaml:6:11: population.groups: group shares sum to 110%, more than 100%"}},
		{"enum typo", "run: {name: t}\npopulation: {nodes: 3}\nworkload:\n  arrivals: {process: poison, rate: 5/s}\n  jobs: [{name: j, kind: inference, flops: 1e12}]\n", []string{
			`f.yaml:4:23: workload.arrivals.process: "poison" is not allowed (did you mean "poisson"?); want one of poisson, constant, burst, trace`}},
		{"bad rate", "run: {name: t}\npopulation: {nodes: 3}\nworkload:\n  arrivals: {process: poisson, rate: fast}\n  jobs: [{name: j, kind: inference, flops: 1e12}]\n", []string{
			`f.yaml:4:38: workload.arrivals.rate: "fast" is not a rate: want a count per unit of time, such as 100/s, 5/min or 2/h`}},
		{"bad size", base + "protocol: {gossip: {block_size: 3 apples}}\n", []string{
			`f.yaml:6:33: protocol.gossip.block_size: "3 apples" is not a size: want bytes with a unit, such as 1MB, 512KiB or 1500`}},
		{"bad bandwidth", base + "network:\n  bandwidth: [{name: a, up: 1Gbps, down: fast}]\n", []string{
			`f.yaml:7:42: network.bandwidth[0].down: "fast" is not a bandwidth: want a rate with a unit, such as 1Gbps, 100Mbit/s or 20Mbps`}},
		{"unknown distribution parameter", base + "network:\n  jitter: {dist: exponential, mu: 2ms}\n", []string{
			"f.yaml:7:31: network.jitter.mu: unknown parameter for exponential; it takes mean"}},
		{"partition heals before it starts", base + "network:\n  partitions: [{from: 8s, until: 5s, regions: [tokyo]}]\n", []string{
			"f.yaml:7:34: network.partitions[0].until: 5s is not after from (8s): a partition must heal after it starts"}},
		{"duplicate key", "run: {name: t}\nrun: {name: u}\npopulation: {nodes: 3}\n", []string{
			`f.yaml:2:1: YAML syntax: mapping key "run" already defined at [1:1]`}},
		{"several errors at once", "run: {name: t, seed: x, repetitions: 0}\npopulation: {nodes: 3}\nnetwork: {loss: 2, jitter: 5}\n", []string{
			`f.yaml:1:22: run.seed: want a whole number >= 0, got "x"`,
			"f.yaml:1:38: run.repetitions: 0 is out of range: want a value in [1, 1000]",
			"f.yaml:3:17: network.loss: 2 is out of range: want a value in [0%, 99%]",
			`f.yaml:3:28: network.jitter: "5" has no unit: write a duration such as 5s or 5ms`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yaml)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			got := strings.Split(err.Error(), "\n")
			if tc.want == nil { // syntax errors: the parser's text, but our position
				if len(got) != 1 || !strings.HasPrefix(got[0], "f.yaml:2:") || !strings.Contains(got[0], "YAML syntax") {
					t.Fatalf("got %q", got)
				}
				return
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	sc, err := Parse("f.yaml", []byte(base), "run.seed=7", "network.jitter={dist: exponential, mean: 5ms}",
		"population.groups=[{name: a, count: 10, gpu: t4}]", "run.repetitions=3")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Run.Seed != 7 || sc.Run.Repetitions != 3 || sc.Network.Jitter.Params["mean"] != 0.005 || sc.Population.Groups[0].GPU != "t4" {
		t.Fatalf("overrides not applied: %+v %+v %+v", sc.Run, sc.Network.Jitter, sc.Population.Groups)
	}
	_, err = Parse("f.yaml", []byte(base), "run.seed=x", "run.nme=3", "nokey", "population.groups[3].gpu=t4")
	want := []string{
		"--set nokey: want key.path=value",
		"--set population.groups[3].gpu=t4: population.groups[3].gpu: groups is not set, so it has no item [3]",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("got %v", err)
	}
	_, err = Parse("f.yaml", []byte(base), "run.seed=x", "run.nme=3")
	want = []string{
		`--set run.seed=x: run.seed: want a whole number >= 0, got "x"`,
		`--set run.nme=3: run.nme: unknown key (did you mean "name"?); the keys in run are name, description, seed, duration, repetitions`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestUnits(t *testing.T) {
	var tok Tokens
	for in, want := range map[string]int64{"0": 0, "1": 1e9, "0.5": 5e8, "1_000.000000001": 1000000000001, "9223372036.854775807": 9223372036854775807} {
		if err := tok.parse(in); err != nil || int64(tok) != want {
			t.Errorf("tokens %q = %d, %v; want %d", in, tok, err, want)
		}
	}
	if tok = Tokens(1500000000); tok.String() != "1.5" {
		t.Errorf("1.5 tokens print as %s", tok)
	}
	for _, bad := range []string{"9223372036.854775808", "1e3", "+1", "1.2.3", ".5", ""} {
		if err := tok.parse(bad); err == nil {
			t.Errorf("tokens %q accepted as %d", bad, tok)
		}
	}
	var b Bandwidth
	for in, want := range map[string]float64{"1Gbps": 1e9, "100 Mbit/s": 1e8, "20mbps": 2e7, "512kbps": 512e3} {
		if err := b.parse(in); err != nil || float64(b) != want {
			t.Errorf("bandwidth %q = %g, %v; want %g", in, float64(b), err, want)
		}
	}
	var r Rate
	for in, want := range map[string]float64{"100/s": 100, "6/min": 0.1, "36/h": 0.01} {
		if err := r.parse(in); err != nil || float64(r) != want {
			t.Errorf("rate %q = %g, %v; want %g", in, float64(r), err, want)
		}
	}
	var z Size
	for in, want := range map[string]int64{"1MB": 1e6, "1MiB": 1 << 20, "1500": 1500, "10GiB": 10 << 30} {
		if err := z.parse(in); err != nil || int64(z) != want {
			t.Errorf("size %q = %d, %v; want %d", in, z, err, want)
		}
	}
	var d Duration
	for in, want := range map[string]Duration{"90s": 90e9, "2h": 7200e9, "1d": 86400e9, "0": 0, "1m30s": 90e9} {
		if err := d.parse(in); err != nil || d != want {
			t.Errorf("duration %q = %v, %v; want %v", in, d, err, want)
		}
	}
}

// Every shipped scenario loads.
func TestLibraryValidates(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 2 {
		t.Fatalf("found %d scenario files", len(files))
	}
	for _, f := range files {
		if !IsScenarioFile(f) {
			continue
		}
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, name := range BuiltinNames() {
		if _, err := Builtin(name); err != nil {
			t.Errorf("built-in %s: %v", name, err)
		}
	}
}

func TestQuickstartPopulation(t *testing.T) {
	sc, err := Load("quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var counts []int
	for _, g := range sc.Population.Groups {
		counts = append(counts, g.Count)
	}
	if sc.NodeCount() != 300 || len(counts) != 4 || counts[0] != 30 || counts[1] != 60 || counts[2] != 90 || counts[3] != 120 {
		t.Fatalf("quickstart groups %v of %d nodes, want [30 60 90 120] of 300", counts, sc.NodeCount())
	}
	_ = os.Getenv
	_ = update
}

// Shares of a total split by largest remainder: the counts add up exactly
// and no group is off by more than one from its exact share.
func TestShareSplit(t *testing.T) {
	sc, err := Parse("f.yaml", []byte(`run: {name: t}
population:
  nodes: 10
  groups:
    - {name: a, share: 33.4%}
    - {name: b, share: 33.3%}
    - {name: c, share: 33.3%}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, g := range sc.Population.Groups {
		got = append(got, g.Count)
	}
	// Exact: 3.34, 3.33, 3.33; floors 3, 3, 3; the one left goes to a.
	if len(got) != 3 || got[0] != 4 || got[1] != 3 || got[2] != 3 {
		t.Fatalf("counts %v, want [4 3 3]", got)
	}
	sc, err = Parse("f.yaml", []byte(`run: {name: t}
population:
  nodes: 10
  groups:
    - {name: a, count: 4}
    - {name: b, share: 50%}
    - {name: c, share: 50%}
`))
	if err != nil {
		t.Fatal(err)
	}
	if a, b, c := sc.Population.Groups[0].Count, sc.Population.Groups[1].Count, sc.Population.Groups[2].Count; a != 4 || b != 3 || c != 3 {
		t.Fatalf("counts %d %d %d, want 4 3 3 (shares split what counts leave)", a, b, c)
	}
}

// Bandwidth classes need no shares when every group names its class; a
// group that names none still needs them.
func TestBandwidthSharesOptionalWhenEveryGroupNamesAClass(t *testing.T) {
	base := "run: {name: t}\nnetwork:\n  bandwidth:\n    - {name: a, up: 1Gbps, down: 1Gbps}\n    - {name: b, up: 1Mbps, down: 1Mbps}\npopulation:\n  nodes: 10\n  groups:\n    - {name: x, share: 50%, bandwidth: a}\n"
	if _, err := Parse("f.yaml", []byte(base+"    - {name: y, share: 50%, bandwidth: b}\n")); err != nil {
		t.Fatalf("every group names a class: %v", err)
	}
	_, err := Parse("f.yaml", []byte(base+"    - {name: y, share: 50%}\n"))
	if err == nil || !strings.Contains(err.Error(), "network.bandwidth: class shares sum to 0%, want 100%") {
		t.Fatalf("a group without a class: %v, want the shares error", err)
	}
}

func TestGossipChecks(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"run: {name: t}\npopulation: {nodes: 5}\nprotocol:\n  gossip: {schedule: mining, interval: 0s}\n",
			"protocol.gossip.interval: 0s, but schedule mining needs a mean interval between blocks > 0"},
		{"run: {name: t}\npopulation: {nodes: 5}\nprotocol:\n  gossip: {hash_power: 3}\n",
			"protocol.gossip.hash_power: only used with schedule: mining"},
		{"run: {name: t}\npopulation: {nodes: 5, groups: [{name: home, share: 100%}]}\nprotocol:\n  gossip: {validation: {groups: [{group: hom, scale: 2}]}}\n",
			`protocol.gossip.validation.groups[0].group: no population group "hom" (did you mean "home"?)`},
		{"run: {name: t}\npopulation: {nodes: 5}\nprotocol:\n  gossip: {relay: flood}\n",
			`protocol.gossip.relay`},
		{"run: {name: t}\npopulation: {nodes: 5}\nprotocol:\n  gossip: {compare: [push, compact, push]}\n",
			`protocol.gossip.compare[2]: "push" is listed twice`},
		{"run: {name: t}\npopulation: {nodes: 5}\nprotocol:\n  gossip: {compare: [push, flood]}\n",
			`protocol.gossip.compare[1]`},
	} {
		_, err := Parse("f.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// The loader refuses deep nesting before the YAML parser sees it (the
// parser's cost grows faster than the file): the position is where the
// one-pass scan passed its bound, not where the converter would stop.
func TestDeepNestingRefusedEarly(t *testing.T) {
	const n = 40000
	for _, tc := range []struct{ name, yaml, want string }{
		{"flow lists", "run: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n", "f.yaml:1:"},
		{"flow maps", "run: " + strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n) + "\n", "f.yaml:1:"},
		{"block lists", "run:\n  " + strings.Repeat("- ", n) + "x\n", "f.yaml:2:"},
		{"block maps", "run:\n" + deepBlockMap(200), "f.yaml:"},
	} {
		_, err := Parse("f.yaml", []byte(tc.yaml))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), ": nesting deeper than 64 levels") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// 70 levels: past the converter's bound, under the scan's; the
	// converter refuses at the value that passes 64.
	_, err := Parse("f.yaml", []byte("run: "+strings.Repeat("[", 70)+strings.Repeat("]", 70)+"\n"))
	if err == nil || !strings.HasSuffix(err.Error(), "nesting deeper than 64 levels") {
		t.Errorf("70 levels: %v", err)
	}
}

func deepBlockMap(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString(strings.Repeat(" ", i) + "a:\n")
	}
	return b.String()
}

// The scan never says a valid file nests more deeply than it does (by
// more than one level: a plain scalar continued on a deeper line), so it
// cannot refuse a file the converter accepts.
func TestNestingScanBoundsValidFiles(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	inputs := map[string]string{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		inputs[f] = string(b)
	}
	inputs["quoted brackets"] = "run: {name: \"[[[[[[{{{{\", description: '[[[[ it''s ]]'}\n"
	inputs["comment brackets"] = "run: # [[[[[[[[[[\n  name: t # {{{{{{{{\n"
	inputs["block scalar"] = "run:\n  name: t\n  description: |\n    a\n          b\n                  c\n                           d\n  seed: 1\n"
	inputs["folded with indicators"] = "run:\n  description: >-2\n        x\n            y\n              z\n  name: t\n"
	inputs["continued plain scalar"] = "run:\n  description: one\n    two\n      three\n  name: t\n"
	inputs["multi-line quote"] = "run:\n  description: \"a [\n      b {\n   c\"\n  name: t\n"
	inputs["dashes"] = "population:\n  groups:\n    - - - a\n      - b\n"
	for name, text := range inputs {
		root, errs := parseYAML("f.yaml", []byte(text))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", name, errs)
		}
		real := depthOf(root)
		est := 1
		for ; est < 1000; est++ {
			if l, _ := scanNesting([]byte(text), est); l == 0 {
				break
			}
		}
		if est > real+1 {
			t.Errorf("%s: the scan says %d levels, the file has %d", name, est, real)
		}
	}
}

func depthOf(n *node) int {
	d := 0
	for _, c := range append(append([]*node(nil), n.vals...), n.items...) {
		d = max(d, depthOf(c))
	}
	if n.kind == kMap || n.kind == kSeq {
		d++
	}
	return d
}

// Aliases stand for what they name; a few lines of anchors standing for
// billions of values are refused, not walked.
func TestAliasExpansionBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("run: {name: t}\npopulation: {nodes: 3}\nx0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	_, err := Parse("f.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "the file stands for more than 1048576 values (aliases expanded)") {
		t.Fatalf("got %v", err)
	}
}

// A UTF-8 byte order mark is allowed and changes nothing.
func TestByteOrderMark(t *testing.T) {
	sc, err := Parse("f.yaml", append([]byte{0xEF, 0xBB, 0xBF}, base...))
	if err != nil || sc.Run.Name != "t" || sc.NodeCount() != 10 {
		t.Fatalf("with a BOM: %v", err)
	}
	_, err = Parse("f.yaml", append([]byte{0xEF, 0xBB, 0xBF}, "run: {name: t, sed: 1}\npopulation: {nodes: 3}\n"...))
	if err == nil || err.Error() != `f.yaml:1:16: run.sed: unknown key (did you mean "seed"?); the keys in run are name, description, seed, duration, repetitions` {
		t.Fatalf("positions with a BOM: %v", err)
	}
}

// Suggestions come from sorted candidates: the same for every run, the
// first in order among equally close ones.
func TestSuggestionsAreDeterministic(t *testing.T) {
	yaml := base + "  groups: [{name: ab, count: 5}, {name: zb, count: 5}]\nprotocol: {consensus: {engine: bft}}\nadversaries: [{kind: equivocation, count: 1, group: xb}]\n"
	var first string
	for i := 0; i < 30; i++ {
		_, err := Parse("f.yaml", []byte(yaml))
		if err == nil {
			t.Fatal("accepted")
		}
		if i == 0 {
			first = err.Error()
		}
		if err.Error() != first {
			t.Fatalf("run %d: %q, then %q", i, first, err)
		}
	}
	if !strings.Contains(first, `no population group "xb" (did you mean "ab"?)`) {
		t.Fatalf("got %q", first)
	}
}

// The resolved scenario lists every key with its value after defaults and
// overrides, in written form: two runs' lists differ where their
// scenarios do.
func TestResolved(t *testing.T) {
	a, err := Load("quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load("quickstart.yaml", "run.seed=7", "network.loss=1%", "protocol.gossip.block_size=2MiB")
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := a.Resolved(), b.Resolved()
	for _, want := range []string{"run.name=quickstart", "run.repetitions=1", "population.nodes=300", "population.groups[0].count=30",
		"network.bandwidth[0].up=1Gbps", "protocol.gossip.block_size=1MiB", "protocol.verification.scheme=spot_check"} {
		if !slices.Contains(ra, want) {
			t.Errorf("resolved quickstart lacks %q", want)
		}
	}
	var diff []string
	for i := range ra {
		if ra[i] != rb[i] {
			diff = append(diff, ra[i]+" → "+rb[i])
		}
	}
	want := []string{"run.seed=1 → run.seed=7", "network.loss=0.1% → network.loss=1%", "protocol.gossip.block_size=1MiB → protocol.gossip.block_size=2MiB"}
	if len(ra) != len(rb) || !slices.Equal(diff, want) {
		t.Fatalf("diff %q, want %q", diff, want)
	}
	if !slices.Equal(b.Overrides, []string{"run.seed=7", "network.loss=1%", "protocol.gossip.block_size=2MiB"}) {
		t.Errorf("overrides %q", b.Overrides)
	}
}
