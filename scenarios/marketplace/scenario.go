package marketplace

import (
	"fmt"
	"math"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// FromScenario turns a checked scenario with a workload into run
// parameters for repetition rep (0-based; later repetitions use seeds
// derived from the scenario's). A group's nodes take the first of its roles
// the market knows (requester, validator, provider; data_owner counts as
// provider). Requesters post until run.duration; the run then drains.
func FromScenario(sc *scenarios.Scenario, rep int) (*Params, error) {
	w := sc.Workload
	if w == nil {
		return nil, fmt.Errorf("%w: the scenario has no workload", ErrParams)
	}
	seed := sc.Run.Seed
	if rep > 0 {
		seed = protocol.DeriveSeed(sc.Run.Seed, "repetition", uint64(rep))
	}
	p := &Params{
		Seed: seed, Matrix: sc.Matrix(), Loss: float64(sc.Network.Loss),
		Until: sc.Run.Duration.D(), Drain: w.Drain.D(), StepNs: int64(sc.Outputs.Step.D()),
		BlockInterval: sc.Protocol.Market.BlockInterval.D(),
		CommitDelay:   sc.Protocol.Market.CommitDelay.D(),
		NoCommitDelay: sc.Protocol.Market.CommitDelay == 0,
		CommitteeLink: sc.Protocol.Market.Bandwidth,
		DefaultPrice:  sc.Economics.DefaultUSDPerKWh,
		TokenUSD:      sc.Economics.TokenUSD,
	}
	p.Catalog = sc.GPUCatalog()
	if e := w.Encryption; e != nil {
		p.Encryption = &Encryption{InputBytes: int64(e.Input), OutputBytes: int64(e.Output)}
	}
	// Each node's own link: its group's class, or one drawn by share.
	for _, c := range sc.Network.Bandwidth {
		p.Links = append(p.Links, LinkClass{Name: c.Name, Share: float64(c.Share),
			Link: netspec.Link{UpBps: c.Up.BitsPerSecond(), DownBps: c.Down.BitsPerSecond()}})
	}
	if j := sc.Network.Jitter; j != nil {
		p.Jitter = j.Dist()
	}
	for _, g := range sc.Population.Groups {
		role, ok := marketRole(g.Roles)
		if !ok {
			return nil, fmt.Errorf("%w: group %s has no market role (provider, validator, requester)", ErrParams, g.Name)
		}
		p.Groups = append(p.Groups, Group{Name: g.Name, GPU: g.GPU, Count: g.Count, Regions: g.Regions,
			Role: role, Stake: uint64(g.Stake), Balance: uint64(g.Balance), Slots: g.Slots, Bandwidth: g.Bandwidth})
	}
	var err error
	if p.Arrivals.Process, err = market.ParseProcess(w.Arrivals.Process); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrParams, err)
	}
	p.Arrivals.Rate = w.Arrivals.Rate.PerSecond()
	p.Arrivals.BurstSize, p.Arrivals.BurstEvery = w.Arrivals.BurstSize, w.Arrivals.BurstEvery.D()
	for _, j := range w.Jobs {
		jt := market.JobType{Name: j.Name, Share: float64(j.Share), Units: uint32(j.Units), Intensity: j.Intensity,
			MemBytes: uint64(j.Memory), Steps: uint32(j.Steps), Precision: gpu.FP16, Deadline: j.Deadline.D(),
			Budget: uint64(j.Budget), PricePerPFLOP: uint64(j.PricePerPFLOP), Stream: j.Stream}
		if jt.Kind, err = market.ParseKind(j.Kind); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrParams, err)
		}
		if j.FLOPs == nil {
			return nil, fmt.Errorf("%w: job type %s needs flops (per unit), e.g. {dist: lognormal, median: 1e13, sigma: 1}", ErrParams, j.Name)
		}
		jt.FLOPs = j.FLOPs.Dist()
		if j.InputBytes != nil {
			jt.InputBytes = j.InputBytes.Dist()
		}
		if j.OutputBytes != nil {
			jt.OutputBytes = j.OutputBytes.Dist()
		}
		p.Jobs = append(p.Jobs, jt)
	}
	m := sc.Protocol.Market
	if p.Matching, err = market.ParseMatching(m.Matching); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrParams, err)
	}
	p.Settlement, p.ChainValidators, p.DisputeBlocks = m.Settlement, m.ChainValidators, m.DisputeBlocks
	if p.Scheduler, err = market.ParsePolicy(m.Scheduler); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrParams, err)
	}
	p.LotteryByCapacity = m.LotteryBy == "capacity"
	v := sc.Protocol.Verification
	if p.Verify.Scheme, err = market.ParseScheme(v.Scheme); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrParams, err)
	}
	p.Verify.Replicas, p.Verify.Quorum, p.Verify.TrustAfter = v.Replicas, v.Quorum, v.TrustAfter
	p.Verify.TrustSample, p.Verify.SpotCheck, p.Verify.Panel = float64(v.TrustSample), float64(v.SpotCheck), v.Panel
	policy := rewards.DefaultPolicy()
	r := sc.Protocol.Rewards
	policy.Emission = rewards.EmissionSpec{Kind: r.Emission, Initial: rewards.Tokens(r.EmissionPerBlock),
		HalvingBlocks: r.HalvingBlocks, Cap: rewards.Tokens(r.Cap)}
	if r.Emission == rewards.KindExponential {
		// A half-life of halving_blocks, so the two read alike.
		num, den, err := rewards.HalfLifeRate(r.HalvingBlocks)
		if err != nil {
			return nil, fmt.Errorf("%w: protocol.rewards: %v", ErrParams, err)
		}
		policy.Emission.DecayNum, policy.Emission.DecayDen = num, den
	}
	policy.Fees.BurnBps = shareBps(r.FeeBurn)
	policy.Slash[rewards.LazyWork] = shareBps(r.SlashLazyWork)
	if r.Payout == "per_identity" {
		policy.Payout, policy.ParticipationReward = rewards.PerIdentity, rewards.Tokens(r.ParticipationReward)
	}
	if err := policy.Validate(); err != nil {
		return nil, fmt.Errorf("%w: protocol.rewards: %v", ErrParams, err)
	}
	p.Policy = &policy
	// Proposals come from the first validator (nodes are numbered group by
	// group), whose stake backs the deposit.
	var proposer protocol.NodeID
	first := 0
	for _, g := range p.Groups {
		if g.Role == Validator {
			proposer = protocol.NodeID(first)
			break
		}
		first += g.Count
	}
	for i, pp := range sc.Protocol.Governance.Proposals {
		plan := market.ProposalPlan{Height: pp.Height, Activation: pp.Activation, Proposer: proposer,
			Yes: float64(pp.Yes), No: float64(pp.No), Veto: float64(pp.Veto), Abstain: float64(pp.Abstain)}
		for _, c := range pp.Changes {
			ch, err := Change(c.Key, c.Value)
			if err != nil {
				return nil, fmt.Errorf("%w: protocol.governance.proposals[%d]: %v", ErrParams, i, err)
			}
			plan.Changes = append(plan.Changes, ch)
		}
		p.Proposals = append(p.Proposals, plan)
	}
	for i, a := range sc.Adversaries {
		switch a.Kind {
		case Lazy, FreeRider, Sybil, Colluding:
		default:
			return nil, fmt.Errorf("%w: adversaries[%d]: %s is not a marketplace attack (lazy, free_rider, sybil, colluding_validators)", ErrParams, i, a.Kind)
		}
		p.Adversaries = append(p.Adversaries, Adversary{Kind: a.Kind, Group: a.Group, Count: a.Count, Share: float64(a.Share),
			Fraction: float64(a.Fraction), Stale: a.Stale, Identities: a.Identities, Start: a.Start.D()})
	}
	if len(sc.Economics.Electricity) > 0 {
		p.Electricity = map[string]float64{}
		for _, e := range sc.Economics.Electricity {
			p.Electricity[e.Region] = e.USDPerKWh
		}
	}
	if ch := sc.NetChurn(); ch != nil {
		p.Churn, p.ChurnShare = ch, float64(sc.Network.Churn.Share)
	}
	return p, nil
}

// shareBps is a share in basis points, rounded to the nearest.
func shareBps(s scenarios.Share) rewards.Bps {
	return rewards.Bps(math.Round(float64(s) * float64(rewards.BpsOne)))
}

// marketRole is the first of a group's roles the market runs.
func marketRole(roles []string) (Role, bool) {
	for _, r := range roles {
		switch {
		case r == "requester":
			return Requester, true
		case r == "validator":
			return Validator, true
		case r == "provider", r == "data_owner":
			return Provider, true
		}
	}
	return "", false
}
