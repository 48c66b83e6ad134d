package chain

import (
	"container/heap"
	"fmt"
	"sort"
)

// The mempool holds valid transactions not yet committed: per sender a run
// of consecutive nonces starting at the committed account nonce, so every
// pending transaction can execute in order. Blocks take the best-paying
// executable transaction first: among the senders' next transactions, the
// highest fee, then the earliest arrival (a counter, so ties never depend on
// maps or pointers). When full, a transaction evicts the lowest fee (the
// latest arrival among equals), together with that sender's later
// transactions, which could no longer execute.

type poolEntry struct {
	tx    *Tx
	seq   uint64 // arrival order
	size  int
	index int // in the eviction heap; −1 when out of it
}

type mempool struct {
	byHash   map[Hash]*poolEntry
	bySender map[Address][]*poolEntry // ascending, consecutive nonces
	// watch counts a sender's pending slashes and votes, whose validity
	// depends on state other than the sender's own (evidence use, offender
	// stake, voting windows): such senders are re-checked after every block.
	watch map[Address]int
	evict evictHeap
	seq   uint64
	bytes int
	// pend is, per sender, the state its pending transactions leave on
	// top of the committed state as the next block begins (a scratch
	// layer): a new transaction is checked by applying it there alone.
	// Replaying the sender's whole queue for every new transaction made
	// admission quadratic in the queue (a provider committing thousands
	// of results a block). An entry is dropped whenever the committed state
	// or the sender's queue changes other than by an append, and rebuilt on
	// the sender's next transaction.
	pend map[Address]*layer
}

func newMempool() mempool {
	return mempool{byHash: map[Hash]*poolEntry{}, bySender: map[Address][]*poolEntry{}, watch: map[Address]int{},
		pend: map[Address]*layer{}}
}

func watched(t TxType) bool { return t == TxSlash || t == TxVote }

// AddTx checks tx against the committed state and the sender's pending
// transactions, and adds it to the mempool. A rejected transaction changes
// nothing; the error wraps the reason (ErrBadSignature, ErrNonce,
// ErrOverdraft, ErrFeeTooLow, ErrMempoolFull, …).
func (l *Ledger) AddTx(tx *Tx) error { return l.admit(tx, true) }

// admit checks tx and adds it to the mempool; verify false skips the
// signature check, for a transaction verified when it was held
// (ahead.go).
func (l *Ledger) admit(tx *Tx, verify bool) error {
	if err := l.checkTx(tx, verify, true); err != nil {
		return err
	}
	if err := l.pool.insert(tx, l.p); err != nil {
		delete(l.pool.pend, tx.from) // it holds tx, which the pool refused
		return err
	}
	return nil
}

// CheckTx reports whether AddTx would accept tx, without adding it (a full
// mempool aside).
func (l *Ledger) CheckTx(tx *Tx) error { return l.checkTx(tx, true, false) }

// checkTx is CheckTx; verify false skips the signature check. With keep,
// a transaction that passes stays applied to its sender's pending state,
// for the caller to insert.
func (l *Ledger) checkTx(tx *Tx, verify, keep bool) error {
	if err := l.checkStatic(tx); err != nil {
		return err
	}
	if _, ok := l.pool.byHash[tx.hash]; ok {
		return fmt.Errorf("%w: %x", ErrKnownTx, tx.hash[:6])
	}
	pending := l.pool.bySender[tx.from]
	next := l.base.account(tx.from).Nonce + uint64(len(pending))
	if tx.Nonce != next {
		what := "reused"
		if tx.Nonce > next {
			what = "ahead"
		}
		return fmt.Errorf("%w: %s tx nonce %d %s: %s's next is %d", ErrNonce, tx.Type, tx.Nonce, what, tx.from, next)
	}
	if len(pending) >= l.p.MempoolMaxPerSender {
		return fmt.Errorf("%w: %s has %d pending", ErrMempoolFull, tx.from, len(pending))
	}
	if verify {
		if err := l.verify(tx); err != nil {
			return err
		}
	}
	st, err := l.pendingState(tx.from)
	if err != nil {
		return err
	}
	if !keep {
		st = st.child()
	}
	return l.applyTx(st, tx) // a rejected transaction leaves st as it was
}

