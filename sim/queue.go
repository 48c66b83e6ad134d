package sim

import (
	"fmt"
	"math/bits"

	"github.com/dais-sim/dais/protocol"
)

// entry is one pending event: its time, a key that orders events of one
// time, and a payload the queue carries along (struct{} for the World,
// whose key packs the insertion sequence (high bits) with the slot of its
// payload (low bits), so ordering by (at, key) is ordering by (at, seq)).
type entry[T any] struct {
	at  int64
	key uint64
	v   T
}

// item is the World's entry.
type item = entry[struct{}]

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

// slot is the World payload slot an item names.
func (a entry[T]) slot() uint32 { return uint32(a.key & slotMask) }

func (a entry[T]) less(b entry[T]) bool {
	return a.at < b.at || (a.at == b.at && a.key < b.key)
}

// queue is the World's event queue.
type queue = radix[struct{}]

// radix is a radix heap: a monotone priority queue, which is what a
// discrete-event engine needs, since no event is ever scheduled before the
// one being handled. Entry x lives in bucket bits.Len64(x.at ^ last), where
// last is the time of the latest pop, so push is O(1) and each entry moves
// to a lower bucket at most 64 times over its life. BENCHMARKS.md compares
// it with d-ary heaps and container/heap.
//
// Ties: every entry with at == last sits in bucket 0. Pushes append (keys
// only grow) and a bucket is refilled only when it is empty, from a bucket
// that is itself in key order, so every bucket stays in key order and
// bucket 0 pops first-in first-out: same-time events run in the order they
// were scheduled.
//
// Memory: an empty bucket keeps its array for reuse, unless the buckets
// together hold more than eight times the most entries ever pending at
// once (plus 64 Ki): then large empty arrays are dropped. Which buckets fill
// depends on the high bits of the times, so over a long run every bucket
// would otherwise keep the largest array it ever needed, and memory would
// grow with simulated time.
//
// The zero value is an empty queue.
type radix[T any] struct {
	last    int64
	n       int
	peak    int // the most entries pending at once
	head    int // bucket 0 is consumed from the front
	buckets [65][]entry[T]
	// mins[b] is the least time in bucket b (b ≥ 1; any value when it is
	// empty), kept as entries arrive so that draining a bucket reads it
	// once, not twice.
	mins [65]int64
}

func (q *radix[T]) Len() int { return q.n }

func (q *radix[T]) push(x entry[T]) {
	if x.at < q.last {
		panic(fmt.Sprintf("sim: event at %d scheduled before the current time %d", x.at, q.last))
	}
	q.file(x, q.last)
	q.n++
	q.peak = max(q.peak, q.n)
}

// file appends x to its bucket relative to last.
func (q *radix[T]) file(x entry[T], last int64) {
	b := bits.Len64(uint64(x.at ^ last))
	if len(q.buckets[b]) == 0 || x.at < q.mins[b] {
		q.mins[b] = x.at
	}
	q.buckets[b] = append(q.buckets[b], x)
}

// settle makes bucket 0 non-empty; the queue must not be empty.
func (q *radix[T]) settle() {
	if q.head < len(q.buckets[0]) {
		return
	}
	q.buckets[0] = q.trim(q.buckets[0])
	q.head = 0
	i := 1
	for len(q.buckets[i]) == 0 {
		q.buckets[i] = q.trim(q.buckets[i])
		i++
	}
	src := q.buckets[i]
	m := q.mins[i]
	q.last = m
	for _, x := range src {
		q.file(x, m)
	}
	q.buckets[i] = q.trim(src)
}

// trim empties a bucket, dropping a large array when the buckets hold too
// much.
func (q *radix[T]) trim(b []entry[T]) []entry[T] {
	if cap(b) > 4096 {
		held := 0
		for i := range q.buckets {
			held += cap(q.buckets[i])
		}
		if held > 8*q.peak+1<<16 {
			return nil
		}
	}
	return b[:0]
}

// peek returns the least entry; the queue must not be empty.
func (q *radix[T]) peek() entry[T] {
	q.settle()
	return q.buckets[0][q.head]
}

// pop removes and returns the least entry; the queue must not be empty.
func (q *radix[T]) pop() entry[T] {
	q.settle()
	x := q.buckets[0][q.head]
	q.head++
	q.n--
	return x
}

// Queue is the engine's event queue for drivers that keep their own event
// records (sim/blockprop queues its 20-byte events in it, with no slab
// beside): it returns values of T in (time, seq) order, seq being the
// order of Push. Times must never go back: Push panics before the last
// Pop. The zero value is an empty queue.
type Queue[T any] struct {
	q   radix[T]
	seq uint64
}

// Len is the number of pending events.
func (q *Queue[T]) Len() int { return q.q.Len() }

// Push queues v for time at.
func (q *Queue[T]) Push(at protocol.Time, v T) {
	q.q.push(entry[T]{at: int64(at), key: q.seq, v: v})
	q.seq++
}

// Peek returns the time of the next event; the queue must not be empty.
func (q *Queue[T]) Peek() protocol.Time { return protocol.Time(q.q.peek().at) }

// Pop removes the next event and returns its time and value; the queue
// must not be empty.
func (q *Queue[T]) Pop() (protocol.Time, T) {
	x := q.q.pop()
	return protocol.Time(x.at), x.v
}
