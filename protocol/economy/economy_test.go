package economy

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/yuma"
)

// testConfig: learners 10–12, data providers 20–22, automated validators
// 1–3 (stake 100 each), human validators 4–5 (stake 50 each).
func testConfig() Config {
	return Config{
		Shares:        rewards.Shares{rewards.ClassCompute: 5000, rewards.ClassData: 3000, rewards.ClassValidators: 2000},
		Yuma:          yuma.DefaultParams(),
		Rule:          RuleProduct,
		Access:        chain.AccessPaid,
		Price:         1000,
		PerRound:      1_000_000,
		Rounds:        4,
		Learners:      []protocol.NodeID{10, 11, 12},
		DataProviders: []protocol.NodeID{20, 21, 22},
		Validators: []Validator{{ID: 1, Stake: 100}, {ID: 2, Stake: 100}, {ID: 3, Stake: 100},
			{ID: 4, Stake: 50, Human: true}, {ID: 5, Stake: 50, Human: true}},
		KeySeed:     7,
		UserBalance: 1 << 40,
	}
}

func hash(b byte) chain.Hash { return chain.Hash{b, 0xee} }

// honestRound: learner 12 is lazy (scored 0 by the honest), data set 22
// is worth little and its labels are half wrong.
func honestRound(r uint64, inflate bool) Round {
	compute := [][]float64{{0.5, 0.4, 0}, {0.55, 0.35, 0.01}, {0.5, 0.4, 0}}
	if inflate {
		compute[2][2] = 0.5 // validator 3 vouches for its lazy learner
	}
	return Round{Round: r, Version: hash(byte(r)), Parent: hash(byte(r - 1)),
		Compute:   compute,
		Objective: [][]float64{{0.3, 0.2, 0.01}, {0.3, 0.2, 0.01}, {0.3, 0.2, 0.01}},
		Human:     [][]float64{{0.95, 0.9, 0.5}, {0.9, 0.95, 0.55}},
		Requests:  3}
}

