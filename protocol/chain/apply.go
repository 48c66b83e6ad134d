package chain

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/bits"
)

// The state transition. Every rule checks everything before it writes, so a
// rejected transaction leaves its layer exactly as it found it (the property
// tests hold the state root to this). No credit can overflow: minting keeps
// minted − burned (every token in existence) within uint64, and every
// holding is part of it.

// checkStatic checks what needs no state: well-formedness, a user type,
// size and fee. The signature is checked separately (verify), once per
// transaction.
func (l *Ledger) checkStatic(tx *Tx) error {
	tx.seal()
	if err := tx.wellFormed(); err != nil {
		return err
	}
	if tx.Type == TxReward {
		return fmt.Errorf("%w: a reward is minted by the block, not submitted", ErrSystemTx)
	}
	if len(tx.enc) > l.p.MaxTxBytes {
		return fmt.Errorf("%w: %d bytes > %d", ErrTxTooLarge, len(tx.enc), l.p.MaxTxBytes)
	}
	gas := l.p.Gas.Gas(tx.Type, len(tx.enc))
	if hi, min := bits.Mul64(gas, l.p.MinGasPrice); hi != 0 || tx.Fee < min {
		return fmt.Errorf("%w: fee %d < %d gas × %d", ErrFeeTooLow, tx.Fee, gas, l.p.MinGasPrice)
	}
	return nil
}

// applyTx applies a user transaction, whose signature has been checked, to
// st in the block at st.height.
func (l *Ledger) applyTx(st *layer, tx *Tx) error {
	if err := l.checkStatic(tx); err != nil {
		return err
	}
	from := tx.from
	s := st.account(from)
	if tx.Nonce != s.Nonce {
		what := "reused"
		if tx.Nonce > s.Nonce {
			what = "ahead"
		}
		return fmt.Errorf("%w: %s tx nonce %d %s: %s expects %d", ErrNonce, tx.Type, tx.Nonce, what, from, s.Nonce)
	}
	amount := uint64(0) // debited from the balance besides the fee
	switch b := tx.body.(type) {
	case Transfer:
		if b.To == from {
			return fmt.Errorf("%w: transfer to self", ErrBadTx)
		}
		amount = b.Amount
	case Stake:
		amount = b.Amount
	case Unstake:
		if b.Amount == 0 {
			return fmt.Errorf("%w: unstake of 0", ErrBadTx)
		}
		if s.Stake < b.Amount {
			return fmt.Errorf("%w: unstake %d > stake %d of %s", ErrNoStake, b.Amount, s.Stake, from)
		}
	case JobPost:
		amount = b.Budget
		if _, ok := st.job(JobIDFor(from, tx.Nonce)); ok {
			return fmt.Errorf("%w: job %x", ErrDuplicate, JobIDFor(from, tx.Nonce))
		}
	case ResultCommit:
		if _, ok := st.job(b.Job); !ok {
			return fmt.Errorf("%w %x", ErrUnknownJob, b.Job)
		}
		if _, ok := st.commit(commitKey{b.Job, b.Unit, from}); ok {
			return fmt.Errorf("%w: %s's result for job %x unit %d", ErrDuplicate, from, b.Job, b.Unit)
		}
	case Slash:
		if err := l.checkSlash(st, b); err != nil {
			return err
		}
	case Proposal:
	case Vote:
		if b.Choice < VoteYes || b.Choice > VoteAbstain {
			return fmt.Errorf("%w: vote choice %d", ErrBadTx, b.Choice)
		}
		p, ok := st.proposal(b.Proposal)
		if !ok {
			return fmt.Errorf("%w %d", ErrNoProposal, b.Proposal)
		}
		if st.height < p.Start || st.height >= p.End {
			return fmt.Errorf("%w: proposal %d takes votes in blocks %d … %d, not %d", ErrVotingClosed, p.ID, p.Start, p.End-1, st.height)
		}
	case Settle:
		if err := l.checkSettle(st, from, b); err != nil {
			return err
		}
	case Payout:
		sum, err := creditTotal(b.Pay, from)
		if err != nil {
			return err
		}
		amount = sum
	case VersionCommit:
		if err := l.checkVersion(st, from, b); err != nil {
			return err
		}
	case Use:
		price, err := checkUse(st, b)
		if err != nil {
			return err
		}
		amount = price
	case ResultRoot:
		if l.cfg.Settler == (Address{}) || from != l.cfg.Settler {
			return fmt.Errorf("%w: %s may not commit result batches", ErrBadTx, from)
		}
		if b.Count == 0 {
			return fmt.Errorf("%w: a batch of no results", ErrBadTx)
		}
		if _, ok := st.resultRoot(b.Root); ok {
			return fmt.Errorf("%w: result root %x", ErrDuplicate, b.Root[:6])
		}
	}
	switch tx.Type {
	case TxTransfer, TxStake, TxJobPost:
		if amount == 0 {
			return fmt.Errorf("%w: %s of 0", ErrBadTx, tx.Type)
		}
	}
	debit, carry := bits.Add64(tx.Fee, amount, 0)
	if carry != 0 {
		return fmt.Errorf("%w: fee %d + amount %d", ErrOverflow, tx.Fee, amount)
	}
	if s.Balance < debit {
		return fmt.Errorf("%w: %s has %d, %s needs %d (fee %d + %d)", ErrOverdraft, from, s.Balance, tx.Type, debit, tx.Fee, amount)
	}

	// Every check passed: write.
	s.Balance -= debit
	s.Nonce++
	st.fees += tx.Fee
	switch b := tx.body.(type) {
	case Transfer:
		st.setAccount(from, s)
		r := st.account(b.To)
		r.Balance += b.Amount
		st.setAccount(b.To, r)
	case Stake:
		s.Stake += b.Amount
		st.setAccount(from, s)
	case Unstake:
		s.Stake -= b.Amount
		st.setAccount(from, s)
		release := st.height + l.p.UnbondingBlocks
		old := st.batch(release)
		st.setBatch(release, append(old[:len(old):len(old)], unbonding{from, b.Amount}))
	case JobPost:
		st.setAccount(from, s)
		st.setJob(Job{ID: JobIDFor(from, tx.Nonce), Poster: from, Escrow: b.Budget, Posted: st.height, Spec: bytes.Clone(b.Spec)})
	case ResultCommit:
		st.setAccount(from, s)
		st.addCommit(commitKey{b.Job, b.Unit, from}, Commitment{Result: b.Result, Height: st.height})
	case Slash:
		st.setAccount(from, s) // first: the offender may be the sender
		o := st.account(b.Offender)
		burn := l.slashFraction(st.height, b.Evidence).Of(o.Stake)
		o.Stake -= burn
		st.burned += burn
		st.setAccount(b.Offender, o)
		st.useEvidence(sha256.Sum256(b.Evidence))
	case Proposal:
		st.setAccount(from, s)
		st.addProposal(ProposalRecord{ID: st.nextProposal, Proposer: from, Body: bytes.Clone(b.Body),
			Start: st.height, End: st.height + l.p.VotingPeriod})
	case Vote:
		st.setAccount(from, s)
		st.setVote(voteKey{b.Proposal, from}, b.Choice)
	case Settle:
		st.setAccount(from, s)
		settle(st, b, l.p.DisputeBlocks)
	case Payout:
		st.setAccount(from, s)
		credit(st, b.Pay)
	case VersionCommit:
		st.setAccount(from, s)
		applyVersion(st, b)
	case Use:
		st.setAccount(from, s) // first: the sender may be the poster
		applyUse(st, b)
	case ResultRoot:
		st.setAccount(from, s)
		st.addResultRoot(b.Root, RootRecord{Count: b.Count, Height: st.height})
		st.expire(l.p.DisputeBlocks, expiry{id: b.Root, root: true})
	}
	return nil
}

