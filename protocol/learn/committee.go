package learn

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// The aggregator committee. With CoordinatorConfig.Aggregators set, the
// coordinator does not aggregate: it sends the committee the list of
// accepted learners (AggregateRequest), each Aggregator aggregates the
// updates it received from those learners with the round's rule on its
// own GPU (a gpu.Job, AggregateJob) and reports its candidate model
// (Candidate), and the coordinator commits a version only when more than
// two thirds of the committee report the same one (Quorum). Every
// candidate that differs from what was committed is recorded (Dissent).

func init() {
	wire.Register(wire.KindAggregateRequest, "learn.AggregateRequest", decodeAggregateRequest)
	wire.Register(wire.KindCandidate, "learn.Candidate", decodeCandidate)
}

// Quorum is the number of identical candidates that commits a version in
// a committee of a: the smallest count above two thirds, ⌊2a/3⌋+1. With
// f liars and f < a/3, the a−f honest aggregators reach it and the liars
// cannot; with a/3 ≤ f ≤ 2a/3 (liars agreeing on one lie) neither side
// can, and the round commits nothing.
func Quorum(a int) int { return 2*a/3 + 1 }

// AggregateRequest asks the committee to aggregate a round's accepted
// updates, in the order given.
type AggregateRequest struct {
	Round uint64
	// Version is the round's base model.
	Version Hash
	// Learners are the learners whose updates go into the aggregate,
	// ascending: the order the rule sees them in.
	Learners []protocol.NodeID
	// Digests are the DigestOf of those updates as the coordinator holds
	// them (the copies its validators scored), one per learner: an
	// aggregator whose copy differs reports nothing.
	Digests []Hash
}

// Candidate is one aggregator's result for a round, standing for its
// signed statement "the round's aggregate is Version". Version is
// VersionOf(Parent, Params), or Parent itself (with no Params) when the
// rule could not move the model. The model travels with its hash so that
// the coordinator needs no single aggregator's word for the bytes: it
// checks the hash of what it commits. Receivers must treat Params as
// read-only.
type Candidate struct {
	Round   uint64
	Parent  Hash
	Version Hash
	Params  []float64
}

// Kind implements wire.Msg.
func (*AggregateRequest) Kind() wire.Kind { return wire.KindAggregateRequest }

// Kind implements wire.Msg.
func (*Candidate) Kind() wire.Kind { return wire.KindCandidate }

// AppendBody implements wire.Msg.
func (r *AggregateRequest) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, r.Round)
	b = wire.AppendBytes(b, r.Version[:])
	b = appendNodes(b, r.Learners)
	return appendHashes(b, r.Digests)
}

// WireSize implements wire.Msg.
func (r *AggregateRequest) WireSize() int {
	return wire.HeaderSize(wire.KindAggregateRequest) + wire.UvarintSize(r.Round) + hashSize + nodesSize(r.Learners) + hashesSize(r.Digests)
}

// AppendBody implements wire.Msg.
func (c *Candidate) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, c.Round)
	b = wire.AppendBytes(b, c.Parent[:])
	b = wire.AppendBytes(b, c.Version[:])
	return appendVector(b, c.Params)
}

// WireSize implements wire.Msg.
func (c *Candidate) WireSize() int {
	return wire.HeaderSize(wire.KindCandidate) + wire.UvarintSize(c.Round) + 2*hashSize + vectorSize(c.Params)
}

func decodeAggregateRequest(body []byte) (wire.Msg, error) {
	r := newReader(body)
	q := &AggregateRequest{Round: r.Uvarint()}
	q.Version = r.hash()
	q.Learners = r.nodes()
	q.Digests = r.hashes()
	if err := r.done(); err != nil {
		return nil, err
	}
	if len(q.Digests) != len(q.Learners) {
		return nil, fmt.Errorf("%w: %d digests for %d learners", ErrMalformed, len(q.Digests), len(q.Learners))
	}
	return q, nil
}

func decodeCandidate(body []byte) (wire.Msg, error) {
	r := newReader(body)
	c := &Candidate{Round: r.Uvarint()}
	c.Parent = r.hash()
	c.Version = r.hash()
	c.Params = r.vector()
	if err := r.done(); err != nil {
		return nil, err
	}
	return c, nil
}

// step is one round's move of the model: params plus the rule's aggregate
// of us, or false when the rule cannot move it (too few updates, a rule
// error, a result of the wrong length or not finite). The coordinator and
// every aggregator take the same step, so honest ones agree to the bit.
func step(rule RuleFunc, minUpdates int, params []float64, us []Update) ([]float64, bool) {
	if len(us) < max(minUpdates, 1) {
		return nil, false
	}
	delta, err := rule(len(us)).Aggregate(us)
	if err != nil || len(delta) != len(params) {
		return nil, false
	}
	next := make([]float64, len(params))
	for i, p := range params {
		next[i] = p + delta[i]
		if math.IsNaN(next[i]) || math.IsInf(next[i], 0) {
			return nil, false
		}
	}
	return next, true
}

