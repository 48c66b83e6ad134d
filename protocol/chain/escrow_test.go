package chain

import (
	"errors"
	"testing"
)

// settlerNet is a 4-node net where node 3 is the settler.
func settlerNet(t *testing.T) *net {
	t.Helper()
	return newNet(t, 4, 2, func(c *Config) { c.Settler = AddressOf(KeyFor(testSeed, 3)) })
}

// postJob posts a job of budget from node 0 and commits it.
func postJob(t *testing.T, n *net, budget uint64) JobID {
	t.Helper()
	nonce := n.nonce(0)
	mustAdd(t, n, n.sign(0, NewJobPost(nonce, fee, budget, []byte("spec"))))
	n.step(2)
	return JobIDFor(n.addrs[0], nonce)
}

// Settling pays providers and the pool from escrow, burns, and on Close
// returns the rest to the poster; every base unit lands somewhere, and the
// net's step checks conservation and replica agreement after each block.
func TestSettleReleasesEscrow(t *testing.T) {
	n := settlerNet(t)
	l := n.ledgers[0]
	const budget = 1_000_000
	id := postJob(t, n, budget)
	poster := l.Account(n.addrs[0]).Balance
	prov := l.Account(n.addrs[1]).Balance
	burned := l.Supply().Burned

	pool := Address{0xee}
	part := n.sign(3, NewSettle(n.nonce(3), fee, Release{Job: id, Pay: []Credit{{To: n.addrs[1], Amount: 300_000}, {To: pool, Amount: 50_000}}, Burn: 20_000}))
	mustAdd(t, n, part)
	n.step(2)
	if j, _ := l.Job(id); j.Escrow != budget-370_000 {
		t.Fatalf("escrow %d after a partial settle, want %d", j.Escrow, budget-370_000)
	}
	if got := l.Account(n.addrs[1]).Balance - prov; got != 300_000 {
		t.Errorf("provider got %d, want 300000", got)
	}
	if got := l.Account(pool).Balance; got != 50_000 {
		t.Errorf("pool got %d, want 50000", got)
	}
	if got := l.Supply().Burned - burned; got != 20_000+fee/4 {
		t.Errorf("burned %d, want the settle's 20000 + the fee burn %d", got, fee/4)
	}

	mustAdd(t, n, n.sign(3, NewSettle(n.nonce(3), fee, Release{Job: id, Pay: []Credit{{To: n.addrs[2], Amount: 100_000}}, Close: true})))
	n.step(2)
	if j, _ := l.Job(id); j.Escrow != 0 {
		t.Fatalf("escrow %d after close", j.Escrow)
	}
	if got, want := l.Account(n.addrs[0]).Balance-poster, uint64(budget-370_000-100_000); got != want {
		t.Errorf("poster refunded %d, want %d", got, want)
	}
	if s := l.Supply(); s.Escrow != 0 {
		t.Errorf("supply escrow %d after close", s.Escrow)
	}

	// A closed job cannot be settled again.
	err := l.AddTx(n.sign(3, NewSettle(n.nonce(3), fee, Release{Job: id, Close: true})))
	if !errors.Is(err, ErrBadTx) {
		t.Errorf("settling a closed job: %v, want ErrBadTx", err)
	}
}

// One settle releases several jobs in order.
func TestSettleManyJobs(t *testing.T) {
	n := settlerNet(t)
	l := n.ledgers[0]
	a, b := postJob(t, n, 1000), postJob(t, n, 2000)
	poster := l.Account(n.addrs[0]).Balance
	mustAdd(t, n, n.sign(3, NewSettle(n.nonce(3), fee,
		Release{Job: a, Pay: []Credit{{To: n.addrs[1], Amount: 600}}, Close: true},
		Release{Job: b, Burn: 500, Close: true})))
	n.step(2)
	if got := l.Account(n.addrs[0]).Balance - poster; got != 400+1500 {
		t.Errorf("poster refunded %d, want 1900", got)
	}
	if s := l.Supply(); s.Escrow != 0 {
		t.Errorf("escrow %d after closing both", s.Escrow)
	}
}

