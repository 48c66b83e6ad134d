package learn

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
)

// RuleFunc returns the aggregation rule for a round that collected n
// updates, so that rules sized by the number of attackers they tolerate
// (Krum's f, the trimmed mean's β) can follow the count; see NamedRule.
type RuleFunc func(n int) Rule

// CoordinatorConfig configures a Coordinator.
type CoordinatorConfig struct {
	// Learners are the candidates for training, ascending by ID.
	Learners []protocol.NodeID
	// Validators score each round's updates; none means no scoring, no
	// payouts and no filter.
	Validators []protocol.NodeID
	// PerRound is how many learners train each round, drawn from the
	// coordinator's stream; 0 or more than len(Learners) means all.
	PerRound int
	// Rounds is the number of rounds to run; 0 runs until Stop.
	Rounds uint64
	// Initial is the genesis model (round 0's parameters).
	Initial []float64
	// Rule aggregates a round's accepted updates.
	Rule RuleFunc
	// RoundTimeout is how long the coordinator waits for updates after
	// announcing a round; it stops waiting early once every selected
	// learner has sent one. ScoreTimeout is the same for the validators'
	// scores.
	RoundTimeout, ScoreTimeout protocol.Duration
	// MinUpdates is the fewest accepted updates a round aggregates
	// (0 means 1); with fewer, the model stays as it was.
	MinUpdates int
	// Filter drops updates whose median validator score is below
	// MinScore before aggregation (an update no validator scored is
	// kept). Without Filter, scores only decide payouts.
	Filter   bool
	MinScore float64
	// Pot is the training reward of a round in base units, split by
	// Payouts over the collected updates' scores.
	Pot uint64
	// RoundGap is how long the coordinator waits after committing a round
	// before announcing the next; 0 announces it at once. A live network
	// paces rounds with it, so that a round's payout can reach the chain
	// and a learner that restarted can rejoin before the next begins.
	RoundGap protocol.Duration
	// Resume, if set, is the last committed model of a coordinator that
	// ran before (a live process restarted on its data): it starts from
	// it, at round Resume.Round+1, instead of from Initial.
	Resume *Checkpoint
	// Aggregators, ascending, are the aggregator committee: when given,
	// the coordinator does not aggregate but commits the candidate that
	// Quorum of them report (see Aggregator); none means the coordinator
	// aggregates itself, trusted. AggregateTimeout is how long it waits
	// for the committee (0: ScoreTimeout).
	Aggregators      []protocol.NodeID
	AggregateTimeout protocol.Duration
	// Secure, if set, aggregates by secure aggregation (see SecureConfig):
	// the coordinator sees only the sum of a round's updates, so Rule is
	// not used (the sum's weighted mean is applied), validators score
	// nothing and the pot is split equally among the learners in the sum.
	// It needs no Aggregators and no Filter.
	Secure *SecureConfig
	// Chain, if set, puts the training job on a ledger the coordinator
	// holds (see ChainConfig): the budget is escrowed at Start, each
	// round's payouts are paid from it and its version committed, and the
	// rest is refunded after the last round. Pot 0 then means
	// Chain.Budget / Rounds. It needs Rounds > 0, Pot × Rounds ≤ Budget
	// and no Resume.
	Chain *ChainConfig
}

// Checkpoint is what a coordinator needs to resume: its last committed
// round and model (Committed carries every field of it).
type Checkpoint struct {
	Round           uint64
	Version, Parent Hash
	Params          []float64
}

// Coordinator runs the rounds. For round r it announces the current model
// (params, version, parent) to the round's learners and to the
// validators; collects updates until every selected learner has reported
// or RoundTimeout passes; asks the validators to score the collected
// updates and waits for them (or ScoreTimeout); emits each learner's
// median score and payout; aggregates the accepted updates, in learner
// order, with the rule; and commits the new model, whose version hashes
// its parameters with its parent's version. Then round r+1 starts.
//
// Without Aggregators the coordinator is trusted to aggregate honestly.
// With them it only orders the round: it sends the committee the accepted
// learners, in learner order, and commits the version that a quorum
// (more than two thirds) of the committee reports; a round without a
// quorum (by AggregateTimeout, or once every member has reported) leaves
// the model as it was, and every candidate that differs from what was
// committed is emitted as a Dissent. A coordinator that rejoins after a crash
// gives up the round it was in (committing it as skipped) and starts the
// next.
type Coordinator struct {
	cfg CoordinatorConfig

	round   uint64
	version Hash
	parent  Hash
	params  []float64
	phase   phase
	timer   protocol.TimerID

	selected []protocol.NodeID // ascending
	updates  map[protocol.NodeID]*LocalUpdate
	scores   map[protocol.NodeID][]float64
	replied  map[protocol.NodeID]bool

	// With a committee: the round's commit waiting for the tally, and the
	// last round decided (for late candidates).
	pending Committed
	tally   *tally
	decided struct {
		round   uint64
		version Hash
	}

	// With a ledger: the job on it and the payouts of the round in
	// progress, paid when it commits.
	chain *jobChain
	pay   []credit

	// With secure aggregation: the round's protocol state.
	sec *secureCoord
}

