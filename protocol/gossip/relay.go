package gossip

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
)

// Protocol is how a node passes a block on to its peers.
type Protocol uint8

const (
	// Push sends the whole block to every peer but the one it came from
	// (the flood): fastest per hop, every peer pays the block's bytes.
	Push Protocol = iota
	// Announce sends an announcement (an inventory entry, or the header
	// with Config.Headers); a peer without the block requests it from the
	// first peer that announced it and downloads it once, as Bitcoin's
	// inv/getdata and SimBlock's relay do.
	Announce
	// Compact relays BIP 152 compact blocks: a sketch of 6-byte short
	// transaction IDs that the receiver rebuilds from its mempool,
	// fetching only the transactions it lacks. Peers that chose a node as
	// a high-bandwidth peer get the sketch unsolicited, before the node
	// validates the block; the others get an announcement and request
	// the sketch.
	Compact
)

var protocolNames = [...]string{Push: "push", Announce: "announce", Compact: "compact"}

func (p Protocol) String() string {
	if int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// ParseProtocol reads a protocol's name.
func ParseProtocol(s string) (Protocol, error) {
	for p, n := range protocolNames {
		if n == s {
			return Protocol(p), nil
		}
	}
	return 0, fmt.Errorf("gossip: unknown relay protocol %q (push, announce or compact)", s)
}

// Config is the relay's parameters, shared by every node of a run.
type Config struct {
	Protocol Protocol
	// Headers makes announcements carry the 80-byte block header (BIP
	// 130) instead of an inventory entry. Either way the receiver
	// requests the block at once from the first announcer, so this
	// changes bytes, not round trips.
	Headers bool
	// Timeout is how long a node waits for a block (or its missing
	// transactions) it requested before asking the next peer that
	// announced it; 0 never asks again. On a network that loses nothing
	// every request is answered and the timeout never fires.
	Timeout protocol.Duration
	// Overlap is the probability that one of a block's transactions is
	// already in a receiver's mempool (Compact); each is drawn
	// independently.
	Overlap float64
	// TxSize is the mean size of a transaction in bytes: a block of S
	// payload bytes holds Txs(S) transactions.
	TxSize int
}

// Validate checks the parameters.
func (c *Config) Validate() error {
	switch {
	case c.Protocol > Compact:
		return fmt.Errorf("gossip: unknown relay protocol %d", c.Protocol)
	case c.Timeout < 0:
		return fmt.Errorf("gossip: negative request timeout %v", c.Timeout)
	case !(c.Overlap >= 0 && c.Overlap <= 1):
		return fmt.Errorf("gossip: mempool overlap %g outside [0, 1]", c.Overlap)
	case c.Protocol == Compact && c.TxSize < 1:
		return fmt.Errorf("gossip: compact relay needs a transaction size ≥ 1 byte, not %d", c.TxSize)
	}
	return nil
}

// Txs is how many transactions a block of size payload bytes holds (at
// least one: the coinbase).
func (c *Config) Txs(size int) int {
	if c.TxSize < 1 {
		return 1
	}
	return max(1, (size+c.TxSize-1)/c.TxSize)
}

// MsgKind is the kind of a relay message.
type MsgKind uint8

const (
	MsgBlock   MsgKind = iota + 1 // the whole block
	MsgInv                        // an announcement: inventory entry or header
	MsgGetData                    // a request for the block (Compact: for its sketch)
	MsgCompact                    // a compact block: header and short transaction IDs
	MsgGetTxn                     // a request for the transactions a sketch left missing
	MsgTxn                        // those transactions
	NumMsgKinds
)

var msgNames = [...]string{MsgBlock: "block", MsgInv: "inv", MsgGetData: "getdata", MsgCompact: "cmpctblock", MsgGetTxn: "getblocktxn", MsgTxn: "blocktxn"}

func (k MsgKind) String() string {
	if k > 0 && int(k) < len(msgNames) {
		return msgNames[k]
	}
	return fmt.Sprintf("MsgKind(%d)", uint8(k))
}

// CarriesBlock reports whether a message of this kind carries the block's
// content (as opposed to announcing or requesting it).
func (k MsgKind) CarriesBlock() bool { return k == MsgBlock || k == MsgCompact || k == MsgTxn }

// Msg is a relay message as the relay logic sees it; the block it is about
// is the one being handled. It is a value so that a driver can keep
// millions in flat arrays; the wire messages (Block, Inv, …) carry the same
// content for drivers that encode.
type Msg struct {
	Kind MsgKind
	// Hops is how many hops the block had travelled to the sender (Block,
	// Compact).
	Hops uint32
	// Count is the number of missing transactions (GetTxn, Txn).
	Count uint32
}

// Timer is what a relay timer is for.
type Timer uint8

const (
	// TimerValidated fires when the node has validated a block: it relays
	// it then.
	TimerValidated Timer = iota + 1
	// TimerRequest fires Config.Timeout after a request (getdata).
	TimerRequest
	// TimerTxn fires Config.Timeout after a compact block's missing
	// transactions were asked for. It is apart from TimerRequest so that
	// the getdata's timer, still pending when the sketch arrives, does
	// not cut the rebuild short.
	TimerTxn
)

// Slot states.
const (
	stNone       uint8 = iota // not requested (it may have been announced)
	stRequested               // asked Slot.From for the block or its sketch
	stRebuilding              // has the sketch, asked Slot.From for the missing transactions
	stValidating              // has the block, validating it
	stHave                    // has validated and relayed it
)

// Slot is what one node knows and has done about one block. Drivers keep
// one per (node, block) while the block is relayed, anywhere they like
// (sim/blockprop keeps a block's slots in one array); the zero value is a
// block the node has not heard of.
type Slot struct {
	// Known has bit i set when peer i is known to have the block (it
	// announced or sent it, or was sent it); peers from 64 on are not
	// tracked and are always announced to.
	Known uint64
	// Hops is how many hops the block travelled to this node (at most
	// 65,535: a Slot is 16 bytes, and 10⁵ of them are touched at random
	// for every block).
	Hops uint16
	// From and Alt are the peer the block was requested from and another
	// that announced it, as peer index + 1 (0: none).
	From, Alt uint16
	State     uint8
}

// Holds reports whether the node has the whole block.
func (s *Slot) Holds() bool { return s.State >= stValidating }

// Relayed reports whether the node has passed the block on; from then on
// no message about the block changes what it does.
func (s *Slot) Relayed() bool { return s.State == stHave }

func (s *Slot) know(peer int) {
	if peer >= 0 && peer < 64 {
		s.Known |= 1 << uint(peer)
	}
}

func (s *Slot) knows(peer int) bool { return peer < 64 && s.Known&(1<<uint(peer)) != 0 }

// Host is the driver as the relay logic sees it while it handles one
// block at one node. Peers are addressed by their index in the node's
// peer list.
type Host interface {
	// Rand is the node's relay stream (validation times, mempool draws).
	Rand() *rand.Rand
	// Peers is the number of the node's peers.
	Peers() int
	// Pushes is how many of the first peers chose this node as a
	// high-bandwidth compact-block peer: they get sketches unsolicited.
	Pushes() int
	// Txs is how many transactions the block holds.
	Txs() int
	// Validation is how long the node takes to validate the block; the
	// driver draws it from Rand.
	Validation() protocol.Duration
	// Send sends m about the block to a peer.
	Send(peer int, m Msg)
	// After fires t for the block after d.
	After(d protocol.Duration, t Timer)
	// Hold says the node now has the whole block for the first time, hops
	// hops from its origin (0 at the origin).
	Hold(hops uint32)
	// Duplicate says the block-carrying message being handled was not
	// needed: the node had the block, or was rebuilding it already.
	Duplicate()
}

// Propose makes the node the origin of the block: it holds it and relays
// it as if it had validated it.
func (c *Config) Propose(h Host, s *Slot) {
	s.State, s.Hops = stValidating, 0
	h.Hold(0)
	c.held(h, s)
	c.relay(h, s)
}

// Receive handles message m about the block from peer from (its index, or
// -1 when the sender is not a peer).
func (c *Config) Receive(h Host, s *Slot, from int, m Msg) {
	switch m.Kind {
	case MsgBlock:
		s.know(from)
		if s.Holds() {
			h.Duplicate()
			return
		}
		s.From = peerRef(from)
		c.obtain(h, s, m.Hops+1)
	case MsgInv:
		s.know(from)
		switch s.State {
		case stNone:
			c.request(h, s, from)
		case stRequested, stRebuilding:
			if s.Alt == 0 && peerRef(from) != s.From {
				s.Alt = peerRef(from)
			}
		}
	case MsgGetData:
		s.know(from)
		if !s.Holds() {
			return // nothing to serve yet: nodes announce only what they hold
		}
		if c.Protocol == Compact {
			h.Send(from, Msg{Kind: MsgCompact, Hops: uint32(s.Hops)})
		} else {
			h.Send(from, Msg{Kind: MsgBlock, Hops: uint32(s.Hops)})
		}
	case MsgCompact:
		s.know(from)
		if s.Holds() || s.State == stRebuilding {
			h.Duplicate()
			return
		}
		missing := c.missing(h)
		if missing == 0 {
			s.From = peerRef(from)
			c.obtain(h, s, m.Hops+1)
			return
		}
		s.State, s.From, s.Hops = stRebuilding, peerRef(from), hops16(m.Hops+1)
		h.Send(from, Msg{Kind: MsgGetTxn, Count: missing})
		if c.Timeout > 0 {
			h.After(c.Timeout, TimerTxn)
		}
	case MsgGetTxn:
		if s.Holds() {
			h.Send(from, Msg{Kind: MsgTxn, Count: m.Count})
		}
	case MsgTxn:
		if s.State != stRebuilding {
			h.Duplicate()
			return
		}
		c.obtain(h, s, uint32(s.Hops))
	}
}

// Fire handles a relay timer.
func (c *Config) Fire(h Host, s *Slot, t Timer) {
	switch t {
	case TimerValidated:
		if s.State == stValidating {
			c.relay(h, s)
		}
	case TimerRequest, TimerTxn:
		if (t == TimerRequest && s.State != stRequested) || (t == TimerTxn && s.State != stRebuilding) {
			return // it arrived, or a later request is under way
		}
		alt := s.Alt
		s.State, s.From, s.Alt = stNone, 0, 0
		if alt != 0 {
			c.request(h, s, int(alt)-1)
		}
	}
}

func hops16(h uint32) uint16 { return uint16(min(h, math.MaxUint16)) }

func peerRef(i int) uint16 {
	if i < 0 || i >= math.MaxUint16 {
		return 0
	}
	return uint16(i + 1)
}

// request asks peer for the block (Compact: for its sketch).
func (c *Config) request(h Host, s *Slot, peer int) {
	s.State, s.From = stRequested, peerRef(peer)
	h.Send(peer, Msg{Kind: MsgGetData})
	if c.Timeout > 0 {
		h.After(c.Timeout, TimerRequest)
	}
}

// obtain: the node has the whole block, hops hops from its origin.
func (c *Config) obtain(h Host, s *Slot, hops uint32) {
	s.State, s.Hops = stValidating, hops16(hops)
	h.Hold(hops)
	c.held(h, s)
	if d := h.Validation(); d > 0 {
		h.After(d, TimerValidated)
		return
	}
	c.relay(h, s)
}

// held is what a node does as soon as it has a block, before validating
// it: under Compact it pushes the sketch to its high-bandwidth peers, as
// BIP 152 allows once the header's proof of work is checked.
func (c *Config) held(h Host, s *Slot) {
	if c.Protocol != Compact {
		return
	}
	for i := range h.Pushes() {
		if !s.knows(i) {
			s.know(i)
			h.Send(i, Msg{Kind: MsgCompact, Hops: uint32(s.Hops)})
		}
	}
}

// relay passes a validated block on.
func (c *Config) relay(h Host, s *Slot) {
	s.State = stHave
	n := h.Peers()
	if c.Protocol == Push {
		// The flood sends to every peer but the one the block came from,
		// whatever else it knows.
		except := int(s.From) - 1
		for i := range n {
			if i != except {
				h.Send(i, Msg{Kind: MsgBlock, Hops: uint32(s.Hops)})
			}
		}
		return
	}
	for i := range n {
		if !s.knows(i) {
			s.know(i)
			h.Send(i, Msg{Kind: MsgInv})
		}
	}
}

// missing draws how many of the block's transactions are not in the
// receiver's mempool.
func (c *Config) missing(h Host) uint32 {
	txs := h.Txs()
	switch {
	case c.Overlap >= 1:
		return 0
	case c.Overlap <= 0:
		return uint32(txs)
	}
	b := distuv.Binomial{N: float64(txs), P: 1 - c.Overlap, Src: h.Rand()}
	return uint32(b.Rand())
}

// Validation is the time a node takes to check a block before relaying
// it: Base (a distribution in seconds, or nil for none) plus PerMiB for
// every MiB of payload, the whole scaled by the node's own factor.
type Validation struct {
	Base   dist.Dist
	PerMiB protocol.Duration
}

// Time draws a validation time for a block of size payload bytes at a node
// whose speed factor is scale (1: as given; 2: twice as slow).
func (v Validation) Time(r *rand.Rand, size int, scale float64) protocol.Duration {
	var s float64
	if v.Base != nil {
		s = max(v.Base.Sample(r), 0) * float64(protocol.Second)
	}
	s += float64(v.PerMiB) * float64(size) / (1 << 20)
	return protocol.Duration(math.Round(s * scale))
}

// Zero reports whether validation costs nothing whatever the draw.
func (v Validation) Zero() bool {
	if v.PerMiB != 0 {
		return false
	}
	f, ok := v.Base.(dist.Fixed)
	return v.Base == nil || ok && f.V <= 0
}
