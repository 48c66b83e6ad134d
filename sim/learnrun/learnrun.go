package learnrun

import (
	"math"
	"slices"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/attack"
	"github.com/dais-sim/dais/protocol/learn"
)

// Result is what a run measured.
type Result struct {
	Params *Params
	// Accuracy[r] is the share of the 1,797 test rows the model after
	// round r classifies correctly (r = 0: the initial model);
	// AttackSuccess[r] the share of the Source class's test rows it
	// classifies as the Target class.
	Accuracy, AttackSuccess []float64
	// RoundEnd[r] is when round r committed, in simulated time.
	RoundEnd []protocol.Time
	// Skipped counts rounds that left the model unchanged; NoQuorum those
	// of them whose aggregator committee reached no quorum. Dissents
	// counts aggregator candidates that differed from the committed
	// version (learn.Dissent).
	Skipped, NoQuorum, Dissents int
	// Learners are every learner identity, Attackers those that attack
	// (providers, or Sybil identities), both ascending.
	Learners, Attackers []protocol.NodeID
	// Payout is each node's training reward in base units, by NodeID;
	// Paid the total paid to learners.
	Payout []uint64
	Paid   uint64
	// Budget is the training job's escrow on the coordinator's ledger;
	// ChainPaid is what the ledger paid learners out of it and Refunded
	// what returned to the requester after the last round (Budget =
	// ChainPaid + Refunded, and ChainPaid = Paid). Versions are the model
	// versions committed, round 0 first; ChainVersions those the ledger
	// holds for the job, read back after the run.
	Budget, ChainPaid, Refunded uint64
	Versions, ChainVersions     []learn.Hash
	// Updates collected and Accepted into aggregates, over all rounds;
	// Rejected by reason (learn.Reject*).
	Updates, Accepted int
	Rejected          map[string]int
	// OutOfBound counts updates whose median score was −Inf (out of the
	// validators' norm bound, or breaking the model), over all rounds;
	// HonestOutOfBound those of learners that do not attack.
	OutOfBound, HonestOutOfBound int
	// TrainFailed counts training jobs that returned an error (a provider
	// with no rows under a skewed partition).
	TrainFailed int
	// Clean is the attack-free run with the same seed (Params.Clean).
	Clean *Result
	// NoDP is the same run without differential privacy (Params.DP).
	NoDP *Result
	// Secure is what secure aggregation did (Params.Secure), and Clear
	// the same run in clear with Secure.ClearRule.
	Secure *SecureStats
	Clear  *Result
	// Surrogate, in surrogate mode, is the curve Accuracy and
	// AttackSuccess come from; nil when they were measured.
	Surrogate *SurrogateFit
	// Centralized is the baseline's test accuracy (Params.Baseline), else
	// NaN.
	Centralized float64
	// Economy is what the data economy paid (Params.Economy), else nil.
	Economy *EconomyResult

	// Host time: the whole run, and the real work inside it.
	Wall, TrainWall, ScoreWall, AggregateWall time.Duration
	TrainJobs, TrainSteps, Aggregations       int64
	// Engine and network counts.
	Events, Sent, Dropped, BytesSent uint64
	TraceHash                        uint64
	// LearnerBytesSent and CoordinatorBytesSent split BytesSent: what the
	// learners put on their uplinks, and the coordinator.
	LearnerBytesSent, CoordinatorBytesSent uint64
}

// Final is the test accuracy after the last round.
func (r *Result) Final() float64 { return r.Accuracy[len(r.Accuracy)-1] }

// FinalAttackSuccess is the attack success rate after the last round.
func (r *Result) FinalAttackSuccess() float64 { return r.AttackSuccess[len(r.AttackSuccess)-1] }

// MeanAttackSuccess is the attack success rate averaged over the second
// half of the rounds (rounds ⌈R/2⌉…R). A targeted attack fought by the
// honest majority often swings from round to round (poisoned, repaired,
// poisoned), so the last round alone says more about parity than about
// the attack.
func (r *Result) MeanAttackSuccess() float64 {
	rounds := len(r.AttackSuccess) - 1
	h := r.AttackSuccess[max((rounds+1)/2, 1):]
	var s float64
	for _, x := range h {
		s += x
	}
	return s / float64(len(h))
}