// pendingState returns the state sender's pending transactions leave
// (mempool.pend), building it if needed.
func (l *Ledger) pendingState(sender Address) (*layer, error) {
	if st, ok := l.pool.pend[sender]; ok {
		return st, nil
	}
	st := l.scratch()
	for _, e := range l.pool.bySender[sender] {
		if err := l.applyTx(st, e.tx); err != nil {
			return nil, fmt.Errorf("chain: pending tx %d of %s no longer applies: %w", e.tx.Nonce, sender, err)
		}
	}
	l.pool.pend[sender] = st
	return st, nil
}

// scratch returns a layer for trying transactions as if in the next block.
// It keeps no state root (no leaf hashes): it is never committed.
func (l *Ledger) scratch() *layer {
	st := l.base.child()
	st.scratch = true
	l.beginBlock(st, l.base.height+1)
	return st
}

// insert adds a checked transaction, evicting lower fees if the pool is full.
func (p *mempool) insert(tx *Tx, params Params) error {
	size := len(tx.enc)
	needTxs := len(p.byHash) + 1 - params.MempoolMaxTxs
	needBytes := p.bytes + size - params.MempoolMaxBytes
	if needTxs > 0 || needBytes > 0 {
		victims, err := p.planEviction(tx, needTxs, needBytes)
		if err != nil {
			return err
		}
		for _, v := range victims {
			p.dropFrom(v.tx.from, v.tx.Nonce)
		}
	}
	e := &poolEntry{tx: tx, seq: p.seq, size: size}
	p.seq++
	p.byHash[tx.hash] = e
	p.bySender[tx.from] = append(p.bySender[tx.from], e)
	if watched(tx.Type) {
		p.watch[tx.from]++
	}
	p.bytes += size
	heap.Push(&p.evict, e)
	return nil
}

// planEviction picks the entries whose eviction (each with its sender's
// later ones) frees needTxs entries and needBytes bytes for tx, or fails
// without changing anything.
func (p *mempool) planEviction(tx *Tx, needTxs, needBytes int) ([]*poolEntry, error) {
	var victims, popped []*poolEntry
	gone := map[*poolEntry]bool{}
	var err error
	for needTxs > 0 || needBytes > 0 {
		if p.evict.Len() == 0 {
			err = fmt.Errorf("%w: %d bytes do not fit", ErrMempoolFull, len(tx.enc))
			break
		}
		v := heap.Pop(&p.evict).(*poolEntry)
		popped = append(popped, v)
		if gone[v] {
			continue
		}
		if v.tx.Fee >= tx.Fee || v.tx.from == tx.from {
			err = fmt.Errorf("%w: lowest fee is %d, tx offers %d", ErrMempoolFull, v.tx.Fee, tx.Fee)
			break
		}
		victims = append(victims, v)
		list := p.bySender[v.tx.from]
		for _, e := range list[int(v.tx.Nonce-list[0].tx.Nonce):] {
			if !gone[e] {
				gone[e] = true
				needTxs--
				needBytes -= e.size
			}
		}
	}
	for _, v := range popped {
		heap.Push(&p.evict, v) // dropFrom removes the victims properly
	}
	return victims, err
}

// dropFrom removes sender's pending transactions from nonce on.
func (p *mempool) dropFrom(sender Address, nonce uint64) {
	delete(p.pend, sender)
	list := p.bySender[sender]
	if len(list) == 0 || nonce > list[len(list)-1].tx.Nonce {
		return
	}
	i := 0
	if nonce > list[0].tx.Nonce {
		i = int(nonce - list[0].tx.Nonce)
	}
	for _, e := range list[i:] {
		p.remove(e)
	}
	p.setList(sender, list[:i])
}

// dropBelow removes sender's pending transactions with nonces below nonce.
func (p *mempool) dropBelow(sender Address, nonce uint64) {
	delete(p.pend, sender)
	list := p.bySender[sender]
	n := 0
	for n < len(list) && list[n].tx.Nonce < nonce {
		p.remove(list[n])
		n++
	}
	p.setList(sender, list[n:])
}

func (p *mempool) setList(sender Address, list []*poolEntry) {
	if len(list) == 0 {
		delete(p.bySender, sender)
		return
	}
	p.bySender[sender] = list
}

