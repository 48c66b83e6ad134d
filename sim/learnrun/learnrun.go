package learnrun

import (
	"math"
	"slices"
	"time"

	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/attack"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/scenarios/learning"
)

// Result is what a run measured: learning.Result (the figures a live job
// is measured by too) and, with Params.Economy, what the data economy
// paid.
type Result struct {
	*learning.Result
	// Economy is what the data economy paid (Params.Economy), else nil.
	Economy *EconomyResult
}

// Run builds the world from p, runs every round and returns what it
// measured (with the clean run and the centralized baseline if asked).
func Run(p *learning.Params) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Surrogate != nil {
		res, err := runSurrogate(p)
		if err != nil {
			return nil, err
		}
		return &Result{Result: res}, nil
	}
	if p.Economy != nil {
		return runEconomy(p)
	}
	res, err := run(p, nil)
	if err != nil {
		return nil, err
	}
	if p.Clean {
		c := *p
		c.Attack, c.Clean, c.Baseline, c.Sink = learning.Attack{}, false, false, nil
		if res.Clean, err = run(&c, nil); err != nil {
			return nil, err
		}
	}
	if p.Secure != nil && p.Secure.ClearRule != "" {
		if res.Clear, err = run(clearRun(p), nil); err != nil {
			return nil, err
		}
	}
	if p.DP != nil {
		c := *p
		c.DP, c.Clean, c.Baseline, c.Sink = nil, false, false, nil
		if res.NoDP, err = run(&c, nil); err != nil {
			return nil, err
		}
	}
	res.Centralized = math.NaN()
	if p.Baseline {
		if res.Centralized, err = Centralized(p); err != nil {
			return nil, err
		}
	}
	return &Result{Result: res}, nil
}

// Centralized trains the same model on every row the providers hold, in
// one place, with the package's centralized settings (models.Optdigits:
// batches of 32) for p.BaselineEpochs epochs, and returns its test
// accuracy: the figure federated training is measured against.
func Centralized(p *learning.Params) (float64, error) { return centralized(p, nil) }

// centralized is Centralized over the rows register puts in the pool.
func centralized(p *learning.Params, register learning.Register) (float64, error) {
	_, test, err := learning.Optdigits()
	if err != nil {
		return 0, err
	}
	s, err := learning.NewSplit(p, register)
	if err != nil {
		return 0, err
	}
	spec := models.Optdigits(p.Model)
	spec.Seed = protocol.DeriveSeed(p.Seed, "init", 0)
	m, err := models.New(spec)
	if err != nil {
		return 0, err
	}
	if _, err := m.Train(s.Pool, p.BaselineEpochs); err != nil {
		return 0, err
	}
	return m.Accuracy(test), nil
}

// Node IDs: the coordinator is 0, validators 1..V, providers next, Sybil
// identities last.
const coordinator protocol.NodeID = 0

// state is one run in progress: the job's data and math (split, model,
// training and scoring jobs, the host clock), and what the simulator adds
// to it (the attackers' oracle, the run's result).
type state struct {
	*learning.Federation
	p     *learning.Params
	res   *learning.Result
	final bool

	honest  []protocol.NodeID        // honest providers with rows
	globals map[learn.Hash][]float64 // the newest committed model, by version
	stats   map[uint64][2][]float64  // little-is-enough oracle, by round

	// charge is the world's Charge, for secure aggregation's work.
	charge func(protocol.NodeID, protocol.Duration)
}

// run runs p's rounds once, with the data economy e (nil: none).
func run(p *learning.Params, e *economyRun) (*learning.Result, error) {
	var register learning.Register
	if e != nil {
		register = e.register
	}
	fed, err := learning.NewFederation(p, register)
	if err != nil {
		return nil, err
	}
	st := &state{Federation: fed, p: p, globals: map[learn.Hash][]float64{}, stats: map[uint64][2][]float64{},
		res: &learning.Result{Params: p, Rejected: map[string]int{}, Centralized: math.NaN()}}
	initial := fed.Initial()
	s := st.Split()

	w, err := newWorld(p, metrics.SinkFunc(st.record))
	if err != nil {
		return nil, err
	}
	w.econ = e
	place := w.place
	st.charge = w.Charge

	V := p.Validators
	validators, providers := nodeIDs(p)
	nAtt := p.Attackers()
	attacking := map[int]bool{} // provider index → attacks
	var sybils []protocol.NodeID
	if p.Attack.Kind == learning.Sybil {
		for i := 0; i < nAtt; i++ {
			sybils = append(sybils, protocol.NodeID(1+V+p.Providers+i))
		}
		st.res.Attackers = sybils
	} else if nAtt > 0 {
		for _, i := range protocol.Stream(p.Seed, "attackers", 0).Perm(p.Providers)[:nAtt] {
			attacking[i] = true
		}
		for i, id := range providers {
			if attacking[i] {
				st.res.Attackers = append(st.res.Attackers, id)
			}
		}
	}
	learners := append(slices.Clone(providers), sybils...)
	aggregators := committee(p, protocol.NodeID(1+V+len(learners)))
	st.res.Learners = learners
	for i, id := range providers {
		if !attacking[i] && s.Shards[i].Len() > 0 {
			st.honest = append(st.honest, id)
		}
	}

	rule, _ := p.AggregationRule()
	timed := func(n int) learn.Rule { return timedRule{inner: rule(n), clock: st.Clock()} }
	if err := w.addServers(learners, validators, aggregators, st.res.Attackers, initial, timed,
		func(i int) learn.ScoreFunc { return st.ScoreOn(s.Validation[i]) }); err != nil {
		return nil, err
	}
	for i, id := range providers {
		data := s.Shards[i]
		honest := learn.NewLearner(learn.LearnerConfig{Coordinator: coordinator, Validators: validators, Aggregators: aggregators,
			Samples: uint64(data.Len()), Train: st.TrainOn(data, !attacking[i] && p.Attack.Kind == learning.LittleIsEnough), Secure: p.SecureLearner()})
		var n protocol.Node = honest
		if attacking[i] {
			n = st.decorate(honest, data, len(learners), nAtt)
		}
		if p.Secure != nil {
			n = st.dropAfterSharing(n, id)
		}
		w.Add(n)
		place(id, p.ProviderLink, "")
	}
	if len(sybils) > 0 {
		// A Sybil is the honest learner program run by the attacker on
		// the attacker's one poisoned shard: nothing in it to decorate.
		poison := st.sybilShard()
		for _, id := range sybils {
			var n protocol.Node = learn.NewLearner(learn.LearnerConfig{Coordinator: coordinator, Validators: validators, Aggregators: aggregators,
				Samples: uint64(poison.Len()), Train: st.TrainOn(poison, false), Secure: p.SecureLearner()})
			if p.Secure != nil {
				n = st.dropAfterSharing(n, id)
			}
			w.Add(n)
			place(id, p.ProviderLink, "")
		}
	}
	if err := addCommittee(w, aggregators, timed, p.Attack.LyingAggregators); err != nil {
		return nil, err
	}
	st.res.Payout = make([]uint64, w.Len())

	res := st.res
	if err := w.rounds(func() bool { return st.final }, len(aggregators) > 0, res); err != nil {
		return nil, err
	}
	c := st.Clock()
	res.TrainWall, res.ScoreWall, res.AggregateWall = c.Train, c.Score, c.Aggregate
	res.TrainJobs, res.TrainSteps, res.Aggregations = c.TrainJobs, c.TrainSteps, c.Aggregations
	return res, nil
}

