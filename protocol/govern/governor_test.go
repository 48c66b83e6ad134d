package govern

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/dais-sim/dais/protocol/rewards"
)

func newGov(t testing.TB, cfg Config) *Governor {
	t.Helper()
	reg, err := DefaultRegistry(rewards.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func testConfig() Config {
	c := DefaultConfig()
	c.VotingPeriod, c.MinDelay, c.MinDeposit = 10, 5, 100
	return c
}

// electorate: four voters with 100 stake each.
var four = []Voter{{"a", 100}, {"b", 100}, {"c", 100}, {"d", 100}}

// run drives g from height from to to, closing proposals with electorate,
// and returns every closed proposal.
func run(t testing.TB, g *Governor, from, to uint64, electorate []Voter) []Proposal {
	t.Helper()
	var out []Proposal
	for h := from; h <= to; h++ {
		closed, err := g.EndBlock(h, electorate)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, closed...)
	}
	return out
}

func vote(t testing.TB, g *Governor, h, id uint64, votes map[rewards.Account]Option) {
	t.Helper()
	keys := make([]rewards.Account, 0, len(votes))
	for k := range votes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := g.Vote(h, id, k, votes[k]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPassActivatesExactlyAtHeight(t *testing.T) {
	g := newGov(t, testConfig())
	p, err := g.Submit(20, Submission{Proposer: "a", Deposit: 100, Changes: []Change{{rewards.ParamFeeBurn, 2000}}})
	if err != nil {
		t.Fatal(err)
	}
	// Votes in 20 … 29; activation at 30 + 5.
	if p.ID != 1 || p.VotingEnd != 30 || p.Activation != 35 || p.Status != Open {
		t.Fatalf("recorded %+v", p)
	}
	vote(t, g, 25, 1, map[rewards.Account]Option{"a": Yes, "b": Yes, "c": No})
	if closed := run(t, g, 20, 28, four); len(closed) != 0 {
		t.Fatalf("closed during voting: %+v", closed)
	}
	closed := run(t, g, 29, 29, four)
	if len(closed) != 1 || closed[0].Status != Passed || closed[0].DepositBurned ||
		closed[0].Tally != (Tally{Yes: 200, No: 100, Voted: 300, Total: 400, Voters: 3}) {
		t.Fatalf("closed %+v", closed)
	}
	for h, want := range map[uint64]int64{0: 1000, 29: 1000, 34: 1000, 35: 2000, 1 << 40: 2000} {
		if got := g.ParamsAt(h).Get(rewards.ParamFeeBurn); got != want {
			t.Errorf("fee burn at %d = %d, want %d", h, got, want)
		}
	}
	if a := g.Activations(35); !reflect.DeepEqual(a, []Activated{{Height: 35, Proposal: 1, Key: rewards.ParamFeeBurn, Old: 1000, New: 2000}}) {
		t.Errorf("activations at 35: %+v", a)
	}
	if a := g.Activations(34); a != nil {
		t.Errorf("activations at 34: %+v", a)
	}
	// The parameters in force make a policy.
	pol, err := rewards.DefaultPolicy().WithParams(g.ParamsAt(35).Lookup)
	if err != nil || pol.Fees.BurnBps != 2000 {
		t.Errorf("policy at 35: %+v, %v", pol.Fees, err)
	}
}

func TestNoQuorumChangesNothing(t *testing.T) {
	g := newGov(t, testConfig())
	g.Submit(1, Submission{Proposer: "a", Deposit: 100, Changes: []Change{{rewards.ParamFeeBurn, 2000}}})
	vote(t, g, 1, 1, map[rewards.Account]Option{"a": Yes}) // 25% < 33.4%
	closed := run(t, g, 1, 100, four)
	if len(closed) != 1 || closed[0].Status != NoQuorum || !closed[0].DepositBurned {
		t.Fatalf("closed %+v, want no quorum with the deposit burned", closed)
	}
	if !reflect.DeepEqual(g.ParamsAt(1000), g.Registry().Defaults()) {
		t.Errorf("parameters changed: %v", g.ParamsAt(1000))
	}
}

func TestVetoRejectsYesMajority(t *testing.T) {
	g := newGov(t, testConfig())
	g.Submit(1, Submission{Proposer: "a", Deposit: 100, Changes: []Change{{rewards.ParamFeeBurn, 2000}}})
	// Yes 60%, veto 40% > 33.4%.
	electorate := []Voter{{"a", 300}, {"b", 300}, {"c", 400}}
	vote(t, g, 2, 1, map[rewards.Account]Option{"a": Yes, "b": Yes, "c": NoWithVeto})
	closed := run(t, g, 1, 10, electorate)
	if len(closed) != 1 || closed[0].Status != Vetoed || !closed[0].DepositBurned {
		t.Fatalf("closed %+v, want vetoed with the deposit burned", closed)
	}
	if g.ParamsAt(100).Get(rewards.ParamFeeBurn) != 1000 {
		t.Error("a vetoed proposal changed the parameter")
	}
}

func TestLastVoteCounts(t *testing.T) {
	g := newGov(t, testConfig())
	g.Submit(1, Submission{Proposer: "a", Deposit: 100, Changes: []Change{{rewards.ParamFeeBurn, 2000}}})
	vote(t, g, 1, 1, map[rewards.Account]Option{"a": Yes, "b": Yes, "c": Yes})
	vote(t, g, 9, 1, map[rewards.Account]Option{"b": No, "c": No}) // the last voting block
	closed := run(t, g, 1, 10, four)
	if closed[0].Status != Rejected || closed[0].Tally.Yes != 100 || closed[0].Tally.No != 200 || closed[0].DepositBurned {
		t.Fatalf("closed %+v, want rejected 100 yes / 200 no, deposit refunded", closed[0])
	}
}

func TestSubmitRejects(t *testing.T) {
	g := newGov(t, testConfig())
	ok := Change{rewards.ParamFeeBurn, 2000}
	for name, c := range map[string]struct {
		s    Submission
		want error
	}{
		"unknown key":      {Submission{Deposit: 100, Changes: []Change{{"rewards.nothing", 1}}}, ErrUnknownParam},
		"out of bounds":    {Submission{Deposit: 100, Changes: []Change{{rewards.ParamFeeBurn, 10_001}}}, ErrOutOfBounds},
		"negative":         {Submission{Deposit: 100, Changes: []Change{{rewards.ParamStakingYield, -1}}}, ErrOutOfBounds},
		"no changes":       {Submission{Deposit: 100}, ErrNoChanges},
		"twice":            {Submission{Deposit: 100, Changes: []Change{ok, ok}}, ErrDuplicateKey},
		"deposit":          {Submission{Deposit: 99, Changes: []Change{ok}}, ErrDeposit},
		"early activation": {Submission{Deposit: 100, Changes: []Change{ok}, Activation: 14}, ErrActivation},
		"shares break sum": {Submission{Deposit: 100, Changes: []Change{{rewards.ParamShareCompute, 5000}}}, ErrConstraint},
		"fees above 1":     {Submission{Deposit: 100, Changes: []Change{{rewards.ParamFeeProvider, 9500}}}, ErrConstraint},
	} {
		if _, err := g.Submit(0, c.s); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := g.Submit(0, Submission{Deposit: 100, Changes: []Change{ok}, Activation: 15}); err != nil {
		t.Errorf("activation at the earliest height: %v", err)
	}
	// A rule across keys is met by changing two keys at once.
	if _, err := g.Submit(0, Submission{Deposit: 100, Changes: []Change{{rewards.ParamShareCompute, 5000}, {rewards.ParamShareData, 2500}}}); err != nil {
		t.Errorf("moving share from compute to data: %v", err)
	}
}

func TestVoteRejects(t *testing.T) {
	g := newGov(t, testConfig())
	g.Submit(5, Submission{Deposit: 100, Changes: []Change{{rewards.ParamFeeBurn, 2000}}})
	for name, c := range map[string]struct {
		h, id uint64
		o     Option
		want  error
	}{
		"before":     {4, 1, Yes, ErrVotingClosed},
		"after":      {15, 1, Yes, ErrVotingClosed},
		"no such":    {6, 2, Yes, ErrNoProposal},
		"zero id":    {6, 0, Yes, ErrNoProposal},
		"bad option": {6, 1, 0, ErrBadOption},
	} {
		if err := g.Vote(c.h, c.id, "a", c.o); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	run(t, g, 5, 14, four)
	if err := g.Vote(14, 1, "a", Yes); !errors.Is(err, ErrVotingClosed) {
		t.Errorf("vote on a closed proposal: %v", err)
	}
}

// TestSameHeightInIDOrder: two proposals set one key at one height; the
// later proposal's value is the one in force.
func TestSameHeightInIDOrder(t *testing.T) {
	g := newGov(t, testConfig())
	for _, v := range []int64{1500, 1800} {
		p, err := g.Submit(1, Submission{Deposit: 100, Changes: []Change{{rewards.ParamFeeBurn, v}}, Activation: 50})
		if err != nil {
			t.Fatal(err)
		}
		vote(t, g, 2, p.ID, map[rewards.Account]Option{"a": Yes, "b": Yes})
	}
	closed := run(t, g, 1, 10, four)
	if len(closed) != 2 || closed[0].ID != 1 || closed[1].ID != 2 || closed[0].Status != Passed || closed[1].Status != Passed {
		t.Fatalf("closed %+v", closed)
	}
	if got := g.ParamsAt(50).Get(rewards.ParamFeeBurn); got != 1800 {
		t.Errorf("fee burn at 50 = %d, want proposal 2's 1800", got)
	}
	a := g.Activations(50)
	if len(a) != 2 || a[0].Old != 1000 || a[0].New != 1500 || a[1].Old != 1500 || a[1].New != 1800 {
		t.Errorf("activations %+v", a)
	}
}

// TestConflictFails: two proposals, each valid alone, that together break
// the shares' sum: the second to pass fails and changes nothing.
func TestConflictFails(t *testing.T) {
	g := newGov(t, testConfig())
	g.Submit(1, Submission{Deposit: 100, Changes: []Change{{rewards.ParamShareCompute, 5000}, {rewards.ParamShareData, 2500}}})
	g.Submit(1, Submission{Deposit: 100, Changes: []Change{{rewards.ParamShareCompute, 5000}, {rewards.ParamShareTreasury, 1500}}})
	for id := uint64(1); id <= 2; id++ {
		vote(t, g, 1, id, map[rewards.Account]Option{"a": Yes, "b": Yes})
	}
	closed := run(t, g, 1, 10, four)
	if closed[0].Status != Passed || closed[1].Status != Failed || closed[1].DepositBurned {
		t.Fatalf("closed %+v, want passed then failed (refunded)", closed)
	}
	if got := g.ParamsAt(100).Get(rewards.ParamShareTreasury); got != 500 {
		t.Errorf("treasury share %d, want the default 500", got)
	}
}

func TestLateTallyFails(t *testing.T) {
	g := newGov(t, testConfig())
	g.Submit(1, Submission{Deposit: 100, Changes: []Change{{rewards.ParamFeeBurn, 2000}}})
	vote(t, g, 1, 1, map[rewards.Account]Option{"a": Yes, "b": Yes})
	closed, err := g.EndBlock(16, four) // the driver skipped heights 10 … 15
	if err != nil || len(closed) != 1 || closed[0].Status != Failed {
		t.Fatalf("closed %+v, %v", closed, err)
	}
	if g.ParamsAt(16).Get(rewards.ParamFeeBurn) != 1000 {
		t.Error("a late tally changed the past")
	}
}

func TestEndBlockBadElectorate(t *testing.T) {
	g := newGov(t, testConfig())
	g.Submit(1, Submission{Deposit: 100, Changes: []Change{{rewards.ParamFeeBurn, 2000}}})
	if _, err := g.EndBlock(10, []Voter{{"a", 1}, {"a", 1}}); !errors.Is(err, ErrElectorate) {
		t.Fatalf("duplicate voter: %v", err)
	}
	if p, _ := g.Proposal(1); p.Status != Open {
		t.Errorf("a failed EndBlock closed the proposal: %+v", p)
	}
}

// TestDeterministicManyVoters: many voters voting (and changing their
// minds) in different orders give identical outcomes and parameters, and
// the tally agrees with a count by hand.
func TestDeterministicManyVoters(t *testing.T) {
	const n = 2000
	rng := rand.New(rand.NewPCG(1, 2))
	electorate := make([]Voter, n)
	type vote struct {
		voter rewards.Account
		o     Option
	}
	var votes []vote
	final := map[rewards.Account]Option{}
	for i := range electorate {
		a := rewards.Account(fmt.Sprintf("v%05d", i))
		electorate[i] = Voter{a, rewards.Tokens(rng.Uint64N(1_000_000 * uint64(rewards.Token)))}
		for range rng.IntN(3) {
			o := Option(1 + rng.IntN(4))
			votes = append(votes, vote{a, o})
			final[a] = o
		}
	}
	var want Tally
	for _, v := range electorate {
		want.Total += uint64(v.Stake)
		if o, ok := final[v.Account]; ok {
			want.Voted += uint64(v.Stake)
			want.Voters++
			*map[Option]*uint64{Yes: &want.Yes, No: &want.No, Abstain: &want.Abstain, NoWithVeto: &want.Veto}[o] += uint64(v.Stake)
		}
	}

	outcome := func(seed uint64) ([]Proposal, Params) {
		g := newGov(t, testConfig())
		g.Submit(1, Submission{Deposit: 100, Changes: []Change{{ParamSpotCheck, 100_000}}})
		// Each voter's votes stay in order (the last one counts); voters
		// interleave differently per seed; the electorate is shuffled.
		r := rand.New(rand.NewPCG(seed, 0))
		byVoter := map[rewards.Account][]Option{}
		var order []rewards.Account
		for _, v := range votes {
			if byVoter[v.voter] == nil {
				order = append(order, v.voter)
			}
			byVoter[v.voter] = append(byVoter[v.voter], v.o)
		}
		var seq []rewards.Account
		for _, a := range order {
			for range byVoter[a] {
				seq = append(seq, a)
			}
		}
		r.Shuffle(len(seq), func(i, j int) { seq[i], seq[j] = seq[j], seq[i] })
		next := map[rewards.Account]int{}
		for _, a := range seq {
			if err := g.Vote(5, 1, a, byVoter[a][next[a]]); err != nil {
				t.Fatal(err)
			}
			next[a]++
		}
		e := slices.Clone(electorate)
		r.Shuffle(len(e), func(i, j int) { e[i], e[j] = e[j], e[i] })
		return run(t, g, 1, 20, e), g.ParamsAt(100)
	}
	c1, p1 := outcome(1)
	c2, p2 := outcome(2)
	if !reflect.DeepEqual(c1, c2) || !reflect.DeepEqual(p1, p2) {
		t.Fatalf("orders changed the outcome:\n%+v\n%+v", c1, c2)
	}
	if c1[0].Tally != want {
		t.Errorf("tally %+v, counted by hand %+v", c1[0].Tally, want)
	}
	if s, _ := DefaultTallyParams().Decide(want); c1[0].Status != s {
		t.Errorf("status %s, want %s", c1[0].Status, s)
	}
}

func TestConfigValidate(t *testing.T) {
	reg, _ := DefaultRegistry(rewards.DefaultPolicy())
	for name, mut := range map[string]func(*Config){
		"voting 0":    func(c *Config) { c.VotingPeriod = 0 },
		"quorum > 1":  func(c *Config) { c.Tally.Quorum = Ratio{3, 2} },
		"den 0":       func(c *Config) { c.Tally.Veto = Ratio{0, 0} },
		"threshold 0": func(c *Config) { c.Tally.Threshold = Ratio{0, 1} },
		"weighting 9": func(c *Config) { c.Tally.Weighting = 9 },
	} {
		c := DefaultConfig()
		mut(&c)
		if _, err := New(reg, c); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}