type phase uint8

const (
	idle phase = iota
	collecting
	scoring
	aggregating
	done
)

// Timer tags: the round in the high bits, the phase it ends in the low.
func tag(round uint64, p phase) uint64 { return round<<3 | uint64(p) }

// NewCoordinator returns a coordinator; cfg.Rule and cfg.Initial must be
// set and cfg.Learners ascending.
func NewCoordinator(cfg CoordinatorConfig) *Coordinator {
	if cfg.Rule == nil || len(cfg.Initial) == 0 {
		panic("learn: CoordinatorConfig needs a Rule and an Initial model")
	}
	if !slices.IsSorted(cfg.Learners) || !slices.IsSorted(cfg.Validators) || !ascending(cfg.Aggregators) {
		panic("learn: CoordinatorConfig.Learners, Validators and Aggregators must be ascending")
	}
	if cfg.Secure != nil && (len(cfg.Aggregators) > 0 || cfg.Filter) {
		panic("learn: secure aggregation hides individual updates from an aggregator committee and from a score filter")
	}
	if cfg.AggregateTimeout <= 0 {
		cfg.AggregateTimeout = cfg.ScoreTimeout
	}
	c := &Coordinator{cfg: cfg}
	if ch := cfg.Chain; ch != nil {
		if cfg.Rounds == 0 || cfg.Resume != nil {
			panic("learn: CoordinatorConfig.Chain needs Rounds > 0 and no Resume")
		}
		if c.cfg.Pot == 0 {
			c.cfg.Pot = ch.Budget / cfg.Rounds
		}
		if hi, lo := bits.Mul64(c.cfg.Pot, cfg.Rounds); hi != 0 || lo > ch.Budget {
			panic(fmt.Sprintf("learn: a pot of %d over %d rounds exceeds the budget of %d", c.cfg.Pot, cfg.Rounds, ch.Budget))
		}
		var err error
		if c.chain, err = newJobChain(*ch); err != nil {
			panic(err.Error())
		}
	}
	return c
}

// Ledger is the ledger the training job is on, and the job's ID; nil
// without CoordinatorConfig.Chain.
func (c *Coordinator) Ledger() (*chain.Ledger, chain.JobID) {
	if c.chain == nil {
		return nil, chain.JobID{}
	}
	return c.chain.l, c.chain.job
}

// Pot is the training reward of each round, in base units.
func (c *Coordinator) Pot() uint64 { return c.cfg.Pot }

// Round is the round in progress (or the last, once done).
func (c *Coordinator) Round() uint64 { return c.round }

// Version is the current model version.
func (c *Coordinator) Version() Hash { return c.version }

// Params is the current model; the caller must not modify it.
func (c *Coordinator) Params() []float64 { return c.params }

