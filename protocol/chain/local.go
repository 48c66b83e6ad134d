package chain

import (
	"fmt"

	"github.com/dais-sim/dais/protocol"
)

// Local drives a ledger that one party keeps alone, whose agreement a
// simulation models rather than runs (a training job's coordinator, a
// reward accountant): it signs nothing (Config.ModeledVerification must be
// set), numbers each sender's transactions, and makes and commits a block
// whenever PerBlock transactions are pending, or on Flush. A refused
// transaction or a block that breaks conservation is a broken invariant of
// the caller's and panics with Who in the message. Used from one
// goroutine.
type Local struct {
	L *Ledger
	// Who names the ledger's keeper in panics ("learn: the training job").
	Who string
	// PerBlock is how many pending transactions make a block (0: 32, below
	// the mempool's default per-sender bound).
	PerBlock int

	nonce  map[Address]uint64
	queued int
}

// modeledSignature stands for a signature on a ledger that models
// verification.
var modeledSignature = make([]byte, 64)

// Submit adds tx from pub with pub's next nonce and a placeholder
// signature.
func (c *Local) Submit(now protocol.Time, pub PubKey, tx Tx) {
	if c.nonce == nil {
		c.nonce = map[Address]uint64{}
	}
	a := pub.Address()
	n, ok := c.nonce[a]
	if !ok {
		n = c.L.Account(a).Nonce
	}
	tx.Nonce, tx.Sender, tx.Sig = n, pub, modeledSignature
	if err := c.L.AddTx(&tx); err != nil {
		panic(fmt.Sprintf("%s's %s transaction was refused: %v", c.Who, tx.Type, err))
	}
	c.nonce[a] = n + 1
	per := c.PerBlock
	if per <= 0 {
		per = 32
	}
	if c.queued++; c.queued >= per {
		c.Flush(now)
	}
}

// Flush makes and commits blocks until every submitted transaction is in
// one, checking conservation after each.
func (c *Local) Flush(now protocol.Time) {
	for c.queued > 0 {
		h := c.L.Height() + 1
		raw, hash := c.L.MakeBlock(h, c.L.Tip(), 0, now)
		c.L.Commit(h, raw, hash, now)
		if err := c.L.CheckSupply(); err != nil {
			panic(fmt.Sprintf("%s's ledger after block %d: %v", c.Who, h, err))
		}
		app := c.L.LastApplied()
		if app.User == 0 {
			panic(fmt.Sprintf("%s: block %d took none of %d pending transactions", c.Who, h, app.Pending))
		}
		c.queued = app.Pending
	}
}
