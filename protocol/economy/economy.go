package economy

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/yuma"
)

// ErrConfig reports a Config or a round input the accountant cannot use.
var ErrConfig = errors.New("economy: bad configuration")

// Rule says how the objective and the human assessments of a data set
// combine into what it earns.
type Rule string

// Rules. I_obj is a data set's share of the objective Yuma incentive;
// a_hum the share of its checked rows whose given label is the humans'
// consensus label (HumanChecks).
const (
	// RuleObjective: the objective incentive alone; humans earn nothing.
	RuleObjective Rule = "objective"
	// RuleProduct: I_obj · a_hum, the measured value discounted by the
	// share of labels the humans found right.
	RuleProduct Rule = "product"
	// RuleWeighted: (1 − λ)·I_obj + λ·a_hum / Σ a_hum.
	RuleWeighted Rule = "weighted"
	// RuleGate: I_obj where a_hum ≥ the gate, else 0.
	RuleGate Rule = "gate"
)

// Validator is one validator of the economy.
type Validator struct {
	ID    protocol.NodeID
	Stake uint64 // base units
	// Human validators label rows of the data sets (HumanChecks); the
	// others score compute updates and report the data sets' measured
	// value.
	Human bool
}

// Accounts the accountant's ledger uses besides the participants', as
// node IDs for chain.KeyFor: no node of a run has them.
const (
	TreasuryID protocol.NodeID = 1<<32 - 2 - iota // posts the budget, gets the treasury share and what is left
	SettlerID                                     // the accountant's own account
	UsersID                                       // pays for requests to the model
)

// Config configures an Accountant.
type Config struct {
	// Shares split each round's pot into the compute, data and validation
	// pools (and the treasury).
	Shares rewards.Shares
	Yuma   yuma.Params
	Rule   Rule
	// HumanWeight is λ of RuleWeighted; Gate the agreement RuleGate needs.
	HumanWeight, Gate float64
	// Access and Price: who may use a model version (chain.AccessPaid
	// needs Price > 0 base units per request).
	Access chain.Access
	Price  uint64
	// PerRound is the emission paid each round, base units; Rounds how
	// many rounds the budget covers.
	PerRound uint64
	Rounds   uint64
	// Learners are the compute providers, DataProviders the data
	// providers, in the order of the rows and columns Round takes.
	Learners, DataProviders []protocol.NodeID
	Validators              []Validator
	// Classes is the number of labels rows can have (HumanChecks).
	Classes int
	// KeySeed derives every account (chain.KeyFor).
	KeySeed uint64
	// UserBalance is the users' genesis balance, which requests are paid
	// from.
	UserBalance uint64
}

// Round is one round's input. Matrices are automated validators × items,
// in Config order; a row the validator did not send is all zero or nil.
// Weights must be ≥ 0 or NaN (counted 0).
type Round struct {
	Round           uint64
	Version, Parent chain.Hash
	// Skipped rounds kept the model: no new version.
	Skipped bool
	// Compute: scores of the learners' updates. Objective: the data sets'
	// measured value.
	Compute, Objective [][]float64
	// Human: the human validators' label checks (nil: none this round).
	Human *HumanChecks
	// Requests is how many requests users made to the version this
	// round.
	Requests int
}

// HumanChecks are one round's label checks: the rows checked — the data
// set each comes from and the label its provider gave — and each human
// validator's label of each (humans in Config order; −1: not labelled).
// Each (row, label) is an item of the human Yuma consensus: a human's
// weight goes to the labels it gave, and a row's consensus label is the
// one κ of the humans' stake supports.
type HumanChecks struct {
	Set, Given []int
	Labels     [][]int
}

