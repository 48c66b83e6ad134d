package consensusrun

import (
	"errors"
	"strings"
	"testing"

	"github.com/dais-sim/dais/scenarios"
)

const twoSided = `
run: {name: t, duration: 20s, seed: 3}
network:
  partitions: [{from: 5s, until: 10s, groups: [west]}]
population:
  nodes: 30
  groups:
    - {name: idle, gpu: cpu, count: 10}
    - {name: west, gpu: a100, count: 10, regions: [dallas, toronto], stake: "5", roles: [validator]}
    - {name: east, gpu: h100, count: 10, regions: [tokyo], stake: "7", roles: [validator]}
protocol:
  consensus: {engine: bft, signatures: modeled}
adversaries:
  - {kind: silent_validator, share: 10%}
`

func fromYAML(t *testing.T, yaml string, overrides ...string) (*Params, error) {
	t.Helper()
	sc, err := scenarios.Parse("t.yaml", []byte(yaml), overrides...)
	if err != nil {
		t.Fatal(err)
	}
	return FromScenario(sc, 0)
}

func TestFromScenarioNumbersValidatorsFirst(t *testing.T) {
	p, err := fromYAML(t, twoSided)
	if err != nil {
		t.Fatal(err)
	}
	if p.Validators != 20 || p.Followers != 10 || len(p.Placement) != 30 {
		t.Fatalf("%d validators, %d followers, %d placements; want 20, 10, 30", p.Validators, p.Followers, len(p.Placement))
	}
	tokyo, dallas, toronto := p.Matrix.Index("tokyo"), p.Matrix.Index("dallas"), p.Matrix.Index("toronto")
	for i, pl := range p.Placement {
		switch {
		case i < 10: // west, validators first in group order
			if (pl.Region != dallas && pl.Region != toronto) || pl.GPU != "a100" || p.Stakes[i] != 5e9 {
				t.Fatalf("node %d: %+v stake %d", i, pl, p.Stakes[i])
			}
		case i < 20:
			if pl.Region != tokyo || pl.GPU != "h100" || p.Stakes[i] != 7e9 {
				t.Fatalf("node %d: %+v stake %d", i, pl, p.Stakes[i])
			}
		default:
			if pl.GPU != "cpu" {
				t.Fatalf("follower %d has %s", i, pl.GPU)
			}
		}
	}
	// The partition names group west: nodes 0–9 in this numbering.
	if len(p.Partitions) != 1 || len(p.Partitions[0].Nodes) != 10 || p.Partitions[0].Nodes[9] != 9 {
		t.Fatalf("partition %+v, want nodes 0–9", p.Partitions)
	}
	// 10% of 20 validators.
	if len(p.Adversaries) != 1 || p.Adversaries[0].Count != 2 || p.Adversaries[0].Kind != SilentValidator {
		t.Fatalf("adversaries %+v", p.Adversaries)
	}
}

// What FromScenario refuses, the scenario loader refuses first, at the
// key (scenarios/runners.go), so that dais validate says it too.
func TestFromScenarioErrors(t *testing.T) {
	for _, tc := range []struct {
		overrides []string
		want      string
	}{
		{[]string{"population.groups[1].roles=[provider]", "population.groups[2].roles=[provider]"}, "protocol.consensus: bft consensus needs population groups with the validator role"},
		{[]string{"population.groups[1].stake=0"}, "population.groups[1].stake: group west has the validator role and no stake"},
		{[]string{"adversaries[0].kind=lazy"}, "adversaries[0].kind: lazy is not simulated in a consensus run"},
		{[]string{"adversaries[0].start=3s"}, "adversaries[0].start: consensus attackers act from the start"},
		{[]string{"protocol.consensus.ledger.enabled=true"}, "protocol.consensus.ledger.clients: requester, but no population group has the requester role"},
	} {
		_, err := scenarios.Parse("t.yaml", []byte(twoSided), tc.overrides...)
		if !errors.Is(err, scenarios.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.overrides, err, tc.want)
		}
	}
}

