package attack

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/wire"
)

// hookEnv is an Env whose Send and Publish go through the decorator that
// owns it; everything else is the driver's. One value per decorator is
// pointed at the driver's Env for the length of each Handle call, so
// wrapping costs no allocation and keeps no Env past the call.
type hookEnv struct {
	protocol.Env
	send    func(env protocol.Env, to protocol.NodeID, m wire.Msg)
	publish func(env protocol.Env, t wire.Topic, m wire.Msg)
}

func (h *hookEnv) Send(to protocol.NodeID, m wire.Msg) { h.send(h.Env, to, m) }

func (h *hookEnv) Publish(t wire.Topic, m wire.Msg) {
	if h.publish == nil {
		h.Env.Publish(t, m)
		return
	}
	h.publish(h.Env, t, m)
}

func (h *hookEnv) run(inner protocol.Node, env protocol.Env, in protocol.Input) {
	h.Env = env
	inner.Handle(h, in)
	h.Env = nil
}

// Silent wraps a node so that it sends nothing: a validator that is up,
// counted in the set, and never votes, proposes or forwards, which is what
// a crashed or censoring validator looks like to the others.
func Silent(inner protocol.Node) protocol.Node {
	s := &silent{inner: inner}
	s.env.send = func(protocol.Env, protocol.NodeID, wire.Msg) {}
	s.env.publish = func(protocol.Env, wire.Topic, wire.Msg) {}
	return s
}

type silent struct {
	inner protocol.Node
	env   hookEnv
}

func (s *silent) Handle(env protocol.Env, in protocol.Input) { s.env.run(s.inner, env, in) }

// DelayVotes wraps a node so that every vote it sends leaves d late, in
// the order sent; other messages go at once. A validator on a slow or
// overloaded link, or one that votes late on purpose to stretch rounds.
func DelayVotes(inner protocol.Node, d protocol.Duration) protocol.Node {
	v := &delayVotes{inner: inner, delay: d}
	v.env.send = v.send
	return v
}

type heldVote struct {
	at protocol.Time
	to protocol.NodeID
	m  wire.Msg
}

type delayVotes struct {
	inner protocol.Node
	env   hookEnv
	delay protocol.Duration
	held  []heldVote // in release order: one delay for all
	timer protocol.TimerID
	armed bool
}

func (v *delayVotes) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		v.armed = false // the node's timers died if it was away
		v.env.run(v.inner, env, in)
		v.arm(env)
		return
	case protocol.TimerFired:
		if v.armed && in.ID == v.timer {
			v.armed = false
			now := env.Now()
			for len(v.held) > 0 && v.held[0].at <= now {
				env.Send(v.held[0].to, v.held[0].m)
				v.held = v.held[1:]
			}
			v.arm(env)
			return
		}
	}
	v.env.run(v.inner, env, in)
}

func (v *delayVotes) send(env protocol.Env, to protocol.NodeID, m wire.Msg) {
	if _, ok := m.(*bft.Vote); !ok {
		env.Send(to, m)
		return
	}
	v.held = append(v.held, heldVote{at: env.Now().Add(v.delay), to: to, m: m})
	v.arm(env)
}

func (v *delayVotes) arm(env protocol.Env) {
	if v.armed || len(v.held) == 0 {
		return
	}
	v.timer = env.SetTimer(v.held[0].at.Sub(env.Now()), 0)
	v.armed = true
}

// Coalition is what colluding equivocators share: for each height and
// round one of them proposed in, the two blocks it sent to the two sides.
// It models a perfect side channel between attackers (the usual adversary
// of BFT proofs); in the simulator nodes run one at a time, so sharing it
// stays deterministic. Live mode would need the colluders in one process.
type Coalition struct {
	splits map[hr]split
}

type hr struct {
	height uint64
	round  uint32
}

type split struct{ a, b consensus.Hash }

// NewCoalition returns an empty coalition.
func NewCoalition() *Coalition { return &Coalition{splits: map[hr]split{}} }

// Splits is how many proposals the coalition split.
func (c *Coalition) Splits() int { return len(c.splits) }

// EquivocateConfig configures an equivocating validator.
type EquivocateConfig struct {
	// Signer is the validator's own (the attacker holds its key).
	Signer consensus.Signer
	// App builds the second block of a split proposal: MakeBlock at the
	// same height and parent, one nanosecond later.
	App consensus.App
	// InB says which nodes get the second copies ("side B"); the rest get
	// what the honest validator inside would have sent ("side A").
	InB func(protocol.NodeID) bool
	// Coalition, if not nil, is shared by colluding equivocators. When one
	// of them proposes, it records its two blocks, and every member votes
	// (prevote and precommit, whatever its own node decided) for the A
	// block towards side A and for the B block towards side B: each side
	// then sees the attackers' stake behind its own block. With more than
	// a third of the stake this breaks safety; with less it must not. In
	// rounds no member proposes, members vote as their honest node does,
	// keeping the honest validators together until the next split.
	Coalition *Coalition
}