// Outcome is what a round paid and why.
type Outcome struct {
	Round uint64
	// Pot is PerRound plus Revenue, what requests paid this round.
	Pot, Revenue uint64
	Payout       rewards.Payout
	// The round's Yuma epochs; an epoch with no active validator is the
	// zero Epoch (its pool share went to the treasury). The human epoch's
	// items are (row, label) pairs, new each round, so it keeps no bonds.
	Compute, Objective, Human yuma.Epoch
	// DataScore is each data set's weight in the data pool, by the rule;
	// HumanAgreement the share of its checked rows whose given label is
	// the humans' consensus label (NaN where no row has one).
	DataScore, HumanAgreement []float64
	// ValidatorWeight is each validator's weight in the validation pool,
	// in Config order.
	ValidatorWeight []float64
}

// Accountant pays an economy's rounds on its own ledger: a job holding
// the emission budget, each new model version committed with its parent,
// requests paid into the job's escrow, and each round's pot split into
// pools and settled from it. Used from one goroutine.
type Accountant struct {
	cfg    Config
	local  chain.Local
	job    chain.JobID
	keys   map[protocol.NodeID]chain.Address
	auto   []int // indexes of automated validators in cfg.Validators
	humans []int

	compute, objective *yuma.State
	version            chain.Hash
	rounds             uint64
}

// New opens the economy's ledger: the treasury's budget of PerRound ×
// Rounds escrowed in a job whose versions the accountant commits.
func New(cfg Config, now protocol.Time) (*Accountant, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	budget := cfg.PerRound * cfg.Rounds
	key := func(id protocol.NodeID) chain.PubKey { return chain.PubKeyOf(chain.KeyFor(cfg.KeySeed, id)) }
	treasury, settler := key(TreasuryID), key(SettlerID)
	p := chain.DefaultParams()
	p.MinGasPrice = 0
	l, err := chain.NewLedger(chain.Config{Params: p, KeySeed: cfg.KeySeed, Settler: settler.Address(), ModeledVerification: true,
		Emission: func(uint64) uint64 { return 0 },
		Genesis: []chain.Account{{Address: treasury.Address(), Balance: budget},
			{Address: key(UsersID).Address(), Balance: cfg.UserBalance}}})
	if err != nil {
		return nil, err
	}
	a := &Accountant{cfg: cfg, local: chain.Local{L: l, Who: "economy: the accountant"}, keys: map[protocol.NodeID]chain.Address{},
		compute: yuma.New(cfg.Yuma), objective: yuma.New(cfg.Yuma)}
	for i, v := range cfg.Validators {
		if v.Human {
			a.humans = append(a.humans, i)
		} else {
			a.auto = append(a.auto, i)
		}
	}
	a.job = chain.JobIDFor(treasury.Address(), 0)
	a.local.Submit(now, treasury, chain.NewJobPost(0, 0, budget, []byte("economy")))
	a.local.Flush(now)
	return a, nil
}

func (c Config) validate() error {
	bad := func(f string, args ...any) error { return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(f, args...)) }
	var sum uint64
	for _, s := range c.Shares {
		sum += uint64(s)
	}
	if err := c.Yuma.Validate(); err != nil {
		return err
	}
	switch {
	case sum != uint64(rewards.BpsOne):
		return bad("shares sum to %d bps, want %d", sum, rewards.BpsOne)
	case c.Rule != RuleObjective && c.Rule != RuleProduct && c.Rule != RuleWeighted && c.Rule != RuleGate:
		return bad("rule %q", c.Rule)
	case !(c.HumanWeight >= 0 && c.HumanWeight <= 1) || !(c.Gate >= 0 && c.Gate <= 1):
		return bad("human weight %v, gate %v, want [0, 1]", c.HumanWeight, c.Gate)
	case (c.Access == chain.AccessPaid) != (c.Price > 0) || c.Access > chain.AccessPaid:
		return bad("%s access at price %d", c.Access, c.Price)
	case c.Rounds == 0 || c.PerRound == 0:
		return bad("%d rounds of %d base units: want both > 0", c.Rounds, c.PerRound)
	case c.PerRound > 0 && c.Rounds > math.MaxUint64/c.PerRound:
		return bad("budget of %d × %d overflows", c.PerRound, c.Rounds)
	case c.Classes < 2 && slices.ContainsFunc(c.Validators, func(v Validator) bool { return v.Human }):
		return bad("%d classes for human label checks", c.Classes)
	case len(c.Learners)+len(c.DataProviders) == 0 || len(c.Validators) == 0:
		return bad("%d learners, %d data providers, %d validators", len(c.Learners), len(c.DataProviders), len(c.Validators))
	}
	return nil
}

