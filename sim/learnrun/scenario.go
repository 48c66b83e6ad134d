package learnrun

import (
	"fmt"
	"slices"

	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios"
)

// FromScenario turns a checked scenario with a protocol.learning section
// into run parameters for repetition rep. Learners are the nodes with the
// provider or data_owner role; their GPU classes are the providers' draw
// (each learner draws one of them uniformly from its placement stream).
func FromScenario(sc *scenarios.Scenario, rep int) (*Params, error) {
	l := sc.Protocol.Learning
	if l == nil {
		return nil, fmt.Errorf("%w: the scenario has no protocol.learning section", ErrParams)
	}
	p := DefaultParams()
	p.Seed = sc.Run.Seed
	if rep > 0 {
		p.Seed = protocol.DeriveSeed(sc.Run.Seed, "repetition", uint64(rep))
	}
	p.Model, p.Rounds, p.Epochs, p.BatchSize, p.LearningRate = l.Model, l.Rounds, l.LocalEpochs, l.BatchSize, l.LearningRate
	p.PerRound, p.Rule, p.Tolerate = l.PerRound, l.Aggregation, float64(l.Tolerate)
	p.Partition = datasets.Scheme{Kind: l.Partition, Alpha: l.Alpha}
	p.Validators, p.ValidationRows, p.Filter = l.Validators, l.ValidationRows, l.Filter
	p.Baseline, p.Clean = l.Baseline, l.Clean
	p.Aggregators = l.Aggregators
	if l.Budget > 0 {
		p.Budget, p.Pot = uint64(l.Budget), 0 // the pot is budget / rounds
	}
	p.NormBound, p.MarginalScores = l.NormBound, l.MarginalScores
	if d := l.DP; d != nil {
		p.DP = &DP{Clip: d.Clip, Sigma: d.NoiseMultiplier, Delta: d.Delta}
	}
	if s := l.SecureAggregation; s != nil {
		p.Secure = &Secure{Threshold: float64(s.Threshold), Dropout: float64(s.Dropout), FracBits: s.FracBits,
			StepTimeout: s.StepTimeout.D()}
		if s.ClearRule != "none" {
			p.Secure.ClearRule = s.ClearRule
		}
	}
	if sg := l.Surrogate; sg != nil {
		p.Surrogate = &Surrogate{FitProviders: sg.FitProviders, FitRounds: sg.FitRounds, Rows: sg.Rows}
	}
	p.Matrix = sc.Matrix()
	p.Catalog = sc.GPUCatalog()
	p.Providers = 0
	p.GPUs = nil
	for _, g := range sc.Population.Groups {
		if slices.Contains(g.Roles, "provider") || slices.Contains(g.Roles, "data_owner") {
			p.Providers += g.Count
			if !slices.Contains(p.GPUs, g.GPU) {
				p.GPUs = append(p.GPUs, g.GPU)
			}
		}
	}
	if p.Providers == 0 {
		return nil, fmt.Errorf("%w: protocol.learning needs population nodes with the provider or data_owner role", ErrParams)
	}
	if l.Economy != nil {
		if err := economyFromScenario(sc, &p); err != nil {
			return nil, err
		}
	}
	for i, a := range sc.Adversaries {
		kind := AttackKind(a.Kind)
		if a.Kind == "colluding_validators" {
			p.Attack.ColludingValidators = max(a.Count, int(float64(a.Share)*float64(p.Validators)+0.5))
			continue
		}
		if a.Kind == "lying_aggregator" {
			p.Attack.LyingAggregators = max(a.Count, int(float64(a.Share)*float64(p.Aggregators)+0.5))
			continue
		}
		if !slices.Contains(AttackKinds, kind) {
			return nil, fmt.Errorf("%w: adversaries[%d]: %s is not a learning attack (label_flip, sign_flip, scaling, little_is_enough, free_rider, sybil, colluding_validators, lying_aggregator)", ErrParams, i, a.Kind)
		}
		if p.Attack.Kind != None {
			return nil, fmt.Errorf("%w: adversaries[%d]: one learning attack per run (plus colluding_validators and lying_aggregator)", ErrParams, i)
		}
		p.Attack.Kind, p.Attack.Share, p.Attack.Count = kind, float64(a.Share), a.Count
		p.Attack.Scale, p.Attack.Stale = a.Scale, a.Stale
		if kind == Sybil && a.Count == 0 && a.Share == 0 {
			p.Attack.Count = a.Identities
		}
	}
	return &p, p.Validate()
}