// Handle implements protocol.Node.
func (c *Coordinator) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		if r := c.cfg.Resume; c.params == nil && r != nil {
			c.round, c.version, c.parent, c.params = r.Round, r.Version, r.Parent, slices.Clone(r.Params)
			if c.cfg.Rounds > 0 && c.round >= c.cfg.Rounds {
				c.phase = done
				return
			}
			c.start(env, c.round+1)
			return
		}
		if c.params == nil {
			c.params = slices.Clone(c.cfg.Initial)
			c.version = VersionOf(Hash{}, c.params)
			env.Emit(Committed{Round: 0, Version: c.version, Params: c.params})
			if c.chain != nil {
				c.chain.post(env, c.version)
			}
			c.start(env, 1)
			return
		}
		if in.Rejoin && c.phase == idle {
			c.start(env, c.round+1) // its RoundGap timer died with it
			return
		}
		if in.Rejoin && c.phase != done {
			// What it collected died with it; learners train only for a
			// round newer than the last they saw, so the round is given
			// up and the next starts from the same model.
			// The round counts as run: given up in the last round, the job
			// ends (another round would pay a pot the escrow no longer
			// holds); late candidates for it are dissents.
			c.commit(env, Committed{Round: c.round, Parent: c.parent, Skipped: true,
				Final: c.cfg.Rounds > 0 && c.round >= c.cfg.Rounds})
		}
	case protocol.TimerFired:
		switch in.Tag {
		case tag(c.round+1, idle):
			if c.phase == idle {
				c.start(env, c.round+1)
			}
		case tag(c.round, collecting):
			if c.phase == collecting && c.sec != nil {
				c.secureClose(env)
			} else if c.phase == collecting {
				c.collected(env)
			}
		case tag(c.round, scoring):
			if c.phase == scoring {
				c.finish(env)
			}
		case tag(c.round, aggregating):
			if c.phase == aggregating {
				c.decide(env, c.version, false)
			}
		}
	case protocol.Recv:
		switch m := in.Msg.(type) {
		case *LocalUpdate:
			c.update(env, in.From, m)
		case *Scores:
			c.scored(env, in.From, m)
		case *Candidate:
			c.candidate(env, in.From, m)
		default:
			if c.cfg.Secure != nil {
				c.secureRecv(env, in.From, m)
			}
		}
	}
}

// start announces round r.
func (c *Coordinator) start(env protocol.Env, r uint64) {
	c.round, c.phase = r, collecting
	c.selected = c.cfg.Learners
	if k := c.cfg.PerRound; k > 0 && k < len(c.cfg.Learners) {
		c.selected = make([]protocol.NodeID, k)
		for i, j := range env.Rand().Perm(len(c.cfg.Learners))[:k] {
			c.selected[i] = c.cfg.Learners[j]
		}
		slices.Sort(c.selected)
	}
	c.updates = make(map[protocol.NodeID]*LocalUpdate, len(c.selected))
	c.scores = map[protocol.NodeID][]float64{}
	c.replied = map[protocol.NodeID]bool{}
	env.Emit(RoundStarted{Round: r, Version: c.version, Selected: len(c.selected)})
	m := &Model{Round: r, Version: c.version, Parent: c.parent, Params: c.params}
	for _, l := range c.selected {
		env.Send(l, m)
	}
	for _, v := range c.cfg.Validators {
		env.Send(v, m)
	}
	for _, a := range c.cfg.Aggregators {
		env.Send(a, m)
	}
	if c.cfg.Secure != nil {
		c.secureStart(env)
		return
	}
	c.timer = env.SetTimer(c.cfg.RoundTimeout, tag(r, collecting))
}

func (c *Coordinator) update(env protocol.Env, from protocol.NodeID, u *LocalUpdate) {
	reject := func(why string) { env.Emit(Rejected{Round: u.Round, Learner: from, Reason: why}) }
	switch {
	case u.Round != c.round || c.phase != collecting:
		reject(RejectLate)
	case u.Base != c.version:
		reject(RejectVersion)
	case !contains(c.selected, from):
		reject(RejectUnknown)
	case c.updates[from] != nil:
		reject(RejectDuplicate)
	case !fits(u.Delta, len(c.params)):
		reject(RejectMalformed)
	default:
		c.updates[from] = u
		if len(c.updates) == len(c.selected) {
			env.CancelTimer(c.timer)
			c.collected(env)
		}
	}
}

// ascending reports whether ids are strictly ascending, so that no
// learner is named twice.
func ascending(ids []protocol.NodeID) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			return false
		}
	}
	return true
}

func contains(sorted []protocol.NodeID, id protocol.NodeID) bool {
	_, ok := slices.BinarySearch(sorted, id)
	return ok
}

// collected closes the collection and asks the validators for scores.
func (c *Coordinator) collected(env protocol.Env) {
	c.phase = scoring
	if len(c.cfg.Validators) == 0 || len(c.updates) == 0 {
		c.finish(env)
		return
	}
	q := &ScoreRequest{Round: c.round, Version: c.version, Learners: c.learners()}
	for _, l := range q.Learners {
		q.Digests = append(q.Digests, DigestOf(c.updates[l]))
	}
	for _, v := range c.cfg.Validators {
		env.Send(v, q)
	}
	c.timer = env.SetTimer(c.cfg.ScoreTimeout, tag(c.round, scoring))
}

