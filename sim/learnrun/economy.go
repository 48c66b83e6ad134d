package learnrun

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/datavalue"
	"github.com/dais-sim/dais/protocol/economy"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/wire"
	"github.com/dais-sim/dais/protocol/yuma"
)

// The data economy (Params.Economy). Data providers register data sets of
// optdigits rows (economy_data.go); a MinHash index drops every row that
// near-duplicates one registered before it; the rest is the learners'
// training data, and each data set's value is measured by real training
// (economy_value.go). The federated rounds run as in any run; the
// economy watches them — the validators' Scores messages through a tap,
// each round's commit through the sink — and after every commit pays the
// round on protocol/economy's accountant: compute providers by the Yuma
// consensus of the update scores, data providers by the consensus on
// their sets' value times the class bounty (combined with human label
// checks by the rule), validators by their dividends.

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

// Account IDs of the economy's participants that are not simulated
// nodes: data providers from dataBase, human validators from humanBase.
const (
	dataBase  protocol.NodeID = 1 << 24
	humanBase protocol.NodeID = 1 << 25
)

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

// economyRun is the economy of one run in progress.
type economyRun struct {
	spec  *EconomySpec
	p     *Params
	reg   *registry
	value *valuation
	acct  *economy.Accountant
	err   error

	learners   []protocol.NodeID // the compute providers: providers then Sybils
	validators []protocol.NodeID // automated
	colluding  map[protocol.NodeID]bool
	validation []datasets.Dataset // each automated validator's rows
	scores     map[scoreKey][]float64
	eval       *models.Model
	humanRand  []*rand.Rand
	sampleRand *rand.Rand
	requests   *rand.Rand

	rounds []economy.Outcome
	humans []humanTally
	last   protocol.Time
	sink   metrics.Sink
}

type scoreKey struct {
	validator protocol.NodeID
	round     uint64
}

// humanTally is what a human validator did over the run.
type humanTally struct {
	checked int
	cost    uint64
}

// runEconomy runs p's federated rounds with its economy.
func runEconomy(p *Params) (*Result, error) {
	e := &economyRun{spec: p.Economy, p: p, scores: map[scoreKey][]float64{}, sink: p.Sink}
	q := *p
	q.econ = e
	q.Sink = e
	validators, providers := p.nodeIDs()
	e.validators = validators
	e.learners = slices.Clone(providers)
	if p.Attack.Kind == Sybil {
		for i := range p.attackers() {
			e.learners = append(e.learners, protocol.NodeID(1+p.Validators+p.Providers+i))
		}
	}
	e.colluding = p.colluders(validators)
	res, err := run(&q)
	if err == nil {
		err = e.err
	}
	if err != nil {
		return nil, err
	}
	res.Params = p
	res.Wall += e.value.wall // the valuation ran before the rounds' clock started
	res.Centralized = math.NaN()
	if p.Baseline {
		if res.Centralized, err = Centralized(&q); err != nil {
			return nil, err
		}
	}
	res.Economy = e.result(res)
	return res, nil
}

// register is makeSplit's hook: the registered data sets replace the
// pool the learners' shards are cut from (validation rows are held out
// before, as in any run). It registers once; later calls (the baseline)
// get the same rows.
func (e *economyRun) register(pool datasets.Dataset, validation []datasets.Dataset) (datasets.Dataset, error) {
	if e.reg == nil {
		reg, err := newRegistry(e.spec, e.p.Seed, pool)
		if err != nil {
			return datasets.Dataset{}, err
		}
		e.reg = reg
		e.validation = validation
		var all datasets.Dataset
		for _, v := range validation {
			all.X = append(all.X, v.X...)
			all.Y = append(all.Y, v.Y...)
		}
		_, test, err := load()
		if err != nil {
			return datasets.Dataset{}, err
		}
		if e.value, err = valueData(e.spec, e.p.Seed, reg, all, test); err != nil {
			return datasets.Dataset{}, err
		}
	}
	return e.reg.union, nil
}