func open(t *testing.T, cfg Config) *Accountant {
	t.Helper()
	a, err := New(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.Genesis(0, hash(0))
	return a
}

// Every round pays exactly its pot (emission plus the requests' price),
// the ledger's escrow is empty after the last round, what everyone holds
// is what the payouts say, and the versions form a lineage on the ledger
// with the requests counted on them.
func TestAccountantConserves(t *testing.T) {
	cfg := testConfig()
	a := open(t, cfg)
	held := map[protocol.NodeID]uint64{}
	var paidOut uint64
	for r := uint64(1); r <= cfg.Rounds; r++ {
		out, err := a.Round(protocol.Time(r), honestRound(r, false))
		if err != nil {
			t.Fatal(err)
		}
		if out.Revenue != 3000 || out.Pot != cfg.PerRound+3000 {
			t.Fatalf("round %d: revenue %d, pot %d", r, out.Revenue, out.Pot)
		}
		p := out.Payout
		if got := rewards.Sum(p.Compute) + rewards.Sum(p.Data) + rewards.Sum(p.Validators) + p.Treasury; uint64(got) != out.Pot {
			t.Fatalf("round %d paid %d of %d", r, got, out.Pot)
		}
		for _, list := range [][]rewards.Payment{p.Compute, p.Data, p.Validators} {
			for _, pay := range list {
				id, _ := rewards.NodeOf(pay.To)
				held[id] += uint64(pay.Amount)
				paidOut += uint64(pay.Amount)
			}
		}
		held[TreasuryID] += uint64(p.Treasury)
	}
	l, job := a.Ledger()
	if j, _ := l.Job(job); j.Escrow != 0 {
		t.Errorf("escrow %d after the last round", j.Escrow)
	}
	for id, want := range held {
		if got := l.Account(a.Address(id)).Balance; got != want {
			t.Errorf("node %d holds %d on the ledger, was paid %d", id, got, want)
		}
	}
	if total := paidOut + held[TreasuryID]; total != cfg.PerRound*cfg.Rounds+4*3000 {
		t.Errorf("paid %d in all", total)
	}
	lin, err := l.Lineage(job, hash(byte(cfg.Rounds)))
	if err != nil || len(lin) != int(cfg.Rounds)+1 {
		t.Fatalf("lineage %v, %v", lin, err)
	}
	for r, v := range lin {
		want := uint64(3)
		if r == 0 {
			want = 0
		}
		if v.Uses != want || v.Access != chain.AccessPaid || v.Paid != want*cfg.Price {
			t.Errorf("version %d: %+v", r, v)
		}
	}
	if _, err := a.Round(99, honestRound(5, false)); !errors.Is(err, ErrConfig) {
		t.Errorf("a round past the budget: %v", err)
	}
}

// A validator that scores its lazy learner as high as the best is
// clipped: the learner earns next to nothing, and the validator less
// than the honest ones of equal stake.
func TestAccountantClipsInflation(t *testing.T) {
	a := open(t, testConfig())
	var out Outcome
	for r := uint64(1); r <= 4; r++ {
		var err error
		if out, err = a.Round(protocol.Time(r), honestRound(r, true)); err != nil {
			t.Fatal(err)
		}
	}
	inc := out.Compute.Incentive
	if inc[2] > 0.01 {
		t.Errorf("lazy learner's incentive %v despite clipping", inc[2])
	}
	if pre := out.Compute.Prerank[2]; pre < 0.1 {
		t.Errorf("lazy learner's prerank %v: the inflation did not register", pre)
	}
	w := out.ValidatorWeight
	if !(w[2] < w[0] && w[2] < w[1]) {
		t.Errorf("validation weights %v: the inflating validator 3 should earn least of 1–3", w[:3])
	}
}

// The rules: product discounts the half-wrong data set by the humans'
// agreement; gate at 0.6 cuts it; objective ignores the humans and pays
// them nothing.
func TestAccountantRules(t *testing.T) {
	score := func(rule Rule, gate float64) Outcome {
		cfg := testConfig()
		cfg.Rule, cfg.Gate = rule, gate
		out, err := open(t, cfg).Round(1, honestRound(1, false))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	obj, prod, gate := score(RuleObjective, 0), score(RuleProduct, 0), score(RuleGate, 0.6)
	// Two humans of equal stake found 0.5 and 0.55: half the stake
	// supports 0.55, the κ-median read from the top.
	if math.Abs(prod.HumanAgreement[2]-0.55) > 1e-12 {
		t.Errorf("human agreement on set 22: %v", prod.HumanAgreement[2])
	}
	if r := prod.DataScore[2] / obj.DataScore[2]; math.Abs(r-0.55) > 1e-9 {
		t.Errorf("product scored set 22 at %v of the objective, want its agreement 0.55", r)
	}
	if gate.DataScore[2] != 0 || gate.DataScore[0] != obj.DataScore[0] {
		t.Errorf("gate: %v, objective %v", gate.DataScore, obj.DataScore)
	}
	if obj.ValidatorWeight[3] != 0 || prod.ValidatorWeight[3] <= 0 {
		t.Errorf("human weights: objective %v, product %v", obj.ValidatorWeight[3], prod.ValidatorWeight[3])
	}
}

func TestConfigRefused(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"shares":      func(c *Config) { c.Shares[rewards.ClassData]++ },
		"rule":        func(c *Config) { c.Rule = "vote" },
		"paid free":   func(c *Config) { c.Price = 0 },
		"open priced": func(c *Config) { c.Access = chain.AccessOpen },
		"no emission": func(c *Config) { c.PerRound = 0 },
		"kappa":       func(c *Config) { c.Yuma.Kappa = 2 },
	} {
		cfg := testConfig()
		mod(&cfg)
		if _, err := New(cfg, 0); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A human's agreement with clean labels is its accuracy; with a share q of
// wrong labels, (1−q)·p + q·(1−p)/9; fatigue lowers it; the window caps
// the checks.
func TestHumanAssess(t *testing.T) {
	const n = 20000
	set := func(noise float64, r *rand.Rand) LabelledSet {
		s := LabelledSet{Given: make([]int, n), True: make([]int, n)}
		for i := range n {
			s.True[i] = r.IntN(10)
			s.Given[i] = s.True[i]
			if r.Float64() < noise {
				s.Given[i] = (s.True[i] + 1 + r.IntN(9)) % 10
			}
		}
		return s
	}
	r := rand.New(rand.NewPCG(1, 1))
	sets := []LabelledSet{set(0, r), set(0.3, r)}
	h := Human{Accuracy: 0.9, Latency: protocol.Second, Window: 100000 * protocol.Second, Cost: 3, Sample: n}
	a := h.Assess(r, sets, 10)
	if a.Checked != 2*n || a.Cost != 6*n || a.Busy != 2*n*protocol.Second {
		t.Fatalf("checked %d, cost %d, busy %v", a.Checked, a.Cost, a.Busy)
	}
	want := []float64{0.9, 0.7*0.9 + 0.3*0.1/9}
	for d := range want {
		if math.Abs(a.Agreement[d]-want[d]) > 0.01 {
			t.Errorf("set %d: agreement %.4f, want %.4f", d, a.Agreement[d], want[d])
		}
	}
	tired := Human{Accuracy: 0.9, Fatigue: 0.00002, Latency: protocol.Second, Window: 100000 * protocol.Second, Sample: n}
	if b := tired.Assess(rand.New(rand.NewPCG(1, 2)), sets[:1], 10); b.Agreement[0] > 0.85 {
		t.Errorf("fatigue of 2e-5 a check over %d checks left agreement at %.3f", n, b.Agreement[0])
	}
	short := Human{Accuracy: 0.9, Latency: 10 * protocol.Second, Window: 15 * protocol.Minute, Sample: 200}
	if c := short.Assess(rand.New(rand.NewPCG(1, 3)), sets, 10); c.Checked != 90 || !math.IsNaN(c.Agreement[0]) && !math.IsNaN(c.Agreement[1]) {
		t.Errorf("a 15-minute window of 10-second checks made %d checks, agreements %v", c.Checked, c.Agreement)
	}
}
