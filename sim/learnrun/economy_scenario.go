package learnrun

import (
	"fmt"
	"math"
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/datavalue"
	"github.com/dais-sim/dais/protocol/economy"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/yuma"
	"github.com/dais-sim/dais/scenarios"
)

// economyFromScenario reads protocol.learning.economy into p: the
// learners are then the provider-role groups' nodes only (data owners
// register data instead of training), the automated validators the
// validator-role groups' nodes not listed as humans, with their groups'
// stake, and a colluding_validators adversary that names a group makes
// its first count (or share) of that group's validators the cabal.
func economyFromScenario(sc *scenarios.Scenario, p *Params) error {
	e := sc.Protocol.Learning.Economy
	const base = "protocol.learning.economy"
	sp := &EconomySpec{
		PerRound: uint64(e.PerRound),
		Dedup:    datavalue.DedupParams{Hashes: e.Dedup.Hashes, Bands: e.Dedup.Bands, Levels: 16, Threshold: float64(e.Dedup.Threshold), Seed: protocol.DeriveSeed(p.Seed, "dedup", 0)},
		Value: Valuation{Seed: e.Valuation.Seed, Trainer: e.Valuation.Trainer, L2: e.Valuation.L2, Epochs: e.Valuation.Epochs, BatchSize: e.Valuation.BatchSize,
			LearningRate: e.Valuation.LearningRate, Permutations: e.Valuation.Permutations,
			Tolerance: float64(e.Valuation.Tolerance), Exact: e.Valuation.Exact, Truth: e.Valuation.Truth},
		Bounty:      e.Bounty,
		Yuma:        yuma.Params{Kappa: float64(e.Yuma.Kappa), BondPenalty: float64(e.Yuma.BondPenalty), BondAlpha: float64(e.Yuma.BondAlpha)},
		Rule:        economy.Rule(e.Rule),
		HumanWeight: float64(e.HumanWeight),
		Gate:        float64(e.Gate),
		Price:       uint64(e.Price),
		Requests:    e.Requests.PerSecond(),
		HumanSample: e.HumanSample,
	}
	if e.Access == "paid" {
		sp.Access = chain.AccessPaid
	}
	bps := func(s scenarios.Share) rewards.Bps {
		return rewards.Bps(math.Round(float64(s) * float64(rewards.BpsOne)))
	}
	sp.Shares[rewards.ClassCompute] = bps(e.Pools.Compute)
	sp.Shares[rewards.ClassData] = bps(e.Pools.Data)
	sp.Shares[rewards.ClassValidators] = bps(e.Pools.Validation)
	sp.Shares[rewards.ClassTreasury] = rewards.BpsOne - sp.Shares[rewards.ClassCompute] - sp.Shares[rewards.ClassData] - sp.Shares[rewards.ClassValidators]

	human := map[string]scenarios.HumanGroup{}
	for _, h := range e.Humans {
		human[h.Group] = h
	}
	cabalGroup, cabalSize := "", 0
	for _, a := range sc.Adversaries {
		if a.Kind == "colluding_validators" && a.Group != "" {
			cabalGroup = a.Group
			for _, g := range sc.Population.Groups {
				if g.Name == a.Group {
					cabalSize = min(g.Count, max(a.Count, int(math.Round(float64(a.Share)*float64(g.Count)))))
				}
			}
		}
	}
	p.Providers, p.GPUs = 0, nil
	var validatorGroups []string
	for _, g := range sc.Population.Groups {
		if slices.Contains(g.Roles, "provider") {
			p.Providers += g.Count
			if !slices.Contains(p.GPUs, g.GPU) {
				p.GPUs = append(p.GPUs, g.GPU)
			}
		}
		if !slices.Contains(g.Roles, "validator") {
			continue
		}
		validatorGroups = append(validatorGroups, g.Name)
		if h, ok := human[g.Name]; ok {
			for range g.Count {
				sp.Humans = append(sp.Humans, HumanSpec{Group: g.Name, Stake: uint64(g.Stake), Human: economy.Human{
					Accuracy: float64(h.Accuracy), Fatigue: float64(h.Fatigue), Latency: h.Latency.D(), Window: h.Window.D(),
					Cost: uint64(h.Cost)}})
			}
			continue
		}
		for k := range g.Count {
			if g.Name == cabalGroup && k < cabalSize {
				sp.Colluders = append(sp.Colluders, len(sp.Stakes))
			}
			sp.Stakes = append(sp.Stakes, uint64(g.Stake))
		}
	}
	if cabalGroup != "" && sp.Colluders == nil {
		i := slices.IndexFunc(sc.Adversaries, func(a scenarios.Adversary) bool { return a.Group == cabalGroup })
		path := fmt.Sprintf("adversaries[%d].group", i)
		return fmt.Errorf("%w: %s: %s: %q holds no automated validators; the cabal is one of %v not listed in %s.humans",
			ErrParams, sc.At(path), path, cabalGroup, validatorGroups, base)
	}
	p.Validators = len(sp.Stakes)
	if p.Providers == 0 {
		return fmt.Errorf("%w: %s: the economy needs learners: population nodes with the provider role", ErrParams, sc.At(base))
	}

	first := map[string]int{} // a data group's first provider
	size := map[string]int{}
	for _, g := range sc.Population.Groups {
		size[g.Name] = g.Count
	}
	for _, ds := range e.Data {
		first[ds.Group] = len(sp.Data)
		for range size[ds.Group] {
			sp.Data = append(sp.Data, DataSpec{Group: ds.Group, Rows: ds.Rows, Classes: ds.Classes, LabelNoise: float64(ds.LabelNoise),
				Duplicate: float64(ds.Duplicates), CopyOf: -1, Jitter: float64(ds.Jitter), Colluding: ds.Colluding})
		}
	}
	for _, ds := range e.Data {
		if ds.CopyOf == "" {
			continue
		}
		for k := range size[ds.Group] {
			if n := size[ds.CopyOf]; n > 0 {
				sp.Data[first[ds.Group]+k].CopyOf = first[ds.CopyOf] + k%n
			}
		}
	}
	p.Economy = sp
	return nil
}
