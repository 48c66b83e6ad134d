package sim

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
)

// TestQueueOrder checks the heap against a sorted-slice oracle under random
// interleavings of push and pop, with many equal times so seq decides.
func TestQueueOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		var q queue
		var oracle []item
		var seq uint64
		var now int64
		for op := 0; op < 500; op++ {
			if r.IntN(3) > 0 || len(oracle) == 0 {
				// Monotone, as in the engine: never before the last pop, often
				// at the same time, sometimes far ahead.
				d := int64(r.IntN(4))
				if r.IntN(8) == 0 {
					d = int64(r.IntN(1 << 20))
				}
				x := makeItem(now+d, seq, uint32(seq))
				seq++
				q.push(x)
				oracle = append(oracle, x)
				continue
			}
			sort.Slice(oracle, func(i, j int) bool { return oracle[i].less(oracle[j]) })
			want := oracle[0]
			oracle = oracle[1:]
			if got := q.peek(); got != want {
				t.Fatalf("trial %d op %d: peek = %+v, want %+v", trial, op, got, want)
			}
			if got := q.pop(); got != want {
				t.Fatalf("trial %d op %d: pop = %+v, want %+v", trial, op, got, want)
			}
			now = want.at
		}
		if q.Len() != len(oracle) {
			t.Fatalf("len = %d, want %d", q.Len(), len(oracle))
		}
	}
}

// The hold model: pop the least event, push one at its time plus a random
// increment. Increments are precomputed so the benchmark measures the queue.
const incs = 1 << 16

func holdIncrements() []int64 {
	r := rand.New(rand.NewPCG(7, 7))
	v := make([]int64, incs)
	for i := range v {
		v[i] = int64(r.ExpFloat64() * 1e6)
	}
	return v
}

var holdSizes = []int{1e3, 1e5, 1e6}

func BenchmarkHold(b *testing.B) {
	inc := holdIncrements()
	for _, n := range holdSizes {
		b.Run(fmt.Sprintf("radix/n=%d", n), func(b *testing.B) {
			var q queue
			for i := 0; i < n; i++ {
				q.push(makeItem(inc[i%incs]*10, uint64(i), 0))
			}
			seq := uint64(n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				x := q.pop()
				q.push(makeItem(x.at+inc[i&(incs-1)], seq, x.slot()))
				seq++
			}
		})
		for _, d := range []int{2, 4, 8} {
			b.Run(fmt.Sprintf("dary%d/n=%d", d, n), func(b *testing.B) {
				q := dheap{d: d}
				for i := 0; i < n; i++ {
					q.push(makeItem(inc[i%incs]*10, uint64(i), 0))
				}
				seq := uint64(n)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					x := q.pop()
					q.push(makeItem(x.at+inc[i&(incs-1)], seq, x.slot()))
					seq++
				}
			})
		}
		b.Run(fmt.Sprintf("container-heap/n=%d", n), func(b *testing.B) {
			h := &stdHeap{}
			for i := 0; i < n; i++ {
				heap.Push(h, makeItem(inc[i%incs]*10, uint64(i), 0))
			}
			seq := uint64(n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				x := heap.Pop(h).(item)
				heap.Push(h, makeItem(x.at+inc[i&(incs-1)], seq, x.slot()))
				seq++
			}
		})
	}
}

// stdHeap is the container/heap baseline over the same items.
type stdHeap []item

func (h stdHeap) Len() int           { return len(h) }
func (h stdHeap) Less(i, j int) bool { return h[i].less(h[j]) }
func (h stdHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *stdHeap) Push(x any)        { *h = append(*h, x.(item)) }
func (h *stdHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// dheap is a d-ary heap with the arity as a field, used only to choose the
// engine's constant arity: all arities pay the same cost for the field.
type dheap struct {
	d int
	h []item
}

func (q *dheap) push(x item) {
	q.h = append(q.h, x)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / q.d
		if !x.less(q.h[p]) {
			break
		}
		q.h[i] = q.h[p]
		i = p
	}
	q.h[i] = x
}

func (q *dheap) pop() item {
	top := q.h[0]
	n := len(q.h) - 1
	x := q.h[n]
	q.h = q.h[:n]
	i := 0
	for {
		c := i*q.d + 1
		if c >= n {
			break
		}
		m := c
		for j := c + 1; j < c+q.d && j < n; j++ {
			if q.h[j].less(q.h[m]) {
				m = j
			}
		}
		if !q.h[m].less(x) {
			break
		}
		q.h[i] = q.h[m]
		i = m
	}
	if n > 0 {
		q.h[i] = x
	}
	return top
}
