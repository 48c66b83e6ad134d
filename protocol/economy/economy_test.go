package economy

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
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
		Classes:     10,
		KeySeed:     7,
		UserBalance: 1 << 40,
	}
}

// checks: four rows of each data set, given labels 0…3; set 22's last
// two are wrong (given 9). Both humans label every row with its true
// label, except that the second mislabels the first row of set 20.
func checks() *HumanChecks {
	hc := &HumanChecks{}
	var truth []int
	for d := range 3 {
		for r := range 4 {
			hc.Set = append(hc.Set, d)
			truth = append(truth, r)
			g := r
			if d == 2 && r >= 2 {
				g = 9
			}
			hc.Given = append(hc.Given, g)
		}
	}
	second := slices.Clone(truth)
	second[0] = 5
	hc.Labels = [][]int{truth, second}
	return hc
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
		Human:     checks(),
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

// The rules: the humans' consensus labels find half of set 22's labels
// wrong and all of the others' right (the row they disagree on takes the
// label of the human with more stake); product pays set 22 half its objective score, gate at 60%
// nothing, and objective ignores the humans and pays them nothing.
func TestAccountantRules(t *testing.T) {
	score := func(rule Rule, gate float64) Outcome {
		cfg := testConfig()
		cfg.Rule, cfg.Gate = rule, gate
		// Unequal stake, so that one of the two humans' labels can lack κ
		// support (two of equal stake each hold exactly κ).
		cfg.Validators[3].Stake, cfg.Validators[4].Stake = 60, 40
		out, err := open(t, cfg).Round(1, honestRound(1, false))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	obj, prod, gate := score(RuleObjective, 0), score(RuleProduct, 0), score(RuleGate, 0.6)
	if !slices.Equal(prod.HumanAgreement, []float64{1, 1, 0.5}) {
		t.Errorf("human agreement %v, want [1 1 0.5]", prod.HumanAgreement)
	}
	if r := prod.DataScore[2] / obj.DataScore[2]; math.Abs(r-0.5) > 1e-9 {
		t.Errorf("product scored set 22 at %v of the objective, want its agreement 0.5", r)
	}
	if gate.DataScore[2] != 0 || gate.DataScore[0] != obj.DataScore[0] {
		t.Errorf("gate: %v, objective %v", gate.DataScore, obj.DataScore)
	}
	if obj.ValidatorWeight[3] != 0 || prod.ValidatorWeight[3] <= 0 {
		t.Errorf("human weights: objective %v, product %v", obj.ValidatorWeight[3], prod.ValidatorWeight[3])
	}
	// The human whose label lacked support earns less per unit of stake.
	if w := prod.ValidatorWeight; !(w[4]/40 < w[3]/60) {
		t.Errorf("human weights %v for stakes 60 and 40: the mislabelling human should earn less per stake", w[3:])
	}
}

// Humans are paid for accuracy: of three of equal stake labelling the
// same 200 rows, two right 95% of the time and one 60%, the inaccurate
// one keeps less of its weight after clipping and earns less.
func TestHumansPaidForAccuracy(t *testing.T) {
	cfg := testConfig()
	cfg.Validators = []Validator{{ID: 1, Stake: 100}, {ID: 4, Stake: 50, Human: true}, {ID: 5, Stake: 50, Human: true}, {ID: 6, Stake: 50, Human: true}}
	a := open(t, cfg)
	r := rand.New(rand.NewPCG(4, 4))
	hc := &HumanChecks{}
	var truth []int
	for i := range 200 {
		hc.Set = append(hc.Set, i%3)
		truth = append(truth, r.IntN(10))
		hc.Given = append(hc.Given, truth[i])
	}
	for _, acc := range []float64{0.95, 0.95, 0.6} {
		h := Human{Accuracy: acc, Latency: protocol.Second, Window: protocol.Hour}
		hc.Labels = append(hc.Labels, h.Label(r, truth, 10).Labels)
	}
	in := honestRound(1, false)
	in.Compute, in.Objective, in.Human = [][]float64{{1, 1, 1}}, [][]float64{{1, 1, 1}}, hc
	out, err := a.Round(1, in)
	if err != nil {
		t.Fatal(err)
	}
	trust, w := out.Human.ValidatorTrust, out.ValidatorWeight[1:]
	t.Logf("trust %.3f, weights %.1f", trust, w)
	if !(trust[2] < trust[0] && trust[2] < trust[1] && w[2] < w[0] && w[2] < w[1]) {
		t.Errorf("trust %v, weights %v: the 60%% human should keep and earn least", trust, w)
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

// A fresh human labels right as often as its accuracy; fatigue lowers
// it; the window caps the labels.
func TestHumanLabel(t *testing.T) {
	const n = 20000
	r := rand.New(rand.NewPCG(1, 1))
	truth := make([]int, n)
	for i := range truth {
		truth[i] = r.IntN(10)
	}
	right := func(l Labelled) float64 {
		k := 0
		for i, c := range l.Labels {
			if c == truth[i] {
				k++
			}
		}
		return float64(k) / float64(l.Checked)
	}
	h := Human{Accuracy: 0.9, Latency: protocol.Second, Window: 100000 * protocol.Second, Cost: 3}
	l := h.Label(r, truth, 10)
	if l.Checked != n || l.Cost != 3*n || l.Busy != n*protocol.Second {
		t.Fatalf("checked %d, cost %d, busy %v", l.Checked, l.Cost, l.Busy)
	}
	if a := right(l); math.Abs(a-0.9) > 0.01 {
		t.Errorf("accuracy %.4f, want 0.9", a)
	}
	tired := Human{Accuracy: 0.9, Fatigue: 0.00002, Latency: protocol.Second, Window: 100000 * protocol.Second}
	if a := right(tired.Label(rand.New(rand.NewPCG(1, 2)), truth, 10)); a > 0.75 {
		t.Errorf("fatigue of 2e-5 a label over %d labels left accuracy at %.3f", n, a)
	}
	short := Human{Accuracy: 0.9, Latency: 10 * protocol.Second, Window: 15 * protocol.Minute}
	c := short.Label(rand.New(rand.NewPCG(1, 3)), truth, 10)
	unlabelled := 0
	for _, x := range c.Labels {
		if x < 0 {
			unlabelled++
		}
	}
	if c.Checked != 90 || unlabelled != n-90 {
		t.Errorf("a 15-minute window of 10-second labels made %d, left %d unlabelled", c.Checked, unlabelled)
	}
}
