package learning

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/gonum/floats"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/learn"
)

// The data set is parsed once per process; its slices are shared by every
// run and never written.
var (
	loadOnce          sync.Once
	trainSet, testSet datasets.Dataset
	loadErr           error
)

// Optdigits is the optdigits training and test sets, parsed once per
// process; the caller must not modify them.
func Optdigits() (train, test datasets.Dataset, err error) {
	loadOnce.Do(func() { trainSet, testSet, loadErr = optdigits.Load() })
	return trainSet, testSet, loadErr
}

// Split is how one job's training rows are spread: validation shards held
// out first, the rest (Pool) partitioned over the providers.
type Split struct {
	Pool       datasets.Dataset   // training rows minus validation
	Validation []datasets.Dataset // one shard per validator
	Shards     []datasets.Dataset // one per provider
}

// Register replaces the pool the providers' shards are cut from, given
// the validation shards held out before: the simulator's data economy
// registers its data sets there. Nil keeps the pool.
type Register func(pool datasets.Dataset, validation []datasets.Dataset) (datasets.Dataset, error)

// NewSplit splits optdigits' training rows for p: ValidationRows drawn
// from the seed's "validation" stream and dealt among the validators,
// the rest (or what register puts in their place) partitioned over the
// providers by p.Partition.
func NewSplit(p *Params, register Register) (*Split, error) {
	train, _, err := Optdigits()
	if err != nil {
		return nil, err
	}
	perm := protocol.Stream(p.Seed, "validation", 0).Perm(train.Len())
	held := slices.Clone(perm[:p.ValidationRows])
	rest := slices.Clone(perm[p.ValidationRows:])
	slices.Sort(held)
	slices.Sort(rest)
	s := &Split{Pool: train.Subset(rest)}
	for v := 0; v < p.Validators; v++ {
		var rows []int
		for i := v; i < len(held); i += p.Validators {
			rows = append(rows, held[i])
		}
		s.Validation = append(s.Validation, train.Subset(rows))
	}
	if register != nil {
		if s.Pool, err = register(s.Pool, s.Validation); err != nil {
			return nil, err
		}
	}
	parts, err := datasets.Partition(s.Pool, optdigits.Classes, p.Providers, p.Partition, protocol.DeriveSeed(p.Seed, "partition", 0))
	if err != nil {
		return nil, fmt.Errorf("learning: %w", err)
	}
	for _, rows := range parts {
		s.Shards = append(s.Shards, s.Pool.Subset(rows))
	}
	return s, nil
}

// Clock adds up the host time spent in a job's real work: training and
// scoring (the jobs a Federation builds), and aggregation (timed by the
// driver). The jobs run one at a time (a simulated run's World, a live
// runtime's job worker), so no lock is needed.
type Clock struct {
	Train, Score, Aggregate time.Duration
	TrainJobs, TrainSteps   int64
	ScoreJobs, Aggregations int64
}

// memo holds honest learners' deltas by (learner, round), so that the
// little-is-enough oracle and the learner's own job compute each delta
// once. A delta is a pure function of the learner, the round's model and
// the data, so computing it early changes nothing.
type memo struct {
	deltas map[memoKey][]float64
	round  uint64
}

type memoKey struct {
	learner protocol.NodeID
	round   uint64
}

// get returns the memoized delta or computes and keeps it. Only the
// newest round is kept.
func (m *memo) get(k memoKey, compute func() ([]float64, error)) ([]float64, error) {
	if d, ok := m.deltas[k]; ok {
		return d, nil
	}
	d, err := compute()
	if err != nil {
		return nil, err
	}
	if k.round > m.round {
		m.round = k.round
		clear(m.deltas)
	}
	if k.round == m.round {
		if m.deltas == nil {
			m.deltas = map[memoKey][]float64{}
		}
		m.deltas[k] = d
	}
	return d, nil
}

// trainWork is a learner's training as gpu.Work: the models.TrainJob,
// timed, and memoized for honest learners.
type trainWork struct {
	job   models.TrainJob
	key   memoKey
	memo  *memo // nil: not memoized
	clock *Clock
}