// Ledger is the accountant's ledger and the budget job's ID.
func (a *Accountant) Ledger() (*chain.Ledger, chain.JobID) { return a.local.L, a.job }

// Address is node id's account on the ledger.
func (a *Accountant) Address(id protocol.NodeID) chain.Address {
	ad, ok := a.keys[id]
	if !ok {
		ad = chain.AddressOf(chain.KeyFor(a.cfg.KeySeed, id))
		a.keys[id] = ad
	}
	return ad
}

func (a *Accountant) key(id protocol.NodeID) chain.PubKey {
	return chain.PubKeyOf(chain.KeyFor(a.cfg.KeySeed, id))
}

// Genesis commits the root model version (round 0), with the access rule.
func (a *Accountant) Genesis(now protocol.Time, v0 chain.Hash) {
	a.commitVersion(now, 0, v0, chain.Hash{})
	a.local.Flush(now)
}

func (a *Accountant) commitVersion(now protocol.Time, unit uint64, v, parent chain.Hash) {
	a.local.Submit(now, a.key(SettlerID), chain.NewVersionCommit(0, 0, chain.VersionCommit{Job: a.job, Unit: uint32(min(unit, math.MaxUint32)),
		Version: v, Parent: parent, Access: a.cfg.Access, Price: a.cfg.Price}))
	a.version = v
}

// Round pays one round: its version, its requests, three Yuma epochs
// (compute, objective data, human data), the pools, the settlement.
func (a *Accountant) Round(now protocol.Time, in Round) (Outcome, error) {
	if a.version == (chain.Hash{}) {
		return Outcome{}, fmt.Errorf("%w: Round before Genesis", ErrConfig)
	}
	if a.rounds >= a.cfg.Rounds {
		return Outcome{}, fmt.Errorf("%w: round %d past the %d the budget covers", ErrConfig, in.Round, a.cfg.Rounds)
	}
	a.rounds++
	out := Outcome{Round: in.Round}
	if !in.Skipped {
		a.commitVersion(now, in.Round, in.Version, in.Parent)
		a.local.Flush(now) // the mempool checks a user's request against committed versions
	}
	users := a.key(UsersID)
	for range in.Requests {
		a.local.Submit(now, users, chain.NewUse(0, 0, a.job, a.version))
	}
	a.local.Flush(now) // the settlement pays what the requests put in escrow
	if hi, lo := bits.Mul64(uint64(in.Requests), a.cfg.Price); hi == 0 {
		out.Revenue = lo
	}
	out.Pot = a.cfg.PerRound + out.Revenue

	var err error
	if out.Compute, err = a.epoch(a.compute, a.auto, in.Compute, len(a.cfg.Learners)); err != nil {
		return Outcome{}, fmt.Errorf("compute: %w", err)
	}
	if out.Objective, err = a.epoch(a.objective, a.auto, in.Objective, len(a.cfg.DataProviders)); err != nil {
		return Outcome{}, fmt.Errorf("objective: %w", err)
	}
	if out.Human, out.HumanAgreement, err = a.humanEpoch(in.Human); err != nil {
		return Outcome{}, fmt.Errorf("human: %w", err)
	}
	out.DataScore, err = a.dataScores(out)
	if err != nil {
		return Outcome{}, err
	}
	claims := rewards.PoolClaims{}
	for j, id := range a.cfg.Learners {
		if out.Compute.Incentive != nil {
			claims.Compute = append(claims.Compute, rewards.Weighted{To: rewards.NodeAccount(id), Weight: out.Compute.Incentive[j]})
		}
	}
	for d, id := range a.cfg.DataProviders {
		claims.Data = append(claims.Data, rewards.Weighted{To: rewards.NodeAccount(id), Weight: out.DataScore[d]})
	}
	out.ValidatorWeight = a.validatorWeights(out)
	for i, v := range a.cfg.Validators {
		claims.Validators = append(claims.Validators, rewards.Weighted{To: rewards.NodeAccount(v.ID), Weight: out.ValidatorWeight[i]})
	}
	if out.Payout, err = rewards.SplitPools(rewards.Tokens(out.Pot), a.cfg.Shares, claims); err != nil {
		return Outcome{}, err
	}
	out.Payout.Height = in.Round
	a.settle(now, out.Payout, a.rounds == a.cfg.Rounds)
	return out, nil
}

