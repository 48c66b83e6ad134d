package consensusrun

import (
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/wire"
	"github.com/dais-sim/dais/sim"
)

// signedRounds charges a validator's store write before the first
// proposal or vote it sends in each new (height, round): a live validator
// records the round it signs in, synced to disk, before the message
// leaves, so that after a restart it never signs that round differently
// (live/node's durable guard). Params.SignedRoundNs is the write.
type signedRounds struct {
	inner protocol.Node
	env   signedEnv
}

type signedEnv struct {
	protocol.Env
	w      *sim.World
	cost   protocol.Duration
	height uint64
	round  uint32
	signed bool
}

func newSignedRounds(inner protocol.Node, w *sim.World, cost protocol.Duration) *signedRounds {
	return &signedRounds{inner: inner, env: signedEnv{w: w, cost: cost}}
}

// Handle implements protocol.Node.
func (s *signedRounds) Handle(env protocol.Env, in protocol.Input) {
	s.env.Env = env
	s.inner.Handle(&s.env, in)
	s.env.Env = nil
}

func (e *signedEnv) Send(to protocol.NodeID, m wire.Msg) {
	e.guard(m)
	e.Env.Send(to, m)
}

func (e *signedEnv) Publish(t wire.Topic, m wire.Msg) {
	e.guard(m)
	e.Env.Publish(t, m)
}

func (e *signedEnv) guard(m wire.Msg) {
	var h uint64
	var r uint32
	switch m := m.(type) {
	case *bft.Proposal:
		if m.Proposer != e.Self() {
			return
		}
		h, r = m.Height, m.Round
	case *bft.Vote:
		if m.Validator != e.Self() {
			return
		}
		h, r = m.Height, m.Round
	default:
		return
	}
	if e.signed && !(h > e.height || (h == e.height && r > e.round)) {
		return
	}
	e.height, e.round, e.signed = h, r, true
	e.w.Charge(e.Self(), e.cost)
}
