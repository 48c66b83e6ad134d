package learnrun

import (
	"fmt"

	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/protocol/learn"
)

// Federation is one federated job's data and math, built from Params as
// Run builds them (the same split, initial model, training and scoring
// jobs), for a driver that runs the protocol roles itself: live mode,
// where each process holds one Federation and plays the roles of its own
// node. Provider i (0 ≤ i < Params.Providers) trains on shard i and
// validator j scores on validation shard j, as in a simulated run.
//
// A Federation is not safe for concurrent use, except that the jobs its
// TrainFunc and ScoreFunc build may run on one other goroutine (a
// runtime's job worker) while the owner calls Accuracy.
type Federation struct {
	st      *state
	initial []float64
	rule    learn.RuleFunc
}

// NewFederation checks p and builds the job: it loads optdigits, holds out
// the validation rows, partitions the rest over the providers and builds
// the initial model. Attacks in p are not applied.
func NewFederation(p *Params) (*Federation, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	st, initial, err := newState(p)
	if err != nil {
		return nil, err
	}
	rule, err := p.rule()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParams, err)
	}
	return &Federation{st: st, initial: initial, rule: rule}, nil
}

// Initial is the genesis model; the caller must not modify it.
func (f *Federation) Initial() []float64 { return f.initial }

// Rule is the aggregation rule Params.Rule names.
func (f *Federation) Rule() learn.RuleFunc { return f.rule }

// Train is provider i's TrainFunc and the number of rows it holds.
func (f *Federation) Train(i int) (learn.TrainFunc, uint64) {
	data := f.st.split.shards[i]
	return f.st.trainFunc(data, false), uint64(data.Len())
}

// Score is validator j's ScoreFunc.
func (f *Federation) Score(j int) learn.ScoreFunc { return f.st.scoreFunc(f.st.split.validation[j]) }

// Spec is the model every round trains: the shape of a version's
// parameters (models.New(Spec()) and SetParams rebuild a version).
func (f *Federation) Spec() models.Spec { return f.st.eval.Spec() }

// Accuracy is the share of the 1,797 optdigits test rows params classify
// correctly (NaN if params do not fit the model).
func (f *Federation) Accuracy(params []float64) float64 {
	acc, _ := f.st.measure(params)
	return acc
}
