package marketrun

import (
	"fmt"
	"strings"

	"github.com/dais-sim/dais/scenarios/marketplace"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/govern"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// The experiments the issue asks for, as parameter sets and sweeps. Tests
// assert their key claims; BENCHMARKS.md records their tables.

const tok = uint64(rewards.Token)

// LazyParams is the lazy-provider experiment: 100 providers (50 RTX 4090,
// 50 A100), 10% of them lazy, each faking 50% of its units; 10 A100
// validators; compute jobs of 8 FP16 units of 10¹⁴ FLOPs (1.2 s on an RTX
// 4090, 0.64 s on an A100) arriving at 10 jobs/s (about 70% of the
// fleet) for 10 minutes, priced per FLOP. Redundancy runs k replicas, so
// its arrival rate is divided by k to keep the same load.
func LazyParams(v market.Verification) *marketplace.Params {
	rate := 10.0
	if v.Scheme == market.Redundancy && v.TrustAfter == 0 {
		rate /= float64(max(v.Replicas, 2))
	}
	if v.Scheme == market.Bisection {
		rate /= 2
	}
	return &marketplace.Params{
		Seed: 1,
		Groups: []marketplace.Group{
			{Name: "rtx4090", GPU: "rtx4090", Count: 50, Role: marketplace.Provider, Stake: 100 * tok},
			{Name: "a100", GPU: "a100", Count: 50, Role: marketplace.Provider, Stake: 100 * tok},
			{Name: "validators", GPU: "a100", Count: 10, Role: marketplace.Validator, Stake: 1000 * tok},
			{Name: "requesters", GPU: "cpu", Count: 4, Role: marketplace.Requester, Balance: 10_000_000 * tok},
		},
		Arrivals: market.Arrivals{Process: market.Poisson, Rate: rate},
		Jobs: []market.JobType{{Name: "render", Kind: market.Compute, Share: 1, FLOPs: dist.Fixed{V: 1e14}, Units: 8,
			MemBytes: 8e9, Steps: 16, Precision: gpu.FP16, PricePerPFLOP: tok}},
		Scheduler:   market.FIFO,
		Verify:      v,
		Adversaries: []marketplace.Adversary{{Kind: marketplace.Lazy, Share: 0.1, Fraction: 0.5}},
		Until:       10 * protocol.Minute,
		Drain:       protocol.Minute,
	}
}

// DetectionRow is one line of the detection-versus-overhead table.
type DetectionRow struct {
	Scheme string // "spot_check p=0.1", "redundancy k=2", …
	// DetectionRate of lazy providers, Overhead (verification ÷ useful
	// FLOPs), mean and longest time to detect, results faked and bad
	// results accepted.
	DetectionRate, Overhead float64
	MeanDetectS, MaxDetectS float64
	Faked, BadAccepted      int
	Throughput              float64
}

// Scheme is a named verification configuration.
type Scheme struct {
	Name   string
	Verify market.Verification
}

// DetectionSchemes are spot checks at each probability, redundancy at each
// k, redundancy k = 2 with adaptive replication (a host is trusted after
// 10 agreeing results, and a trusted host's unit is replicated with
// probability 0.1), and bisection.
func DetectionSchemes(ps []float64, ks []int) []Scheme {
	var out []Scheme
	for _, p := range ps {
		out = append(out, Scheme{fmt.Sprintf("spot_check p=%g", p), market.Verification{Scheme: market.SpotCheck, SpotCheck: p}})
	}
	for _, k := range ks {
		out = append(out, Scheme{fmt.Sprintf("redundancy k=%d", k), market.Verification{Scheme: market.Redundancy, Replicas: k}})
	}
	return append(out,
		Scheme{"redundancy k=2 adaptive", market.Verification{Scheme: market.Redundancy, Replicas: 2, TrustAfter: 10, TrustSample: 0.1}},
		Scheme{"bisection", market.Verification{Scheme: market.Bisection}})
}

// DetectionTable runs the lazy-provider experiment under each scheme, with
// matching m, and returns detection rate against overhead.
func DetectionTable(schemes []Scheme, m market.Matching) ([]DetectionRow, error) {
	var rows []DetectionRow
	for _, sc := range schemes {
		p := LazyParams(sc.Verify)
		p.Matching = m
		res, err := Run(p)
		if err != nil {
			return nil, err
		}
		d := marketplace.DurationQuantiles(res.DetectTimes)
		rows = append(rows, DetectionRow{Scheme: sc.Name, DetectionRate: res.DetectionRate, Overhead: res.Overhead,
			MeanDetectS: d.Mean, MaxDetectS: d.Max, Faked: res.FakedUnits, BadAccepted: res.BadAccepted, Throughput: res.Throughput})
	}
	return rows, nil
}

// FormatDetection prints the table in Markdown.
func FormatDetection(rows []DetectionRow) string {
	var b strings.Builder
	b.WriteString("| verification | detection rate | overhead | mean time to detect (s) | longest (s) | results faked | bad results accepted | verified units/s |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.1f | %.1f | %d | %d | %.1f |\n", r.Scheme, r.DetectionRate, r.Overhead,
			r.MeanDetectS, r.MaxDetectS, r.Faked, r.BadAccepted, r.Throughput)
	}
	return b.String()
}

