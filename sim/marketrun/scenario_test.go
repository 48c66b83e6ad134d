package marketrun

import (
	"math"
	"strings"
	"testing"

	"github.com/dais-sim/dais/scenarios/marketplace"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/scenarios"
)

func runShipped(t *testing.T, file string, overrides ...string) *metrics.Run {
	t.Helper()
	sc, err := scenarios.Load("../../scenarios/"+file, overrides...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := marketplace.FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	return marketplace.Summary(res)
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
		matching             string
	}{
		{"60%", 1, 0, 0.25, 59, "per_block"},
		{"20%", 0, 1, 1, 0, "per_block"},
		{"60%", 1, 0, 0.25, 59, "continuous"},
	} {
		run := runShipped(t, "tokenomics-governance.yaml", "protocol.governance.proposals[0].yes="+tc.yes, "protocol.market.matching="+tc.matching)
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
	for _, m := range []string{"per_block", "continuous"} {
		run := runShipped(t, "lazy-providers.yaml", "run.duration=3m", "protocol.market.matching="+m)
		if d, o := figure(t, run, "detection_rate"), figure(t, run, "verification_overhead"); d < 0.99 || o > 0.15 {
			t.Errorf("%s: detection %.3f at overhead %.3f; want ≥ 0.99 at ≤ 0.15", m, d, o)
		}
	}
}

// The scenario loader refuses what FromScenario would, at the key.
func TestFromScenarioRejectsUnknownAttack(t *testing.T) {
	_, err := scenarios.Load("../../scenarios/lazy-providers.yaml", "adversaries[0].kind=equivocation")
	if err == nil || !strings.Contains(err.Error(), "adversaries[0].kind: equivocation is not simulated in a marketplace run") {
		t.Fatalf("a consensus attack in a market run: %v", err)
	}
}

// inflation_yearly is the net issuance over the genesis supply, scaled to
// a year. With no fee burn, no attackers and no proposal nothing burns, so
// it is the emission of one token per block (2 s, committed 300 ms after
// each tick) over the genesis supply: 20 validators' 1,000-token stakes and
// 2 requesters' 1,000,000-token balances. A 20% fee burn takes 20% of the
// fees.
func TestInflationAndFeeBurn(t *testing.T) {
	noBurn := runShipped(t, "tokenomics-governance.yaml", "protocol.governance.proposals=[]", "protocol.rewards.fee_burn=0%")
	blocks := figure(t, noBurn, "blocks")
	if b := figure(t, noBurn, "supply_burned_tokens"); b != 0 || blocks < 80 {
		t.Fatalf("%v tokens burned in %v blocks; want 0 in at least 80", b, blocks)
	}
	const genesis = 20*1000 + 2*1_000_000
	lastBlockS := blocks*2 + 0.3
	want := blocks / genesis * 365 * 24 * 3600 / lastBlockS
	if got := figure(t, noBurn, "inflation_yearly"); math.Abs(got-want) > 1e-9*want {
		t.Errorf("inflation_yearly %v, want %v", got, want)
	}
	burn := runShipped(t, "tokenomics-governance.yaml", "protocol.governance.proposals=[]", "protocol.rewards.fee_burn=20%")
	fees := figure(t, burn, "fee_burned_tokens") + figure(t, burn, "paid_providers_tokens") + figure(t, burn, "fee_pot_tokens")
	if share := figure(t, burn, "fee_burned_tokens") / fees; fees == 0 || math.Abs(share-0.2) > 1e-3 {
		t.Errorf("fee burn %.4f of %v tokens of fees, want 0.2", share, fees)
	}
	if figure(t, burn, "inflation_yearly") >= want {
		t.Errorf("burning fees did not lower inflation: %v ≥ %v", figure(t, burn, "inflation_yearly"), want)
	}
}

// slash_lazy_work is the share of stake each proven lazy result burns: none
// at 0%, every caught cheater's whole 100-token stake at 100%.
func TestSlashLazyWork(t *testing.T) {
	for _, tc := range []struct {
		share    string
		perCheat float64
	}{{"0%", 0}, {"100%", 100}} {
		run := runShipped(t, "lazy-providers.yaml", "run.duration=2m", "protocol.rewards.slash_lazy_work="+tc.share)
		caught := figure(t, run, "cheaters_detected")
		if slashed := figure(t, run, "slashed_tokens"); caught == 0 || figure(t, run, "slashes") < caught || slashed != tc.perCheat*caught {
			t.Errorf("slash %s: %v tokens slashed in %v slashes of %v caught cheaters; want %v", tc.share, slashed, figure(t, run, "slashes"), caught, tc.perCheat*caught)
		}
	}
}
