package chain

import (
	"errors"
	"testing"

	"pgregory.net/rapid"

	"github.com/dais-sim/dais/protocol"
)

// Every reason a transaction may be rejected for.
var reasons = []error{ErrBadSignature, ErrNonce, ErrOverdraft, ErrFeeTooLow, ErrTxTooLarge, ErrSystemTx,
	ErrBadTx, ErrOverflow, ErrUnknownJob, ErrDuplicate, ErrNoProposal, ErrVotingClosed, ErrBadEvidence,
	ErrKnownTx, ErrMempoolFull}

// pendingDebits returns what node i's pending transactions take from its
// balance and from its stake.
func (n *net) pendingDebits(i int) (bal, stake uint64) {
	for _, e := range n.ledgers[0].pool.bySender[n.addrs[i]] {
		bal += e.tx.Fee
		switch b := e.tx.Body().(type) {
		case Transfer:
			bal += b.Amount
		case Stake:
			bal += b.Amount
			stake -= b.Amount // comes back as stake: counted as negative debit
		case JobPost:
			bal += b.Budget
		case Unstake:
			stake += b.Amount
		}
	}
	return bal, stake
}

// naiveCheck is the admission check as it was before pending states were
// kept: the committed state, the sender's whole queue replayed, then tx.
func naiveCheck(l *Ledger, tx *Tx) error {
	if err := l.checkStatic(tx); err != nil {
		return err
	}
	if _, ok := l.pool.byHash[tx.hash]; ok {
		return ErrKnownTx
	}
	st := l.base.child()
	l.beginBlock(st, l.base.height+1)
	for _, e := range l.pool.bySender[tx.from] {
		if err := l.applyTx(st, e.tx); err != nil {
			return err
		}
	}
	if err := tx.verify(); err != nil {
		return err
	}
	return l.applyTx(st, tx)
}

// Random transaction sequences (every type, random senders, amounts up to
// overdrafts, wrong nonces, bad signatures, low fees) on replicated
// ledgers: every rejection has its defect's reason and changes nothing;
// every block conserves tokens, keeps the replicas identical, and keeps the
// incremental state root equal to one recomputed from scratch; minting and
// burning add up to what the blocks report.
func TestPropertyRandomTransactions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		const nodes = 5
		unbonding := uint64(rapid.IntRange(1, 3).Draw(t, "unbonding"))
		burn := PPM(rapid.IntRange(0, int(PPMOne)).Draw(t, "burn"))
		slash := PPM(rapid.IntRange(0, int(PPMOne)).Draw(t, "slash"))
		n := newNet(t, nodes, 2, func(c *Config) {
			c.Params.UnbondingBlocks, c.Params.FeeBurn, c.Params.SlashFraction = unbonding, burn, slash
			c.Params.VotingPeriod = 3
		})
		l := n.ledgers[0]
		var jobs []JobID
		var minted, burned uint64 = l.Supply().Minted, 0
		for range rapid.IntRange(1, 8).Draw(t, "blocks") {
			for range rapid.IntRange(0, 10).Draw(t, "txs") {
				tx, want := n.randomTx(t, jobs)
				before := snap(l)
				oracle := naiveCheck(l, tx)
				err := n.ledgers[0].AddTx(tx)
				if (err == nil) != (oracle == nil) && !errors.Is(err, ErrMempoolFull) {
					t.Fatalf("%s tx: the mempool says %v, replaying the sender's queue says %v", tx.Type, err, oracle)
				}
				err1 := n.ledgers[1].AddTx(tx)
				if (err == nil) != (err1 == nil) || (err != nil && err.Error() != err1.Error()) {
					t.Fatalf("replicas disagree on a %s tx: %v / %v", tx.Type, err, err1)
				}
				if want != nil && !errors.Is(err, want) {
					t.Fatalf("%s tx: error %v, want %v", tx.Type, err, want)
				}
				if err != nil {
					known := false
					for _, r := range reasons {
						known = known || errors.Is(err, r)
					}
					if !known {
						t.Fatalf("%s tx rejected for no listed reason: %v", tx.Type, err)
					}
					if snap(l) != before {
						t.Fatalf("rejected %s tx (%v) changed the ledger", tx.Type, err)
					}
				} else if tx.Type == TxJobPost {
					jobs = append(jobs, JobIDFor(tx.From(), tx.Nonce))
				}
			}
			n.step(protocol.NodeID(rapid.IntRange(0, nodes-1).Draw(t, "proposer")))
			a := l.LastApplied()
			minted += a.Minted
			burned += a.Burned
			if s := l.Supply(); s.Minted != minted || s.Burned != burned {
				t.Fatalf("supply minted %d burned %d; blocks reported %d and %d", s.Minted, s.Burned, minted, burned)
			}
		}
	})
}