// SybilParams is the Sybil experiment: 10 H100 providers, one of them a
// Sybil attacker splitting its GPU into k identities, and 10 RTX 4090s;
// no verification (every result is honest); FP16 units of 10¹⁵ FLOPs
// (2 s on an H100) arriving faster than the fleet computes, so every
// identity stays busy; rewards split every 30 blocks (a minute); jobs pay
// 0.1 token per PFLOP, so block rewards matter beside fees. With
// perIdentity the compute pot first pays each identity with verified work
// a participation reward of 1 token per split.
func SybilParams(k int, perIdentity bool) *marketplace.Params {
	pol := rewards.DefaultPolicy()
	if perIdentity {
		pol.Payout, pol.ParticipationReward = rewards.PerIdentity, rewards.Token
	}
	p := &marketplace.Params{
		Seed: 7,
		Groups: []marketplace.Group{
			{Name: "h100", GPU: "h100", Count: 10, Role: marketplace.Provider, Stake: 100 * tok},
			{Name: "rtx4090", GPU: "rtx4090", Count: 10, Role: marketplace.Provider, Stake: 100 * tok},
			{Name: "requesters", GPU: "cpu", Count: 2, Role: marketplace.Requester, Balance: 10_000_000 * tok},
		},
		Arrivals: market.Arrivals{Process: market.Poisson, Rate: 1.2},
		Jobs: []market.JobType{{Name: "train", Kind: market.Training, Share: 1, FLOPs: dist.Fixed{V: 1e15}, Units: 8,
			MemBytes: 16e9, Steps: 32, Precision: gpu.FP16, PricePerPFLOP: tok / 10}},
		Scheduler:   market.FIFO,
		Verify:      market.Verification{Scheme: market.NoVerification},
		Policy:      &pol,
		RewardEvery: 30,
		Until:       10 * protocol.Minute,
		Drain:       30 * protocol.Second,
	}
	if k > 0 {
		p.Adversaries = []marketplace.Adversary{{Kind: marketplace.Sybil, Group: "h100", Count: 1, Identities: k}}
	}
	return p
}