// sybilShard is the one shard every Sybil identity trains on.
func (st *state) sybilShard() datasets.Dataset {
	s := st.Split()
	src, dst := st.p.Attack.Classes()
	if st.p.Attack.SybilData == learning.SybilSource {
		return flip(onlyClass(s.Pool, src), src, dst)
	}
	rows := protocol.Stream(st.p.Seed, "sybil", 0).Perm(s.Pool.Len())[:s.Pool.Len()/st.p.Providers]
	slices.Sort(rows)
	return flip(s.Pool.Subset(rows), src, dst)
}

// decorate wraps an attacking provider's honest learner in its attack.
func (st *state) decorate(honest *learn.Learner, data datasets.Dataset, learners, attackers int) protocol.Node {
	a := st.p.Attack
	switch a.Kind {
	case learning.LabelFlip:
		src, dst := a.Classes()
		return attack.PoisonData(honest, st.TrainOn(flip(data, src, dst), false))
	case learning.SignFlip:
		s := a.Scale
		if s == 0 {
			s = 4
		}
		return attack.SignFlip(honest, s)
	case learning.Scaling:
		s := a.Scale
		if s == 0 {
			s = 10
		}
		return attack.ScaleUpdates(honest, s)
	case learning.LittleIsEnough:
		z := a.Z
		if z == 0 {
			z = attack.ALIEZ(learners, attackers)
		}
		return attack.LittleIsEnough(honest, z, st.honestStats)
	case learning.FreeRider:
		return attack.FreeRide(honest, attack.FreeRideConfig{Stale: a.Stale})
	}
	return honest
}

// honestStats is the little-is-enough colluders' knowledge: the mean and
// standard deviation of the honest providers' updates of the round, from
// the same computation the honest learners run (memoized, so each delta
// is computed once).
func (st *state) honestStats(round uint64, base learn.Hash) (mean, sd []float64, ok bool) {
	if s, ok := st.stats[round]; ok {
		return s[0], s[1], true
	}
	global := st.globals[base]
	if global == nil || len(st.honest) == 0 {
		return nil, nil, false
	}
	var ds [][]float64
	for _, id := range st.honest {
		out, err := st.TrainOn(st.Split().Shards[int(id)-1-st.p.Validators], true)(id, round, global).Work.Run()
		if err != nil {
			continue
		}
		ds = append(ds, out.([]float64))
	}
	if len(ds) == 0 {
		return nil, nil, false
	}
	mean, sd = meanSD(ds)
	clear(st.stats)
	st.stats[round] = [2][]float64{mean, sd}
	return mean, sd, true
}

// record is the run's sink: it measures each committed model on the test
// rows and tallies scores, payouts and rejections.
func (st *state) record(s metrics.Stamped) {
	res := st.res
	switch ev := s.Event.(type) {
	case learn.Committed:
		acc, asr := st.Measure(ev.Params)
		res.AddRound(ev, acc, asr, protocol.Time(s.AtNs))
		clear(st.globals)
		st.globals[ev.Version] = ev.Params
		st.final = ev.Final
	case learn.SecureWork:
		st.secureWork(s, ev)
	default:
		res.Tally(ev)
	}
	if st.p.Sink != nil {
		st.p.Sink.Record(s)
	}
}

// timedRule measures the host time the aggregation rule takes.
type timedRule struct {
	inner learn.Rule
	clock *learning.Clock
}

func (t timedRule) Name() string { return t.inner.Name() }

func (t timedRule) Aggregate(us []learn.Update) ([]float64, error) {
	start := time.Now()
	out, err := t.inner.Aggregate(us)
	t.clock.Aggregate += time.Since(start)
	t.clock.Aggregations++
	return out, err
}