func TestSettleRejects(t *testing.T) {
	n := settlerNet(t)
	l := n.ledgers[0]
	id := postJob(t, n, 1000)
	before := snap(l)
	for _, tc := range []struct {
		name string
		tx   *Tx
		want error
	}{
		{"not the settler", n.sign(1, NewSettle(0, fee, Release{Job: id, Close: true})), ErrBadTx},
		{"unknown job", n.sign(3, NewSettle(0, fee, Release{Job: JobID{9}, Close: true})), ErrUnknownJob},
		{"over the escrow", n.sign(3, NewSettle(0, fee, Release{Job: id, Pay: []Credit{{To: n.addrs[1], Amount: 900}}, Burn: 101})), ErrOverdraft},
		{"zero credit", n.sign(3, NewSettle(0, fee, Release{Job: id, Pay: []Credit{{To: n.addrs[1], Amount: 0}}})), ErrBadTx},
		{"nothing released", n.sign(3, NewSettle(0, fee, Release{Job: id})), ErrBadTx},
		{"no jobs", n.sign(3, NewSettle(0, fee)), ErrBadTx},
		{"a job twice", n.sign(3, NewSettle(0, fee, Release{Job: id, Burn: 1}, Release{Job: id, Close: true})), ErrBadTx},
		{"overflowing credits", n.sign(3, NewSettle(0, fee, Release{Job: id, Pay: []Credit{{To: n.addrs[1], Amount: 1 << 63}, {To: n.addrs[2], Amount: 1 << 63}}})), ErrOverflow},
	} {
		if err := l.AddTx(tc.tx); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if snap(l) != before {
		t.Error("rejected settles changed the ledger")
	}
	// Without a settler, nobody may settle.
	m := newNet(t, 4, 1, nil)
	mustAdd(t, m, m.sign(0, NewJobPost(0, fee, 1000, nil)))
	m.step(2)
	if err := m.ledgers[0].AddTx(m.sign(3, NewSettle(0, fee, Release{Job: JobIDFor(m.addrs[0], 0), Close: true}))); !errors.Is(err, ErrBadTx) {
		t.Errorf("settle without a configured settler: %v, want ErrBadTx", err)
	}
}

func TestPayoutPaysEveryCredit(t *testing.T) {
	n := settlerNet(t)
	l := n.ledgers[0]
	b0 := l.Account(n.addrs[0]).Balance
	pay := []Credit{{To: n.addrs[1], Amount: 7}, {To: Address{0x77}, Amount: 11}, {To: n.addrs[2], Amount: 1}}
	mustAdd(t, n, n.sign(0, NewPayout(0, fee, pay)))
	n.step(3)
	if got := b0 - l.Account(n.addrs[0]).Balance; got != 19+fee {
		t.Errorf("sender paid %d, want 19 + fee", got)
	}
	if got := l.Account(Address{0x77}).Balance; got != 11 {
		t.Errorf("new account got %d, want 11", got)
	}
	for _, tc := range []struct {
		name string
		tx   *Tx
		want error
	}{
		{"empty", n.sign(0, NewPayout(1, fee, nil)), ErrBadTx},
		{"to self", n.sign(0, NewPayout(1, fee, []Credit{{To: n.addrs[0], Amount: 1}})), ErrBadTx},
		{"overdraft", n.sign(0, NewPayout(1, fee, []Credit{{To: n.addrs[1], Amount: genesisBalance}})), ErrOverdraft},
	} {
		if err := l.AddTx(tc.tx); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// The slash-fraction hook picks each slash's share from its evidence.
func TestSlashFractionHook(t *testing.T) {
	n := newNet(t, 3, 2, func(c *Config) {
		c.SlashFraction = func(h uint64, ev []byte) PPM {
			if string(ev) == "big" {
				return 500_000
			}
			return 2 * PPMOne // clamped to the whole stake
		}
	})
	l := n.ledgers[0]
	mustAdd(t, n, n.sign(2, NewSlash(0, fee, n.addrs[0], []byte("big"))))
	mustAdd(t, n, n.sign(2, NewSlash(1, fee, n.addrs[1], []byte("all"))))
	n.step(2)
	if got := l.Account(n.addrs[0]).Stake; got != genesisStake/2 {
		t.Errorf("half slash left %d, want %d", got, genesisStake/2)
	}
	if got := l.Account(n.addrs[1]).Stake; got != 0 {
		t.Errorf("full slash left %d", got)
	}
}

// Settle and Payout round-trip through the codec like every transaction.
func TestSettleCodec(t *testing.T) {
	for _, tx := range []*Tx{
		Sign(KeyFor(1, 3), NewSettle(1, 2, Release{Job: JobID{5}, Pay: []Credit{{To: Address{1}, Amount: 3}}, Burn: 4, Close: true})),
		Sign(KeyFor(1, 3), NewPayout(1, 2, []Credit{{To: Address{1}, Amount: 1<<64 - 1}})),
	} {
		got, err := DecodeTx(tx.Encoded())
		if err != nil {
			t.Fatalf("%s: %v", tx.Type, err)
		}
		if got.Hash() != tx.Hash() || got.Type.String() != tx.Type.String() {
			t.Errorf("%s: round trip differs", tx.Type)
		}
	}
}

// The settler commits a batch of results by its root: recorded once with
// its count and height, in the state root; nobody else may, and a root
// cannot be recorded twice or for no results.
func TestResultRoot(t *testing.T) {
	n := settlerNet(t)
	l := n.ledgers[0]
	root := Hash{1, 2, 3}
	before := l.StateRoot()
	mustAdd(t, n, n.sign(3, NewResultRoot(n.nonce(3), fee, root, 7)))
	n.step(2)
	r, ok := l.ResultRoot(root)
	if !ok || r.Count != 7 || r.Height != l.Height() {
		t.Fatalf("recorded %+v %v, want 7 results at height %d", r, ok, l.Height())
	}
	if l.StateRoot() == before || l.StateRoot() != l.RecomputeStateRoot() {
		t.Error("the batch did not enter the state root as a record")
	}
	for name, tc := range map[string]struct {
		from  int
		root  Hash
		count uint32
		want  error
	}{
		"not the settler": {0, Hash{9}, 1, ErrBadTx},
		"twice":           {3, root, 7, ErrDuplicate},
		"no results":      {3, Hash{8}, 0, ErrBadTx},
	} {
		if err := l.AddTx(n.sign(tc.from, NewResultRoot(n.nonce(tc.from), fee, tc.root, tc.count))); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}
