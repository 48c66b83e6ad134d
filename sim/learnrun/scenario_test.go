package learnrun

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dais-sim/dais/scenarios"
)

func TestFromScenario(t *testing.T) {
	sc, err := scenarios.Load("../../scenarios/federated-poisoning.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Providers != 20 || fmt.Sprint(p.GPUs) != "[a100 rtx4090]" || p.Rule != "median" || p.Rounds != 10 ||
		p.Attack.Kind != SignFlip || p.Attack.Share != 0.3 || !p.Clean || !p.Baseline || p.Validators != 3 {
		t.Fatalf("params %+v", p)
	}
	// The scenario loader refuses what FromScenario would, at the key.
	_, err = scenarios.Load("../../scenarios/federated-poisoning.yaml", "adversaries[0].kind=lazy")
	if !errors.Is(err, scenarios.ErrInvalid) || !strings.Contains(err.Error(), "adversaries[0].kind: lazy is not simulated in a learning run") {
		t.Fatalf("a market attack in a learning run: %v", err)
	}
}
