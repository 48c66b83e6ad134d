package chain

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dais-sim/dais/protocol"
)

func mustAdd(t *testing.T, n *net, tx *Tx) {
	t.Helper()
	if err := n.submit(tx); err != nil {
		t.Fatalf("%s tx from %s: %v", tx.Type, tx.From(), err)
	}
}

func TestTransferFeesAndReward(t *testing.T) {
	n := newNet(t, 3, 2, nil)
	l := n.ledgers[0]
	tx := n.sign(0, NewTransfer(0, fee, n.addrs[1], 5000))
	mustAdd(t, n, tx)
	before := l.Supply()
	n.step(2)

	burn := uint64(fee / 4)
	for i, want := range []uint64{genesisBalance - 5000 - fee, genesisBalance + 5000, genesisBalance + 1000 + fee - burn} {
		if got := l.Account(n.addrs[i]).Balance; got != want {
			t.Errorf("node %d balance %d, want %d", i, got, want)
		}
	}
	if got := l.Account(n.addrs[0]).Nonce; got != 1 {
		t.Errorf("sender nonce %d, want 1", got)
	}
	after := l.Supply()
	if after.Minted-before.Minted != 1000 || after.Burned-before.Burned != burn {
		t.Errorf("minted %d and burned %d in the block, want 1000 and %d", after.Minted-before.Minted, after.Burned-before.Burned, burn)
	}
	a := l.LastApplied()
	want := Applied{Height: 1, Proposer: 2, Txs: 2, User: 1, Bytes: a.Bytes, Gas: testParams().Gas.Gas(TxTransfer, len(tx.Encoded())),
		Fees: fee, Burned: burn, Minted: 1000, StateRoot: l.StateRoot()}
	if a != want || a.Bytes < 100 {
		t.Errorf("LastApplied %+v, want %+v", a, want)
	}
	if l.Height() != 1 || l.Tip() == (Hash{}) {
		t.Error("height and tip did not move")
	}
	if n, _ := l.PoolSize(); n != 0 {
		t.Errorf("%d txs left in the mempool after inclusion", n)
	}
}

func TestUnbondingReturnsAfterExactlyN(t *testing.T) {
	n := newNet(t, 3, 2, nil)
	l := n.ledgers[0]
	const amount = 400_000
	mustAdd(t, n, n.sign(0, NewUnstake(0, fee, amount)))
	n.step(2) // height 1: unstaked; returns in block 1+3
	acc := l.Account(n.addrs[0])
	if acc.Stake != genesisStake-amount || acc.Balance != genesisBalance-fee {
		t.Fatalf("after unstaking: %+v", acc)
	}
	if s := l.Supply(); s.Unbonding != amount {
		t.Fatalf("unbonding %d, want %d", s.Unbonding, amount)
	}
	for h := uint64(2); h <= 4; h++ {
		n.step(2)
		want := uint64(genesisBalance - fee)
		if h == 4 {
			want += amount
		}
		if got := l.Account(n.addrs[0]).Balance; got != want {
			t.Errorf("balance after block %d: %d, want %d", h, got, want)
		}
	}
	if s := l.Supply(); s.Unbonding != 0 {
		t.Errorf("unbonding %d after release", s.Unbonding)
	}
	// The unstaked amount is not stake any more: unstaking it again overdraws.
	err := n.submit(n.sign(0, NewUnstake(1, fee, genesisStake)))
	if !errors.Is(err, ErrNoStake) || !errors.Is(err, ErrOverdraft) {
		t.Errorf("unstaking more than the stake: %v, want ErrNoStake", err)
	}
}

