package node

import (
	"crypto/ed25519"
	"encoding/binary"
	"sync/atomic"

	"github.com/dais-sim/dais/live"
	"github.com/dais-sim/dais/live/p2p"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/wire"
)

// inbound stands between the host and the runtime: it decodes each frame
// a peer sent and refuses, counting by reason and kind, what the node's
// state machine would drop unseen, before it takes a place in the node's
// inbox:
//
//   - a frame that does not decode (undecodable);
//   - a vote, proposal or commit whose signatures do not verify against
//     the validator set (bad_signature) — the engine checks them again,
//     but a forged one never costs it a turn;
//   - a vote, proposal or commit for a height this node has committed
//     (stale: a replay, or a message that came too late to matter);
//   - a service message (market, learning) that is not in a Signed
//     envelope (unsigned), whose signature does not verify against its
//     author's account key (bad_signature), or whose inner frame is over
//     its kind's limit (oversize).
//
// A service message is handed on as its author's, however it came.
// Deliver runs on the transport's goroutines, concurrently; it keeps no
// state but the committed height, which the node goroutine publishes.
type inbound struct {
	rt       *live.Runtime
	set      *consensus.ValidatorSet
	network  []byte              // Network.Identity: what service signatures cover
	accounts []ed25519.PublicKey // by NodeID
	signed   map[wire.Kind]bool  // kinds that must come in a Signed envelope
	limits   map[wire.Kind]int   // inner frames' limits
	refused  *p2p.Refusals
	height   atomic.Uint64 // the committed height
}

func newInbound(netw *Network, set *consensus.ValidatorSet, refused *p2p.Refusals, limits map[wire.Kind]int) *inbound {
	in := &inbound{set: set, network: netw.Identity(), signed: map[wire.Kind]bool{}, limits: limits, refused: refused}
	for _, m := range netw.Nodes {
		k := netw.AccountKeyOf(m.ID)
		in.accounts = append(in.accounts, ed25519.PublicKey(k[:]))
	}
	for _, k := range signedKinds() {
		in.signed[k] = true
	}
	return in
}

// signedKinds are the kinds that travel in Signed envelopes: the
// services', whose state machines take the sender as the author.
func signedKinds() []wire.Kind {
	return append(kindRange(wire.KindJobPost, wire.KindDisputeReveal), kindRange(wire.KindModel, wire.KindCandidate)...)
}

// Deliver implements live.Receiver.
func (in *inbound) Deliver(from protocol.NodeID, frame []byte) {
	k := kindOf(frame)
	m, err := wire.Decode(frame)
	if err != nil {
		in.refuse(p2p.ReasonUndecodable, k, from)
		return
	}
	if s, ok := m.(*Signed); ok {
		k = kindOf(s.Inner)
		switch {
		case !in.signed[k]:
			in.refuse(p2p.ReasonUndecodable, wire.KindSigned, from)
			return
		case len(s.Inner) > in.limits[k]:
			in.refuse(p2p.ReasonOversize, k, from)
			return
		case int(s.Author) >= len(in.accounts) || !s.verify(in.network, in.accounts[s.Author]):
			in.refuse(p2p.ReasonBadSignature, k, from)
			return
		}
		if m, err = wire.Decode(s.Inner); err != nil {
			in.refuse(p2p.ReasonUndecodable, k, from)
			return
		}
		from = s.Author
	} else if in.signed[k] {
		in.refuse(p2p.ReasonUnsigned, k, from)
		return
	}
	if reason := in.check(m); reason != "" {
		in.refuse(reason, k, from)
		return
	}
	in.rt.DeliverMsg(from, m)
}

// check returns why a consensus message would be refused, or "".
func (in *inbound) check(m wire.Msg) string {
	committed := in.height.Load()
	switch m := m.(type) {
	case *bft.Vote:
		if m.Height <= committed {
			return p2p.ReasonStale
		}
		if !in.signedBy(m.Validator, m.SignBytes(), m.Sig) {
			return p2p.ReasonBadSignature
		}
	case *bft.Proposal:
		if m.Height <= committed {
			return p2p.ReasonStale
		}
		if !in.signedBy(m.Proposer, m.SignBytes(), m.Sig) {
			return p2p.ReasonBadSignature
		}
	case *bft.Commit:
		if m.Height <= committed {
			return p2p.ReasonStale
		}
		if bft.VerifyCommit(in.set, &consensus.Signer{}, m) != nil {
			return p2p.ReasonBadSignature
		}
	}
	return ""
}

// signedBy reports whether sig over msg is validator id's.
func (in *inbound) signedBy(id protocol.NodeID, msg, sig []byte) bool {
	i, ok := in.set.Index(id)
	return ok && ed25519.Verify(in.set.At(i).PubKey, msg, sig)
}

func (in *inbound) refuse(reason string, k wire.Kind, from protocol.NodeID) {
	in.refused.Add(reason, wire.Name(k), from)
}

// kindOf reads a frame's kind from its header (0 if it has none).
func kindOf(frame []byte) wire.Kind {
	if len(frame) < 2 {
		return 0
	}
	k, n := binary.Uvarint(frame[1:])
	if n <= 0 || k > 0xffff {
		return 0
	}
	return wire.Kind(k)
}