// colluders are the automated validators in the cabal: the economy's, or
// the seed's draw of Attack.ColludingValidators.
func (p *Params) colluders(validators []protocol.NodeID) map[protocol.NodeID]bool {
	out := map[protocol.NodeID]bool{}
	if p.Economy != nil && p.Economy.Colluders != nil {
		for _, i := range p.Economy.Colluders {
			out[validators[i]] = true
		}
		return out
	}
	if c := p.Attack.ColludingValidators; c > 0 {
		for _, i := range protocol.Stream(p.Seed, "colluders", 0).Perm(len(validators))[:c] {
			out[validators[i]] = true
		}
	}
	return out
}

// tap wraps validator id so that the Scores it sends (after any
// decorator inside it) are recorded for the round's compute consensus.
func (e *economyRun) tap(id protocol.NodeID, n protocol.Node) protocol.Node {
	t := &tapNode{inner: n, e: e, id: id}
	t.env.t = t
	return t
}

type tapNode struct {
	inner protocol.Node
	e     *economyRun
	id    protocol.NodeID
	env   tapEnv
}

type tapEnv struct {
	protocol.Env
	t *tapNode
}

func (n *tapNode) Handle(env protocol.Env, in protocol.Input) {
	n.env.Env = env
	n.inner.Handle(&n.env, in)
	n.env.Env = nil
}

func (t *tapEnv) Send(to protocol.NodeID, m wire.Msg) {
	if s, ok := m.(*learn.Scores); ok && to == coordinator {
		t.t.e.recordScores(t.t.id, s)
	}
	t.Env.Send(to, m)
}

// recordScores keeps a validator's scores of a round as weights over the
// learners (a non-finite or negative score weighs 0).
func (e *economyRun) recordScores(v protocol.NodeID, s *learn.Scores) {
	w := make([]float64, len(e.learners))
	for i, l := range s.Learners {
		j, ok := slices.BinarySearch(e.learners, l)
		if ok && i < len(s.Scores) && s.Scores[i] > 0 && !math.IsInf(s.Scores[i], 1) {
			w[j] = s.Scores[i]
		}
	}
	e.scores[scoreKey{v, s.Round}] = w
}

// Record is the economy's sink: it pays each committed round.
func (e *economyRun) Record(s metrics.Stamped) {
	if c, ok := s.Event.(learn.Committed); ok && e.err == nil {
		if err := e.committed(protocol.Time(s.AtNs), c); err != nil {
			e.err = fmt.Errorf("learnrun: economy, round %d: %w", c.Round, err)
		}
	}
	if e.sink != nil {
		e.sink.Record(s)
	}
}

func (e *economyRun) committed(now protocol.Time, c learn.Committed) error {
	if c.Round == 0 {
		if err := e.open(now); err != nil {
			return err
		}
		e.acct.Genesis(now, chain.Hash(c.Version))
		e.last = now
		return nil
	}
	in := economy.Round{Round: c.Round, Version: chain.Hash(c.Version), Parent: chain.Hash(c.Parent), Skipped: c.Skipped}
	for _, v := range e.validators {
		in.Compute = append(in.Compute, e.scores[scoreKey{v, c.Round}])
		delete(e.scores, scoreKey{v, c.Round})
	}
	var err error
	if in.Objective, err = e.objective(c.Params); err != nil {
		return err
	}
	in.Human = e.assessHumans()
	if r := e.spec.Requests * protocol.Duration(now-e.last).Seconds(); r > 0 {
		in.Requests = int(distuv.Poisson{Lambda: r, Src: e.requests}.Rand())
	}
	e.last = now
	out, err := e.acct.Round(now, in)
	if err != nil {
		return err
	}
	e.rounds = append(e.rounds, out)
	return nil
}