func TestSlashBurnsTheFraction(t *testing.T) {
	var judged []string
	n := newNet(t, 3, 2, func(c *Config) {
		c.VerifyEvidence = func(off Address, ev []byte) error {
			judged = append(judged, string(ev))
			if string(ev) == "forged" {
				return errors.New("signatures do not match")
			}
			return nil
		}
	})
	l := n.ledgers[0]
	before := l.Supply()
	mustAdd(t, n, n.sign(1, NewSlash(0, fee, n.addrs[0], []byte("two votes at height 9"))))
	n.step(2)
	slashed := uint64(genesisStake / 10)
	if got := l.Account(n.addrs[0]).Stake; got != genesisStake-slashed {
		t.Errorf("offender stake %d, want %d", got, genesisStake-slashed)
	}
	if got, want := l.Supply().Burned-before.Burned, slashed+fee/4; got != want {
		t.Errorf("burned %d, want slash %d + fee burn %d", got, slashed, fee/4)
	}
	for _, tc := range []struct {
		tx   *Tx
		want error
	}{
		{n.sign(1, NewSlash(1, fee, n.addrs[0], []byte("two votes at height 9"))), ErrDuplicate},
		{n.sign(1, NewSlash(1, fee, n.addrs[0], []byte("forged"))), ErrBadEvidence},
		{n.sign(1, NewSlash(1, fee, n.addrs[0], nil)), ErrBadEvidence},
		{n.sign(1, NewSlash(1, fee, Address{0xaa}, []byte("x"))), ErrBadTx},
	} {
		if err := l.AddTx(tc.tx); !errors.Is(err, tc.want) {
			t.Errorf("slash: %v, want %v", err, tc.want)
		}
	}
	if len(judged) == 0 {
		t.Error("VerifyEvidence was never called")
	}
}

func TestEscrowLocksAndConserves(t *testing.T) {
	n := newNet(t, 3, 2, nil)
	l := n.ledgers[0]
	const budget = 2_000_000
	post := n.sign(0, NewJobPost(0, fee, budget, []byte("spec")))
	mustAdd(t, n, post)
	n.step(2)
	id := JobIDFor(n.addrs[0], 0)
	j, ok := l.Job(id)
	if !ok || j.Escrow != budget || j.Poster != n.addrs[0] || string(j.Spec) != "spec" || j.Posted != 1 {
		t.Fatalf("job %+v, %v", j, ok)
	}
	if got := l.Account(n.addrs[0]).Balance; got != genesisBalance-budget-fee {
		t.Errorf("poster balance %d, want %d", got, genesisBalance-budget-fee)
	}
	if s := l.Supply(); s.Escrow != budget {
		t.Errorf("escrow %d, want %d", s.Escrow, budget)
	}
	res := Hash{1, 2, 3}
	mustAdd(t, n, n.sign(1, NewResultCommit(0, fee, id, 3, res)))
	n.step(2)
	if c, ok := l.Commitment(id, 3, n.addrs[1]); !ok || c.Result != res || c.Height != 2 {
		t.Errorf("commitment %+v, %v", c, ok)
	}
	if s := l.Supply(); s.Escrow != budget {
		t.Errorf("escrow %d after a commitment, want %d (payment is the marketplace's)", s.Escrow, budget)
	}
	for _, tc := range []struct {
		tx   *Tx
		want error
	}{
		{n.sign(1, NewResultCommit(1, fee, id, 3, Hash{9})), ErrDuplicate},
		{n.sign(1, NewResultCommit(1, fee, JobID{7}, 3, res)), ErrUnknownJob},
		{n.sign(0, NewJobPost(1, fee, genesisBalance, nil)), ErrOverdraft},
		{n.sign(0, NewJobPost(1, fee, 0, nil)), ErrBadTx},
	} {
		if err := l.AddTx(tc.tx); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.tx.Type, err, tc.want)
		}
	}
}

func TestGovernanceTally(t *testing.T) {
	n := newNet(t, 3, 2, nil)
	l := n.ledgers[0]
	mustAdd(t, n, n.sign(0, NewProposal(0, fee, []byte("burn 50% of fees"))))
	n.step(2) // height 1: proposal 1 takes votes in blocks 1…5
	p, ok := l.Proposal(1)
	if !ok || p.Start != 1 || p.End != 6 || string(p.Body) != "burn 50% of fees" {
		t.Fatalf("proposal %+v, %v", p, ok)
	}
	mustAdd(t, n, n.sign(0, NewVote(1, fee, 1, VoteYes)))
	mustAdd(t, n, n.sign(1, NewVote(0, fee, 1, VoteNo)))
	mustAdd(t, n, n.sign(2, NewVote(0, fee, 1, VoteYes)))
	mustAdd(t, n, n.sign(0, NewStake(2, fee, 500_000)))
	n.step(2)
	mustAdd(t, n, n.sign(2, NewVote(1, fee, 1, VoteAbstain))) // replaces its yes
	n.step(2)
	tal, err := l.Tally(1)
	want := Tally{Yes: genesisStake + 500_000, No: genesisStake, Abstain: genesisStake, Voters: 3}
	if err != nil || tal != want {
		t.Errorf("tally %+v, %v; want %+v", tal, err, want)
	}
	if err := l.AddTx(n.sign(1, NewVote(1, fee, 2, VoteYes))); !errors.Is(err, ErrNoProposal) {
		t.Errorf("vote on a missing proposal: %v", err)
	}
	if err := l.AddTx(n.sign(1, NewVote(1, fee, 1, 7))); !errors.Is(err, ErrBadTx) {
		t.Errorf("vote with choice 7: %v", err)
	}
	n.step(2)
	n.step(2) // height 5: the last block that takes votes is 5, so a vote now would land in 6
	if err := l.AddTx(n.sign(1, NewVote(1, fee, 1, VoteYes))); !errors.Is(err, ErrVotingClosed) {
		t.Errorf("vote after the period: %v", err)
	}
	if _, err := l.Tally(9); !errors.Is(err, ErrNoProposal) {
		t.Errorf("tally of a missing proposal: %v", err)
	}
}