// AggregateJob is the gpu.Job of one aggregation of us onto global with
// rule: its Work outputs the next model ([]float64), or nil when the rule
// cannot move it. Its cost, by rule (n updates of d values; comparisons
// count as FLOPs):
//
//   - fedavg: 2nd (a scaled add per value);
//   - median: nd·⌈log₂n⌉ (a sort per coordinate);
//   - trimmed mean: nd·⌈log₂n⌉ + nd;
//   - krum, multi-krum: 3d·n(n−1)/2 (pairwise squared distances) + n²log₂n;
//   - foolsgold: 3d·n(n−1)/2 (pairwise cosines) + 2nd;
//   - clip(…)+inner: 3nd (norms and scaling) plus the inner rule.
//
// Each update is read once (8 bytes a value) and the result written.
func AggregateJob(rule RuleFunc, minUpdates int, global []float64, us []Update) gpu.Job {
	n, d := float64(len(us)), float64(len(global))
	name := ""
	if len(us) > 0 {
		name = rule(len(us)).Name()
	}
	return gpu.Job{
		Kind:      "aggregate",
		FLOPs:     aggregateFLOPs(name, n, d),
		Bytes:     8 * (n + 2) * d,
		MemBytes:  int64(8 * (n + 2) * d),
		Precision: gpu.FP32,
		Work:      aggregateWork{rule: rule, min: minUpdates, global: global, us: us},
	}
}

func aggregateFLOPs(name string, n, d float64) float64 {
	logn := math.Ceil(math.Log2(max(n, 2)))
	pairs := 3 * d * n * (n - 1) / 2
	if inner, ok := strings.CutPrefix(name, "clip("); ok {
		_, inner, _ = strings.Cut(inner, ")+")
		return 3*n*d + aggregateFLOPs(inner, n, d)
	}
	switch {
	case strings.HasPrefix(name, "median"):
		return n * d * logn
	case strings.HasPrefix(name, "trimmed-mean"):
		return n*d*logn + n*d
	case strings.HasPrefix(name, "krum"), strings.HasPrefix(name, "multi-krum"):
		return pairs + n*n*logn
	case strings.HasPrefix(name, "foolsgold"):
		return pairs + 2*n*d
	}
	return 2 * n * d
}

// aggregateWork is AggregateJob's real computation.
type aggregateWork struct {
	rule   RuleFunc
	min    int
	global []float64
	us     []Update
}

func (w aggregateWork) Run() (any, error) {
	next, ok := step(w.rule, w.min, w.global, w.us)
	if !ok {
		return []float64(nil), nil
	}
	return next, nil
}

// AggregatorConfig configures an Aggregator.
type AggregatorConfig struct {
	// Coordinator announces rounds and asks for aggregates; only its
	// messages are obeyed.
	Coordinator protocol.NodeID
	// Rule and MinUpdates are the coordinator's (CoordinatorConfig); the
	// aggregation runs as AggregateJob.
	Rule       RuleFunc
	MinUpdates int
}

// Aggregator is a member of the aggregator committee. It keeps the
// updates learners send it for the current round (as a Validator does)
// and, when the coordinator asks, aggregates the listed ones in the
// listed order with one job on its own GPU and reports the result as a
// Candidate. If it lacks a listed update it reports nothing: a candidate
// over other updates would only be a dissent.
type Aggregator struct {
	cfg     AggregatorConfig
	round   uint64
	version Hash
	global  []float64
	updates roundUpdates
	jobs    map[protocol.JobID]aggregation
}

type aggregation struct {
	round uint64
	base  Hash
}

// NewAggregator returns an aggregator; cfg.Rule must not be nil.
func NewAggregator(cfg AggregatorConfig) *Aggregator {
	if cfg.Rule == nil {
		panic("learn: AggregatorConfig.Rule is nil")
	}
	return &Aggregator{cfg: cfg, updates: roundUpdates{}, jobs: map[protocol.JobID]aggregation{}}
}

// Handle implements protocol.Node.
func (a *Aggregator) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		if in.Rejoin {
			clear(a.jobs)
		}
	case protocol.Recv:
		switch m := in.Msg.(type) {
		case *Model:
			if in.From != a.cfg.Coordinator || m.Round <= a.round || VersionOf(m.Parent, m.Params) != m.Version {
				return
			}
			a.round, a.version, a.global = m.Round, m.Version, m.Params
			a.updates.prune(a.round)
		case *LocalUpdate:
			a.updates.keep(a.round, in.From, m)
		case *AggregateRequest:
			if in.From == a.cfg.Coordinator {
				a.aggregate(env, m)
			}
		}
	case protocol.JobDone:
		j, ok := a.jobs[in.ID]
		if !ok {
			return
		}
		delete(a.jobs, in.ID)
		c := &Candidate{Round: j.round, Parent: j.base, Version: j.base}
		if next, ok := in.Result.Output.([]float64); ok && in.Result.Err == "" && next != nil {
			c.Params, c.Version = next, VersionOf(j.base, next)
		}
		env.Send(a.cfg.Coordinator, c)
	}
}

