package gossip

import (
	"math"
	"math/rand/v2"

	"github.com/dais-sim/dais/protocol"
)

// Schedule says when a node makes blocks: by turns (Slots), by mining
// (MeanInterval), or, with neither, one block at its first start when it
// has a block size (the single-block demo).
type Schedule struct {
	Slots Slots
	// MeanInterval, if > 0, makes the node mine: the gaps between its
	// blocks are exponential with this mean, drawn from its relay stream.
	// Mining is memoryless, so a node whose share of the hash power is p
	// of a network that makes a block every T on average mines with mean
	// T/p, and the network's blocks then come at exponential gaps of
	// mean T, whoever hears of whose block when.
	MeanInterval protocol.Duration
	// Until, if > 0, ends mining: no block is made at or after it. Slots
	// carry their own end.
	Until protocol.Time
}

// First returns the node's first proposal timer at a (re)start at now, if
// any; r returns the node's relay stream (called only when mining).
func (s *Schedule) First(now protocol.Time, r func() *rand.Rand) (after protocol.Duration, tag uint64, ok bool) {
	switch {
	case s.Slots.Interval > 0:
		if s.Slots.Turn >= s.Slots.Proposers {
			return 0, 0, false
		}
		slot := s.Slots.next(now)
		if !s.Slots.open(slot) {
			return 0, 0, false
		}
		return s.Slots.at(slot).Sub(now), slot, true
	case s.MeanInterval > 0:
		after = s.gap(r())
		return after, 0, s.Until == 0 || now.Add(after) < s.Until
	}
	return 0, 0, false
}

// Next handles the proposal timer tag that fired at now: the height of the
// block to make (a node that holds blocks up to maxHeight mines on the
// highest) and the next timer, if any.
func (s *Schedule) Next(now protocol.Time, tag, maxHeight uint64, r func() *rand.Rand) (height uint64, after protocol.Duration, next uint64, ok bool) {
	if s.Slots.Interval > 0 {
		slot := tag
		next = slot + uint64(s.Slots.Proposers)
		if s.Slots.open(next) {
			return slot + 1, s.Slots.at(next).Sub(now), next, true
		}
		return slot + 1, 0, 0, false
	}
	after = s.gap(r())
	return maxHeight + 1, after, 0, s.Until == 0 || now.Add(after) < s.Until
}

func (s *Schedule) gap(r *rand.Rand) protocol.Duration {
	return protocol.Duration(math.Round(r.ExpFloat64() * float64(s.MeanInterval)))
}