// epoch runs one Yuma epoch over the validators idx (indexes into
// Config.Validators) on their rows of w; a validator whose row is missing
// or all zero is inactive this epoch (no stake), as one that set no
// weights. No active validator: the zero Epoch. st nil runs it without
// bonds from earlier epochs.
func (a *Accountant) epoch(st *yuma.State, idx []int, w [][]float64, items int) (yuma.Epoch, error) {
	if len(idx) == 0 || items == 0 {
		return yuma.Epoch{}, nil
	}
	if w != nil && len(w) != len(idx) {
		return yuma.Epoch{}, fmt.Errorf("%w: %d rows for %d validators", ErrConfig, len(w), len(idx))
	}
	stake := make([]float64, len(idx))
	rows := make([][]float64, len(idx))
	active := false
	for k, i := range idx {
		rows[k] = make([]float64, items)
		var row []float64
		if w != nil {
			row = w[k]
		}
		if row != nil && len(row) != items {
			return yuma.Epoch{}, fmt.Errorf("%w: validator %d weighs %d items, want %d", ErrConfig, a.cfg.Validators[i].ID, len(row), items)
		}
		var sum float64
		for j, x := range row {
			if x > 0 && !math.IsInf(x, 1) {
				rows[k][j] = x
				sum += x
			}
		}
		if sum > 0 {
			stake[k] = float64(a.cfg.Validators[i].Stake)
			active = active || stake[k] > 0
		}
	}
	if !active {
		return yuma.Epoch{}, nil
	}
	if st == nil {
		return yuma.Step(a.cfg.Yuma, stake, rows, nil)
	}
	return st.Epoch(stake, rows)
}

// humanEpoch runs the human consensus over (row, label) items and returns
// each data set's agreement: the share of its rows with a consensus label
// whose given label is it.
func (a *Accountant) humanEpoch(hc *HumanChecks) (yuma.Epoch, []float64, error) {
	agree := make([]float64, len(a.cfg.DataProviders))
	for d := range agree {
		agree[d] = math.NaN()
	}
	if hc == nil || len(a.humans) == 0 {
		return yuma.Epoch{}, agree, nil
	}
	C, R := a.cfg.Classes, len(hc.Set)
	if len(hc.Given) != R || len(hc.Labels) != len(a.humans) {
		return yuma.Epoch{}, nil, fmt.Errorf("%w: %d rows with %d labels given, %d humans' labels for %d humans", ErrConfig, R, len(hc.Given), len(hc.Labels), len(a.humans))
	}
	w := make([][]float64, len(a.humans))
	for k, ls := range hc.Labels {
		if len(ls) != R {
			return yuma.Epoch{}, nil, fmt.Errorf("%w: human %d labelled %d rows of %d", ErrConfig, k, len(ls), R)
		}
		w[k] = make([]float64, R*C)
		for r, c := range ls {
			if c >= 0 && c < C {
				w[k][r*C+c] = 1
			}
		}
	}
	ep, err := a.epoch(nil, a.humans, w, R*C)
	if err != nil || ep.Consensus == nil {
		return ep, agree, err
	}
	right, with := make([]float64, len(agree)), make([]float64, len(agree))
	for r, d := range hc.Set {
		best, label := 0.0, -1
		for c := range C {
			if v := ep.Consensus[r*C+c]; v > best {
				best, label = v, c
			}
		}
		if label < 0 || d < 0 || d >= len(agree) {
			continue
		}
		with[d]++
		if hc.Given[r] == label {
			right[d]++
		}
	}
	for d := range agree {
		if with[d] > 0 {
			agree[d] = right[d] / with[d]
		}
	}
	return ep, agree, nil
}

