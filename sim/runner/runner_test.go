package runner

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dais-sim/dais/reports"
	"github.com/dais-sim/dais/scenarios"
)

// Every shipped scenario runs with three repetitions, and its figures and
// report carry the 95% CIs and counts.
func TestShippedScenariosRepeat(t *testing.T) {
	if raceEnabled {
		t.Skip("runs every shipped scenario twice; too slow under -race (make test runs it without)")
	}
	for _, name := range scenarios.BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			run := runBuiltin(t, name, append([]string{"run.repetitions=2"}, Quick[name]...)...).Run
			if run.Meta.Repetitions != 2 || len(run.Meta.Seeds) != 2 || run.Meta.Seeds[0] == run.Meta.Seeds[1] {
				t.Fatalf("meta: %d repetitions, seeds %v", run.Meta.Repetitions, run.Meta.Seeds)
			}
			withCI := 0
			for _, f := range run.Figures {
				if f.Reps == nil || len(f.Reps.Values) != 2 {
					t.Fatalf("figure %s has no repetitions: %+v", f.Key, f.Reps)
				}
				if f.Reps.N >= 2 && !math.IsNaN(f.Reps.CI95Lo) {
					withCI++
					if !(f.Reps.CI95Lo <= f.Value && f.Value <= f.Reps.CI95Hi) {
						t.Errorf("figure %s: mean %v outside its CI [%v, %v]", f.Key, f.Value, f.Reps.CI95Lo, f.Reps.CI95Hi)
					}
				}
			}
			if withCI == 0 {
				t.Fatal("no figure has a confidence interval")
			}
			if err := run.Validate(); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := reports.Write(dir, run); err != nil {
				t.Fatal(err)
			}
			md, err := os.ReadFile(filepath.Join(dir, reports.MarkdownFile))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(md, []byte("mean ± 95% CI")) || !bytes.Contains(md, []byte(" ± ")) {
				t.Errorf("report.md shows no CIs:\n%s", firstLines(md, 30))
			}
		})
	}
}

// A figure a repetition cannot define (NaN) is carried as undefined, and
// the mean is over the others with their count.
func TestUndefinedFiguresAcrossRepetitions(t *testing.T) {
	sc, err := scenarios.Builtin("marketplace-fairness", "run.repetitions=2", "run.duration=1m")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, ok := res.Run.Figure("detection_rate") // no adversaries: undefined in both
	if !ok || !math.IsNaN(f.Value) || f.Reps == nil || f.Reps.N != 0 || len(f.Reps.Values) != 2 {
		t.Fatalf("detection_rate: %v %+v", f.Value, f.Reps)
	}
	if _, err := res.Run.MarshalIndent(); err != nil {
		t.Fatal(err)
	}
}

