package govern

import (
	"errors"
	"fmt"
	"math/big"
	"testing"

	"pgregory.net/rapid"

	"github.com/dais-sim/dais/protocol/rewards"
)

func TestIsqrt(t *testing.T) {
	for _, x := range []uint64{0, 1, 2, 3, 4, 15, 16, 17, 1<<32 - 1, 1 << 32, 1<<64 - 1, (1<<32 - 1) * (1<<32 - 1)} {
		if got, want := isqrt(x), new(big.Int).Sqrt(new(big.Int).SetUint64(x)).Uint64(); got != want {
			t.Errorf("isqrt(%d) = %d, want %d", x, got, want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		x := rapid.Uint64().Draw(t, "x")
		if got, want := isqrt(x), new(big.Int).Sqrt(new(big.Int).SetUint64(x)).Uint64(); got != want {
			t.Fatalf("isqrt(%d) = %d, want %d", x, got, want)
		}
	})
}

// The boundaries of Cosmos's defaults: quorum 0.334 met exactly counts;
// Yes must be strictly above half of non-abstaining power; NoWithVeto must
// be strictly above 0.334 of the power cast.
func TestDecideBoundaries(t *testing.T) {
	tp := DefaultTallyParams()
	for _, c := range []struct {
		name string
		r    Tally
		want Status
		burn bool
	}{
		{"quorum exactly met", Tally{Yes: 334, Voted: 334, Total: 1000}, Passed, false},
		{"quorum one short", Tally{Yes: 333, Voted: 333, Total: 1000}, NoQuorum, true},
		{"quorum exactly met, odd total", Tally{Yes: 167, Voted: 167, Total: 500}, Passed, false}, // 0.334·500 = 167
		{"quorum short, odd total", Tally{Yes: 166, Voted: 166, Total: 500}, NoQuorum, true},
		{"quorum met by abstentions", Tally{Yes: 2, No: 1, Abstain: 400, Voted: 403, Total: 1000}, Passed, false},
		{"threshold tie", Tally{Yes: 250, No: 250, Voted: 500, Total: 1000}, Rejected, false},
		{"threshold one above", Tally{Yes: 251, No: 250, Voted: 501, Total: 1000}, Passed, false},
		{"tie counts veto as not yes", Tally{Yes: 250, No: 200, Veto: 50, Voted: 500, Total: 1000}, Rejected, false},
		{"veto exactly 0.334", Tally{Yes: 666, Veto: 334, Voted: 1000, Total: 1000}, Passed, false},
		{"veto just above", Tally{Yes: 665, Veto: 335, Voted: 1000, Total: 1000}, Vetoed, true},
		{"veto share of all cast, abstain included", Tally{Yes: 300, Veto: 200, Abstain: 500, Voted: 1000, Total: 1000}, Passed, false},
		{"veto beats a yes majority", Tally{Yes: 600, Veto: 400, Voted: 1000, Total: 1000}, Vetoed, true},
		{"everyone abstains", Tally{Abstain: 900, Voted: 900, Total: 1000}, Rejected, false},
		{"no electorate", Tally{}, Rejected, false},
	} {
		if s, burn := tp.Decide(c.r); s != c.want || burn != c.burn {
			t.Errorf("%s: %+v → %s (burn %v), want %s (burn %v)", c.name, c.r, s, burn, c.want, c.burn)
		}
	}
	tp.BurnOnNoQuorum, tp.BurnOnVeto = false, false
	if _, burn := tp.Decide(Tally{Voted: 1, Yes: 1, Total: 1000}); burn {
		t.Error("burned on no quorum with BurnOnNoQuorum off")
	}
	if _, burn := tp.Decide(Tally{Veto: 1, Voted: 1, Total: 1}); burn {
		t.Error("burned on veto with BurnOnVeto off")
	}
}

// TestDecideOracle checks Decide against the rules written with exact
// rationals, for random tallies and thresholds.
func TestDecideOracle(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ratio := func(name string, pos bool) Ratio {
			den := rapid.Uint64Range(1, 1<<40).Draw(t, name+"den")
			lo := uint64(0)
			if pos {
				lo = 1
			}
			return Ratio{rapid.Uint64Range(lo, den).Draw(t, name+"num"), den}
		}
		tp := TallyParams{Quorum: ratio("q", false), Threshold: ratio("t", true), Veto: ratio("v", true), BurnOnVeto: true}
		part := func(name string) uint64 { return rapid.Uint64Range(0, 1<<61).Draw(t, name) }
		r := Tally{Yes: part("yes"), No: part("no"), Abstain: part("abstain"), Veto: part("veto")}
		r.Voted = r.Yes + r.No + r.Abstain + r.Veto
		r.Total = r.Voted + rapid.Uint64Range(0, 1<<62).Draw(t, "silent")

		q := func(a, b uint64) *big.Rat {
			return new(big.Rat).SetFrac(new(big.Int).SetUint64(a), new(big.Int).SetUint64(b))
		}
		rat := func(x Ratio) *big.Rat { return q(x.Num, x.Den) }
		var want Status
		switch {
		case r.Total == 0:
			want = Rejected
		case q(r.Voted, r.Total).Cmp(rat(tp.Quorum)) < 0:
			want = NoQuorum
		case r.Voted-r.Abstain == 0:
			want = Rejected
		case q(r.Veto, r.Voted).Cmp(rat(tp.Veto)) > 0:
			want = Vetoed
		case q(r.Yes, r.Voted-r.Abstain).Cmp(rat(tp.Threshold)) > 0:
			want = Passed
		default:
			want = Rejected
		}
		if got, burn := tp.Decide(r); got != want || burn != (want == Vetoed) {
			t.Fatalf("%+v under %+v: %s (burn %v), want %s", r, tp, got, burn, want)
		}
	})
}

