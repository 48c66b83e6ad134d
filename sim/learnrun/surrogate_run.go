package learnrun

import (
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/floats"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/scenarios/learning"
)

// fitParams are the parameters of the real run a surrogate is fitted to.
func fitParams(p *learning.Params) learning.Params {
	f := *p
	f.Surrogate, f.Attack, f.Clean, f.Baseline, f.Sink, f.Trace = nil, learning.Attack{}, false, false, nil, false
	f.Providers, f.Rounds, f.PerRound, f.Aggregators = p.Surrogate.FitProviders, p.Surrogate.FitRounds, 0, 0
	return f
}

// runSurrogate is Run in surrogate mode: it runs the fit run, fits the
// curve, then runs the protocol with modeled learners, validators and
// aggregators and reads accuracy off the curve.
func runSurrogate(p *learning.Params) (*learning.Result, error) {
	fp := fitParams(p)
	if err := fp.Validate(); err != nil {
		return nil, fmt.Errorf("learnrun: surrogate fit run: %w", err)
	}
	var fitAcc []float64
	var fitWall time.Duration
	var curve learning.Curve
	if c := p.Surrogate.Curve; c != nil {
		curve = *c
	} else {
		fres, err := run(&fp, nil)
		if err != nil {
			return nil, fmt.Errorf("learnrun: surrogate fit run: %w", err)
		}
		fitAcc, fitWall = fres.Accuracy, fres.Wall
		if curve, err = FitCurve(fitAcc); err != nil {
			return nil, err
		}
	}
	nAtt := p.Attackers()
	factor, asr, err := attackEffect(p, float64(nAtt)/float64(p.Providers))
	if err != nil {
		return nil, err
	}
	fit := &learning.SurrogateFit{Curve: curve, FitAccuracy: fitAcc, FitProviders: fp.Providers, FitRounds: fp.Rounds,
		Rows: p.Surrogate.Rows, Factor: factor, AttackSuccess: asr, FitWall: fitWall}
	if fit.Rows == 0 {
		fit.Rows = (optdigits.TrainRows - p.ValidationRows) / fp.Providers
	}
	res, err := surrogateWorld(p, fit, nAtt)
	if err != nil {
		return nil, err
	}
	res.Centralized = math.NaN()
	if p.Baseline {
		if res.Centralized, err = Centralized(&fp); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// surrogateState is a surrogate run in progress.
type surrogateState struct {
	p     *learning.Params
	fit   *learning.SurrogateFit
	res   *learning.Result
	dir   []float64 // the honest direction, unit length
	prev  []float64 // the last committed model
	final bool
}

func surrogateWorld(p *learning.Params, fit *learning.SurrogateFit, nAtt int) (*learning.Result, error) {
	spec := p.Spec()
	d := spec.NumParams()
	st := &surrogateState{p: p, fit: fit, res: &learning.Result{Params: p, Rejected: map[string]int{}, Centralized: math.NaN(), Surrogate: fit}}

	// One honest direction, drawn from the seed, shared by every honest
	// update; attackers' updates are fixed transforms of it. Updates are
	// shared slices, so 10⁵ learners cost 10⁵ headers, not 10⁵ vectors.
	dir := make([]float64, d)
	r := protocol.Stream(p.Seed, "surrogate direction", 0)
	for i := range dir {
		dir[i] = r.NormFloat64()
	}
	floats.Scale(1/floats.Norm(dir, 2), dir)
	st.dir = dir
	honest := scaled(dir, 0.05) // about the norm of a real round's update
	attacked := surrogateAttack(p.Attack, honest)

	init := spec
	init.Seed = protocol.DeriveSeed(p.Seed, "init", 0)
	m, err := models.New(init)
	if err != nil {
		return nil, err
	}
	initial := m.Params()

	w, err := newWorld(p, metrics.SinkFunc(st.record))
	if err != nil {
		return nil, err
	}
	place := w.place

	V := p.Validators
	validators, learners := nodeIDs(p)
	attacking := make([]bool, p.Providers)
	if nAtt > 0 {
		for _, i := range protocol.Stream(p.Seed, "attackers", 0).Perm(p.Providers)[:nAtt] {
			attacking[i] = true
		}
	}
	for i, id := range learners {
		if attacking[i] {
			st.res.Attackers = append(st.res.Attackers, id)
		}
	}
	st.res.Learners = learners
	aggregators := committee(p, protocol.NodeID(1+V+len(learners)))

	base, _ := learn.NamedRule(p.Rule, p.Tolerate)
	step := scaled(dir, 1e-3)
	rule := func(n int) learn.Rule { return surrogateRule{name: base(n).Name(), step: step} }
	valRows := nominalRows(max(p.ValidationRows/max(V, 1), 1))
	score := func(_ protocol.NodeID, _ uint64, global []float64, deltas [][]float64) gpu.Job {
		job := learning.ScoreCost(spec, len(global), len(deltas), valRows.Len())
		job.Work = surrogateScore{deltas: deltas, dir: dir}
		return job
	}
	if err := w.addServers(learners, validators, aggregators, st.res.Attackers, initial, rule,
		func(int) learn.ScoreFunc { return score }); err != nil {
		return nil, err
	}
	rows := nominalRows(fit.Rows)
	train := func(delta []float64) learn.TrainFunc {
		return func(protocol.NodeID, uint64, []float64) gpu.Job {
			job, err := models.TrainJob{Spec: spec, Data: rows, Epochs: p.Epochs}.Job()
			if err != nil {
				return gpu.Job{Kind: "train", Work: learning.FailedWork{Err: err}}
			}
			job.Work = fixedDelta(delta)
			return job
		}
	}
	honestTrain, attackTrain := train(honest), train(attacked)
	for i := range learners {
		t := honestTrain
		if attacking[i] {
			t = attackTrain
		}
		w.Add(learn.NewLearner(learn.LearnerConfig{Coordinator: coordinator, Validators: validators, Aggregators: aggregators,
			Samples: uint64(fit.Rows), Train: t}))
		place(learners[i], p.ProviderLink, "")
	}
	if err := addCommittee(w, aggregators, rule, p.Attack.LyingAggregators); err != nil {
		return nil, err
	}
	st.res.Payout = make([]uint64, w.Len())

	res := st.res
	if err := w.rounds(func() bool { return st.final }, len(aggregators) > 0, res); err != nil {
		return nil, err
	}
	return res, nil
}

// record is a surrogate run's sink: accuracy from the curve, the rest as
// in a real run.
func (st *surrogateState) record(s metrics.Stamped) {
	res, fit := st.res, st.fit
	switch ev := s.Event.(type) {
	case learn.Committed:
		if st.prev != nil {
			// Which way the committed model moved: an honest aggregate
			// steps along the honest direction, a lying committee's
			// model back.
			var along float64
			for i, x := range ev.Params {
				along += (x - st.prev[i]) * st.dir[i]
			}
			switch {
			case along > 0:
				fit.Progress++
			case along < 0 && fit.Progress > 0:
				fit.Progress--
			}
		}
		st.prev = slices.Clone(ev.Params)
		acc, asr := fit.Curve.At(0), 0.0
		if fit.Progress > 0 {
			acc = chance + (fit.Curve.At(float64(fit.Progress))-chance)*fit.Factor
			asr = fit.AttackSuccess
		}
		res.AddRound(ev, acc, asr, protocol.Time(s.AtNs))
		st.final = ev.Final
	case learn.Trained:
		res.TrainJobs++
		res.Tally(ev)
	default:
		res.Tally(ev)
	}
	if st.p.Sink != nil {
		st.p.Sink.Record(s)
	}
}

// surrogateAttack is an attacker's update in surrogate mode, a fixed
// transform of the honest one: sign flipping −Scale× (default 4),
// scaling Scale× (default 10), free riding zero, and label flipping and
// a little is enough the honest direction shrunk to 10% and 60% (about
// their measured share of the reward per identity under FedAvg). Their
// effect on accuracy comes from the measured table, not from these.
func surrogateAttack(a learning.Attack, honest []float64) []float64 {
	switch a.Kind {
	case learning.SignFlip:
		return scaled(honest, -cmp0(a.Scale, 4))
	case learning.Scaling:
		return scaled(honest, cmp0(a.Scale, 10))
	case learning.FreeRider:
		return make([]float64, len(honest))
	case learning.LabelFlip:
		return scaled(honest, 0.1)
	case learning.LittleIsEnough:
		return scaled(honest, 0.6)
	}
	return honest
}

// cmp0 is x, or def when x is 0.
func cmp0(x, def float64) float64 {
	if x == 0 {
		return def
	}
	return x
}

func scaled(v []float64, s float64) []float64 {
	out := slices.Clone(v)
	floats.Scale(s, out)
	return out
}

// nominalRows is a data set of n rows that only states its size: the
// cost of a modeled training or scoring job. Every row is one shared
// zero row.
func nominalRows(n int) datasets.Dataset {
	row := make([]float64, 64)
	ds := datasets.Dataset{X: make([][]float64, n), Y: make([]int, n)}
	for i := range ds.X {
		ds.X[i] = row
	}
	return ds
}

// fixedDelta is a modeled training job's output: a shared update.
type fixedDelta []float64

func (f fixedDelta) Run() (any, error) { return []float64(f), nil }

// surrogateScore is a modeled validator's scores: each update's projection
// on the honest direction after the real validator's clip (to the median
// norm) and step (1/n), so that honest updates score alike and above
// zero, sign-flipped ones below, free riders zero, and scaling buys
// nothing. Updates are shared slices, so each distinct one is projected
// once.
type surrogateScore struct {
	deltas [][]float64
	dir    []float64
}

func (w surrogateScore) Run() (any, error) {
	type proj struct{ norm, along float64 }
	seen := map[*float64]proj{}
	ps := make([]proj, len(w.deltas))
	norms := make([]float64, len(w.deltas))
	for i, d := range w.deltas {
		if len(d) != len(w.dir) {
			return nil, fmt.Errorf("learnrun: surrogate update of %d values, want %d", len(d), len(w.dir))
		}
		p, ok := seen[&d[0]]
		if !ok {
			p = proj{norm: floats.Norm(d, 2), along: floats.Dot(d, w.dir)}
			seen[&d[0]] = p
		}
		ps[i], norms[i] = p, p.norm
	}
	bound := learn.MedianScore(norms)
	scores := make([]float64, len(w.deltas))
	for i, p := range ps {
		step := 1 / float64(len(w.deltas))
		if p.norm > bound {
			step *= bound / p.norm
		}
		scores[i] = step * p.along
	}
	return scores, nil
}

// surrogateRule stands for a rule in surrogate mode: it has the rule's
// name (so an aggregator's job costs what the rule would) and moves the
// model one fixed step along the honest direction, whatever the updates:
// the effect of the updates on accuracy is the curve's and the measured
// table's, not this step's.
type surrogateRule struct {
	name string
	step []float64
}

func (r surrogateRule) Name() string { return r.name }

func (r surrogateRule) Aggregate(us []learn.Update) ([]float64, error) {
	if len(us) == 0 {
		return nil, learn.ErrNoUpdates
	}
	return slices.Clone(r.step), nil
}