// Each defective transaction is rejected for its defect, and leaves the
// state, the mempool and the views as they were.
func TestRejectedTxChangesNothing(t *testing.T) {
	n := newNet(t, 3, 1, nil)
	l := n.ledgers[0]
	mustAdd(t, n, n.sign(0, NewTransfer(0, fee, n.addrs[1], 10)))
	badSig := n.sign(0, NewTransfer(1, fee, n.addrs[1], 10))
	badSig.Sig = append([]byte(nil), badSig.Sig...)
	badSig.Sig[5] ^= 1
	badSig.enc = nil
	wrongKey := Sign(n.keys[1], NewTransfer(1, fee, n.addrs[2], 10))
	wrongKey.Sender = PubKeyOf(n.keys[0]) // claims node 0's key, signed by node 1's
	wrongKey.enc = nil
	self := n.sign(1, NewTransfer(0, fee, n.addrs[1], 10))
	for _, tc := range []struct {
		name string
		tx   *Tx
		want error
	}{
		{"bad signature", badSig, ErrBadSignature},
		{"signed by another key", wrongKey, ErrBadSignature},
		{"reused nonce", n.sign(0, NewTransfer(0, fee, n.addrs[1], 11)), ErrNonce},
		{"nonce ahead", n.sign(0, NewTransfer(2, fee, n.addrs[1], 10)), ErrNonce},
		{"overdraft", n.sign(1, NewTransfer(0, fee, n.addrs[2], genesisBalance-fee+1)), ErrOverdraft},
		{"overdraft by the fee", n.sign(1, NewTransfer(0, genesisBalance, n.addrs[2], 1)), ErrOverdraft},
		{"overflow", n.sign(1, NewTransfer(0, 1<<63, n.addrs[2], 1<<63)), ErrOverflow},
		{"stake overdraft", n.sign(1, NewStake(0, fee, genesisBalance)), ErrOverdraft},
		{"fee too low", n.sign(1, NewTransfer(0, 10, n.addrs[2], 1)), ErrFeeTooLow},
		{"zero amount", n.sign(1, NewTransfer(0, fee, n.addrs[2], 0)), ErrBadTx},
		{"to self", self, ErrBadTx},
		{"reward", NewReward(1, n.addrs[1], 1000), ErrSystemTx},
		{"known", l.Pending()[0], ErrKnownTx},
	} {
		before := snap(l)
		err := l.AddTx(tc.tx)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "chain: ") {
			t.Errorf("%s: error %q lacks the package prefix", tc.name, err)
		}
		if after := snap(l); after != before {
			t.Errorf("%s: changed %+v to %+v", tc.name, before, after)
		}
		// The same holds inside a block: a failed apply leaves its layer.
		st := l.base.child()
		st.height = 1
		root := st.root()
		if tc.tx.Type != TxReward {
			if err := l.applyTx(st, tc.tx); err == nil && tc.want != ErrBadSignature && tc.want != ErrKnownTx && tc.want != ErrNonce {
				t.Errorf("%s: applies to the state", tc.name)
			} else if err != nil && (st.root() != root || len(st.accounts) != 0) {
				t.Errorf("%s: a failed apply wrote to its layer", tc.name)
			}
		}
	}
}

