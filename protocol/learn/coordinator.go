package learn

import (
	"math"
	"slices"

	"github.com/dais-sim/dais/protocol"
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
// The coordinator is trusted to aggregate honestly; everything it decides
// is a function of the messages it got, so a committee replaying them
// would reach the same version. A coordinator that rejoins after a crash
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
}

type phase uint8

const (
	idle phase = iota
	collecting
	scoring
	done
)

// Timer tags: the round in the high bits, the phase it ends in the low.
func tag(round uint64, p phase) uint64 { return round<<2 | uint64(p) }

// NewCoordinator returns a coordinator; cfg.Rule and cfg.Initial must be
// set and cfg.Learners ascending.
func NewCoordinator(cfg CoordinatorConfig) *Coordinator {
	if cfg.Rule == nil || len(cfg.Initial) == 0 {
		panic("learn: CoordinatorConfig needs a Rule and an Initial model")
	}
	if !slices.IsSorted(cfg.Learners) || !slices.IsSorted(cfg.Validators) {
		panic("learn: CoordinatorConfig.Learners and Validators must be ascending")
	}
	return &Coordinator{cfg: cfg}
}

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
		if c.params == nil {
			c.params = slices.Clone(c.cfg.Initial)
			c.version = VersionOf(Hash{}, c.params)
			env.Emit(Committed{Round: 0, Version: c.version, Params: c.params})
			c.start(env, 1)
			return
		}
		if in.Rejoin && c.phase != done {
			// What it collected died with it; learners train only for a
			// round newer than the last they saw, so the round is given
			// up and the next starts from the same model.
			env.Emit(Committed{Round: c.round, Version: c.version, Parent: c.parent, Skipped: true, Params: c.params})
			c.start(env, c.round+1)
		}
	case protocol.TimerFired:
		switch in.Tag {
		case tag(c.round, collecting):
			if c.phase == collecting {
				c.collected(env)
			}
		case tag(c.round, scoring):
			if c.phase == scoring {
				c.finish(env)
			}
		}
	case protocol.Recv:
		switch m := in.Msg.(type) {
		case *LocalUpdate:
			c.update(env, in.From, m)
		case *Scores:
			c.scored(env, in.From, m)
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

// finish pays, aggregates, commits and starts the next round.
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
	for i, l := range ls {
		ok := !(c.cfg.Filter && med[i] < c.cfg.MinScore)
		if ok {
			u := c.updates[l]
			us = append(us, Update{Delta: u.Delta, Weight: float64(u.Samples)})
		} else {
			env.Emit(Rejected{Round: c.round, Learner: l, Reason: RejectScore})
		}
		if pay != nil {
			env.Emit(Scored{Round: c.round, Learner: l, Score: med[i], Validators: len(c.scores[l]),
				Accepted: ok, Payout: pay[i], Pot: c.cfg.Pot})
		}
	}
	final := c.cfg.Rounds > 0 && c.round >= c.cfg.Rounds
	ev := Committed{Round: c.round, Parent: c.version, Updates: len(ls), Accepted: len(us), Final: final}
	if next, ok := c.aggregate(us); ok {
		c.parent, c.params = c.version, next
		c.version = VersionOf(c.parent, c.params)
	} else {
		ev.Skipped, ev.Parent = true, c.parent
	}
	ev.Version, ev.Params = c.version, c.params
	env.Emit(ev)
	c.updates, c.scores, c.replied = nil, nil, nil
	if final {
		c.phase = done
		return
	}
	c.start(env, c.round+1)
}

// aggregate returns the next model, or false when the round cannot move
// it: too few updates, a rule error, or a non-finite result.
func (c *Coordinator) aggregate(us []Update) ([]float64, bool) {
	if len(us) < max(c.cfg.MinUpdates, 1) {
		return nil, false
	}
	delta, err := c.cfg.Rule(len(us)).Aggregate(us)
	if err != nil || len(delta) != len(c.params) {
		return nil, false
	}
	next := make([]float64, len(c.params))
	for i, p := range c.params {
		next[i] = p + delta[i]
		if math.IsNaN(next[i]) || math.IsInf(next[i], 0) {
			return nil, false
		}
	}
	return next, true
}
