package marketrun

import (
	"strings"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/scenarios"
)

func runShipped(t *testing.T, file string, overrides ...string) *metrics.Run {
	t.Helper()
	sc, err := scenarios.Load("../../scenarios/"+file, overrides...)
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
	return Summary(res)
}

func figure(t *testing.T, run *metrics.Run, key string) float64 {
	t.Helper()
	f, ok := run.Figure(key)
	if !ok {
		t.Fatalf("no figure %s", key)
	}
	return f.Value
}

// The shipped governance scenario: the vote passes and emission bends; at
// 20% yes the proposal misses its quorum and nothing changes.
func TestShippedGovernanceScenario(t *testing.T) {
	for _, tc := range []struct {
		yes                  string
		passed, noQuorum     float64
		lastEmission, minted float64
	}{
		{"60%", 1, 0, 0.25, 59},
		{"20%", 0, 1, 1, 0},
	} {
		run := runShipped(t, "tokenomics-governance.yaml", "protocol.governance.proposals[0].yes="+tc.yes)
		if figure(t, run, "proposals_passed") != tc.passed || figure(t, run, "proposals_no_quorum") != tc.noQuorum {
			t.Errorf("yes %s: passed %v, no quorum %v; want %v, %v", tc.yes, figure(t, run, "proposals_passed"), figure(t, run, "proposals_no_quorum"), tc.passed, tc.noQuorum)
		}
		c := run.Curve("emission_curve")
		if c == nil || len(c.Lines) == 0 || len(c.Lines[0].Y) < 40 {
			t.Fatalf("yes %s: no emission curve", tc.yes)
		}
		ys := c.Lines[0].Y
		if ys[0] != 1 || ys[len(ys)-1] != tc.lastEmission {
			t.Errorf("yes %s: emission %v at block 1 and %v at the end; want 1 and %v", tc.yes, ys[0], ys[len(ys)-1], tc.lastEmission)
		}
		if tc.minted > 0 && figure(t, run, "supply_minted_tokens") != tc.minted {
			t.Errorf("yes %s: minted %v, want %v", tc.yes, figure(t, run, "supply_minted_tokens"), tc.minted)
		}
	}
}

// The shipped lazy-provider scenario, shortened: every cheater caught at
// about p of overhead.
func TestShippedLazyScenario(t *testing.T) {
	run := runShipped(t, "lazy-providers.yaml", "run.duration=3m")
	if d, o := figure(t, run, "detection_rate"), figure(t, run, "verification_overhead"); d < 0.99 || o > 0.15 {
		t.Fatalf("detection %.3f at overhead %.3f; want ≥ 0.99 at ≤ 0.15", d, o)
	}
}

// The scenario loader refuses what FromScenario would, at the key.
func TestFromScenarioRejectsUnknownAttack(t *testing.T) {
	_, err := scenarios.Load("../../scenarios/lazy-providers.yaml", "adversaries[0].kind=equivocation")
	if err == nil || !strings.Contains(err.Error(), "adversaries[0].kind: equivocation is not simulated in a marketplace run") {
		t.Fatalf("a consensus attack in a market run: %v", err)
	}
}
