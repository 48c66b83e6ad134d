package chain

import (
	"fmt"
	"math/bits"
)

// Releasing escrow. A JobPost locks a budget; the marketplace (package
// protocol/market) decides who earned it, and its committee's account,
// Config.Settler, releases it with Settle transactions: payments to
// providers and to the reward pool, a burn, and on Close the rest back to
// the poster. Payout is the multi-recipient transfer the committee splits
// each block's reward pool with (one transaction for hundreds of
// providers, where transfers would cost one nonce and one signature each).
//
// Both keep conservation by construction: every base unit that leaves an
// escrow or a balance lands in exactly one balance or in Burned, and every
// sum is checked for overflow before anything is written.

// MaxCredits bounds the payments of one Settle or Payout on the wire; the
// ledger's MaxTxBytes is usually the tighter limit.
const MaxCredits = 1 << 14

// Credit is one payment of a Settle or a Payout.
type Credit struct {
	_      struct{} `cbor:",toarray"`
	To     Address
	Amount uint64
}

// Release is what a Settle does to one job's escrow: each credit is paid
// out of it, Burn is burned, and with Close whatever is left returns to
// the poster, after which the job is closed (its escrow is 0 and later
// releases of it fail).
type Release struct {
	_     struct{} `cbor:",toarray"`
	Job   JobID
	Pay   []Credit
	Burn  uint64
	Close bool
}

// Settle releases the escrow of one or more jobs, each at most once per
// transaction, in order. Only Config.Settler may send one; the fee is
// paid from its balance like any transaction's. A committee settles every
// job that ended in a block with one Settle, so its pending transactions
// (each re-checked when the next is added) stay few.
type Settle struct {
	_    struct{} `cbor:",toarray"`
	Jobs []Release
}

// Payout pays every credit from the sender's balance (a transfer to many).
type Payout struct {
	_   struct{} `cbor:",toarray"`
	Pay []Credit
}

// ResultRoot commits a batch of Count result commitments by the Merkle
// root of their leaves (the market's off-chain matching settles a
// block's results this way: 32 bytes on chain for the whole batch). The
// leaves are the market's business (protocol/verify's ResultLeaf); the
// ledger records the root once, and evidence that names a result proves
// it with a Merkle path to a recorded root. Only Config.Settler may send
// one.
type ResultRoot struct {
	_     struct{} `cbor:",toarray"`
	Root  Hash
	Count uint32
}

// RootRecord is a recorded ResultRoot: its leaf count and the height of
// its block.
type RootRecord struct {
	Count  uint32
	Height uint64
}

// NewResultRoot returns an unsigned result batch commitment.
func NewResultRoot(nonce, fee uint64, root Hash, count uint32) Tx {
	return NewTx(TxResultRoot, nonce, fee, ResultRoot{Root: root, Count: count})
}

// NewSettle returns an unsigned settlement of jobs' escrow.
func NewSettle(nonce, fee uint64, jobs ...Release) Tx {
	return NewTx(TxSettle, nonce, fee, Settle{Jobs: jobs})
}

// NewPayout returns an unsigned payment to many accounts.
func NewPayout(nonce, fee uint64, pay []Credit) Tx {
	return NewTx(TxPayout, nonce, fee, Payout{Pay: pay})
}

// creditTotal sums credits that must each be positive and, when from is
// given, not paid back to the sender.
func creditTotal(pay []Credit, from Address) (uint64, error) {
	var sum uint64
	for i, c := range pay {
		if c.Amount == 0 {
			return 0, fmt.Errorf("%w: credit %d is 0", ErrBadTx, i)
		}
		if c.To == from {
			return 0, fmt.Errorf("%w: credit %d pays the sender", ErrBadTx, i)
		}
		s, carry := bits.Add64(sum, c.Amount, 0)
		if carry != 0 {
			return 0, fmt.Errorf("%w: credits sum past %d", ErrOverflow, uint64(1<<64-1))
		}
		sum = s
	}
	if len(pay) == 0 {
		return 0, fmt.Errorf("%w: no credits", ErrBadTx)
	}
	return sum, nil
}

// checkSettle checks a settle against st without writing.
func (l *Ledger) checkSettle(st *layer, from Address, b Settle) error {
	if l.cfg.Settler == (Address{}) || from != l.cfg.Settler {
		return fmt.Errorf("%w: %s may not settle escrow", ErrBadTx, from)
	}
	if len(b.Jobs) == 0 {
		return fmt.Errorf("%w: a settle of no jobs", ErrBadTx)
	}
	seen := make(map[JobID]bool, len(b.Jobs))
	for _, r := range b.Jobs {
		if seen[r.Job] {
			return fmt.Errorf("%w: job %x released twice in one settle", ErrBadTx, r.Job)
		}
		seen[r.Job] = true
		if err := checkRelease(st, r); err != nil {
			return err
		}
	}
	return nil
}

func checkRelease(st *layer, r Release) error {
	j, ok := st.job(r.Job)
	if !ok {
		return fmt.Errorf("%w %x", ErrUnknownJob, r.Job)
	}
	if j.Escrow == 0 {
		return fmt.Errorf("%w: job %x is closed", ErrBadTx, r.Job)
	}
	var out uint64
	if len(r.Pay) > 0 {
		s, err := creditTotal(r.Pay, Address{})
		if err != nil {
			return err
		}
		out = s
	} else if r.Burn == 0 && !r.Close {
		return fmt.Errorf("%w: release of job %x releases nothing", ErrBadTx, r.Job)
	}
	out, carry := bits.Add64(out, r.Burn, 0)
	if carry != 0 || out > j.Escrow {
		return fmt.Errorf("%w: release of more than job %x's escrow of %d", ErrOverdraft, r.Job, j.Escrow)
	}
	return nil
}

// settle applies a checked settle. A job it closes is pruned window
// blocks later (prune.go).
func settle(st *layer, b Settle, window uint64) {
	for _, r := range b.Jobs {
		j, _ := st.job(r.Job)
		for _, c := range r.Pay {
			j.Escrow -= c.Amount
		}
		j.Escrow -= r.Burn
		st.burned += r.Burn
		credit(st, r.Pay)
		if r.Close && j.Escrow > 0 {
			p := st.account(j.Poster)
			p.Balance += j.Escrow
			st.setAccount(j.Poster, p)
			j.Escrow = 0
		}
		st.setJob(j)
		if j.Escrow == 0 {
			st.expire(window, jobExpiry(j.ID))
		}
	}
}

// credit adds each payment to its recipient's balance. The tokens already
// exist (debited from a balance or an escrow), so no balance can overflow.
func credit(st *layer, pay []Credit) {
	for _, c := range pay {
		a := st.account(c.To)
		a.Balance += c.Amount
		st.setAccount(c.To, a)
	}
}

// slashFraction is the share of stake the slash with evidence burns in
// the block at height.
func (l *Ledger) slashFraction(height uint64, evidence []byte) PPM {
	if l.cfg.SlashFraction == nil {
		return l.p.SlashFraction
	}
	if f := l.cfg.SlashFraction(height, evidence); f <= PPMOne {
		return f
	}
	return PPMOne
}
