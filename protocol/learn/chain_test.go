package learn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/quick"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
)

const chainSeed = 7

var (
	requesterKey = chain.PubKeyOf(chain.KeyFor(chainSeed, 1000))
	settlerKey   = chain.PubKeyOf(chain.KeyFor(chainSeed, coord))
)

// chainConfig funds the requester with balance and escrows budget.
func chainConfig(balance, budget uint64) *ChainConfig {
	return &ChainConfig{
		Ledger: chain.Config{Params: chain.DefaultParams(), KeySeed: chainSeed,
			Genesis: []chain.Account{{Address: requesterKey.Address(), Balance: balance}}},
		Requester: requesterKey, Settler: settlerKey, Budget: budget, Spec: []byte("mlp"),
	}
}

// runChained runs rounds of a coordinator with a ledger: in round r each
// learner sends an update unless skip(r) (the round then commits nothing
// new), and the validator scores learner i with score(r, i).
func runChained(t *testing.T, cfg CoordinatorConfig, skip func(r uint64) bool, score func(r uint64, i int) float64) (
	*Coordinator, []Committed, []Scored, []OnChain) {
	t.Helper()
	c, env := newCoordinator(t, cfg)
	var cs []Committed
	var ss []Scored
	var oc []OnChain
	take := func() {
		evs := env.TakeEvents()
		cs = append(cs, eventsOf[Committed](evs)...)
		ss = append(ss, eventsOf[Scored](evs)...)
		oc = append(oc, eventsOf[OnChain](evs)...)
	}
	take()
	for r := uint64(1); r <= cfg.Rounds; r++ {
		env.TakeSent()
		if skip(r) {
			env.Advance(protocol.Second) // no updates: the round times out and skips
			take()
			continue
		}
		for i, l := range cfg.Learners {
			c.Handle(env, protocol.Recv{From: l, Msg: &LocalUpdate{Round: r, Base: c.Version(), Samples: 1,
				Delta: []float64{float64(i) + float64(r)}}})
		}
		sc := make([]float64, len(cfg.Learners))
		for i := range sc {
			sc[i] = score(r, i)
		}
		c.Handle(env, protocol.Recv{From: val, Msg: &Scores{Round: r, Version: c.Version(), Learners: cfg.Learners, Scores: sc}})
		take()
	}
	return c, cs, ss, oc
}