func TestCheckBlockRejects(t *testing.T) {
	n := newNet(t, 4, 1, nil)
	l := n.ledgers[0]
	reward := NewReward(1, n.addrs[3], 1000)
	ok1 := n.sign(0, NewTransfer(0, fee, n.addrs[1], 10))
	ok2 := n.sign(1, NewTransfer(0, fee, n.addrs[2], 10))
	badSig := n.sign(2, NewTransfer(0, fee, n.addrs[1], 10))
	badSig.Sig = append([]byte(nil), badSig.Sig...)
	badSig.Sig[0] ^= 1
	badSig.enc = nil
	overdraft := n.sign(2, NewTransfer(0, fee, n.addrs[1], genesisBalance))
	big := n.sign(2, NewProposal(0, fee, make([]byte, 2000)))
	// A block full of transfers over the gas limit of a stricter ledger.
	var many []*Tx
	many = append(many, reward)
	for i := range 3 {
		for k := range 20 {
			many = append(many, n.sign(i, NewTransfer(uint64(k), fee, n.addrs[3], 1)))
		}
	}
	strict := newNet(t, 4, 1, func(c *Config) { c.Params.MaxBlockGas = 50_000; c.Params.MaxTxBytes = 4096 }).ledgers[0]
	small := newNet(t, 4, 1, func(c *Config) { c.Params.MaxTxBytes = 1024; c.Params.MaxBlockBytes = 4096 }).ledgers[0]

	good := forge(l, 3, []*Tx{reward, ok1, ok2}, nil)
	if _, err := l.CheckBlock(1, Hash{}, good); err != nil {
		t.Fatalf("the good block is rejected: %v", err)
	}
	l.views = map[Hash]*view{}
	for _, tc := range []struct {
		name   string
		l      *Ledger
		height uint64
		parent Hash
		block  []byte
		want   error
	}{
		{"wrong prev hash", l, 1, Hash{}, forge(l, 3, []*Tx{reward, ok1}, func(h *Header) { h.Prev = Hash{1} }), ErrPrevHash},
		{"unknown parent", l, 1, Hash{1}, forge(l, 3, []*Tx{reward, ok1}, func(h *Header) { h.Prev = Hash{1} }), ErrUnknownParent},
		{"wrong height", l, 1, Hash{}, forge(l, 3, []*Tx{reward}, func(h *Header) { h.Height = 2 }), ErrHeight},
		{"height on tip", l, 2, Hash{}, forge(l, 3, []*Tx{reward}, func(h *Header) { h.Height = 2 }), ErrHeight},
		{"wrong state root", l, 1, Hash{}, forge(l, 3, []*Tx{reward, ok1}, func(h *Header) { h.StateRoot[0] ^= 1 }), ErrStateRoot},
		{"wrong tx root", l, 1, Hash{}, forge(l, 3, []*Tx{reward, ok1}, func(h *Header) { h.TxRoot = TxRoot([]*Tx{reward}) }), ErrTxRoot},
		{"bad signature inside", l, 1, Hash{}, forge(l, 3, []*Tx{reward, ok1, badSig}, nil), ErrBadSignature},
		{"overdraft inside", l, 1, Hash{}, forge(l, 3, []*Tx{reward, overdraft}, nil), ErrOverdraft},
		{"reused nonce inside", l, 1, Hash{}, forge(l, 3, []*Tx{reward, ok1, ok1}, nil), ErrNonce},
		{"over the gas limit", strict, 1, Hash{}, forge(strict, 3, many, nil), ErrGasLimit},
		{"tx over the size limit", small, 1, Hash{}, forge(small, 3, []*Tx{reward, big}, nil), ErrTxTooLarge},
		{"block over the size limit", small, 1, Hash{}, forge(small, 3, many, nil), ErrBlockTooLarge},
		{"no reward", l, 1, Hash{}, forge(l, 3, []*Tx{ok1}, nil), ErrForgedReward},
		{"reward too large", l, 1, Hash{}, forge(l, 3, []*Tx{NewReward(1, n.addrs[3], 1001), ok1}, nil), ErrForgedReward},
		{"reward to another", l, 1, Hash{}, forge(l, 3, []*Tx{NewReward(1, n.addrs[0], 1000), ok1}, nil), ErrForgedReward},
		{"reward for another height", l, 1, Hash{}, forge(l, 3, []*Tx{NewReward(2, n.addrs[3], 1000)}, nil), ErrForgedReward},
		{"second reward", l, 1, Hash{}, forge(l, 3, []*Tx{reward, ok1, NewReward(1, n.addrs[3], 1000)}, nil), ErrForgedReward},
		{"reward not first", l, 1, Hash{}, forge(l, 3, []*Tx{ok1, reward}, nil), ErrForgedReward},
		{"garbage", l, 1, Hash{}, []byte{0x82, 0x01}, ErrMalformed},
	} {
		before := snap(tc.l)
		supply := tc.l.Supply()
		_, err := tc.l.CheckBlock(tc.height, tc.parent, tc.block)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if after := snap(tc.l); after != before || tc.l.Supply() != supply {
			t.Errorf("%s: CheckBlock changed the ledger: %+v → %+v", tc.name, before, after)
		}
	}
}