// Equivocate wraps an honest validator so that it signs two different
// proposals and votes for each height and round it takes part in, and
// sends one to side A and the other to side B. Without a Coalition the
// second vote is for nil when the honest one is for a block, and for a
// block nobody has when the honest one is nil; with one, see
// EquivocateConfig.Coalition.
func Equivocate(inner *bft.Validator, cfg EquivocateConfig) protocol.Node {
	e := &equivocator{inner: inner, cfg: cfg, twins: map[twinKey]twin{}}
	e.env.send = e.send
	return e
}

type twinKey struct {
	t      bft.VoteType // 0 for a proposal
	height uint64
	round  uint32
}

// twin is the pair of messages an equivocator sends for one step.
type twin struct{ a, b wire.Msg }

type equivocator struct {
	inner *bft.Validator
	cfg   EquivocateConfig
	env   hookEnv
	twins map[twinKey]twin
	low   uint64 // lowest height in twins
}

func (e *equivocator) Handle(env protocol.Env, in protocol.Input) { e.env.run(e.inner, env, in) }

func (e *equivocator) send(env protocol.Env, to protocol.NodeID, m wire.Msg) {
	var tw twin
	switch m := m.(type) {
	case *bft.Proposal:
		if m.Proposer != env.Self() {
			env.Send(to, m)
			return
		}
		tw = e.proposal(env, m)
	case *bft.Vote:
		if m.Validator != env.Self() {
			env.Send(to, m)
			return
		}
		tw = e.vote(m)
	default:
		env.Send(to, m)
		return
	}
	if e.cfg.InB(to) {
		env.Send(to, tw.b)
	} else {
		env.Send(to, tw.a)
	}
}

// proposal returns the honest proposal and its twin on a second block.
func (e *equivocator) proposal(env protocol.Env, p *bft.Proposal) twin {
	k := twinKey{0, p.Height, p.Round}
	if tw, ok := e.twins[k]; ok {
		return tw
	}
	q := *p
	q.Block, q.BlockHash = e.cfg.App.MakeBlock(p.Height, e.inner.Parent(), env.Self(), p.Time+1)
	q.Sig = e.sign(q.SignBytes)
	tw := twin{p, &q}
	e.remember(k, tw)
	if e.cfg.Coalition != nil {
		e.cfg.Coalition.splits[hr{p.Height, p.Round}] = split{p.BlockHash, q.BlockHash}
	}
	return tw
}

// vote returns the pair of votes for the step v belongs to.
func (e *equivocator) vote(v *bft.Vote) twin {
	k := twinKey{v.Type, v.Height, v.Round}
	if tw, ok := e.twins[k]; ok {
		return tw
	}
	mk := func(h consensus.Hash) *bft.Vote {
		if h == v.BlockHash {
			return v
		}
		w := *v
		w.BlockHash = h
		w.Sig = e.sign(w.SignBytes)
		return &w
	}
	var tw twin
	if s, ok := e.cfg.Coalition.split(v.Height, v.Round); ok {
		tw = twin{mk(s.a), mk(s.b)}
	} else if e.cfg.Coalition != nil {
		// Nothing to split: vote honestly, so that both sides stay at one
		// height and round for the next split.
		tw = twin{v, v}
	} else if !v.BlockHash.IsZero() {
		tw = twin{v, mk(consensus.Hash{})}
	} else {
		tw = twin{v, mk(phantom(v))}
	}
	e.remember(k, tw)
	return tw
}

func (c *Coalition) split(h uint64, r uint32) (split, bool) {
	if c == nil {
		return split{}, false
	}
	s, ok := c.splits[hr{h, r}]
	return s, ok
}

// phantom is the hash of a block nobody has, for a conflicting vote.
func phantom(v *bft.Vote) consensus.Hash {
	b := binary.BigEndian.AppendUint64([]byte("dais/attack/phantom"), v.Height)
	b = binary.BigEndian.AppendUint32(b, v.Round)
	return sha256.Sum256(append(b, byte(v.Type)))
}

func (e *equivocator) sign(sb func() []byte) []byte {
	if e.cfg.Signer.Modeled() {
		return e.cfg.Signer.Sign(nil)
	}
	return e.cfg.Signer.Sign(sb())
}

// remember caches a twin so resends repeat it, and forgets heights the
// node has left: deleting by a height bound gives the same map in any
// order.
func (e *equivocator) remember(k twinKey, tw twin) {
	e.twins[k] = tw
	if h := e.inner.Height(); h > e.low+8 {
		for old := range e.twins {
			if old.height+4 < h {
				delete(e.twins, old)
			}
		}
		e.low = h - 4
	}
}