// open makes the accountant, once the run knows its participants.
func (e *economyRun) open(now protocol.Time) error {
	sp := e.spec
	cfg := economy.Config{Shares: sp.Shares, Yuma: sp.Yuma, Rule: sp.Rule, HumanWeight: sp.HumanWeight, Gate: sp.Gate,
		Access: sp.Access, Price: sp.Price, PerRound: sp.PerRound, Rounds: uint64(e.p.Rounds),
		Learners: e.learners, Classes: optdigits.Classes, KeySeed: e.p.Seed, UserBalance: math.MaxUint64 / 4}
	for i := range sp.Data {
		cfg.DataProviders = append(cfg.DataProviders, dataBase+protocol.NodeID(i))
	}
	for i, v := range e.validators {
		cfg.Validators = append(cfg.Validators, economy.Validator{ID: v, Stake: sp.Stakes[i]})
	}
	for i, h := range sp.Humans {
		cfg.Validators = append(cfg.Validators, economy.Validator{ID: humanBase + protocol.NodeID(i), Stake: h.Stake, Human: true})
		e.humanRand = append(e.humanRand, protocol.Stream(e.p.Seed, "human", uint64(i)))
	}
	e.humans = make([]humanTally, len(sp.Humans))
	e.sampleRand = protocol.Stream(e.p.Seed, "human-sample", 0)
	e.requests = protocol.Stream(e.p.Seed, "requests", 0)
	var err error
	if e.acct, err = economy.New(cfg, now); err != nil {
		return err
	}
	spec := e.p.spec()
	e.eval, err = models.New(spec)
	return err
}

// objective is the automated validators' assessment of the data sets:
// each reports the measured value of every set times the set's bounty,
// from the round's model's per-class error on its own validation rows; a
// colluder reports the cabal's sets at the most it reports any.
func (e *economyRun) objective(params []float64) ([][]float64, error) {
	if err := e.eval.SetParams(params); err != nil {
		return nil, err
	}
	out := make([][]float64, len(e.validators))
	for k, v := range e.validators {
		mult := datavalue.Bounty(classErrors(e.eval, e.validation[k]), e.spec.Bounty)
		row := make([]float64, len(e.spec.Data))
		top := 0.0
		for d := range row {
			row[d] = datavalue.Score(e.value.values()[d], datavalue.RowBounty(e.reg.sets[d].unique.Y, mult))
			top = max(top, row[d])
		}
		if e.colluding[v] {
			for d, ds := range e.spec.Data {
				if ds.Colluding {
					row[d] = top
				}
			}
		}
		out[k] = row
	}
	return out, nil
}

// classErrors is m's error rate per class on ds (0 for a class ds lacks).
func classErrors(m *models.Model, ds datasets.Dataset) []float64 {
	wrong, n := make([]float64, optdigits.Classes), make([]float64, optdigits.Classes)
	for i, x := range ds.X {
		y := ds.Y[i]
		n[y]++
		if m.Predict(x) != y {
			wrong[y]++
		}
	}
	for c := range wrong {
		if n[c] > 0 {
			wrong[c] /= n[c]
		}
	}
	return wrong
}

// assessHumans draws the round's rows to check — up to HumanSample of
// every data set as registered — and has every human validator label
// them, as far as its window allows.
func (e *economyRun) assessHumans() *economy.HumanChecks {
	if len(e.spec.Humans) == 0 {
		return nil
	}
	hc := &economy.HumanChecks{}
	var truth []int
	for d, s := range e.reg.sets {
		n := s.data.Len()
		for _, i := range e.sampleRand.Perm(n)[:min(e.spec.HumanSample, n)] {
			hc.Set = append(hc.Set, d)
			hc.Given = append(hc.Given, s.data.Y[i])
			truth = append(truth, s.truth[i])
		}
	}
	for i, h := range e.spec.Humans {
		l := h.Label(e.humanRand[i], truth, optdigits.Classes)
		e.humans[i].checked += l.Checked
		e.humans[i].cost += l.Cost
		hc.Labels = append(hc.Labels, l.Labels)
	}
	return hc
}
