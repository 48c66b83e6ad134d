package learnrun

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

func load() (train, test datasets.Dataset, err error) {
	loadOnce.Do(func() { trainSet, testSet, loadErr = optdigits.Load() })
	return trainSet, testSet, loadErr
}

// split is how one run's training rows are spread: validation shards
// held out first, the rest partitioned over providers.
type split struct {
	pool       datasets.Dataset   // training rows minus validation
	validation []datasets.Dataset // one shard per validator
	shards     []datasets.Dataset // one per provider
}

func makeSplit(p *Params, train datasets.Dataset) (*split, error) {
	perm := protocol.Stream(p.Seed, "validation", 0).Perm(train.Len())
	held := slices.Clone(perm[:p.ValidationRows])
	rest := slices.Clone(perm[p.ValidationRows:])
	slices.Sort(held)
	slices.Sort(rest)
	s := &split{pool: train.Subset(rest)}
	for v := 0; v < p.Validators; v++ {
		var rows []int
		for i := v; i < len(held); i += p.Validators {
			rows = append(rows, held[i])
		}
		s.validation = append(s.validation, train.Subset(rows))
	}
	if p.econ != nil {
		var err error
		if s.pool, err = p.econ.register(s.pool, s.validation); err != nil {
			return nil, err
		}
	}
	parts, err := datasets.Partition(s.pool, optdigits.Classes, p.Providers, p.Partition, protocol.DeriveSeed(p.Seed, "partition", 0))
	if err != nil {
		return nil, fmt.Errorf("learnrun: %w", err)
	}
	for _, rows := range parts {
		s.shards = append(s.shards, s.pool.Subset(rows))
	}
	return s, nil
}

// flip is ds with every src label replaced by dst; the rows are shared.
func flip(ds datasets.Dataset, src, dst int) datasets.Dataset {
	out := datasets.Dataset{X: ds.X, Y: slices.Clone(ds.Y)}
	for i, y := range out.Y {
		if y == src {
			out.Y[i] = dst
		}
	}
	return out
}

// onlyClass is the rows of ds labelled c.
func onlyClass(ds datasets.Dataset, c int) datasets.Dataset {
	var rows []int
	for i, y := range ds.Y {
		if y == c {
			rows = append(rows, i)
		}
	}
	return ds.Subset(rows)
}

// clock adds up the host time spent in real work of one run. A run's
// work executes on the goroutine that drives its World, one job at a
// time, so no lock is needed.
type clock struct {
	train, score, aggregate time.Duration
	trainJobs, trainSteps   int64
	scoreJobs, aggregations int64
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
	clock *clock
}

func (w trainWork) Run() (any, error) {
	compute := func() ([]float64, error) {
		start := time.Now()
		out, err := w.job.Run()
		w.clock.train += time.Since(start)
		w.clock.trainJobs++
		w.clock.trainSteps += int64(w.job.Epochs) * int64((w.job.Data.Len()+w.job.Spec.BatchSize-1)/w.job.Spec.BatchSize)
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

// failed is Work that reports an error building a job.
type failed struct{ err error }

func (f failed) Run() (any, error) { return nil, f.err }

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
	clock    *clock
}

func (w scoreWork) Run() (any, error) {
	start := time.Now()
	defer func() { w.clock.score += time.Since(start); w.clock.scoreJobs++ }()
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

// scoreJob states the cost of scoring: a forward pass (2 FLOPs per
// weight per row) of the validation rows per model, the base model
// included, reading the parameters once per model.
func scoreJob(w scoreWork) gpu.Job {
	models := float64(len(w.deltas) + 1)
	rows := float64(w.data.Len())
	params := float64(len(w.global))
	const word = 4
	return gpu.Job{
		Kind:      "score",
		FLOPs:     2 * params * rows * models,
		Bytes:     models*params*word + rows*float64(w.spec.Inputs)*word,
		MemBytes:  int64((2*params + rows*float64(w.spec.Inputs+1)) * word),
		Precision: gpu.FP32,
		Work:      w,
	}
}

// meanSD is the coordinate-wise mean and population standard deviation.
func meanSD(vs [][]float64) (mean, sd []float64) {
	n := len(vs[0])
	mean, sd = make([]float64, n), make([]float64, n)
	for _, v := range vs {
		for j, x := range v {
			mean[j] += x
		}
	}
	k := float64(len(vs))
	for j := range mean {
		mean[j] /= k
	}
	for _, v := range vs {
		for j, x := range v {
			d := x - mean[j]
			sd[j] += d * d
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j] / k)
	}
	return mean, sd
}