func (w trainWork) Run() (any, error) {
	compute := func() ([]float64, error) {
		start := time.Now()
		out, err := w.job.Run()
		w.clock.Train += time.Since(start)
		w.clock.TrainJobs++
		w.clock.TrainSteps += int64(w.job.Epochs) * int64((w.job.Data.Len()+w.job.Spec.BatchSize-1)/w.job.Spec.BatchSize)
		if err != nil {
			return nil, err
		}
		return out.([]float64), nil
	}
	if w.memo == nil {
		d, err := compute()
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	d, err := w.memo.get(w.key, compute)
	if err != nil {
		return nil, err
	}
	// The learner owns its output; the memo keeps its own copy.
	return slices.Clone(d), nil
}

// FailedWork is Work that reports an error building a job: a learner
// whose training job cannot be built (a provider with no rows) reports
// the error when the job runs, as learn.Trained.Err.
type FailedWork struct{ Err error }

// Run returns the error.
func (f FailedWork) Run() (any, error) { return nil, f.Err }

// scoreWork scores deltas on a validator's rows: the drop in mean
// cross-entropy from global to global + clip(delta)/n, for n deltas
// scored together, where clip scales a delta down to the median norm of
// the n. A positive score means the update's direction helps on data the
// learner never saw.
//
//   - The step is the update's share of a mean of n, not the whole
//     delta: a learner's local model, trained for several epochs on a few
//     hundred rows, overshoots, and global+delta scores worse than global
//     for nearly every honest learner after the first rounds, while a 1/n
//     step in its direction still helps.
//   - The clip keeps magnitude from buying reward: unclipped, an update
//     scaled ×10 moves the model ten times as far along an honest
//     direction and scores several times an honest update (the scaling
//     attackers took 85% of the reward with 45% of the identities).
//     Clipped, it scores as its honest direction does, so scalers earned
//     about their share of identities; the validators' norm bound
//     (Params.NormBound, learn.ValidatorConfig.NormBound) therefore
//     rejects, before this job, updates more than τ times the median
//     norm, and scores them −Inf.
//
// With marginal set (Params.MarginalScores) an update is scored by its
// marginal contribution instead: with A = global + Σⱼ clip(deltaⱼ)/n, the
// loss at A − clip(deltaᵢ)/n minus the loss at A, so that an update
// counts by what it adds to the others' rather than on its own. Under
// one-class-per-provider data an honest update on its own pushes every
// validation row towards its one class, and scored alone the Sybil
// label flippers of SybilTableOptions won most of the reward under
// FoolsGold, Krum and the median (BENCHMARKS.md); by marginal
// contribution they win less than their share but in one cell.
type scoreWork struct {
	marginal bool // score by marginal contribution (see above)
	spec     models.Spec
	global   []float64
	deltas   [][]float64
	data     datasets.Dataset
	clock    *Clock
}

func (w scoreWork) Run() (any, error) {
	start := time.Now()
	defer func() { w.clock.Score += time.Since(start); w.clock.ScoreJobs++ }()
	m, err := models.New(w.spec)
	if err != nil {
		return nil, err
	}
	if err := m.SetParams(w.global); err != nil {
		return nil, err
	}
	base, err := m.Loss(w.data)
	if err != nil {
		return nil, err
	}
	scores := make([]float64, len(w.deltas))
	p := make([]float64, len(w.global))
	norms := make([]float64, len(w.deltas))
	for i, d := range w.deltas {
		norms[i] = floats.Norm(d, 2)
	}
	bound := learn.MedianScore(norms) // the median, by the same rule
	steps := make([]float64, len(w.deltas))
	for i := range w.deltas {
		steps[i] = 1 / float64(len(w.deltas))
		if norms[i] > bound {
			steps[i] *= bound / norms[i]
		}
	}
	ref := w.global
	if w.marginal {
		ref = slices.Clone(w.global)
		for i, d := range w.deltas {
			floats.AddScaled(ref, steps[i], d)
		}
		if err := m.SetParams(ref); err != nil {
			return nil, err
		}
		if base, err = m.Loss(w.data); err != nil {
			return nil, err
		}
		for i := range steps {
			steps[i] = -steps[i]
		}
	}
	for i, d := range w.deltas {
		step := steps[i]
		for j := range p {
			p[j] = ref[j] + step*d[j]
		}
		if err := m.SetParams(p); err != nil {
			scores[i] = math.Inf(-1) // a delta that breaks the model
			continue
		}
		l, err := m.Loss(w.data)
		if err != nil {
			return nil, err
		}
		scores[i] = base - l
		if w.marginal {
			scores[i] = -scores[i]
		}
	}
	return scores, nil
}

// ScoreCost states the cost of scoring deltas updates to a model of
// params parameters (and spec's inputs) on rows validation rows: a
// forward pass (2 FLOPs per weight per row) of the rows per model, the
// base model included, reading the parameters once per model. Its Work
// is nil: the caller sets what computes the scores.
func ScoreCost(spec models.Spec, params, deltas, rows int) gpu.Job {
	n, r, w := float64(deltas+1), float64(rows), float64(params)
	const word = 4
	return gpu.Job{
		Kind:      "score",
		FLOPs:     2 * w * r * n,
		Bytes:     n*w*word + r*float64(spec.Inputs)*word,
		MemBytes:  int64((2*w + r*float64(spec.Inputs+1)) * word),
		Precision: gpu.FP32,
	}
}

// scoreJob is w with its cost.
func scoreJob(w scoreWork) gpu.Job {
	job := ScoreCost(w.spec, len(w.global), len(w.deltas), w.data.Len())
	job.Work = w
	return job
}
