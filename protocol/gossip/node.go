package gossip

import (
	"math/rand/v2"
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// Node is a node of the relay as a protocol.Node, for drivers that deliver
// wire messages: the simulator's World and live runtimes. sim/blockprop
// runs the same logic (Config's Propose, Receive and Fire) over flat
// arrays instead, and a test holds the two to the same event times.
//
// A Node emits Received when it first holds a block and Duplicate for
// every block-carrying message it did not need. It remembers blocks
// within seenWindow heights of the highest it holds; messages about older
// ones are ignored (block-carrying ones counted as duplicates).
type Node struct {
	Config *Config
	// Peers are the nodes this node talks to; the first Pushes of them
	// chose it as a high-bandwidth compact-block peer.
	Peers  []protocol.NodeID
	Pushes int
	// BlockSize is the payload of the blocks this node makes. With an
	// empty Schedule, a node with BlockSize > 0 makes one block, of height
	// 1, at its first Start.
	BlockSize  int
	Schedule   Schedule
	Validation Validation
	// ValidationScale multiplies the node's validation times (0 means 1).
	ValidationScale float64

	rng       *rand.Rand
	blocks    map[blockKey]*held
	maxHeight uint64
	timers    []blockTimer // relay timers pending, by tag; free ones have t == 0
	free      []uint64

	// What Handle is working on.
	env   protocol.Env
	cur   *held
	size  int // wire size of the message being handled
	last  Msg // the last message built, reused for a broadcast
	lastW wire.Msg
	h     host
}

type held struct {
	Slot
	ref     Ref
	payload []byte
}

type blockTimer struct {
	k blockKey
	t Timer
}

// relayTag marks the tags of relay timers; the others are the schedule's.
const relayTag = 1 << 63

// Handle implements protocol.Node.
func (n *Node) Handle(env protocol.Env, in protocol.Input) {
	n.env, n.lastW = env, nil
	defer func() { n.env, n.cur, n.lastW = nil, nil, nil }()
	switch in := in.(type) {
	case protocol.Start:
		if n.rng == nil {
			// The relay stream is the node's own, split off at its first
			// start so that the blocks' payloads (drawn from env.Rand) do
			// not shift it.
			n.rng = rand.New(rand.NewPCG(env.Rand().Uint64(), env.Rand().Uint64()))
		}
		if after, tag, ok := n.Schedule.First(env.Now(), n.relayRand); ok {
			env.SetTimer(after, tag)
		} else if n.Schedule == (Schedule{}) && n.BlockSize > 0 && !in.Rejoin && n.maxHeight == 0 {
			n.propose(1)
		}
	case protocol.TimerFired:
		if in.Tag&relayTag != 0 {
			i := in.Tag &^ relayTag
			bt := n.timers[i]
			n.timers[i] = blockTimer{}
			n.free = append(n.free, i)
			if n.cur = n.blocks[bt.k]; n.cur != nil {
				n.Config.Fire(n.host(), &n.cur.Slot, bt.t)
			}
			return
		}
		height, after, next, ok := n.Schedule.Next(env.Now(), in.Tag, n.maxHeight, n.relayRand)
		n.propose(height)
		if ok {
			env.SetTimer(after, next)
		}
	case protocol.Recv:
		ref, m, ok := n.Config.Parse(in.Msg)
		if !ok {
			return
		}
		n.size = in.Msg.WireSize()
		if n.cur = n.lookup(ref, m.Kind); n.cur == nil {
			if m.Kind.CarriesBlock() {
				env.Emit(Duplicate{Origin: ref.Origin, Height: ref.Height, Bytes: n.size})
			}
			return
		}
		if b, ok := in.Msg.(*Block); ok && n.cur.payload == nil {
			n.cur.payload = b.Payload
		}
		n.Config.Receive(n.host(), &n.cur.Slot, slices.Index(n.Peers, in.From), m)
	}
}

func (n *Node) relayRand() *rand.Rand { return n.rng }

// lookup returns the node's record of a block, making one for a message
// that can introduce it; nil for a block too old to remember, or a request
// for one the node never heard of.
func (n *Node) lookup(ref Ref, k MsgKind) *held {
	key := ref.key()
	if h := n.blocks[key]; h != nil {
		return h
	}
	if ref.Height+seenWindow < n.maxHeight || k == MsgGetData || k == MsgGetTxn || k == MsgTxn {
		return nil
	}
	if n.blocks == nil {
		n.blocks = make(map[blockKey]*held, 1)
	}
	h := &held{ref: ref}
	n.blocks[key] = h
	if len(n.blocks) > 2*seenWindow {
		// Deleting every key below a bound gives the same map in any order.
		for old := range n.blocks {
			if old.height+seenWindow < n.maxHeight {
				delete(n.blocks, old)
			}
		}
	}
	return h
}

func (n *Node) propose(height uint64) {
	payload := make([]byte, n.BlockSize)
	r := n.env.Rand()
	for i := 0; i+8 <= len(payload); i += 8 {
		x := r.Uint64()
		for j := 0; j < 8; j++ {
			payload[i+j] = byte(x >> (8 * j))
		}
	}
	ref := Ref{Origin: n.env.Self(), Height: height, Created: n.env.Now(), Size: n.BlockSize}
	n.cur = n.lookup(ref, MsgBlock)
	n.cur.payload = payload
	n.size = n.Config.WireSize(ref, Msg{Kind: MsgBlock})
	n.Config.Propose(n.host(), &n.cur.Slot)
}

// host is a Node as the relay logic's Host: its own type, so that the
// Host methods do not join Node's (a Node is driven only by Handle).
type host struct{ n *Node }

func (n *Node) host() *host {
	n.h.n = n
	return &n.h
}

func (h *host) Rand() *rand.Rand { return h.n.rng }
func (h *host) Peers() int       { return len(h.n.Peers) }
func (h *host) Pushes() int      { return h.n.Pushes }
func (h *host) Txs() int         { return h.n.Config.Txs(h.n.cur.ref.Size) }

func (h *host) Validation() protocol.Duration {
	scale := h.n.ValidationScale
	if scale == 0 {
		scale = 1
	}
	return h.n.Validation.Time(h.n.rng, h.n.cur.ref.Size, scale)
}

func (h *host) Send(peer int, m Msg) {
	if h.n.lastW == nil || m != h.n.last {
		// A broadcast sends one message value to every peer, as the
		// flood always did.
		h.n.last, h.n.lastW = m, h.n.Config.Message(h.n.cur.ref, m, h.n.cur.payload)
	}
	h.n.env.Send(h.n.Peers[peer], h.n.lastW)
}

func (h *host) After(d protocol.Duration, t Timer) {
	var i uint64
	if k := len(h.n.free); k > 0 {
		i, h.n.free = h.n.free[k-1], h.n.free[:k-1]
	} else {
		i = uint64(len(h.n.timers))
		h.n.timers = append(h.n.timers, blockTimer{})
	}
	h.n.timers[i] = blockTimer{k: h.n.cur.ref.key(), t: t}
	h.n.env.SetTimer(d, relayTag|i)
}

func (h *host) Hold(hops uint32) {
	r := h.n.cur.ref
	h.n.maxHeight = max(h.n.maxHeight, r.Height)
	h.n.env.Emit(Received{Origin: r.Origin, Height: r.Height, Delay: h.n.env.Now().Sub(r.Created), Hops: hops, Bytes: h.n.size})
}

func (h *host) Duplicate() {
	h.n.env.Emit(Duplicate{Origin: h.n.cur.ref.Origin, Height: h.n.cur.ref.Height, Bytes: h.n.size})
}