func TestCommitPanicsOnBrokenInvariants(t *testing.T) {
	n := newNet(t, 3, 1, nil)
	l := n.ledgers[0]
	bad := forge(l, 2, []*Tx{NewReward(1, n.addrs[2], 1000)}, func(h *Header) { h.StateRoot = Hash{} })
	mustPanic(t, "height 1", func() { l.Commit(1, bad, Hash(sha256Sum(bad)), 0) })
	good := forge(l, 2, []*Tx{NewReward(1, n.addrs[2], 1000)}, nil)
	mustPanic(t, "height 1", func() { l.Commit(1, good, Hash{1}, 0) })
	mustPanic(t, "height 2", func() { l.Commit(2, good, Hash(sha256Sum(good)), 0) })
	mustPanic(t, "unknown parent", func() { l.MakeBlock(1, Hash{5}, 0, 0) })
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), want) {
			t.Errorf("panic %v, want one mentioning %q", r, want)
		}
	}()
	f()
}

// A longest-chain engine checks blocks on parents that are not final yet,
// and may see forks: the ledger keeps each checked block's state, commits
// one branch, and forgets the other.
func TestForksAndUnfinalizedParents(t *testing.T) {
	n := newNet(t, 3, 2, nil)
	a, b := n.ledgers[0], n.ledgers[1]
	mustAdd(t, n, n.sign(0, NewTransfer(0, fee, n.addrs[1], 77)))
	a1, ha1 := a.MakeBlock(1, Hash{}, 0, 10)
	b1, hb1 := b.MakeBlock(1, Hash{}, 1, 11) // a competing block at height 1
	// Node a extends its own block before either is final.
	mustAdd(t, n, n.sign(0, NewTransfer(1, fee, n.addrs[2], 5)))
	a2, ha2 := a.MakeBlock(2, ha1, 0, 20)
	// b sees both branches.
	for _, c := range []struct {
		h      uint64
		parent Hash
		raw    []byte
	}{{1, Hash{}, a1}, {2, ha1, a2}, {1, Hash{}, b1}} {
		if _, err := b.CheckBlock(c.h, c.parent, c.raw); err != nil {
			t.Fatalf("b rejects block at %d: %v", c.h, err)
		}
	}
	if _, err := b.CheckBlock(2, hb1, a2); !errors.Is(err, ErrPrevHash) {
		t.Errorf("a block checked on the wrong parent: %v", err)
	}
	for _, l := range n.ledgers {
		l.Commit(1, a1, ha1, 30)
		if _, ok := l.views[hb1]; ok {
			t.Error("the losing branch was kept")
		}
		if _, ok := l.views[ha2]; !ok {
			t.Fatal("the child of the committed block was dropped")
		}
		l.Commit(2, a2, ha2, 40)
	}
	if a.StateRoot() != b.StateRoot() || a.StateRoot() != a.RecomputeStateRoot() {
		t.Fatal("replicas disagree after committing through views")
	}
	if got := a.Account(n.addrs[2]).Balance; got != genesisBalance+5 {
		t.Errorf("node 2 balance %d, want %d", got, genesisBalance+5)
	}
	if len(a.views)+len(b.views) != 0 {
		t.Errorf("%d views left after committing every branch tip", len(a.views)+len(b.views))
	}
}

func TestModeledVerification(t *testing.T) {
	n := newNet(t, 2, 1, func(c *Config) { c.ModeledVerification = true })
	l := n.ledgers[0]
	tx := n.sign(0, NewTransfer(0, fee, n.addrs[1], 10))
	tx.Sig = make([]byte, 64)
	tx.enc = nil
	if err := l.AddTx(tx); err != nil {
		t.Fatalf("modeled verification rejects: %v", err)
	}
	if v := l.Verifications(); v != (Verifications{Modeled: 1}) {
		t.Errorf("verifications %+v, want 1 modeled", v)
	}
	real := newNet(t, 2, 1, nil).ledgers[0]
	if err := real.AddTx(tx); !errors.Is(err, ErrBadSignature) {
		t.Errorf("real verification: %v", err)
	}
	if v := real.Verifications(); v != (Verifications{Real: 1}) {
		t.Errorf("verifications %+v, want 1 real", v)
	}
}

