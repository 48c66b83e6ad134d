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

func TestFromScenarioErrors(t *testing.T) {
	for _, tc := range []struct {
		overrides []string
		want      string
	}{
		{[]string{"population.groups[1].roles=[provider]", "population.groups[2].roles=[provider]"}, "needs population groups with the validator role"},
		{[]string{"population.groups[1].stake=0"}, "validator 0 has no stake"},
		{[]string{"adversaries[0].kind=lazy"}, "lazy is not simulated in consensus runs"},
		{[]string{"adversaries[0].start=3s"}, "start must be 0s"},
	} {
		_, err := fromYAML(t, twoSided, tc.overrides...)
		if !errors.Is(err, ErrParams) || !strings.Contains(err.Error(), tc.want) {
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
