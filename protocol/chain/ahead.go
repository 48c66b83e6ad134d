package chain

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
)

// Transactions from the network arrive out of nonce order: two that a
// client sends close together race along different paths (relays, jitter).
// The mempool takes a sender's nonces only in order, so a node that got
// n+1 before n would refuse n+1 and then, its mempool expecting n+1, every
// later transaction of that sender until someone else's block commits
// n+1. ReceiveTx therefore holds a transaction whose nonce is a little
// ahead, verified (so that a forgery cannot take a real transaction's
// slot), and adds it to the mempool once the gap fills: when the missing
// nonce is added, or after a commit. It is the "queued" half of Ethereum's
// transaction pool. AddTx, for callers that order their own transactions,
// holds nothing.

// aheadPool holds verified transactions whose nonces are ahead of their
// senders' next.
type aheadPool struct {
	bySender map[Address][]*Tx // ascending, distinct nonces
	n        int
}

// hold keeps tx, whose nonce is ahead of next, its sender's next nonce, and
// reports whether it is new. A sender may have MempoolMaxPerSender
// transactions held, at most that many nonces ahead, and all senders
// together MempoolMaxTxs; a second transaction with a held nonce is
// ignored. The error says why tx was not held.
func (l *Ledger) hold(tx *Tx, next uint64) (bool, error) {
	limit := l.p.MempoolMaxPerSender
	list := l.ahead.bySender[tx.from]
	switch {
	case tx.Nonce-next > uint64(limit):
		return false, fmt.Errorf("%w: %s tx nonce %d is %d ahead of %s's next, %d; at most %d are held",
			ErrNonce, tx.Type, tx.Nonce, tx.Nonce-next, tx.from, next, limit)
	case len(list) >= limit || l.ahead.n >= l.p.MempoolMaxTxs:
		return false, fmt.Errorf("%w: %d transactions held ahead of their nonce (%d of %s)", ErrMempoolFull, l.ahead.n, len(list), tx.from)
	}
	i, found := slices.BinarySearchFunc(list, tx.Nonce, func(t *Tx, n uint64) int {
		switch {
		case t.Nonce < n:
			return -1
		case t.Nonce > n:
			return 1
		}
		return 0
	})
	if found {
		return false, nil
	}
	if err := l.verify(tx); err != nil {
		return false, err
	}
	if l.ahead.bySender == nil {
		l.ahead.bySender = map[Address][]*Tx{}
	}
	l.ahead.bySender[tx.from] = slices.Insert(list, i, tx)
	l.ahead.n++
	return true, nil
}

// promote adds sender's held transactions that have become next, and drops
// those whose nonce has passed (or that no longer apply).
func (l *Ledger) promote(sender Address) {
	list := l.ahead.bySender[sender]
	for len(list) > 0 {
		next := l.base.account(sender).Nonce + uint64(len(l.pool.bySender[sender]))
		tx := list[0]
		if tx.Nonce > next {
			break
		}
		list = list[1:]
		l.ahead.n--
		if tx.Nonce == next {
			_ = l.admit(tx, false) // a full mempool drops it, as it would have
		}
	}
	if len(list) == 0 {
		delete(l.ahead.bySender, sender)
		return
	}
	l.ahead.bySender[sender] = list
}

// promoteAll promotes every sender's held transactions after a commit, in
// address order: promotion order is mempool arrival order, which block
// building reads.
func (l *Ledger) promoteAll() {
	if l.ahead.n == 0 {
		return
	}
	senders := make([]Address, 0, len(l.ahead.bySender))
	for s := range l.ahead.bySender {
		senders = append(senders, s)
	}
	sort.Slice(senders, func(i, j int) bool { return bytes.Compare(senders[i][:], senders[j][:]) < 0 })
	for _, s := range senders {
		l.promote(s)
	}
}

// Held returns the number of transactions held ahead of their nonce.
func (l *Ledger) Held() int { return l.ahead.n }