// Repetition r's figures do not depend on how many repetitions run.
func TestRepetitionSeedsAreStable(t *testing.T) {
	one, err := scenarios.Builtin("quickstart", "run.repetitions=2")
	if err != nil {
		t.Fatal(err)
	}
	three, _ := scenarios.Builtin("quickstart", "run.repetitions=2")
	a, err := Run(one, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(three, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Reps {
		ja, _ := a.Reps[i].Run.MarshalIndent()
		jb, _ := b.Reps[i].Run.MarshalIndent()
		if a.Reps[i].Seed != b.Reps[i].Seed || !bytes.Equal(ja, jb) {
			t.Errorf("repetition %d differs between runs of 2 and 3 repetitions", i)
		}
	}
}

// Mixed sections are refused when the scenario loads, at the key; what
// only a runner knows is refused by Check, before anything runs, at the
// key its message names or at the runner's section.
func TestCheckRefuses(t *testing.T) {
	_, err := scenarios.Builtin("federated-poisoning", "workload={arrivals: {process: poisson, rate: 1/s}, jobs: [{name: j, kind: compute, flops: {dist: fixed, value: 1e12}}]}")
	if err == nil || !strings.Contains(err.Error(), "workload: protocol.learning runs federated learning on its own") {
		t.Errorf("learning + workload: %v", err)
	}
	for _, tc := range []struct {
		name string
		sets []string
		want string
	}{
		{"quickstart", []string{"population.nodes=1", "population.groups="}, "--set population.nodes=1: population.nodes: block gossip needs at least 2 nodes, not 1"},
		{"quickstart", []string{"population.nodes=4", "population.groups="}, "scenarios/quickstart.yaml:30:13: protocol.gossip.degree: 4 peers per node among 4 nodes: the degree must be below the node count"},
		{"tokenomics-governance", []string{"protocol.governance.proposals[0].changes[0].key=rewards.nope"}, "scenarios/tokenomics-governance.yaml:32:9: protocol.governance.proposals[0]: govern: unknown parameter \"rewards.nope\""},
	} {
		sc, err := scenarios.Builtin(tc.name, tc.sets...)
		if err != nil {
			t.Fatalf("%s %v: %v", tc.name, tc.sets, err)
		}
		err = Check(sc)
		if !errors.Is(err, ErrScenario) || !errors.Is(err, scenarios.ErrInvalid) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s %v: %v\nwant %s…", tc.name, tc.sets, err, tc.want)
		}
		if _, runErr := Run(sc, Options{}); runErr == nil || runErr.Error() != err.Error() {
			t.Errorf("%s %v: Run says %v, Check %v", tc.name, tc.sets, runErr, err)
		}
	}
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// recorder is a Progress that keeps what it was told.
type recorder struct {
	unit    string
	ends    []int64
	updates []int64
	done    []int64
}

func (r *recorder) Units(u string)            { r.unit = u }
func (r *recorder) Start(_ int, end int64)    { r.ends = append(r.ends, end) }
func (r *recorder) Update(at int64, _ uint64) { r.updates = append(r.updates, at) }
func (r *recorder) Done(at int64, _ uint64)   { r.done = append(r.done, at) }

// Every runner reports progress as it goes, ascending, to the end it
// announced: simulated time, or a learning run's rounds.
func TestEveryRunnerReportsProgress(t *testing.T) {
	for _, tc := range []struct {
		name string
		sets []string
		unit string
	}{
		{"quickstart", []string{"run.duration=20s"}, ""},
		{"bft-validators", []string{"run.duration=10s", "network.partitions="}, ""},
		{"marketplace-fairness", []string{"run.duration=20s"}, ""},
		{"federated-poisoning", []string{"protocol.learning.rounds=2", "protocol.learning.baseline=false"}, "rounds"},
	} {
		sc, err := scenarios.Builtin(tc.name, tc.sets...)
		if err != nil {
			t.Fatal(err)
		}
		var r recorder
		if _, err := Run(sc, Options{Progress: &r}); err != nil {
			t.Fatal(err)
		}
		if reps := sc.Run.Repetitions; r.unit != tc.unit || len(r.ends) != reps || len(r.done) != reps || len(r.updates) < 3*reps {
			t.Fatalf("%s: unit %q, starts %v, %d updates, dones %v", tc.name, r.unit, r.ends, len(r.updates), r.done)
		}
		for i := 1; i < len(r.updates) && sc.Run.Repetitions == 1; i++ {
			if r.updates[i] < r.updates[i-1] {
				t.Fatalf("%s: progress went back from %d to %d", tc.name, r.updates[i-1], r.updates[i])
			}
		}
		if last := r.updates[len(r.updates)-1]; tc.unit == "rounds" && last != r.ends[len(r.ends)-1] {
			t.Errorf("%s: %d of %d rounds reported", tc.name, last, r.ends[0])
		}
	}
}

// Under protocol.gossip.compare the run's figures are its relay's, and
// each relay's column holds what a run of that relay alone gives.
func TestCompareRelaysAsRunAlone(t *testing.T) {
	quick := Quick["relay-comparison"]
	run := runBuiltin(t, "relay-comparison", quick...).Run
	if len(run.Tables) != 1 || strings.Join(run.Tables[0].Columns, ",") != "push,announce,compact" {
		t.Fatalf("tables %+v", run.Tables)
	}
	for _, relay := range []string{"push", "announce", "compact"} {
		r := runBuiltin(t, "relay-comparison", append(quick, "protocol.gossip.relay="+relay, "protocol.gossip.compare=[]")...)
		if len(r.Run.Tables) != 0 {
			t.Errorf("%s alone has tables", relay)
		}
		for _, key := range []string{"reach50_ms_p50", "reach90_ms_p90", "reach100_ms_max", "uplink_bytes_per_node_per_block", "duplicate_share", "engine_events"} {
			want, _ := r.Run.Figure(key)
			got, ok := run.Figure("relay_" + relay + "_" + key)
			if !ok || got.Value != want.Value {
				t.Errorf("%s %s: %v in the comparison, %v alone", relay, key, got.Value, want.Value)
			}
			if own, _ := run.Figure(key); relay == "announce" && own.Value != want.Value {
				t.Errorf("the run's own %s is %v, its relay's (announce) alone %v", key, own.Value, want.Value)
			}
		}
	}
	var buf bytes.Buffer
	if err := reports.Table(&buf, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Relays side by side", "uplink bytes per node per block", "push", "announce", "compact"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("terminal table lacks %q:\n%s", want, buf.String())
		}
	}
	if !strings.Contains(run.Finding.Text, "relayed by push, announce and compact") {
		t.Errorf("finding: %s", run.Finding.Text)
	}
}

// runBuiltin runs a shipped scenario with overrides.
func runBuiltin(t *testing.T, name string, overrides ...string) *Result {
	t.Helper()
	sc, err := scenarios.Builtin(name, overrides...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}
