package learning

import (
	"fmt"
	"math"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/learn"
)

// Federation is one federated job's data and math, built from Params: the
// split, the initial model, the training and scoring jobs and the test
// measurement. The simulator (sim/learnrun) builds one per run and adds
// the attacks and the world; live mode holds one per process and plays
// the roles of its own node. Provider i (0 ≤ i < Params.Providers) trains
// on shard i and validator j scores on validation shard j in both, so a
// live job and a simulated one with the same seed train on the same rows.
//
// A Federation is not safe for concurrent use, except that the jobs its
// TrainFunc and ScoreFunc build may run on one other goroutine (a
// runtime's job worker) while the owner calls Accuracy.
type Federation struct {
	p        *Params
	spec     models.Spec
	split    *Split
	test     datasets.Dataset
	eval     *models.Model
	src, dst int
	initial  []float64
	rule     learn.RuleFunc
	clock    Clock
	memo     memo
}

// NewFederation checks p and builds the job: it loads optdigits, holds out
// the validation rows, partitions the rest (or what register puts in its
// place; nil keeps it) over the providers and builds the initial model.
// Attacks in p are not applied: they are the simulator's.
func NewFederation(p *Params, register Register) (*Federation, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	rule, err := p.AggregationRule()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParams, err)
	}
	_, test, err := Optdigits()
	if err != nil {
		return nil, err
	}
	s, err := NewSplit(p, register)
	if err != nil {
		return nil, err
	}
	f := &Federation{p: p, spec: p.Spec(), split: s, test: test, rule: rule}
	f.src, f.dst = p.Attack.Classes()
	init := f.spec
	init.Seed = protocol.DeriveSeed(p.Seed, "init", 0)
	if f.eval, err = models.New(init); err != nil {
		return nil, err
	}
	f.initial = f.eval.Params()
	return f, nil
}

// Initial is the genesis model; the caller must not modify it.
func (f *Federation) Initial() []float64 { return f.initial }

// Rule is the aggregation rule Params.Rule names (DP-FedAvg with
// Params.DP).
func (f *Federation) Rule() learn.RuleFunc { return f.rule }

// Split is the job's rows; the caller must not modify them.
func (f *Federation) Split() *Split { return f.split }

// Clock is the host time the job's training and scoring took so far; a
// driver that times aggregation adds it here.
func (f *Federation) Clock() *Clock { return &f.clock }

// Train is provider i's TrainFunc and the number of rows it holds.
func (f *Federation) Train(i int) (learn.TrainFunc, uint64) {
	data := f.split.Shards[i]
	return f.TrainOn(data, false), uint64(data.Len())
}

// Score is validator j's ScoreFunc.
func (f *Federation) Score(j int) learn.ScoreFunc { return f.ScoreOn(f.split.Validation[j]) }

// Spec is the model every round trains: the shape of a version's
// parameters (models.New(Spec()) and SetParams rebuild a version).
func (f *Federation) Spec() models.Spec { return f.eval.Spec() }

// Accuracy is the share of the 1,797 optdigits test rows params classify
// correctly (NaN if params do not fit the model).
func (f *Federation) Accuracy(params []float64) float64 {
	acc, _ := f.Measure(params)
	return acc
}

// TrainOn is the learn.TrainFunc of a learner holding data (a shard, or
// an attacker's poisoned rows): a models.TrainJob from the round's model,
// seeded per learner and round. With memoize, the delta is kept for the
// round (the little-is-enough oracle computes honest deltas early), so
// that it is computed once.
func (f *Federation) TrainOn(data datasets.Dataset, memoize bool) learn.TrainFunc {
	return func(id protocol.NodeID, round uint64, global []float64) gpu.Job {
		spec := f.spec
		spec.Seed = protocol.DeriveSeed(f.p.Seed, "train", round<<32|uint64(id))
		tj := models.TrainJob{Spec: spec, Global: global, Data: data, Epochs: f.p.Epochs}
		job, err := tj.Job()
		if err != nil {
			return gpu.Job{Kind: "train", Work: FailedWork{err}}
		}
		tw := trainWork{job: tj, key: memoKey{id, round}, clock: &f.clock}
		if memoize {
			tw.memo = &f.memo
		}
		job.Work = tw
		return job
	}
}

// ScoreOn is the learn.ScoreFunc of a validator holding data.
func (f *Federation) ScoreOn(data datasets.Dataset) learn.ScoreFunc {
	return func(_ protocol.NodeID, _ uint64, global []float64, deltas [][]float64) gpu.Job {
		return scoreJob(scoreWork{marginal: f.p.MarginalScores, spec: f.spec, global: global, deltas: deltas, data: data, clock: &f.clock})
	}
}

// Measure returns the test accuracy of params and the share of the attack
// source class's test rows it classifies as the target class (NaN, NaN
// if params do not fit the model).
func (f *Federation) Measure(params []float64) (acc, asr float64) {
	if err := f.eval.SetParams(params); err != nil {
		return math.NaN(), math.NaN()
	}
	var src, hit int
	for i, y := range f.test.Y {
		if y == f.src {
			src++
			if f.eval.Predict(f.test.X[i]) == f.dst {
				hit++
			}
		}
	}
	return f.eval.Accuracy(f.test), float64(hit) / float64(max(src, 1))
}
