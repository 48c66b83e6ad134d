// Package gossip floods blocks over a peer graph with deduplication: the
// smallest real protocol in dais, used to prove that one body of node code
// runs unchanged in the simulator and over libp2p.
//
// A Flood node that is an origin makes a block at Start and sends it to its
// peers. Every node, on its first copy of a block, emits a Received
// measurement and forwards the block to its peers except the sender; later
// copies are counted as duplicates and dropped.
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
	return wire.HeaderSize(wire.KindBlockAnnounce) +
		wire.UvarintSize(uint64(b.Origin)) + wire.UvarintSize(b.Height) +
		wire.UvarintSize(uint64(b.Created)) + wire.UvarintSize(uint64(b.Hops)) +
		wire.BytesSize(len(b.Payload))
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

// seenWindow is how many heights behind the newest a node remembers; an
// older copy is counted as a duplicate without a lookup.
const seenWindow = 256

// Flood is a node of the flood protocol.
type Flood struct {
	// Peers are the nodes this node sends to.
	Peers []protocol.NodeID
	// BlockSize is the payload of the blocks this node proposes. Without
	// Slots, a node with BlockSize > 0 proposes one block at its first Start.
	BlockSize int
	// Slots, if Interval > 0, schedules proposals by turns.
	Slots Slots

	seen      map[blockKey]struct{}
	maxHeight uint64
	height    uint64
}

// Handle implements protocol.Node.
func (f *Flood) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		switch {
		case f.Slots.Interval > 0 && f.Slots.Turn < f.Slots.Proposers:
			if slot := f.Slots.next(env.Now()); f.Slots.open(slot) {
				env.SetTimer(f.Slots.at(slot).Sub(env.Now()), slot)
			}
		case f.Slots.Interval == 0 && f.BlockSize > 0 && !in.Rejoin:
			f.height++
			f.propose(env, f.height)
		}
	case protocol.TimerFired:
		slot := in.Tag
		f.propose(env, slot+1)
		if next := slot + uint64(f.Slots.Proposers); f.Slots.open(next) {
			env.SetTimer(f.Slots.at(next).Sub(env.Now()), next)
		}
	case protocol.Recv:
		b, ok := in.Msg.(*Block)
		if !ok {
			return
		}
		k := blockKey{b.Origin, b.Height}
		if _, dup := f.seen[k]; dup || b.Height+seenWindow < f.maxHeight {
			env.Emit(Duplicate{Origin: b.Origin, Height: b.Height, Bytes: b.WireSize()})
			return
		}
		f.markSeen(k)
		env.Emit(Received{Origin: b.Origin, Height: b.Height, Delay: env.Now().Sub(b.Created), Hops: b.Hops + 1, Bytes: b.WireSize()})
		fwd := *b
		fwd.Hops++
		f.broadcast(env, &fwd, in.From)
	}
}

func (f *Flood) propose(env protocol.Env, height uint64) {
	payload := make([]byte, f.BlockSize)
	r := env.Rand()
	for i := 0; i+8 <= len(payload); i += 8 {
		x := r.Uint64()
		for j := 0; j < 8; j++ {
			payload[i+j] = byte(x >> (8 * j))
		}
	}
	b := &Block{Origin: env.Self(), Height: height, Created: env.Now(), Payload: payload}
	f.markSeen(blockKey{b.Origin, b.Height})
	env.Emit(Received{Origin: b.Origin, Height: b.Height, Bytes: b.WireSize()})
	f.broadcast(env, b, env.Self())
}

func (f *Flood) markSeen(k blockKey) {
	if f.seen == nil {
		f.seen = make(map[blockKey]struct{}, 1)
	}
	f.seen[k] = struct{}{}
	f.maxHeight = max(f.maxHeight, k.height)
	if len(f.seen) > 2*seenWindow {
		// Deleting every key below a bound gives the same map in any order.
		for old := range f.seen {
			if old.height+seenWindow < f.maxHeight {
				delete(f.seen, old)
			}
		}
	}
}

func (f *Flood) broadcast(env protocol.Env, b *Block, except protocol.NodeID) {
	for _, p := range f.Peers {
		if p != except && p != env.Self() {
			env.Send(p, b)
		}
	}
}
