package learning

import (
	"fmt"
	"math"

	"github.com/dais-sim/dais/gpu/datasets/optdigits"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/datavalue"
	"github.com/dais-sim/dais/protocol/economy"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/yuma"
)

// The data economy's parameters (Params.Economy); the economy itself
// (registry, valuation, the accountant's rounds) is the simulator's
// (sim/learnrun).

// EconomySpec configures a data economy.
type EconomySpec struct {
	// Data are the data providers' data sets, one per provider, in order.
	Data []DataSpec
	// Stakes are the automated validators' stakes (base units), one per
	// validator (Params.Validators of them); Colluders the indexes of
	// those in the cabal, which report the cabal's data sets
	// (DataSpec.Colluding) at the maximum value and inflate the
	// attackers' updates (attack.InflateScores). Nil Colluders draws
	// Attack.ColludingValidators of them as any run does.
	Stakes    []uint64
	Colluders []int
	// Humans are the human validators; each round they label the same
	// HumanSample rows of every data set (drawn afresh each round).
	Humans      []HumanSpec
	HumanSample int
	// Shares split each round's pot; PerRound is its emission.
	Shares   rewards.Shares
	PerRound uint64
	Dedup    datavalue.DedupParams
	Value    Valuation
	// Bounty is β of datavalue.Bounty.
	Bounty      float64
	Yuma        yuma.Params
	Rule        economy.Rule
	HumanWeight float64
	Gate        float64
	// Access, Price and Requests: who may use the versions, at what price
	// per request, and how many requests a second users make.
	Access   chain.Access
	Price    uint64
	Requests float64
}

// DataSpec is one provider's data set.
type DataSpec struct {
	// Group names it in reports.
	Group string
	// Rows registered, from Classes only (nil: all), a share LabelNoise
	// of them mislabelled and a share Duplicates of them copies of its
	// own other rows.
	Rows                  int
	Classes               []int
	LabelNoise, Duplicate float64
	// CopyOf, if ≥ 0, is the provider whose data set this one copies
	// (Rows and the rest ignored), each pixel moved by one level with
	// probability Jitter.
	CopyOf int
	Jitter float64
	// Colluding marks the cabal's data sets.
	Colluding bool
}

// HumanSpec is one human validator.
type HumanSpec struct {
	Group string
	economy.Human
	Stake uint64
}

// Valuation configures data valuation: softmax regression on a
// coalition's rows, fit to its optimum with L2 penalty L2 (TrainerLBFGS),
// or trained by SGD for Epochs epochs in batches of BatchSize at
// LearningRate, momentum 0.9 (TrainerSGD); Monte Carlo Shapley with
// Permutations orders and truncation Tolerance; exact Shapley too when
// there are at most Exact providers.
type Valuation struct {
	// Seed is how many rows no provider holds every coalition's model
	// also trains on: the model the market starts from, so that a small
	// coalition of skewed data is not judged as the whole world.
	Seed              int
	Trainer           string
	L2                float64
	Epochs, BatchSize int
	LearningRate      float64
	Permutations      int
	Tolerance         float64
	Exact             int
	// Truth also values the data on the test rows (EconomyResult's
	// Truth): free with exact Shapley, about as many models again without.
	Truth bool
}

// Valuation trainers.
const (
	TrainerLBFGS = "lbfgs"
	TrainerSGD   = "sgd"
)

// DefaultValuation is the scenario defaults.
func DefaultValuation() Valuation {
	return Valuation{Seed: 100, Trainer: TrainerLBFGS, L2: 1e-3, Epochs: 3, BatchSize: 32, LearningRate: 0.1, Permutations: 20, Tolerance: 0.01, Exact: 10, Truth: true}
}

func (e *EconomySpec) validate(p *Params) error {
	var sum uint64
	for _, s := range e.Shares {
		sum += uint64(s)
	}
	switch {
	case len(e.Data) == 0 || len(e.Data) > 64:
		return fmt.Errorf("%d data providers, want 1…64 (coalitions are 64-bit masks)", len(e.Data))
	case len(e.Stakes) != p.Validators || p.Validators == 0:
		return fmt.Errorf("%d validator stakes for %d validators (want at least one)", len(e.Stakes), p.Validators)
	case sum != uint64(rewards.BpsOne):
		return fmt.Errorf("pool shares sum to %d bps", sum)
	case e.PerRound == 0:
		return fmt.Errorf("no emission per round")
	case p.Clean || p.DP != nil || p.Surrogate != nil:
		return fmt.Errorf("the economy runs alone: no clean run, differential privacy or surrogate mode")
	case p.Secure != nil:
		return fmt.Errorf("the economy pays learners by the validators' scores of each update, which secure aggregation hides")
	case !(e.Requests >= 0) || math.IsInf(e.Requests, 1) || !(e.Bounty >= 0):
		return fmt.Errorf("requests %v/s, bounty %v", e.Requests, e.Bounty)
	}
	if err := e.Dedup.Validate(); err != nil {
		return err
	}
	v := e.Value
	if v.Trainer != TrainerLBFGS && v.Trainer != TrainerSGD || !(v.L2 > 0) || v.Epochs < 1 || v.BatchSize < 1 || !(v.LearningRate > 0) ||
		v.Permutations < 1 || !(v.Tolerance >= 0) || v.Exact > datavalue.MaxExact {
		return fmt.Errorf("valuation %+v", v)
	}
	for _, c := range e.Colluders {
		if c < 0 || c >= p.Validators {
			return fmt.Errorf("colluder %d of %d validators", c, p.Validators)
		}
	}
	for i, d := range e.Data {
		if d.CopyOf >= len(e.Data) || d.CopyOf == i || d.CopyOf >= 0 && e.Data[d.CopyOf].CopyOf >= 0 {
			return fmt.Errorf("data set %d copies %d: want another data set that is not a copy", i, d.CopyOf)
		}
		if d.CopyOf < 0 && (d.Rows < 1 || !(d.LabelNoise >= 0 && d.LabelNoise <= 1) || !(d.Duplicate >= 0 && d.Duplicate < 1)) {
			return fmt.Errorf("data set %d: %d rows, label noise %v, duplicates %v", i, d.Rows, d.LabelNoise, d.Duplicate)
		}
		for _, c := range d.Classes {
			if c < 0 || c >= optdigits.Classes {
				return fmt.Errorf("data set %d: class %d", i, c)
			}
		}
	}
	for _, h := range e.Humans {
		if err := h.Validate(); err != nil {
			return err
		}
	}
	if len(e.Humans) > 0 && e.HumanSample < 1 {
		return fmt.Errorf("human validators check %d rows per data set", e.HumanSample)
	}
	return nil
}