// FairnessParams is the heterogeneous fleet: 4 providers of each of the
// eight catalog classes (H100 down to RTX 3060, T4 and CPU-only), a job
// mix of small inference units (2·10¹² FLOPs, 6 GB, 60 s deadline),
// render units (2·10¹³, 10 GB, 5 min) and training rounds (2·10¹⁴,
// 20 GB, 10 min) priced per FLOP, posted at 2.5 jobs/s (about 13 units/s,
// a light load for the fleet), for 8 minutes, electricity priced by region.
//
// Demand does not stop before the end: the run ends 10 s after the last
// post. A long drain without posts would hand each block's fixed
// emission to the few slow units still running, which inflates their
// reward per FLOP: that is how a per-block emission split by verified
// work behaves when demand pauses, not a property of the scheduler.
func FairnessParams(s market.Policy) *marketplace.Params {
	var groups []marketplace.Group
	for _, c := range []string{"h100", "a100", "l40s", "rtx4090", "rtx3090", "rtx3060", "t4", "cpu"} {
		groups = append(groups, marketplace.Group{Name: c, GPU: c, Count: 4, Role: marketplace.Provider, Stake: 100 * tok})
	}
	groups = append(groups, marketplace.Group{Name: "requesters", GPU: "cpu", Count: 4, Role: marketplace.Requester, Balance: 10_000_000 * tok})
	return &marketplace.Params{
		Seed:     3,
		Groups:   groups,
		Arrivals: market.Arrivals{Process: market.Poisson, Rate: 14},
		Jobs: []market.JobType{
			{Name: "inference", Kind: market.Inference, Share: 0.6, FLOPs: dist.Fixed{V: 2e12}, Units: 4, MemBytes: 6e9, Steps: 1,
				Precision: gpu.FP16, Deadline: protocol.Minute, PricePerPFLOP: tok},
			{Name: "render", Kind: market.Compute, Share: 0.3, FLOPs: dist.Fixed{V: 2e13}, Units: 8, MemBytes: 10e9, Steps: 8,
				Precision: gpu.FP16, Deadline: 5 * protocol.Minute, PricePerPFLOP: tok},
			{Name: "training", Kind: market.Training, Share: 0.1, FLOPs: dist.Fixed{V: 2e14}, Units: 4, MemBytes: 20e9, Steps: 32,
				Precision: gpu.FP16, Deadline: 10 * protocol.Minute, PricePerPFLOP: tok},
		},
		Scheduler: s,
		Verify:    market.Verification{Scheme: market.NoVerification},
		Until:     8 * protocol.Minute,
		Drain:     10 * protocol.Second,
		Electricity: map[string]float64{
			// Illustrative industrial prices, USD per kWh.
			"dallas": 0.08, "toronto": 0.09, "washington_dc": 0.10, "frankfurt": 0.22, "london": 0.25,
			"madrid": 0.15, "osaka": 0.20, "sydney": 0.18, "tokyo": 0.20, "sao_paulo": 0.12,
		},
	}
}

// SchedulerRow is one scheduler's per-class figures.
type SchedulerRow struct {
	Scheduler               market.Policy
	JainRewardPerWork       float64
	JainEarningsPerCapacity float64
	Throughput              float64
	CompletionP50, P99      float64
	Classes                 []marketplace.ClassStats
}

// SchedulerTable runs the heterogeneous fleet under each scheduler, at
// rate jobs per second (0: FairnessParams'), with matching m.
func SchedulerTable(ss []market.Policy, rate float64, m market.Matching) ([]SchedulerRow, error) {
	var rows []SchedulerRow
	for _, s := range ss {
		p := FairnessParams(s)
		p.Matching = m
		if rate > 0 {
			p.Arrivals.Rate = rate
		}
		res, err := Run(p)
		if err != nil {
			return nil, err
		}
		rows = append(rows, SchedulerRow{Scheduler: s, JainRewardPerWork: res.JainRewardPerWork,
			JainEarningsPerCapacity: res.JainEarningsPerCapacity, Throughput: res.Throughput,
			CompletionP50: res.Completion.P50, P99: res.Completion.P99, Classes: res.Classes})
	}
	return rows, nil
}

