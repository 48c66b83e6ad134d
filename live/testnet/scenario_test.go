package testnet_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios"
)

// TestFromScenarioLearning maps the shipped federated-poisoning scenario
// (no protocol.consensus) onto a testnet: all 20 nodes validate on the
// default chain and learn, node 0 coordinates, nodes 0–2 score, with the
// scenario's model, rounds, rule and partition; the adversaries and the
// clean run are notes.
func TestFromScenarioLearning(t *testing.T) {
	sc, err := scenarios.Load("../../scenarios/federated-poisoning.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, notes, err := testnet.FromScenario(sc)
	if err != nil {
		t.Fatal(err)
	}
	l := o.Learning
	if o.Nodes != 20 || o.Validators != 20 || o.Stakes != nil || o.Market != nil || l == nil {
		t.Fatalf("options %+v", o)
	}
	if l.Model != "mlp" || l.Rounds != 10 || l.LocalEpochs != 2 || l.Aggregation != "median" || l.Partition != "iid" ||
		l.Coordinator != 0 || len(l.Learners) != 20 || !slices.Equal(l.Validators, []protocol.NodeID{0, 1, 2}) || l.Pot == 0 {
		t.Errorf("learning %+v", l)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"no protocol.consensus", "adversaries (1) are not applied", "clean and baseline"} {
		if !strings.Contains(all, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	o.Dir = t.TempDir()
	if _, err := testnet.Create(o); err != nil {
		t.Errorf("creating the testnet: %v", err)
	}
}

const marketScenario = `run: {name: small-market, seed: 3, duration: 10s}
population:
  groups:
    - {name: gpus, gpu: rtx4090, count: 2, stake: "50", roles: [provider]}
    - {name: checkers, gpu: rtx4090, count: 1, roles: [validator]}
    - {name: users, gpu: cpu, count: 1, balance: "1000", roles: [requester]}
workload:
  arrivals: {process: constant, rate: 0.5/s}
  jobs:
    - {name: render, kind: compute, flops: 1e8, units: 3, budget: "5"}
protocol:
  market: {scheduler: fifo, block_interval: 500ms}
  verification: {scheme: spot_check, spot_check: 50%}
`

// TestFromScenarioMarket maps a small marketplace scenario onto a
// MarketSpec, and refuses, naming the line and key, what live cannot run.
func TestFromScenarioMarket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "market.yaml")
	load := func(text string) *scenarios.Scenario {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		sc, err := scenarios.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	o, _, err := testnet.FromScenario(load(marketScenario))
	if err != nil {
		t.Fatal(err)
	}
	m := o.Market
	if o.Nodes != 4 || m == nil || o.Learning != nil {
		t.Fatalf("options %+v", o)
	}
	if !slices.Equal(m.Providers, []protocol.NodeID{0, 1}) || !slices.Equal(m.Validators, []protocol.NodeID{2}) ||
		!slices.Equal(m.Requesters, []protocol.NodeID{3}) || m.Committee != 3 {
		t.Errorf("roles: providers %v, validators %v, requesters %v, committee %d", m.Providers, m.Validators, m.Requesters, m.Committee)
	}
	if m.Verification != "spot_check" || m.SpotCheck != 0.5 || m.Scheduler != "fifo" || m.Units != 3 || m.UnitFLOPs != 1e8 ||
		m.Budget != 5e9 || m.Jobs != 5 || time.Duration(m.Every) != 2*time.Second || m.Class != "rtx4090" || m.Stake != 50e9 ||
		time.Duration(m.BlockInterval) != 500*time.Millisecond {
		t.Errorf("market %+v", m)
	}
	o.Dir = t.TempDir()
	if _, err := testnet.Create(o); err != nil {
		t.Errorf("creating the testnet: %v", err)
	}

	for _, c := range []struct{ edit, key, line string }{
		{"scheme: spot_check, spot_check: 50%", "protocol.verification.scheme", ":13:"},
		{"{process: constant, rate: 0.5/s}", "workload.arrivals.process", ":8:"},
		{"- {name: render, kind: compute, flops: 1e8, units: 3, budget: \"5\"}", "workload.jobs", ":10:"},
		{"block_interval: 500ms}", "protocol.market.matching", ":12:"},
		{"block_interval: 500ms}", "protocol.market.commit_delay", ":12:"},
	} {
		text := marketScenario
		switch c.key {
		case "protocol.verification.scheme":
			text = strings.Replace(text, c.edit, "scheme: bisection", 1)
		case "workload.arrivals.process":
			text = strings.Replace(text, c.edit, "{process: burst, burst_size: 2, burst_every: 1s}", 1)
		case "workload.jobs":
			text = strings.Replace(text, c.edit, c.edit+"\n    "+strings.Replace(c.edit, "render", "other", 1)+"\n", 1)
			text = strings.Replace(text, "flops: 1e8", "share: 50%, flops: 1e8", 2)
		case "protocol.market.matching":
			text = strings.Replace(text, c.edit, "block_interval: 500ms, matching: continuous}", 1)
		case "protocol.market.commit_delay":
			text = strings.Replace(text, c.edit, "block_interval: 500ms, commit_delay: 0s}", 1)
		}
		_, _, err := testnet.FromScenario(load(text))
		if !errors.Is(err, testnet.ErrOptions) || !strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), path+c.line) {
			t.Errorf("%s: %v, want ErrOptions naming %s%s and %s", c.key, err, path, c.line, c.key)
		}
	}
}