// The shipped partition scenario halts during the cut and resumes after it.
func TestShippedPartitionScenario(t *testing.T) {
	sc, err := scenarios.Load("../../scenarios/bft-validators.yaml", "population.nodes=140", "run.duration=90s")
	if err != nil {
		t.Fatal(err)
	}
	p, err := FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	run := Summary(res)
	get := func(k string) float64 {
		f, ok := run.Figure(k)
		if !ok {
			t.Fatalf("no figure %s", k)
		}
		return f.Value
	}
	if get("partition_1_heights_during") != 0 || get("invariant_failures") != 0 {
		t.Fatalf("%v heights during the cut, %v failures; want 0 and 0", get("partition_1_heights_during"), get("invariant_failures"))
	}
	if r := get("partition_1_resume_s"); r < 0 || r > 5 || get("heights_finalized") < 40 {
		t.Fatalf("resumed %v s after the heal with %v heights in all; want within 5 s and ≥ 40", r, get("heights_finalized"))
	}
}

func TestFromScenarioLedger(t *testing.T) {
	p, err := fromYAML(t, twoSided, "protocol.consensus.ledger={enabled: true, tx_rate: 20/s, clients: all, fanout: 3, balance: \"50\", emission_per_block: \"2\", halving_blocks: 10, modeled_verification: true}")
	if err != nil {
		t.Fatal(err)
	}
	lp := p.Ledger
	if lp == nil || lp.TxRate != 20 || lp.Clients != nil || lp.Fanout != 3 || lp.Balance != 50e9 || !lp.ModeledVerification {
		t.Fatalf("ledger params %+v", lp)
	}
	if e1, e11 := lp.Emission.Emission(1), lp.Emission.Emission(11); e1 != 2e9 || e11 != 1e9 {
		t.Fatalf("emission %d at height 1, %d at 11; want 2 tokens halving after 10 blocks", e1, e11)
	}
	// requester: the nodes of groups with the role (idle, numbered after
	// the 20 validators), and none is an error.
	p, err = fromYAML(t, twoSided, "protocol.consensus.ledger.enabled=true", "population.groups[0].roles=[requester]")
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Ledger.Clients; len(c) != 10 || c[0] != 20 || c[9] != 29 {
		t.Fatalf("clients %v, want nodes 20–29", c)
	}
	if p, err := fromYAML(t, twoSided); err != nil || p.Ledger != nil {
		t.Fatalf("ledger off by default: %+v, %v", p.Ledger, err)
	}
}

// The shipped ledger scenario commits transfers at about the offered rate
// with real signatures, and the checker finds nothing.
func TestShippedLedgerScenario(t *testing.T) {
	sc, err := scenarios.Load("../../scenarios/bft-ledger.yaml", "run.duration=15s")
	if err != nil {
		t.Fatal(err)
	}
	p, err := FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	run := Summary(res)
	if err := run.Validate(); err != nil {
		t.Fatal(err)
	}
	get := func(k string) float64 {
		f, ok := run.Figure(k)
		if !ok {
			t.Fatalf("no figure %s", k)
		}
		return f.Value
	}
	t.Logf("tx/s %.1f, committed %v, rejected %v, mempool p50 %.0f, supply %.3f tokens", get("tx_per_s"), get("txs_committed"),
		get("txs_rejected"), get("mempool_txs_p50"), get("supply_tokens"))
	if get("invariant_failures") != 0 || get("tx_per_s") < 40 || get("tx_per_s") > 55 || get("tx_signatures_verified") == 0 {
		t.Fatalf("%v failures, %v tx/s, %v signature checks: want 0, about 50, real checks", get("invariant_failures"), get("tx_per_s"), get("tx_signatures_verified"))
	}
	// With jitter, a client's transfers overtake each other now and then;
	// validators hold them rather than refuse them.
	if get("txs_rejected") != 0 || get("client_throttled") != 0 {
		t.Errorf("%v refusals, %v throttled turns: want none", get("txs_rejected"), get("client_throttled"))
	}
	if f, _ := run.Figure("tx_per_s"); !strings.Contains(f.Help, "real ed25519") {
		t.Errorf("tx_per_s help %q does not say signatures were real", f.Help)
	}
	if get("minted_tokens") != get("heights_finalized") {
		t.Errorf("%v tokens minted in %v heights, want one a height", get("minted_tokens"), get("heights_finalized"))
	}
}