// learners are the learners with a collected update, ascending.
func (c *Coordinator) learners() []protocol.NodeID {
	ls := make([]protocol.NodeID, 0, len(c.updates))
	for l := range c.updates {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	return ls
}

func (c *Coordinator) scored(env protocol.Env, from protocol.NodeID, s *Scores) {
	if c.phase != scoring || s.Round != c.round || s.Version != c.version ||
		!contains(c.cfg.Validators, from) || c.replied[from] || !ascending(s.Learners) {
		return
	}
	c.replied[from] = true
	for i, l := range s.Learners {
		if c.updates[l] != nil { // scores of learners it was not asked about are ignored
			c.scores[l] = append(c.scores[l], s.Scores[i])
		}
	}
	if len(c.replied) == len(c.cfg.Validators) {
		env.CancelTimer(c.timer)
		c.finish(env)
	}
}

// finish pays, then aggregates and commits, or with a committee asks it
// to aggregate.
func (c *Coordinator) finish(env protocol.Env) {
	ls := c.learners()
	med := make([]float64, len(ls))
	for i, l := range ls {
		med[i] = MedianScore(c.scores[l])
	}
	var pay []uint64
	if len(c.cfg.Validators) > 0 {
		pay, _ = Payouts(med, c.cfg.Pot)
	}
	us := make([]Update, 0, len(ls))
	accepted := make([]protocol.NodeID, 0, len(ls))
	var digests []Hash
	for i, l := range ls {
		ok := !(c.cfg.Filter && med[i] < c.cfg.MinScore)
		if ok {
			u := c.updates[l]
			us = append(us, Update{Delta: u.Delta, Weight: float64(u.Samples)})
			accepted = append(accepted, l)
			if len(c.cfg.Aggregators) > 0 {
				digests = append(digests, DigestOf(u))
			}
		} else {
			env.Emit(Rejected{Round: c.round, Learner: l, Reason: RejectScore})
		}
		if pay != nil {
			env.Emit(Scored{Round: c.round, Learner: l, Score: med[i], Validators: len(c.scores[l]),
				Accepted: ok, Payout: pay[i], Pot: c.cfg.Pot})
			if c.chain != nil {
				c.pay = append(c.pay, credit{learner: l, amount: pay[i]})
			}
		}
	}
	final := c.cfg.Rounds > 0 && c.round >= c.cfg.Rounds
	ev := Committed{Round: c.round, Parent: c.version, Updates: len(ls), Accepted: len(us), Final: final}
	c.updates, c.scores, c.replied = nil, nil, nil
	if len(c.cfg.Aggregators) > 0 && len(us) >= max(c.cfg.MinUpdates, 1) {
		c.phase, c.pending, c.tally = aggregating, ev, newTally()
		q := &AggregateRequest{Round: c.round, Version: c.version, Learners: accepted, Digests: digests}
		for _, a := range c.cfg.Aggregators {
			env.Send(a, q)
		}
		c.timer = env.SetTimer(c.cfg.AggregateTimeout, tag(c.round, aggregating))
		return
	}
	if next, ok := step(c.cfg.Rule, c.cfg.MinUpdates, c.params, us); ok {
		c.parent, c.params = c.version, next
		c.version = VersionOf(c.parent, c.params)
	} else {
		ev.Skipped, ev.Parent = true, c.parent
	}
	c.commit(env, ev)
}

// onChain records a committed round on the ledger, if there is one: the
// payouts collected since the last commit, then the version.
func (c *Coordinator) onChain(env protocol.Env, ev Committed) {
	if c.chain != nil {
		c.chain.record(env, ev, c.pay)
		c.pay = c.pay[:0]
	}
}

// commit emits the round's commit of the current model and starts the
// next round, or ends after the last.
func (c *Coordinator) commit(env protocol.Env, ev Committed) {
	ev.Version, ev.Params = c.version, c.params
	c.decided.round, c.decided.version = ev.Round, ev.Version
	env.Emit(ev)
	c.onChain(env, ev)
	if ev.Final {
		c.phase = done
		return
	}
	if c.cfg.RoundGap > 0 {
		c.phase = idle
		c.timer = env.SetTimer(c.cfg.RoundGap, tag(c.round+1, idle))
		return
	}
	c.start(env, c.round+1)
}