// FormatSchedulers prints the side-by-side table in Markdown.
func FormatSchedulers(rows []SchedulerRow) string {
	var b strings.Builder
	b.WriteString("| scheduler | Jain reward/work | Jain earnings/capacity | units/s | completion p50 / p99 (s) |\n|---|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %.4f | %.3f | %.1f | %.1f / %.1f |\n", r.Scheduler, r.JainRewardPerWork, r.JainEarningsPerCapacity,
			r.Throughput, r.CompletionP50/1e3, r.P99/1e3)
	}
	b.WriteString("\nPer class: utilization, earnings (tokens per GPU-hour), profit after electricity (USD per GPU-hour at 1 USD per token), completion p50 (s).\n\n| class |")
	for _, r := range rows {
		fmt.Fprintf(&b, " %s |", r.Scheduler)
	}
	b.WriteString("\n|---|")
	for range rows {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	if len(rows) == 0 {
		return b.String()
	}
	for i, c := range rows[0].Classes {
		fmt.Fprintf(&b, "| %s |", c.Class)
		for _, r := range rows {
			x := r.Classes[i]
			fmt.Fprintf(&b, " %.2f · %.1f · %.2f · %.1f |", x.Utilization, x.EarningsPerGPUHour, x.ProfitUSDPerGPUHour, x.P50/1e3)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// GovernanceParams is the governance experiment: 20 staked validators
// (every staker votes by share of stake), 10 providers, and one proposal
// in block 5 to cut the emission from 1 token to 0.25 per block, voted
// by a yes share of the stake (the rest does not vote). Voting lasts 20
// blocks and a change waits 5 more, so it activates at block 30.
func GovernanceParams(yes float64) *marketplace.Params {
	change, err := marketplace.Change(rewards.ParamEmissionPerBlock, "0.25")
	if err != nil {
		panic(err)
	}
	return &marketplace.Params{
		Seed: 11,
		Groups: []marketplace.Group{
			{Name: "providers", GPU: "rtx4090", Count: 10, Role: marketplace.Provider},
			{Name: "validators", GPU: "a100", Count: 20, Role: marketplace.Validator, Stake: 1000 * tok},
			{Name: "requesters", GPU: "cpu", Count: 2, Role: marketplace.Requester, Balance: 1_000_000 * tok},
		},
		Arrivals: market.Arrivals{Process: market.Poisson, Rate: 0.5},
		Jobs: []market.JobType{{Name: "render", Kind: market.Compute, Share: 1, FLOPs: dist.Fixed{V: 1e14}, Units: 4,
			MemBytes: 8e9, Steps: 8, Precision: gpu.FP16, PricePerPFLOP: tok}},
		Verify:    market.Verification{Scheme: market.SpotCheck, SpotCheck: 0.05},
		Gov:       govern.Config{VotingPeriod: 20, MinDelay: 5, MinDeposit: 10 * rewards.Token, Tally: govern.DefaultTallyParams()},
		Proposals: []market.ProposalPlan{{Height: 5, Proposer: 11, Changes: []govern.Change{change}, Yes: yes}},
		Until:     3 * protocol.Minute,
		Drain:     30 * protocol.Second,
	}
}

// CollusionParams is the colluding-validator experiment: 30 RTX 4090
// providers, 5 of them lazy (half their units faked) and kept in the
// schedule when caught (NoJail), so that they keep testing the checks; 9
// A100 validators, 2 of them in a ring with the lazy providers that
// approves the ring's results without re-executing; spot checks at 0.3
// by panels of panel validators, for 6 minutes.
func CollusionParams(panel int) *marketplace.Params {
	return &marketplace.Params{
		Seed: 13,
		Groups: []marketplace.Group{
			{Name: "rtx4090", GPU: "rtx4090", Count: 30, Role: marketplace.Provider, Stake: 100 * tok},
			{Name: "validators", GPU: "a100", Count: 9, Role: marketplace.Validator, Stake: 1000 * tok},
			{Name: "requesters", GPU: "cpu", Count: 2, Role: marketplace.Requester, Balance: 1_000_000 * tok},
		},
		Arrivals: market.Arrivals{Process: market.Poisson, Rate: 1.5},
		Jobs: []market.JobType{{Name: "render", Kind: market.Compute, Share: 1, FLOPs: dist.Fixed{V: 1e14}, Units: 4,
			MemBytes: 8e9, Steps: 8, Precision: gpu.FP16, PricePerPFLOP: tok}},
		Scheduler:   market.FIFO,
		Verify:      market.Verification{Scheme: market.SpotCheck, SpotCheck: 0.3, Panel: panel, NoJail: true},
		Adversaries: []marketplace.Adversary{{Kind: marketplace.Lazy, Count: 5, Fraction: 0.5}, {Kind: marketplace.Colluding, Count: 2}},
		Until:       6 * protocol.Minute,
		Drain:       30 * protocol.Second,
	}
}

// ConservationParams stresses settlement: deadlines that slow GPUs miss,
// a third of the jobs cancelled, a requester too poor for some of its
// posts, churn with crashes, lazy providers under spot checks, staking
// yield every 20 blocks. Every job must end settled with its escrow
// fully paid out, burned or refunded.
func ConservationParams() *marketplace.Params {
	pol := rewards.DefaultPolicy()
	pol.EpochBlocks = 20
	return &marketplace.Params{
		Seed: 5,
		Groups: []marketplace.Group{
			{Name: "a100", GPU: "a100", Count: 6, Role: marketplace.Provider, Stake: 100 * tok},
			{Name: "t4", GPU: "t4", Count: 6, Role: marketplace.Provider, Stake: 100 * tok},
			{Name: "cpu", GPU: "cpu", Count: 4, Role: marketplace.Provider, Stake: 100 * tok},
			{Name: "validators", GPU: "l40s", Count: 3, Role: marketplace.Validator, Stake: 1000 * tok},
			{Name: "rich", GPU: "cpu", Count: 2, Role: marketplace.Requester, Balance: 1_000_000 * tok},
			{Name: "poor", GPU: "cpu", Count: 1, Role: marketplace.Requester, Balance: 30 * tok},
		},
		Arrivals: market.Arrivals{Process: market.Poisson, Rate: 1.5},
		Jobs: []market.JobType{
			{Name: "quick", Kind: market.Inference, Share: 0.5, FLOPs: dist.LogNormal{Mu: 29, Sigma: 1}, Units: 4, MemBytes: 4e9,
				Precision: gpu.FP16, Deadline: 8 * protocol.Second, Budget: 3 * tok},
			{Name: "render", Kind: market.Compute, Share: 0.5, FLOPs: dist.LogNormal{Mu: 32, Sigma: 0.5}, Units: 6, MemBytes: 12e9, Steps: 8,
				Precision: gpu.FP16, Deadline: 2 * protocol.Minute, Budget: 7*tok + 3},
		},
		CancelShare: 0.3,
		CancelAfter: 4 * protocol.Second,
		Scheduler:   market.FairShare,
		Verify:      market.Verification{Scheme: market.SpotCheck, SpotCheck: 0.2},
		Adversaries: []marketplace.Adversary{{Kind: marketplace.Lazy, Group: "a100", Count: 1}, {Kind: marketplace.FreeRider, Group: "t4", Count: 1}},
		Policy:      &pol,
		Churn:       &netspec.Churn{Session: dist.Exponential{M: 90}, Downtime: dist.Exponential{M: 20}, CrashShare: 0.5},
		ChurnShare:  0.5,
		Until:       5 * protocol.Minute,
		Drain:       2 * protocol.Minute,
	}
}

// MMcParams is an M/M/c queue run as a marketplace under continuous
// matching: c identical H100 providers taking one unit at a time (slots
// 1); one requester whose requests (units of a session, each its own
// size) arrive as a Poisson process at λ = ρ·c·μ for units/λ seconds;
// unit sizes exponential with a mean service time of 1/μ = 10 ms (no
// launch overhead in the duration model, so a service time is exactly
// its exponential draw, rounded up to a nanosecond); FIFO; no
// verification; no latency or bandwidth limit anywhere. Blocks settle
// the sessions' escrow, the results and payouts every 2 s without
// holding up matching.
func MMcParams(c int, rho float64, units int, seed uint64) *marketplace.Params {
	const meanService = 0.01 // s
	const session = 20_000   // units per session
	h100, _ := gpu.Lookup("h100")
	model := gpu.Model{ComputeEfficiency: 0.5, MemoryEfficiency: 0.8}
	rate := h100.PeakTFLOPS(gpu.FP16) * 1e12 * model.ComputeEfficiency // FLOP/s
	lambda := rho * float64(c) / meanService
	return &marketplace.Params{
		Seed:   seed,
		Matrix: netspec.Matrix{Regions: []string{"here"}, RTT: [][]protocol.Duration{{0}}},
		Model:  model,
		Groups: []marketplace.Group{
			{Name: "providers", GPU: "h100", Count: c, Role: marketplace.Provider, Slots: 1},
			{Name: "requester", GPU: "cpu", Count: 1, Role: marketplace.Requester, Balance: 1 << 60},
		},
		Arrivals: market.Arrivals{Process: market.Poisson, Rate: lambda},
		Jobs: []market.JobType{{Name: "mmc", Kind: market.Inference, Share: 1, FLOPs: dist.Exponential{M: meanService * rate},
			Units: session, Stream: true, MemBytes: 1e9, Steps: 1, Precision: gpu.FP16, Budget: session * 1000}},
		Scheduler: market.FIFO,
		Matching:  market.Continuous,
		Until:     protocol.Duration(float64(units) / lambda * float64(protocol.Second)),
		Drain:     20 * protocol.Second,
		StepNs:    int64(10 * protocol.Minute),
	}
}

// ErlangC is the mean wait in queue of an M/M/c queue with arrival rate
// lambda and service rate mu per server: C(c, a)/(cμ − λ), a = λ/μ.
func ErlangC(c int, lambda, mu float64) float64 {
	a := lambda / mu
	term, sum := 1.0, 0.0 // aᵏ/k!
	for k := range c {
		sum += term
		term *= a / float64(k+1)
	}
	last := term * float64(c) / (float64(c) - a)
	return last / (sum + last) / (float64(c)*mu - lambda)
}