func (l *Ledger) checkSlash(st *layer, b Slash) error {
	if len(b.Evidence) == 0 {
		return fmt.Errorf("%w: no evidence", ErrBadEvidence)
	}
	if st.evidenceUsed(sha256.Sum256(b.Evidence)) {
		return fmt.Errorf("%w: evidence against %s used before", ErrDuplicate, b.Offender)
	}
	if st.account(b.Offender).Stake == 0 {
		return fmt.Errorf("%w: offender %s has no stake", ErrBadTx, b.Offender)
	}
	if l.cfg.VerifyEvidence != nil {
		if err := l.cfg.VerifyEvidence(b.Offender, b.Evidence); err != nil {
			return fmt.Errorf("%w: %v", ErrBadEvidence, err)
		}
	}
	return nil
}

// beginBlock starts the block at height on st: what falls due is pruned
// (prune.go), and unbonded stake whose time has come returns to the
// balances.
func (l *Ledger) beginBlock(st *layer, height uint64) {
	st.height = height
	st.fees = 0
	st.prune()
	b := st.batch(height)
	if b == nil {
		return
	}
	for _, u := range b {
		a := st.account(u.Address)
		a.Balance += u.Amount
		st.setAccount(u.Address, a)
	}
	st.setBatch(height, nil)
}

// applyReward applies the reward system transaction of the block at
// st.height proposed by proposer.
func (l *Ledger) applyReward(st *layer, tx *Tx, proposer Address) error {
	tx.seal()
	if err := tx.wellFormed(); err != nil {
		return fmt.Errorf("%w: %v", ErrForgedReward, err)
	}
	b, ok := tx.body.(Reward)
	want := l.emission(st.height)
	switch {
	case tx.Type != TxReward || !ok:
		return fmt.Errorf("%w: first tx is a %s, not the reward", ErrForgedReward, tx.Type)
	case tx.Nonce != st.height:
		return fmt.Errorf("%w: reward for height %d in block %d", ErrForgedReward, tx.Nonce, st.height)
	case b.To != proposer:
		return fmt.Errorf("%w: reward to %s, proposer is %s", ErrForgedReward, b.To, proposer)
	case b.Amount != want:
		return fmt.Errorf("%w: reward %d, schedule pays %d at height %d", ErrForgedReward, b.Amount, want, st.height)
	}
	minted, c1 := bits.Add64(st.minted, b.Amount, 0)
	_, c2 := bits.Add64(st.minted-st.burned, b.Amount, 0)
	if c1|c2 != 0 {
		return fmt.Errorf("%w: minting %d on %d minted", ErrOverflow, b.Amount, st.minted)
	}
	st.minted = minted
	a := st.account(b.To)
	a.Balance += b.Amount
	st.setAccount(b.To, a)
	return nil
}

// endBlock pays the block's fees: FeeBurn of them burned, the rest to the
// proposer. It returns what was burned.
func (l *Ledger) endBlock(st *layer, proposer Address) uint64 {
	if st.fees == 0 {
		return 0
	}
	burn := l.p.FeeBurn.Of(st.fees)
	st.burned += burn
	a := st.account(proposer)
	a.Balance += st.fees - burn
	st.setAccount(proposer, a)
	st.fees = 0
	return burn
}