func (a *Aggregator) aggregate(env protocol.Env, q *AggregateRequest) {
	if q.Round != a.round || q.Version != a.version || !ascending(q.Learners) || len(q.Digests) != len(q.Learners) {
		return
	}
	us := make([]Update, 0, len(q.Learners))
	for i, l := range q.Learners {
		u := a.updates[q.Round][l]
		if u == nil || u.Base != a.version || !fits(u.Delta, len(a.global)) {
			return
		}
		if DigestOf(u) != q.Digests[i] {
			// The learner sent this aggregator another update than the
			// one scored: aggregating either would commit an update no
			// validator saw, or disagree with members that hold the
			// scored one.
			env.Emit(Rejected{Round: q.Round, Learner: l, Reason: RejectEquivocated})
			return
		}
		us = append(us, Update{Delta: u.Delta, Weight: float64(u.Samples)})
	}
	id := env.Submit(AggregateJob(a.cfg.Rule, a.cfg.MinUpdates, a.global, us))
	a.jobs[id] = aggregation{round: q.Round, base: a.version}
}

// roundUpdates holds a validator's or an aggregator's updates by round
// and learner: those of its current round and any that arrive for the
// next ahead of its model. A learner's first update of a round is the one
// kept.
type roundUpdates map[uint64]map[protocol.NodeID]*LocalUpdate

// keep records u from a learner if it is for round current or the next.
func (b roundUpdates) keep(current uint64, from protocol.NodeID, u *LocalUpdate) {
	if u.Round < current || u.Round > current+1 {
		return
	}
	byLearner := b[u.Round]
	if byLearner == nil {
		byLearner = map[protocol.NodeID]*LocalUpdate{}
		b[u.Round] = byLearner
	}
	if _, dup := byLearner[from]; !dup {
		byLearner[from] = u
	}
}

// prune drops every round before current; deleting them gives the same
// map in any order.
func (b roundUpdates) prune(current uint64) {
	for r := range b {
		if r < current {
			delete(b, r)
		}
	}
}

// tally is the coordinator's count of a round's candidates.
type tally struct {
	from   map[protocol.NodeID]Hash
	votes  map[Hash]int
	params map[Hash][]float64
	bad    []protocol.NodeID // candidates that do not hash to what they claim
}

func newTally() *tally {
	return &tally{from: map[protocol.NodeID]Hash{}, votes: map[Hash]int{}, params: map[Hash][]float64{}}
}

// candidate handles one aggregator's candidate at the coordinator.
func (c *Coordinator) candidate(env protocol.Env, from protocol.NodeID, m *Candidate) {
	if !contains(c.cfg.Aggregators, from) {
		return
	}
	t := c.tally
	if m.Round != c.round || c.phase != aggregating || t == nil {
		// Late: its round was decided without it. Record it if it differs.
		if m.Round == c.decided.round && m.Version != c.decided.version {
			env.Emit(Dissent{Round: m.Round, Aggregator: from, Version: m.Version, Committed: c.decided.version, Reason: DissentLate})
		}
		return
	}
	if _, dup := t.from[from]; dup {
		return
	}
	if m.Parent != c.version || (m.Version != c.version &&
		(!fits(m.Params, len(c.params)) || VersionOf(c.version, m.Params) != m.Version)) {
		t.from[from] = Hash{}
		t.bad = append(t.bad, from)
	} else {
		t.from[from] = m.Version
		t.votes[m.Version]++
		if m.Version != c.version && t.params[m.Version] == nil {
			t.params[m.Version] = m.Params
		}
		if t.votes[m.Version] >= Quorum(len(c.cfg.Aggregators)) {
			env.CancelTimer(c.timer)
			c.decide(env, m.Version, true)
			return
		}
	}
	if len(t.from) == len(c.cfg.Aggregators) {
		env.CancelTimer(c.timer)
		c.decide(env, c.version, false)
	}
}

// decide commits version (the round's base for none) and records every
// candidate that differs: with quorum false, no version had a quorum and
// the model stays as it was.
func (c *Coordinator) decide(env protocol.Env, version Hash, quorum bool) {
	t := c.tally
	for _, a := range c.cfg.Aggregators {
		v, ok := t.from[a]
		switch {
		case !ok:
			if !quorum {
				env.Emit(Dissent{Round: c.round, Aggregator: a, Committed: version, Reason: DissentMissing})
			}
		case slices.Contains(t.bad, a):
			env.Emit(Dissent{Round: c.round, Aggregator: a, Committed: version, Reason: DissentMalformed})
		case !quorum:
			env.Emit(Dissent{Round: c.round, Aggregator: a, Version: v, Committed: version, Reason: DissentNoQuorum})
		case v != version:
			env.Emit(Dissent{Round: c.round, Aggregator: a, Version: v, Committed: version, Reason: DissentOutvoted})
		}
	}
	ev := c.pending
	ev.Votes = t.votes[version]
	if quorum && version != c.version {
		c.parent, c.params, c.version = c.version, t.params[version], version
	} else {
		ev.Skipped, ev.Parent, ev.NoQuorum = true, c.parent, !quorum
	}
	c.tally = nil
	c.commit(env, ev)
}