func TestCount(t *testing.T) {
	electorate := []Voter{{"whale", 1_000_000}, {"a", 10_000}, {"b", 10_000}, {"c", 10_000}, {"d", 0}}
	ballots := []Ballot{{"whale", Yes}, {"a", No}, {"b", No}, {"c", NoWithVeto}, {"d", Yes}, {"nobody", Yes}}
	lin, err := DefaultTallyParams().Count(electorate, ballots)
	if err != nil {
		t.Fatal(err)
	}
	if lin != (Tally{Yes: 1_000_000, No: 20_000, Veto: 10_000, Voted: 1_030_000, Total: 1_030_000, Voters: 5}) {
		t.Errorf("linear tally %+v", lin)
	}
	qp := DefaultTallyParams()
	qp.Weighting = Quadratic
	quad, err := qp.Count(electorate, ballots)
	if err != nil {
		t.Fatal(err)
	}
	if quad != (Tally{Yes: 1000, No: 200, Veto: 100, Voted: 1300, Total: 1300, Voters: 5}) {
		t.Errorf("quadratic tally %+v", quad)
	}
	for name, c := range map[string]struct {
		e []Voter
		b []Ballot
	}{
		"voter listed twice":  {[]Voter{{"a", 1}, {"a", 2}}, nil},
		"two ballots":         {[]Voter{{"a", 1}}, []Ballot{{"a", Yes}, {"a", No}}},
		"bad option":          {[]Voter{{"a", 1}}, []Ballot{{"a", 9}}},
		"stake overflows u64": {[]Voter{{"a", 1 << 63}, {"b", 1 << 63}}, nil},
	} {
		if _, err := DefaultTallyParams().Count(c.e, c.b); !errors.Is(err, ErrElectorate) && !errors.Is(err, ErrBadOption) {
			t.Errorf("%s: %v, want an error", name, err)
		}
	}
}

// TestQuadraticCurbsWhale: a whale holding 90% of the stake decides a
// linear vote alone; under quadratic weighting, a hundred small holders
// with the rest outvote it.
func TestQuadraticCurbsWhale(t *testing.T) {
	electorate := []Voter{{"whale", 900 * rewards.Token}}
	ballots := []Ballot{{"whale", Yes}}
	for i := range 100 {
		a := rewards.Account(fmt.Sprintf("small%03d", i))
		electorate = append(electorate, Voter{a, rewards.Token})
		ballots = append(ballots, Ballot{a, No})
	}
	lin := DefaultTallyParams()
	quad := lin
	quad.Weighting = Quadratic
	rl, _ := lin.Count(electorate, ballots)
	rq, _ := quad.Count(electorate, ballots)
	share := func(r Tally) float64 { return float64(r.Yes) / float64(r.Voted) }
	if share(rl) < 0.89 || share(rq) > 0.25 {
		t.Errorf("whale's share: linear %.3f, quadratic %.3f; want ≈ 0.9 and ≈ 0.23", share(rl), share(rq))
	}
	if s, _ := lin.Decide(rl); s != Passed {
		t.Errorf("linear: %s, want the whale to pass it", s)
	}
	if s, _ := quad.Decide(rq); s != Rejected {
		t.Errorf("quadratic: %s, want the small holders to reject it", s)
	}
}