// The training job on the ledger: the budget is escrowed at start, each
// round pays the learners their score shares out of it and commits its
// version, and the rest returns to the requester after the last round.
// Escrowed = paid + refunded to the base unit, the learners' balances are
// the Scored payouts, and the versions on the ledger are the committed
// ones, each the child of the one before.
func TestCoordinatorOnChain(t *testing.T) {
	learners := []protocol.NodeID{10, 11, 12}
	const budget, balance = 1003, 5000
	cfg := CoordinatorConfig{Learners: learners, Validators: []protocol.NodeID{val}, Rounds: 4, Initial: []float64{0},
		Chain: chainConfig(balance, budget)}
	c, cs, ss, oc := runChained(t, cfg,
		func(r uint64) bool { return r == 3 },
		func(r uint64, i int) float64 {
			if r == 2 {
				return -1 // nothing paid: the pot stays in escrow
			}
			return float64(i + 1)
		})
	if c.Pot() != budget/4 {
		t.Fatalf("pot %d, want budget / rounds = %d", c.Pot(), budget/4)
	}
	l, job := c.Ledger()
	if err := l.CheckSupply(); err != nil {
		t.Fatal(err)
	}
	if len(cs) != 5 || len(oc) != 5 {
		t.Fatalf("%d commits and %d on-chain records, want 5 each (rounds 0-4)", len(cs), len(oc))
	}

	// Payouts: each learner's balance is what Scored paid it.
	var scored uint64
	byLearner := map[protocol.NodeID]uint64{}
	for _, s := range ss {
		scored += s.Payout
		byLearner[s.Learner] += s.Payout
	}
	var paid, refunded uint64
	for _, o := range oc {
		paid += o.Paid
		refunded += o.Refunded
	}
	if scored == 0 || paid != scored {
		t.Fatalf("paid on chain %d, Scored payouts %d", paid, scored)
	}
	for _, id := range learners {
		if got := l.Account(chain.AddressOf(chain.KeyFor(chainSeed, id))).Balance; got != byLearner[id] {
			t.Errorf("learner %d holds %d, was paid %d", id, got, byLearner[id])
		}
	}
	// Round 1 pays 250 as 1:2:3 = 41+83+125 = 249; round 2 nothing; round 3
	// skips; round 4 249 again: 498 paid, 505 refunded.
	if paid != 498 || paid+refunded != budget {
		t.Errorf("paid %d + refunded %d, want 498 + %d = budget %d", paid, refunded, budget-498, budget)
	}
	if got := l.Account(requesterKey.Address()).Balance; got != balance-budget+refunded {
		t.Errorf("requester holds %d, want %d − %d + %d", got, balance, budget, refunded)
	}
	if j, ok := l.Job(job); !ok || j.Escrow != 0 || oc[4].Escrow != 0 || string(j.Spec) != "mlp" {
		t.Errorf("job after the last round: %+v (found %v), want a closed escrow", j, ok)
	}

	// Versions: the ledger's chain is the committed one.
	vs := ChainVersions(l, job, settlerKey.Address())
	if len(vs) != len(cs) {
		t.Fatalf("%d versions on the ledger, %d committed", len(vs), len(cs))
	}
	for r, ev := range cs {
		if vs[r] != ev.Version || oc[r].Version != ev.Version {
			t.Errorf("round %d: ledger %x, committed %x", r, vs[r][:4], ev.Version[:4])
		}
		switch {
		case r == 0:
		case ev.Skipped && vs[r] != vs[r-1]:
			t.Errorf("skipped round %d moved the version", r)
		case !ev.Skipped && (ev.Parent != vs[r-1] || vs[r] != VersionOf(vs[r-1], ev.Params)):
			t.Errorf("round %d's version is not the child of round %d's on the ledger", r, r-1)
		}
	}
	if !cs[3].Skipped {
		t.Error("round 3 did not skip")
	}
	// Each new version names its parent on the ledger: the lineage of the
	// last is every distinct committed version, root first, open to use.
	lin, err := l.Lineage(job, chain.Hash(cs[len(cs)-1].Version))
	if err != nil {
		t.Fatal(err)
	}
	var distinct []Hash
	for r, ev := range cs {
		if r == 0 || !ev.Skipped {
			distinct = append(distinct, ev.Version)
		}
	}
	if len(lin) != len(distinct) {
		t.Fatalf("lineage of %d versions, %d distinct committed", len(lin), len(distinct))
	}
	for i, v := range lin {
		if Hash(v.Version) != distinct[i] || v.Access != chain.AccessOpen {
			t.Errorf("lineage %d: %x (%s), committed %x", i, v.Version[:4], v.Access, distinct[i][:4])
		}
	}
}

// Whatever the budget, rounds and scores, the escrow ends at 0 and every
// base unit of the budget was paid to a learner or refunded.
func TestCoordinatorOnChainConserves(t *testing.T) {
	learners := []protocol.NodeID{10, 11, 12, 13}
	f := func(seed uint64, budget uint32, rounds uint8) bool {
		rng := rand.New(rand.NewPCG(seed, 0))
		b := uint64(budget) + 1
		cfg := CoordinatorConfig{Learners: learners, Validators: []protocol.NodeID{val}, Rounds: uint64(rounds%6) + 1,
			Initial: []float64{0}, Chain: chainConfig(b, b)}
		c, _, ss, oc := runChained(t, cfg, func(uint64) bool { return rng.IntN(4) == 0 },
			func(uint64, int) float64 { return []float64{-1, 0, math.Inf(1), 0.5, 3}[rng.IntN(5)] })
		l, job := c.Ledger()
		var scored, paid, refunded uint64
		for _, s := range ss {
			scored += s.Payout
		}
		for _, o := range oc {
			paid += o.Paid
			refunded += o.Refunded
		}
		j, _ := l.Job(job)
		return l.CheckSupply() == nil && paid == scored && paid+refunded == b && j.Escrow == 0 &&
			l.Account(requesterKey.Address()).Balance == refunded
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 60}); err != nil {
		t.Error(err)
	}
}

// A job the requester cannot fund, or pots that overspend the budget, are
// refused when the coordinator is made.
func TestCoordinatorOnChainRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  CoordinatorConfig
		want string
	}{
		{"unfunded", CoordinatorConfig{Rounds: 2, Chain: chainConfig(99, 100)}, "less than the budget"},
		{"overspent", CoordinatorConfig{Rounds: 2, Pot: 51, Chain: chainConfig(100, 100)}, "exceeds the budget"},
		{"endless", CoordinatorConfig{Chain: chainConfig(100, 100)}, "Rounds > 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r, _ := recover().(string); !strings.Contains(r, tc.want) {
					t.Errorf("panic %q, want one saying %q", r, tc.want)
				}
			}()
			tc.cfg.Rule, tc.cfg.Initial = func(int) Rule { return FedAvg{} }, []float64{0}
			NewCoordinator(tc.cfg)
		})
	}
}