// remove takes e out of every index but bySender (the caller fixes it).
func (p *mempool) remove(e *poolEntry) {
	delete(p.byHash, e.tx.hash)
	if watched(e.tx.Type) {
		if p.watch[e.tx.from]--; p.watch[e.tx.from] == 0 {
			delete(p.watch, e.tx.from)
		}
	}
	p.bytes -= e.size
	if e.index >= 0 {
		heap.Remove(&p.evict, e.index)
	}
}

// recheck drops what the newly committed state made stale or invalid:
// transactions of touched or watched senders are re-applied in order, and
// the first that fails is dropped with its successors. Other senders'
// transactions depend only on their own accounts and on records that never
// disappear, so they stay valid. Senders are independent, so the order in
// which the map yields them does not matter. Every sender's pending state
// is dropped (the next block's height differs, and unbonding may release);
// a re-checked sender's is kept from the re-check.
func (l *Ledger) recheck(touched map[Address]acct) {
	p := &l.pool
	clear(p.pend)
	for s := range p.bySender {
		_, t := touched[s]
		if !t && p.watch[s] == 0 {
			continue
		}
		p.dropBelow(s, l.base.account(s).Nonce)
		st := l.scratch()
		for _, e := range p.bySender[s] {
			if err := l.applyTx(st, e.tx); err != nil {
				p.dropFrom(s, e.tx.Nonce)
				break
			}
		}
		if len(p.bySender[s]) > 0 {
			p.pend[s] = st
		}
	}
}

// Pending returns the mempool's transactions in arrival order. The
// transactions are shared: do not modify them.
func (l *Ledger) Pending() []*Tx {
	es := make([]*poolEntry, 0, len(l.pool.byHash))
	for _, e := range l.pool.byHash {
		es = append(es, e)
	}
	sortEntries(es)
	out := make([]*Tx, len(es))
	for i, e := range es {
		out[i] = e.tx
	}
	return out
}

// PoolSize returns the number of pending transactions and their bytes.
func (l *Ledger) PoolSize() (txs, bytes int) { return len(l.pool.byHash), l.pool.bytes }

func sortEntries(es []*poolEntry) {
	sort.Slice(es, func(i, j int) bool { return es[i].seq < es[j].seq })
}

// evictHeap is a min-heap of entries by (fee, later arrival first).
type evictHeap []*poolEntry

func (h evictHeap) Len() int { return len(h) }
func (h evictHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if a.tx.Fee != b.tx.Fee {
		return a.tx.Fee < b.tx.Fee
	}
	return a.seq > b.seq
}
func (h evictHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *evictHeap) Push(x any) {
	e := x.(*poolEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *evictHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// headHeap orders senders' next transactions for block building: highest
// fee first, then earliest arrival.
type headHeap []head

type head struct {
	list []*poolEntry
	i    int
}

func (h headHeap) Len() int { return len(h) }
func (h headHeap) Less(i, j int) bool {
	a, b := h[i].list[h[i].i], h[j].list[h[j].i]
	if a.tx.Fee != b.tx.Fee {
		return a.tx.Fee > b.tx.Fee
	}
	return a.seq < b.seq
}
func (h headHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *headHeap) Push(x any)   { *h = append(*h, x.(head)) }
func (h *headHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// fill applies to st the best mempool transactions that fit in bytes and
// gas, and returns them in order with the gas they use.
func (l *Ledger) fill(st *layer, bytes int, gas uint64) ([]*Tx, uint64) {
	var h headHeap
	for s, list := range l.pool.bySender {
		// Building on an unfinalized parent, some may be in it already.
		n := st.account(s).Nonce
		if n < list[0].tx.Nonce || n > list[len(list)-1].tx.Nonce {
			continue
		}
		h = append(h, head{list, int(n - list[0].tx.Nonce)})
	}
	// The heap's order is total (arrival numbers are unique), so what it
	// yields does not depend on the map order it was built in.
	heap.Init(&h)
	var out []*Tx
	var used uint64
	for h.Len() > 0 {
		hd := heap.Pop(&h).(head)
		e := hd.list[hd.i]
		g := l.p.Gas.Gas(e.tx.Type, e.size)
		if e.size > bytes || g > gas-used {
			continue // this sender's later transactions wait for the next block
		}
		if err := l.applyTx(st, e.tx); err != nil {
			continue
		}
		out = append(out, e.tx)
		bytes -= e.size
		used += g
		if hd.i+1 < len(hd.list) {
			hd.i++
			heap.Push(&h, hd)
		}
	}
	return out, used
}
