package sim

import (
	"fmt"
	"math/bits"

	"github.com/dais-sim/dais/protocol"
)

// item is one pending event: its time and a key that packs the insertion
// sequence (high bits) with the slot of its payload (low bits). Ordering by
// (at, key) is ordering by (at, seq), since seq occupies the high bits and is
// unique.
type item struct {
	at  int64
	key uint64
}

const (
	slotBits = 26 // up to 67 M events pending at once
	slotMask = 1<<slotBits - 1
	maxSeq   = 1<<(64-slotBits) - 1 // 2.7·10¹¹ events in one run
)

func makeItem(at int64, seq uint64, slot uint32) item {
	if seq > maxSeq || slot > slotMask {
		panic(fmt.Sprintf("sim: event queue limits exceeded (seq %d > %d or slot %d > %d)", seq, uint64(maxSeq), slot, slotMask))
	}
	return item{at: at, key: seq<<slotBits | uint64(slot)}
}

func (a item) slot() uint32 { return uint32(a.key & slotMask) }

func (a item) less(b item) bool {
	return a.at < b.at || (a.at == b.at && a.key < b.key)
}

// queue is a radix heap: a monotone priority queue, which is what a
// discrete-event engine needs, since no event is ever scheduled before the
// one being handled. Item x lives in bucket bits.Len64(x.at ^ last), where
// last is the time of the latest pop, so push is O(1) and each item moves
// to a lower bucket at most 64 times over its life. BENCHMARKS.md compares
// it with d-ary heaps and container/heap.
//
// Ties: every item with at == last sits in bucket 0. Pushes append (seq only
// grows) and a bucket is refilled only when it is empty, from a bucket that
// is itself in seq order, so every bucket stays in seq order and bucket 0
// pops first-in first-out: same-time events run in the order they were
// scheduled.
//
// The zero value is an empty queue.
type queue struct {
	last    int64
	n       int
	head    int // bucket 0 is consumed from the front
	buckets [65][]item
}

func (q *queue) Len() int { return q.n }

func (q *queue) push(x item) {
	if x.at < q.last {
		panic(fmt.Sprintf("sim: event at %d scheduled before the current time %d", x.at, q.last))
	}
	b := bits.Len64(uint64(x.at ^ q.last))
	q.buckets[b] = append(q.buckets[b], x)
	q.n++
}

// settle makes bucket 0 non-empty; the queue must not be empty.
func (q *queue) settle() {
	if q.head < len(q.buckets[0]) {
		return
	}
	q.buckets[0] = q.buckets[0][:0]
	q.head = 0
	i := 1
	for len(q.buckets[i]) == 0 {
		i++
	}
	src := q.buckets[i]
	m := src[0].at
	for _, x := range src[1:] {
		if x.at < m {
			m = x.at
		}
	}
	q.last = m
	for _, x := range src {
		b := bits.Len64(uint64(x.at ^ m))
		q.buckets[b] = append(q.buckets[b], x)
	}
	q.buckets[i] = src[:0]
}

// peek returns the least item; the queue must not be empty.
func (q *queue) peek() item {
	q.settle()
	return q.buckets[0][q.head]
}

// pop removes and returns the least item; the queue must not be empty.
func (q *queue) pop() item {
	q.settle()
	x := q.buckets[0][q.head]
	q.head++
	q.n--
	return x
}

// Queue is the engine's event queue for drivers that keep their own event
// records (sim/blockprop keeps millions in flat arrays): it orders slots,
// indexes into the driver's records, by (time, seq), seq being the order
// of Push. Times must never go back: Push panics before the last Pop.
// The zero value is an empty queue.
type Queue struct {
	q   queue
	seq uint64
}

// Len is the number of pending events.
func (q *Queue) Len() int { return q.q.Len() }

// Push queues the record at slot (below 2²⁶) for time at.
func (q *Queue) Push(at protocol.Time, slot uint32) {
	q.q.push(makeItem(int64(at), q.seq, slot))
	q.seq++
}

// Peek returns the time of the next event; the queue must not be empty.
func (q *Queue) Peek() protocol.Time { return protocol.Time(q.q.peek().at) }

// Pop removes the next event and returns its time and slot; the queue
// must not be empty.
func (q *Queue) Pop() (protocol.Time, uint32) {
	it := q.q.pop()
	return protocol.Time(it.at), it.slot()
}