// humanShare is the part of the data assessment the rule gives the
// humans, which is also their part of the data side of the validation
// pool.
func (a *Accountant) humanShare(out Outcome) float64 {
	if out.Human.Incentive == nil {
		return 0
	}
	switch a.cfg.Rule {
	case RuleWeighted:
		return a.cfg.HumanWeight
	case RuleProduct, RuleGate:
		return 0.5
	}
	return 0
}

func (a *Accountant) dataScores(out Outcome) ([]float64, error) {
	n := len(a.cfg.DataProviders)
	s := make([]float64, n)
	if out.Objective.Incentive == nil {
		return s, nil
	}
	humans := out.Human.Incentive != nil
	var agreeSum float64
	for _, x := range out.HumanAgreement {
		if x > 0 {
			agreeSum += x
		}
	}
	for d := range n {
		obj := out.Objective.Incentive[d]
		agree := out.HumanAgreement[d]
		switch {
		case !humans || a.cfg.Rule == RuleObjective:
			s[d] = obj
		case a.cfg.Rule == RuleWeighted:
			s[d] = (1 - a.cfg.HumanWeight) * obj
			if agree > 0 {
				s[d] += a.cfg.HumanWeight * agree / agreeSum
			}
		case math.IsNaN(agree):
			s[d] = obj // no human checked it: the objective measure stands
		case a.cfg.Rule == RuleProduct:
			s[d] = obj * agree
		case a.cfg.Rule == RuleGate && agree >= a.cfg.Gate:
			s[d] = obj
		}
	}
	return s, nil
}

// validatorWeights: a validator earns from each consensus it takes part
// in, its dividend there times the share of the pot that consensus
// steers (the compute pool; the data pool, split between the objective
// and the human assessment as the rule weighs them).
func (a *Accountant) validatorWeights(out Outcome) []float64 {
	w := make([]float64, len(a.cfg.Validators))
	h := a.humanShare(out)
	add := func(ep yuma.Epoch, idx []int, share float64) {
		for k, i := range idx {
			if ep.Dividends != nil {
				w[i] += share * ep.Dividends[k]
			}
		}
	}
	sh := a.cfg.Shares
	add(out.Compute, a.auto, float64(sh[rewards.ClassCompute]))
	add(out.Objective, a.auto, float64(sh[rewards.ClassData])*(1-h))
	add(out.Human, a.humans, float64(sh[rewards.ClassData])*h)
	return w
}

// settle pays a round's payout from the job's escrow, the treasury share
// to the treasury, closing the job after the last round.
func (a *Accountant) settle(now protocol.Time, p rewards.Payout, last bool) {
	var cs []chain.Credit
	for _, list := range [][]rewards.Payment{p.Compute, p.Data, p.Validators} {
		for _, pay := range list {
			id, ok := rewards.NodeOf(pay.To)
			if !ok || pay.Amount == 0 {
				continue
			}
			cs = append(cs, chain.Credit{To: a.Address(id), Amount: uint64(pay.Amount)})
		}
	}
	if p.Treasury > 0 {
		cs = append(cs, chain.Credit{To: a.Address(TreasuryID), Amount: uint64(p.Treasury)})
	}
	const perSettle = 1024
	settler := a.key(SettlerID)
	for {
		n := min(len(cs), perSettle)
		r := chain.Release{Job: a.job, Close: last && n == len(cs)}
		if n > 0 {
			r.Pay = slices.Clip(cs[:n])
		} else if !r.Close {
			break
		}
		a.local.Submit(now, settler, chain.NewSettle(0, 0, r))
		if cs = cs[n:]; len(cs) == 0 {
			break
		}
	}
	a.local.Flush(now)
}