// randomTx draws a transaction and, when it has a deliberate defect, the
// reason it must be rejected for.
func (n *net) randomTx(t *rapid.T, jobs []JobID) (*Tx, error) {
	l := n.ledgers[0]
	i := rapid.IntRange(0, len(n.keys)-1).Draw(t, "sender")
	acc := l.Account(n.addrs[i])
	for _, u := range l.base.batch(l.Height() + 1) { // released before the next block's txs
		if u.Address == n.addrs[i] {
			acc.Balance += u.Amount
		}
	}
	dBal, dStake := n.pendingDebits(i)
	avail := uint64(0)
	if acc.Balance > dBal {
		avail = acc.Balance - dBal
	}
	stake := acc.Stake - dStake
	nonce := n.nonce(i)
	f := uint64(fee) + uint64(rapid.IntRange(0, 1000).Draw(t, "fee"))
	upTo := func(max uint64) uint64 { return rapid.Uint64Range(0, max).Draw(t, "amount") }
	to := n.addrs[rapid.IntRange(0, len(n.addrs)-1).Draw(t, "to")]
	if rapid.Bool().Draw(t, "fresh recipient") {
		to = Address{byte(rapid.IntRange(0, 255).Draw(t, "fresh"))}
	}
	spend := uint64(0)
	if avail > f {
		spend = avail - f
	}

	defect := rapid.SampledFrom([]string{"", "", "", "", "bad sig", "reused nonce", "nonce ahead", "overdraft", "low fee", "reward"}).Draw(t, "defect")
	var want error
	typ := TxType(rapid.IntRange(1, int(numKinds)-1).Draw(t, "type"))
	if typ == TxReward || typ == TxSettle || typ == TxPayout || typ == TxVersion || typ == TxUse || typ == TxResultRoot {
		typ = TxTransfer // settle, payout and result roots (escrow_test.go), versions and uses (version_test.go) have their own tests
	}
	switch defect {
	case "reward":
		return NewReward(l.Height()+1, n.addrs[i], 1000), ErrSystemTx
	case "reused nonce":
		if nonce == 0 {
			break
		}
		nonce -= uint64(rapid.IntRange(1, int(nonce)).Draw(t, "back"))
		f += 7919 // not a copy of the pending one
		want = ErrNonce
	case "nonce ahead":
		nonce += uint64(rapid.IntRange(1, 5).Draw(t, "ahead"))
		want = ErrNonce
	case "low fee":
		f = uint64(rapid.IntRange(0, 999).Draw(t, "low"))
		want = ErrFeeTooLow
	case "overdraft":
		typ = rapid.SampledFrom([]TxType{TxTransfer, TxStake, TxUnstake, TxJobPost}).Draw(t, "overdrawn")
		want = ErrOverdraft
	}
	over := want == ErrOverdraft
	var u Tx
	switch typ {
	case TxTransfer:
		if to == n.addrs[i] {
			to = Address{0xfe}
		}
		amt := upTo(spend)
		if over {
			amt = spend + 1 + upTo(1000)
		}
		u = NewTransfer(nonce, f, to, amt)
	case TxStake:
		amt := upTo(spend)
		if over {
			amt = spend + 1 + upTo(1000)
		}
		u = NewStake(nonce, f, amt)
	case TxUnstake:
		amt := upTo(stake)
		if over {
			amt = stake + 1 + upTo(1000)
		}
		u = NewUnstake(nonce, f, amt)
	case TxJobPost:
		amt := upTo(spend)
		if over {
			amt = spend + 1 + upTo(1000)
		}
		u = NewJobPost(nonce, f, amt, rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "spec"))
	case TxResult:
		job := JobID{1}
		if len(jobs) > 0 && rapid.IntRange(0, 3).Draw(t, "known job") > 0 {
			job = rapid.SampledFrom(jobs).Draw(t, "job")
		}
		u = NewResultCommit(nonce, f, job, uint32(rapid.IntRange(0, 3).Draw(t, "unit")), Hash{byte(nonce)})
	case TxSlash:
		off := n.addrs[rapid.IntRange(0, len(n.addrs)-1).Draw(t, "offender")]
		ev := rapid.SliceOfN(rapid.ByteRange(0, 3), 0, 2).Draw(t, "evidence") // small: reuse happens
		u = NewSlash(nonce, f, off, ev)
	case TxProposal:
		u = NewProposal(nonce, f, rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "body"))
	case TxVote:
		p := l.base.nextProposal - 1 // the latest, most likely open
		if rapid.Bool().Draw(t, "other proposal") {
			p = uint64(rapid.IntRange(0, int(l.base.nextProposal)).Draw(t, "proposal"))
		}
		u = NewVote(nonce, f, p, Choice(rapid.IntRange(0, 4).Draw(t, "choice")))
	}
	tx := n.sign(i, u)
	if defect == "bad sig" {
		tx.Sig = append([]byte(nil), tx.Sig...)
		tx.Sig[rapid.IntRange(0, 63).Draw(t, "sig byte")] ^= byte(rapid.IntRange(1, 255).Draw(t, "flip"))
		tx.enc = nil
		want = ErrBadSignature
	}
	return tx, want
}

// The incremental root is order-independent: the same records written in
// another order give the same root.
func TestStateRootIgnoresWriteOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(t, "n")
		a, b := newBase(), newBase()
		vals := make([]acct, n)
		for i := range vals {
			vals[i] = acct{Balance: rapid.Uint64().Draw(t, "bal"), Nonce: uint64(i)}
		}
		perm := rapid.Permutation(intsUpTo(n)).Draw(t, "order")
		for i := range n {
			a.setAccount(Address{byte(i)}, vals[i])
			b.setAccount(Address{byte(perm[i])}, acct{Balance: 1}) // overwritten below
		}
		for _, i := range perm {
			b.setAccount(Address{byte(i)}, vals[i])
		}
		if a.root() != b.root() || a.root() != a.recomputeRoot() {
			t.Fatal("the root depends on write order")
		}
	})
}

func intsUpTo(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

var _ = testing.Short
