package marketrun

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/dais-sim/dais/scenarios/marketplace"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/govern"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
)

func mustRun(t *testing.T, p *marketplace.Params) *marketplace.Result {
	t.Helper()
	res, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// small is a short mixed run with every part switched on.
func small(seed uint64) *marketplace.Params {
	return &marketplace.Params{
		Seed: seed,
		Groups: []marketplace.Group{
			{Name: "h100", GPU: "h100", Count: 4, Role: marketplace.Provider, Stake: 100 * tok},
			{Name: "rtx3060", GPU: "rtx3060", Count: 6, Role: marketplace.Provider, Stake: 100 * tok},
			{Name: "validators", GPU: "a100", Count: 3, Role: marketplace.Validator, Stake: 1000 * tok},
			{Name: "requesters", GPU: "cpu", Count: 2, Role: marketplace.Requester, Balance: 1_000_000 * tok},
		},
		Arrivals: market.Arrivals{Process: market.Poisson, Rate: 0.5},
		Jobs: []market.JobType{{Name: "render", Kind: market.Compute, Share: 1, FLOPs: dist.LogNormal{Mu: 32, Sigma: 0.5}, Units: 4,
			MemBytes: 4e9, Steps: 8, Precision: gpu.FP16, Budget: 10 * tok, Deadline: 5 * protocol.Minute}},
		Scheduler:   market.FairShare,
		Verify:      market.Verification{Scheme: market.SpotCheck, SpotCheck: 0.1},
		Adversaries: []marketplace.Adversary{{Kind: marketplace.Lazy, Count: 1}, {Kind: marketplace.Sybil, Group: "h100", Count: 1, Identities: 3}},
		Until:       3 * protocol.Minute,
		Trace:       true,
	}
}

// The key claim of the lazy-provider experiment: 10% of providers faking
// half their units are all caught by spot checks at p = 0.1, for about
// 10% extra compute.
func TestLazyProvidersCaughtBySpotChecks(t *testing.T) {
	if raceEnabled {
		t.Skip("a 50,000-unit run; single-threaded, so the race detector has nothing to find")
	}
	for _, m := range []market.Matching{market.PerBlock, market.Continuous} {
		rows, err := DetectionTable(DetectionSchemes([]float64{0.1}, nil)[:1], m)
		if err != nil {
			t.Fatal(err)
		}
		r := rows[0]
		t.Logf("%s matching:\n%s", m, FormatDetection(rows))
		if r.DetectionRate < 0.99 {
			t.Errorf("%s: detection rate %.3f, want ≥ 0.99", m, r.DetectionRate)
		}
		if r.Overhead > 0.15 || r.Overhead < 0.05 {
			t.Errorf("%s: verification overhead %.3f, want about p = 0.1 and at most 0.15", m, r.Overhead)
		}
		if r.Faked == 0 || r.BadAccepted >= r.Faked {
			t.Errorf("%s: %d results faked, %d bad results accepted: the attack did not run or nothing was caught", m, r.Faked, r.BadAccepted)
		}
	}
}

// Sybil gain: k identities on one GPU earn what the GPU earns as one
// identity under the work-based default (≤ 1.05 for k = 1 … 20, and under
// continuous matching for k = 1, 2, 5, 10, 20), and k times the
// participation reward when the policy pays per identity.
func TestSybilGain(t *testing.T) {
	ks := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	cont := []int{1, 2, 5, 10, 20}
	if raceEnabled {
		ks, cont = []int{1, 20}, []int{20}
	}
	for _, m := range []market.Matching{market.PerBlock, market.Continuous} {
		if m == market.Continuous {
			ks = cont
		}
		for _, k := range ks {
			p := SybilParams(k, false)
			p.Matching = m
			if g := mustRun(t, p).SybilGain; !(g <= 1.05) {
				t.Errorf("%s, k = %d: Sybil gain %.3f under the work-based policy, want ≤ 1.05", m, k, g)
			}
		}
		prev := 1.0
		for _, k := range []int{2, 5, 20} {
			p := SybilParams(k, true)
			p.Matching = m
			g := mustRun(t, p).SybilGain
			if !(g > 1.2 && g > prev) {
				t.Errorf("%s, k = %d: Sybil gain %.3f under the per-identity policy, want > 1.2 and above k's before (%.3f)", m, k, g, prev)
			}
			prev = g
		}
	}
}

// In the heterogeneous fleet, fair-share scheduling pays every provider
// about the same per verified FLOP, and spreads work by capacity better
// than greedy-fastest (which leaves slow GPUs idle).
func TestFairShareFairness(t *testing.T) {
	modes := []market.Matching{market.PerBlock, market.Continuous}
	if raceEnabled {
		modes = modes[:1] // continuous matching runs under the race detector in the lighter tests
	}
	for _, m := range modes {
		run := func(s market.Policy) *marketplace.Result {
			p := FairnessParams(s)
			p.Matching = m
			return mustRun(t, p)
		}
		fair, fast := run(market.FairShare), run(market.Fastest)
		if fair.JainRewardPerWork < 0.95 {
			t.Errorf("%s: fair share: Jain's index of reward per verified FLOP %.4f, want ≥ 0.95", m, fair.JainRewardPerWork)
		}
		if fair.JainEarningsPerCapacity <= fast.JainEarningsPerCapacity {
			t.Errorf("%s: Jain of earnings per capacity: fair share %.3f, fastest %.3f; want fair share higher",
				m, fair.JainEarningsPerCapacity, fast.JainEarningsPerCapacity)
		}
		if len(fair.Classes) != 8 {
			t.Fatalf("%s: %d classes, want all 8", m, len(fair.Classes))
		}
		for _, c := range fair.Classes {
			if c.Units == 0 || !(c.Utilization > 0) {
				t.Errorf("%s: fair share: %s verified %d units at utilization %.2f; every class should get work", m, c.Class, c.Units, c.Utilization)
			}
		}
	}
}

// A proposal that passes cuts the emission at its activation height, and
// the supply grows more slowly from there; one without quorum changes
// nothing.
func TestGovernanceChangesEmission(t *testing.T) {
	pass := mustRun(t, GovernanceParams(0.6))
	if len(pass.Proposals) != 1 || pass.Proposals[0].Status != govern.Passed || pass.Proposals[0].Activation != 30 {
		t.Fatalf("proposals %+v, want one passed, activating at 30", pass.Proposals)
	}
	for _, s := range pass.Supply {
		want := uint64(rewards.Token)
		if s.Height >= 30 {
			want /= 4
		}
		if s.Emission != want {
			t.Fatalf("block %d minted %d, want %d", s.Height, s.Emission, want)
		}
	}
	// The bend: the supply's growth over 20 blocks before and after.
	growth := func(r *marketplace.Result, from uint64) int64 {
		return int64(r.Supply[from+19].Supply) - int64(r.Supply[from-1].Supply)
	}
	if before, after := growth(pass, 5), growth(pass, 35); after >= before/2 {
		t.Errorf("supply grew by %d in blocks 6…25 and %d in blocks 36…55: no bend", before, after)
	}

	none := mustRun(t, GovernanceParams(0.2)) // 20% turnout < the 33.4% quorum
	if len(none.Proposals) != 1 || none.Proposals[0].Status != govern.NoQuorum {
		t.Fatalf("proposals %+v, want one without quorum", none.Proposals)
	}
	for _, s := range none.Supply {
		if s.Emission != uint64(rewards.Token) {
			t.Fatalf("without quorum, block %d minted %d", s.Height, s.Emission)
		}
	}
	if len(none.Activations) != 0 {
		t.Errorf("activations %+v without quorum", none.Activations)
	}
}

// Every escrowed token is accounted for: jobs that finish, expire, are
// cancelled or are refused, under churn with crashes and cheats. The
// ledger's conservation check runs after every block (a break panics);
// at the end no escrow is left and every budget was split exactly.
// Under continuous matching too, where a job may end before its post
// commits and its settlement waits for it; the slashes' evidence there
// proves the cheater's result by its place in a batch.
func TestEscrowConservation(t *testing.T) {
	for _, m := range []market.Matching{market.PerBlock, market.Continuous} {
		p := ConservationParams()
		p.Matching = m
		res := mustRun(t, p)
		statuses := []market.Status{market.Done, market.Expired, market.Cancelled}
		if m == market.Continuous {
			statuses = []market.Status{market.Done, market.Cancelled} // no unit is late enough to expire
		}
		for _, s := range statuses {
			if res.Jobs(s) == 0 {
				t.Errorf("%s: no job ended %s: the test does not cover it (%v)", m, s, res.Statuses)
			}
		}
		if res.Refused == 0 || res.Timeouts == 0 || res.Detected == 0 || res.Slashed == 0 {
			t.Errorf("%s: refused %d, timeouts %d, cheaters caught %d, slashed %d: want some of each", m, res.Refused, res.Timeouts, res.Detected, res.Slashed)
		}
		if res.EscrowLeft != 0 || res.OpenJobs != 0 {
			t.Errorf("%s: %d base units left in %d open jobs", m, res.EscrowLeft, res.OpenJobs)
		}
		if got := res.PaidProviders + res.Pot + res.FeesBurned + res.Refunds; got != res.Budgets {
			t.Errorf("%s: budgets %d ≠ providers %d + pot %d + burn %d + refunds %d = %d",
				m, res.Budgets, res.PaidProviders, res.Pot, res.FeesBurned, res.Refunds, got)
		}
		closed := res.Jobs(market.Done) + res.Jobs(market.Expired) + res.Jobs(market.Cancelled)
		if closed+res.Refused != res.Posted {
			t.Errorf("%s: %d jobs closed + %d refused ≠ %d posted", m, closed, res.Refused, res.Posted)
		}
	}
}

// Colluding validators approve their ring's bad results: with one
// validator per check their approvals stand; with a panel of two, the
// honest one contradicts, a third breaks the tie, and the colluders are
// caught and slashed for false approval.
func TestColludingValidators(t *testing.T) {
	for _, m := range []market.Matching{market.PerBlock, market.Continuous} {
		run := func(panel int) *marketplace.Result {
			p := CollusionParams(panel)
			p.Matching = m
			return mustRun(t, p)
		}
		one, two := run(1), run(2)
		if one.RingApprovals == 0 || two.RingApprovals == 0 {
			t.Fatalf("%s: the ring approved %d and %d results: the attack did not run", m, one.RingApprovals, two.RingApprovals)
		}
		if one.BadChecked == 0 || one.ColludersCaught != 0 {
			t.Errorf("%s: one validator per check: %d bad results passed a check, %d colluders caught; want some and none", m, one.BadChecked, one.ColludersCaught)
		}
		if two.ColludersCaught != 2 || two.BadChecked > one.BadChecked/4 {
			t.Errorf("%s: panels of two: %d colluders caught (want both), %d bad results passed a check (one validator: %d)",
				m, two.ColludersCaught, two.BadChecked, one.BadChecked)
		}
	}
}

// Bisection: two replicas; a lazy provider's dispute ends on the step it
// first faked, the referee re-executes that one step, the liar is
// slashed and the honest result accepted.
func TestBisectionCatchesLazy(t *testing.T) {
	for _, m := range []market.Matching{market.PerBlock, market.Continuous} {
		p := small(3)
		p.Groups[1].Count = 10
		p.Verify = market.Verification{Scheme: market.Bisection}
		p.Adversaries = []marketplace.Adversary{{Kind: marketplace.Lazy, Count: 2, Fraction: 0.5}}
		p.Matching = m
		res := mustRun(t, p)
		if res.Lazy != 2 || res.Detected != 2 || res.Slashed == 0 {
			t.Errorf("%s: %d of %d lazy providers caught, %d slashed: want both caught and slashed", m, res.Detected, res.Lazy, res.Slashed)
		}
		if res.BadAccepted != 0 {
			t.Errorf("%s: %d bad results accepted under bisection", m, res.BadAccepted)
		}
		// Two replicas cost one unit more each; the referee adds a step per
		// dispute.
		if res.Overhead < 0.9 || res.Overhead > 1.2 {
			t.Errorf("%s: overhead %.3f, want about 1", m, res.Overhead)
		}
	}
}

// The same seed gives the same run and the same metrics, byte for byte;
// another seed gives another run.
func TestDeterminism(t *testing.T) {
	a, b, c := mustRun(t, small(1)), mustRun(t, small(1)), mustRun(t, small(2))
	if a.TraceHash != b.TraceHash || a.TraceHash == c.TraceHash {
		t.Errorf("trace hashes %x, %x (same seed), %x (other seed)", a.TraceHash, b.TraceHash, c.TraceHash)
	}
	ja, err := marketplace.Summary(a).MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := marketplace.Summary(b).MarshalIndent()
	if !bytes.Equal(ja, jb) {
		t.Error("metrics differ between two runs of one seed")
	}
}

// Summary gives a valid run with the figures the issue names.
func TestSummary(t *testing.T) {
	res := mustRun(t, small(1))
	run := marketplace.Summary(res)
	if err := run.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"throughput_units_per_s", "unit_completion_ms_p50", "unit_completion_ms_p95", "unit_completion_ms_p99",
		"verification_overhead", "detection_rate", "time_to_detect_s_mean", "sybil_gain", "reward_per_work_jain",
		"reward_per_work_gini", "energy_per_unit_kwh", "escrow_left_tokens"} {
		if _, ok := run.Figure(k); !ok {
			t.Errorf("no figure %s", k)
		}
	}
	for _, k := range []string{"unit_completion_ms_by_class", "utilization_by_class", "earnings_per_gpu_hour_by_class",
		"profit_usd_per_gpu_hour_by_class"} {
		g := run.Group(k)
		if g == nil || len(g.Labels) != 2 {
			t.Errorf("group %s: %+v", k, g)
		}
	}
	if run.Curve("supply_curve") == nil || run.Column("utilization_h100") == nil || run.Column("supply_tokens") == nil {
		t.Error("supply curve or series missing")
	}
	if f, _ := run.Figure("escrow_left_tokens"); f.Value != 0 {
		t.Errorf("escrow left %v", f.Value)
	}
	if g, _ := run.Figure("sybil_gain"); math.IsNaN(g.Value) {
		t.Error("no Sybil gain with a Sybil attacker")
	}
}

func TestParamsRejected(t *testing.T) {
	for name, mod := range map[string]func(*marketplace.Params){
		"no providers":      func(p *marketplace.Params) { p.Groups = p.Groups[2:] },
		"unknown gpu":       func(p *marketplace.Params) { p.Groups[0].GPU = "b200" },
		"no validators":     func(p *marketplace.Params) { p.Groups[2].Count = 0 },
		"unknown adversary": func(p *marketplace.Params) { p.Adversaries[0].Kind = "greedy" },
		"too many":          func(p *marketplace.Params) { p.Adversaries[0].Count = 100 },
		"no jobs":           func(p *marketplace.Params) { p.Jobs = nil },
		"commit too slow":   func(p *marketplace.Params) { p.CommitDelay = 3 * protocol.Second },
	} {
		if _, err := Run(func() *marketplace.Params { p := small(1); mod(p); return p }()); !errors.Is(err, marketplace.ErrParams) {
			t.Errorf("%s: %v, want ErrParams", name, err)
		}
	}
}