// AccuracyDrop is the clean run's final accuracy minus this run's, or NaN
// without a clean run.
func (r *Result) AccuracyDrop() float64 {
	if r.Clean == nil {
		return math.NaN()
	}
	return r.Clean.Final() - r.Final()
}

// AttackerNodeShare is the attackers' share of the learner identities.
func (r *Result) AttackerNodeShare() float64 {
	return float64(len(r.Attackers)) / float64(len(r.Learners))
}

// AttackerTokenShare is the attackers' share of the training reward paid
// (share ∝ positive validator score, learn.Payouts), or NaN if nothing
// was paid.
func (r *Result) AttackerTokenShare() float64 {
	if r.Paid == 0 {
		return math.NaN()
	}
	var a uint64
	for _, id := range r.Attackers {
		a += r.Payout[id]
	}
	return float64(a) / float64(r.Paid)
}

// Run builds the world from p, runs every round and returns what it
// measured (with the clean run and the centralized baseline if asked).
func Run(p *Params) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Surrogate != nil {
		return runSurrogate(p)
	}
	if p.Economy != nil {
		return runEconomy(p)
	}
	res, err := run(p)
	if err != nil {
		return nil, err
	}
	if p.Clean {
		c := *p
		c.Attack, c.Clean, c.Baseline, c.Sink = Attack{}, false, false, nil
		if res.Clean, err = run(&c); err != nil {
			return nil, err
		}
	}
	if p.Secure != nil && p.Secure.ClearRule != "" {
		if res.Clear, err = run(clearRun(p)); err != nil {
			return nil, err
		}
	}
	if p.DP != nil {
		c := *p
		c.DP, c.Clean, c.Baseline, c.Sink = nil, false, false, nil
		if res.NoDP, err = run(&c); err != nil {
			return nil, err
		}
	}
	res.Centralized = math.NaN()
	if p.Baseline {
		if res.Centralized, err = Centralized(p); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Centralized trains the same model on every row the providers hold, in
// one place, with the package's centralized settings (models.Optdigits:
// batches of 32) for p.BaselineEpochs epochs, and returns its test
// accuracy: the figure federated training is measured against.
func Centralized(p *Params) (float64, error) {
	train, test, err := load()
	if err != nil {
		return 0, err
	}
	s, err := makeSplit(p, train)
	if err != nil {
		return 0, err
	}
	spec := models.Optdigits(p.Model)
	spec.Seed = protocol.DeriveSeed(p.Seed, "init", 0)
	m, err := models.New(spec)
	if err != nil {
		return 0, err
	}
	if _, err := m.Train(s.pool, p.BaselineEpochs); err != nil {
		return 0, err
	}
	return m.Accuracy(test), nil
}

// Node IDs: the coordinator is 0, validators 1..V, providers next, Sybil
// identities last.
const coordinator protocol.NodeID = 0

// state is one run in progress.
type state struct {
	p     *Params
	res   *Result
	clock clock
	memo  memo
	spec  models.Spec
	split *split
	test  datasets.Dataset
	eval  *models.Model
	src   int
	dst   int
	final bool

	honest  []protocol.NodeID        // honest providers with rows
	globals map[learn.Hash][]float64 // the newest committed model, by version
	stats   map[uint64][2][]float64  // little-is-enough oracle, by round

	// charge is the world's Charge, for secure aggregation's work.
	charge func(protocol.NodeID, protocol.Duration)
}

// newState loads the data, splits it and builds the initial model: what
// a run, or a live node (Federation), starts from.
func newState(p *Params) (st *state, initial []float64, err error) {
	train, test, err := load()
	if err != nil {
		return nil, nil, err
	}
	s, err := makeSplit(p, train)
	if err != nil {
		return nil, nil, err
	}
	st = &state{p: p, spec: p.spec(), split: s, test: test, globals: map[learn.Hash][]float64{},
		stats: map[uint64][2][]float64{}}
	st.src, st.dst = p.Attack.classes()
	st.res = &Result{Params: p, Rejected: map[string]int{}, Centralized: math.NaN()}
	init := st.spec
	init.Seed = protocol.DeriveSeed(p.Seed, "init", 0)
	if st.eval, err = models.New(init); err != nil {
		return nil, nil, err
	}
	return st, st.eval.Params(), nil
}

func run(p *Params) (*Result, error) {
	st, initial, err := newState(p)
	if err != nil {
		return nil, err
	}
	s := st.split

	w, err := newWorld(p, metrics.SinkFunc(st.record))
	if err != nil {
		return nil, err
	}
	place := w.place
	st.charge = w.Charge

	V := p.Validators
	validators, providers := p.nodeIDs()
	nAtt := p.attackers()
	attacking := map[int]bool{} // provider index → attacks
	var sybils []protocol.NodeID
	if p.Attack.Kind == Sybil {
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
	aggregators := p.committee(protocol.NodeID(1 + V + len(learners)))
	st.res.Learners = learners
	for i, id := range providers {
		if !attacking[i] && s.shards[i].Len() > 0 {
			st.honest = append(st.honest, id)
		}
	}

	rule, _ := p.rule()
	timed := func(n int) learn.Rule { return timedRule{inner: rule(n), clock: &st.clock} }
	if err := w.addServers(learners, validators, aggregators, st.res.Attackers, initial, timed,
		func(i int) learn.ScoreFunc { return st.scoreFunc(s.validation[i]) }); err != nil {
		return nil, err
	}
	for i, id := range providers {
		data := s.shards[i]
		honest := learn.NewLearner(learn.LearnerConfig{Coordinator: coordinator, Validators: validators, Aggregators: aggregators,
			Samples: uint64(data.Len()), Train: st.trainFunc(data, !attacking[i] && p.Attack.Kind == LittleIsEnough), Secure: p.secureLearner()})
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
				Samples: uint64(poison.Len()), Train: st.trainFunc(poison, false), Secure: p.secureLearner()})
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
	res.TrainWall, res.ScoreWall, res.AggregateWall = st.clock.train, st.clock.score, st.clock.aggregate
	res.TrainJobs, res.TrainSteps, res.Aggregations = st.clock.trainJobs, st.clock.trainSteps, st.clock.aggregations
	return res, nil
}

// sybilShard is the one shard every Sybil identity trains on.
func (st *state) sybilShard() datasets.Dataset {
	s := st.split
	if st.p.Attack.SybilData == SybilSource {
		return flip(onlyClass(s.pool, st.src), st.src, st.dst)
	}
	rows := protocol.Stream(st.p.Seed, "sybil", 0).Perm(s.pool.Len())[:s.pool.Len()/st.p.Providers]
	slices.Sort(rows)
	return flip(s.pool.Subset(rows), st.src, st.dst)
}

// decorate wraps an attacking provider's honest learner in its attack.
func (st *state) decorate(honest *learn.Learner, data datasets.Dataset, learners, attackers int) protocol.Node {
	a := st.p.Attack
	switch a.Kind {
	case LabelFlip:
		return attack.PoisonData(honest, st.trainFunc(flip(data, st.src, st.dst), false))
	case SignFlip:
		s := a.Scale
		if s == 0 {
			s = 4
		}
		return attack.SignFlip(honest, s)
	case Scaling:
		s := a.Scale
		if s == 0 {
			s = 10
		}
		return attack.ScaleUpdates(honest, s)
	case LittleIsEnough:
		z := a.Z
		if z == 0 {
			z = attack.ALIEZ(learners, attackers)
		}
		return attack.LittleIsEnough(honest, z, st.honestStats)
	case FreeRider:
		return attack.FreeRide(honest, attack.FreeRideConfig{Stale: a.Stale})
	}
	return honest
}

// trainFunc is the learn.TrainFunc of a learner holding data: a
// models.TrainJob from the round's model, seeded per learner and round.
func (st *state) trainFunc(data datasets.Dataset, memoize bool) learn.TrainFunc {
	return func(id protocol.NodeID, round uint64, global []float64) gpu.Job {
		spec := st.spec
		spec.Seed = protocol.DeriveSeed(st.p.Seed, "train", round<<32|uint64(id))
		tj := models.TrainJob{Spec: spec, Global: global, Data: data, Epochs: st.p.Epochs}
		job, err := tj.Job()
		if err != nil {
			return gpu.Job{Kind: "train", Work: failed{err}}
		}
		tw := trainWork{job: tj, key: memoKey{id, round}, clock: &st.clock}
		if memoize {
			tw.memo = &st.memo
		}
		job.Work = tw
		return job
	}
}

// scoreFunc is the learn.ScoreFunc of a validator holding data.
func (st *state) scoreFunc(data datasets.Dataset) learn.ScoreFunc {
	return func(_ protocol.NodeID, _ uint64, global []float64, deltas [][]float64) gpu.Job {
		return scoreJob(scoreWork{marginal: st.p.MarginalScores, spec: st.spec, global: global, deltas: deltas, data: data, clock: &st.clock})
	}
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
		out, err := st.trainFunc(st.split.shards[int(id)-1-st.p.Validators], true)(id, round, global).Work.Run()
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

// AddRound records a committed round: its test accuracy and attack
// success, when it ended, and the commit's counts.
func (r *Result) AddRound(c learn.Committed, acc, asr float64, at protocol.Time) {
	r.Accuracy = append(r.Accuracy, acc)
	r.AttackSuccess = append(r.AttackSuccess, asr)
	r.RoundEnd = append(r.RoundEnd, at)
	r.Versions = append(r.Versions, c.Version)
	r.Updates += c.Updates
	r.Accepted += c.Accepted
	if c.Skipped {
		r.Skipped++
	}
	if c.NoQuorum {
		r.NoQuorum++
	}
	if r.Params != nil && r.Params.Progress != nil {
		r.Params.Progress()
	}
}

// Tally counts a learn event other than a commit: payouts and
// out-of-bound scores (learn.Scored), rejections, dissents and failed
// training jobs. Other events are ignored.
func (r *Result) Tally(ev metrics.Event) {
	switch ev := ev.(type) {
	case learn.Scored:
		if int(ev.Learner) < len(r.Payout) {
			r.Payout[ev.Learner] += ev.Payout
		}
		r.Paid += ev.Payout
		if math.IsInf(ev.Score, -1) {
			r.OutOfBound++
			if _, attacker := slices.BinarySearch(r.Attackers, ev.Learner); !attacker {
				r.HonestOutOfBound++
			}
		}
	case learn.OnChain:
		r.ChainPaid += ev.Paid
		r.Refunded += ev.Refunded
	case learn.Rejected:
		r.Rejected[ev.Reason]++
	case learn.Dissent:
		r.Dissents++
	case learn.SecureRound:
		r.tallySecure(ev)
	case learn.Trained:
		if ev.Err != "" {
			r.TrainFailed++
		}
	}
}

// record is the run's sink: it measures each committed model on the test
// rows and tallies scores, payouts and rejections.
func (st *state) record(s metrics.Stamped) {
	res := st.res
	switch ev := s.Event.(type) {
	case learn.Committed:
		acc, asr := st.measure(ev.Params)
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

// measure returns the test accuracy of params and the share of the
// source class's test rows it classifies as the target class.
func (st *state) measure(params []float64) (acc, asr float64) {
	if err := st.eval.SetParams(params); err != nil {
		return math.NaN(), math.NaN()
	}
	var src, hit int
	for i, y := range st.test.Y {
		if y == st.src {
			src++
			if st.eval.Predict(st.test.X[i]) == st.dst {
				hit++
			}
		}
	}
	return st.eval.Accuracy(st.test), float64(hit) / float64(max(src, 1))
}

// timedRule measures the host time the aggregation rule takes.
type timedRule struct {
	inner learn.Rule
	clock *clock
}

func (t timedRule) Name() string { return t.inner.Name() }

func (t timedRule) Aggregate(us []learn.Update) ([]float64, error) {
	start := time.Now()
	out, err := t.inner.Aggregate(us)
	t.clock.aggregate += time.Since(start)
	t.clock.aggregations++
	return out, err
}