func TestMakeBlockRespectsLimits(t *testing.T) {
	tr := Sign(KeyFor(testSeed, 0), NewTransfer(0, fee, Address{1}, 1))
	g := testParams().Gas.Gas(TxTransfer, len(tr.Encoded()))
	n := newNet(t, 4, 2, func(c *Config) { c.Params.MaxBlockGas = 5*g + g/2 })
	for i := range 4 {
		for k := range 10 {
			mustAdd(t, n, n.sign(i, NewTransfer(uint64(k), fee, Address{byte(k + 1)}, 1)))
		}
	}
	b := n.step(0)
	if len(b.Txs) != 1+5 {
		t.Errorf("block holds %d txs, want the reward and 5 within %d gas", len(b.Txs), 5*g+g/2)
	}
	if a := n.ledgers[0].LastApplied(); a.Gas != 5*g {
		t.Errorf("gas %d, want %d", a.Gas, 5*g)
	}
	for range 7 {
		n.step(1)
	}
	if txs, _ := n.ledgers[0].PoolSize(); txs != 0 {
		t.Errorf("%d txs still pending after 8 blocks of 5", txs)
	}
}

func TestGenesisValidation(t *testing.T) {
	p := testParams()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"duplicate", Config{Params: p, Genesis: []Account{{Address: Address{1}}, {Address: Address{1}}}}},
		{"overflow", Config{Params: p, Genesis: []Account{{Address: Address{1}, Balance: 1 << 63}, {Address: Address{2}, Stake: 1 << 63}}}},
		{"zero params", Config{}},
		{"unbonding 0", Config{Params: func() Params { q := p; q.UnbondingBlocks = 0; return q }()}},
		{"burn over 1", Config{Params: func() Params { q := p; q.FeeBurn = PPMOne + 1; return q }()}},
	} {
		if _, err := NewLedger(tc.cfg); err == nil {
			t.Errorf("%s: NewLedger accepted it", tc.name)
		}
	}
	l, err := NewLedger(Config{Params: p, Genesis: []Account{{Address: Address{1}, Balance: 5, Stake: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	if s := l.Supply(); s != (Supply{Minted: 12, Balances: 5, Staked: 7}) {
		t.Errorf("genesis supply %+v", s)
	}
	if got := l.Stakes(); len(got) != 1 || got[0].Stake != 7 {
		t.Errorf("stakes %+v", got)
	}
}

func TestSupplyCheckNamesTheDifference(t *testing.T) {
	s := Supply{Minted: 100, Burned: 10, Balances: 50, Staked: 30, Unbonding: 5, Escrow: 3}
	err := s.Check()
	if !errors.Is(err, ErrConservation) || !strings.Contains(err.Error(), "difference -2") {
		t.Errorf("check: %v", err)
	}
	s.Escrow = 5
	if err := s.Check(); err != nil {
		t.Errorf("balanced supply: %v", err)
	}
}

var _ = protocol.Second

func TestReason(t *testing.T) {
	n := newNet(t, 2, 1, nil)
	l := n.ledgers[0]
	for _, tc := range []struct {
		tx   *Tx
		want string
	}{
		{n.sign(0, NewTransfer(3, fee, n.addrs[1], 1)), "nonce"},
		{n.sign(0, NewTransfer(0, fee, n.addrs[1], genesisBalance)), "overdraft"},
		{n.sign(0, NewUnstake(0, fee, genesisStake+1)), "no_stake"},
		{n.sign(0, NewTransfer(0, 1, n.addrs[1], 1)), "fee_too_low"},
	} {
		if got := Reason(l.AddTx(tc.tx)); got != tc.want {
			t.Errorf("reason %q, want %q", got, tc.want)
		}
	}
	if Reason(nil) != "" || Reason(errors.New("x")) != "other" {
		t.Error("Reason of nil or an unlisted error")
	}
	if (Rejected{}).Kind() != "chain.rejected" || (Applied{}).Kind() != "chain.applied" {
		t.Error("event kinds changed")
	}
}
