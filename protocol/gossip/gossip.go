// Package gossip relays blocks over a peer graph, as real chains do: push
// (the flood: whole blocks to every peer), announce (inventory or header,
// then request, then the block, once per node) and compact (BIP 152
// sketches rebuilt from the mempool).
//
// The relay logic is Config's Propose, Receive and Fire, over a Slot (what
// one node knows of one block) and a Host (the driver). Node wraps it as a
// protocol.Node that sends wire messages (World, live runtimes); Flood is
// the push Node that live tests run over libp2p; sim/blockprop runs the
// same logic over flat arrays for 10⁵–10⁶ nodes.
//
// Every node, when it first holds a block, emits Received; every
// block-carrying message it did not need, Duplicate.
package gossip

import (
	"encoding/binary"
	"fmt"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// MaxPayload bounds a block's payload on the wire.
const MaxPayload = 64 << 20

// Block is a block as the flood carries it.
type Block struct {
	Origin  protocol.NodeID
	Height  uint64
	Created protocol.Time
	Hops    uint32
	Payload []byte
}

func init() {
	wire.Register(wire.KindBlockAnnounce, "gossip.Block", decodeBlock)
}

// Kind implements wire.Msg.
func (*Block) Kind() wire.Kind { return wire.KindBlockAnnounce }

// AppendBody implements wire.Msg.
func (b *Block) AppendBody(p []byte) []byte {
	p = binary.AppendUvarint(p, uint64(b.Origin))
	p = binary.AppendUvarint(p, b.Height)
	p = binary.AppendUvarint(p, uint64(b.Created))
	p = binary.AppendUvarint(p, uint64(b.Hops))
	return wire.AppendBytes(p, b.Payload)
}

// WireSize implements wire.Msg.
func (b *Block) WireSize() int {
	return blockWireSize(b.Origin, b.Height, b.Created, b.Hops, len(b.Payload))
}

func decodeBlock(body []byte) (wire.Msg, error) {
	r := wire.NewReader(body)
	b := &Block{}
	origin := r.Uvarint()
	b.Height = r.Uvarint()
	created := r.Uvarint()
	hops := r.Uvarint()
	b.Payload = r.Bytes(MaxPayload)
	if err := r.Done(); err != nil {
		return nil, err
	}
	if origin > 0xffffffff || hops > 0xffffffff || created > 1<<63-1 {
		return nil, fmt.Errorf("%w: block field out of range", wire.ErrTooLarge)
	}
	b.Origin, b.Created, b.Hops = protocol.NodeID(origin), protocol.Time(created), uint32(hops)
	return b, nil
}

// Received is emitted when a node gets its first copy of a block.
type Received struct {
	Origin protocol.NodeID
	Height uint64
	// Delay is the time from the block's creation to its arrival here.
	Delay protocol.Duration
	Hops  uint32
	Bytes int
}

// Kind implements metrics.Event.
func (Received) Kind() string { return "gossip.received" }

// Duplicate is emitted when a node gets a block it already has.
type Duplicate struct {
	Origin protocol.NodeID
	Height uint64
	Bytes  int
}

// Kind implements metrics.Event.
func (Duplicate) Kind() string { return "gossip.duplicate" }

type blockKey struct {
	origin protocol.NodeID
	height uint64
}

// Slots makes nodes take turns proposing: slot s (s = 0, 1, …) falls at
// (s+1)·Interval, belongs to the node whose Turn is s mod Proposers, and its
// block has height s+1. A node only keeps a timer for its own next slot, so
// the schedule costs one pending event per proposer. Turns are assigned by
// the scenario (a seeded permutation), so who proposes first is not tied to
// node IDs.
type Slots struct {
	Interval  protocol.Duration
	Proposers uint32
	// Turn is this node's place in the rotation; a node with Turn >=
	// Proposers never proposes.
	Turn uint32
	// Until, if > 0, ends the schedule: no slot falls at or after it.
	Until protocol.Time
}

// open reports whether slot s is still in the schedule.
func (s Slots) open(slot uint64) bool { return s.Until == 0 || s.at(slot) < s.Until }

// next returns the first slot of this node's turn that falls after now.
func (s Slots) next(now protocol.Time) uint64 {
	p, id := uint64(s.Proposers), uint64(s.Turn)
	first := uint64(now) / uint64(s.Interval) // (first+1)·Interval > now
	if first <= id {
		return id
	}
	return id + p*((first-id+p-1)/p)
}

// at is the time slot s falls.
func (s Slots) at(slot uint64) protocol.Time { return protocol.Time((slot + 1) * uint64(s.Interval)) }

// seenWindow is how many heights behind the highest it holds a Node
// remembers; an older copy is counted as a duplicate without a lookup.
const seenWindow = 256

// Flood is a node of the push relay, as the flood always was: a Node with
// Config{Protocol: Push}, no validation delay, and its schedule given by
// Slots. Live tests run it over libp2p.
type Flood struct {
	// Peers are the nodes this node sends to.
	Peers []protocol.NodeID
	// BlockSize is the payload of the blocks this node proposes. Without
	// Slots, a node with BlockSize > 0 proposes one block at its first Start.
	BlockSize int
	// Slots, if Interval > 0, schedules proposals by turns.
	Slots Slots

	n Node
}

var floodConfig = Config{Protocol: Push}

// Handle implements protocol.Node.
func (f *Flood) Handle(env protocol.Env, in protocol.Input) {
	if f.n.Config == nil {
		f.n = Node{Config: &floodConfig, Peers: f.Peers, BlockSize: f.BlockSize, Schedule: Schedule{Slots: f.Slots}}
	}
	f.n.Handle(env, in)
}
