package rewards

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// tb is what testing.T and rapid.T share.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func newDist(t tb, p Policy) *Distributor {
	t.Helper()
	d, err := NewDistributor(p)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// books checks that every token of the pot landed in exactly one place.
func books(t tb, out Payout) {
	t.Helper()
	paid := Sum(out.Compute) + Sum(out.Participation) + Sum(out.Data) + Sum(out.Validators) + out.Treasury
	if paid != out.Total || out.Total != out.Emission+out.Fees {
		t.Fatalf("paid %d of a pot of %d (emission %d + fees %d)", paid, out.Total, out.Emission, out.Fees)
	}
	var classes Tokens
	for _, c := range out.Class {
		classes += c
	}
	if classes != out.Total {
		t.Fatalf("classes sum to %d, pot %d", classes, out.Total)
	}
}

func h(b byte) [32]byte { return [32]byte{b} }

func TestDistributeByHand(t *testing.T) {
	d := newDist(t, DefaultPolicy())
	out, err := d.Distribute(Period{
		Height: 7, Emission: 1000, Fees: 1,
		Work: []VerifiedWork{
			{Provider: "h100", FLOPs: 3e15}, // a fast card: three units
			{Provider: "rtx3060", FLOPs: 1e15},
			{Provider: "h100-b", FLOPs: 1e15}, // a fast card: one unit earns what the 3060's unit earns
		},
		Data: []DataContribution{
			{Provider: "alice", Hash: h(1), Quantity: 100, Quality: 500_000, Uniqueness: PPMOne},
			{Provider: "bob", Hash: h(2), Quantity: 50, Quality: PPMOne, Uniqueness: PPMOne},
			{Provider: "carol", Hash: h(1), Quantity: 1000, Quality: PPMOne, Uniqueness: PPMOne}, // copy of alice's
		},
		Validators: []ValidatorScore{
			{Validator: "v1", Stake: 100, Accuracy: PPMOne},
			{Validator: "v2", Stake: 200, Accuracy: 500_000}, // twice the stake, half as accurate
			{Validator: "v3", Stake: 500, Accuracy: 0},       // all wrong: nothing
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	books(t, out)
	// Pot 1001: 60% = 600.6, 15% = 150.15, 20% = 200.2, 5% = 50.05 →
	// 600, 150, 200, 50 and the one unit left to the largest remainder (compute, .6).
	if out.Class != [NumClasses]Tokens{601, 150, 200, 50} {
		t.Errorf("classes %v, want [601 150 200 50]", out.Class)
	}
	// Compute 601 over 5 units: 360.6, 120.2, 120.2 → 361, 120, 120.
	want := []Payment{{"h100", 361}, {"h100-b", 120}, {"rtx3060", 120}}
	if !slices.Equal(out.Compute, want) {
		t.Errorf("compute %v, want %v", out.Compute, want)
	}
	want = []Payment{{"alice", 75}, {"bob", 75}}
	if !slices.Equal(out.Data, want) || out.Duplicates != 1 {
		t.Errorf("data %v (%d duplicates), want %v and 1 duplicate", out.Data, out.Duplicates, want)
	}
	want = []Payment{{"v1", 100}, {"v2", 100}}
	if !slices.Equal(out.Validators, want) {
		t.Errorf("validators %v, want %v", out.Validators, want)
	}
	if out.Treasury != 50 || out.Unallocated != 0 {
		t.Errorf("treasury %d (unallocated %d), want 50 (0)", out.Treasury, out.Unallocated)
	}

	// A later period: alice's hash was credited and earns nothing again.
	out, err = d.Distribute(Period{Height: 8, Emission: 100, Data: []DataContribution{
		{Provider: "dave", Hash: h(1), Quantity: 10, Quality: PPMOne, Uniqueness: PPMOne},
	}})
	if err != nil {
		t.Fatal(err)
	}
	books(t, out)
	if out.Data != nil || out.Duplicates != 1 || out.Treasury != 100 || out.Unallocated != 95 {
		t.Errorf("re-submitted data: %+v; want no data payment, everything to the treasury", out)
	}
}

func TestDistributeRejects(t *testing.T) {
	d := newDist(t, DefaultPolicy())
	for _, p := range []Period{
		{Emission: ^Tokens(0), Fees: 1},
		{Data: []DataContribution{{Hash: h(1), Quality: PPMOne + 1}}},
		{Data: []DataContribution{{Hash: h(2), Quality: 1}, {Hash: h(1), Uniqueness: PPMOne + 1}}},
		{Validators: []ValidatorScore{{Validator: "v", Accuracy: PPMOne + 1}}},
	} {
		if _, err := d.Distribute(p); !errors.Is(err, ErrInput) {
			t.Errorf("%+v: %v, want ErrInput", p, err)
		}
	}
	if d.Credited(h(2)) {
		t.Error("a rejected period credited a hash")
	}
}

func TestPerIdentity(t *testing.T) {
	p := DefaultPolicy()
	p.Payout, p.ParticipationReward = PerIdentity, 10
	d := newDist(t, p)
	out, err := d.Distribute(Period{Emission: 1000, Work: []VerifiedWork{{"a", 1}, {"b", 3}, {"c", 0}}})
	if err != nil {
		t.Fatal(err)
	}
	books(t, out)
	// Compute pot 600: 10 each to a and b (c has no verified work), 580 by work.
	if !slices.Equal(out.Participation, []Payment{{"a", 10}, {"b", 10}}) ||
		!slices.Equal(out.Compute, []Payment{{"a", 145}, {"b", 435}}) {
		t.Errorf("participation %v, compute %v", out.Participation, out.Compute)
	}
	// A pot smaller than the per-identity total is shared equally.
	p.ParticipationReward = 1000
	d = newDist(t, p)
	out, _ = d.Distribute(Period{Emission: 10, Work: []VerifiedWork{{"a", 1}, {"b", 3}, {"c", 1}}})
	books(t, out)
	if !slices.Equal(out.Participation, []Payment{{"a", 2}, {"b", 2}, {"c", 2}}) || Sum(out.Compute) != 0 {
		t.Errorf("small pot: participation %v, compute %v", out.Participation, out.Compute)
	}
}

// TestDistributeProperties: for random periods the books close, every
// input order of work and validators gives the same payout, and no one
// with zero weight is paid.
func TestDistributeProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := DefaultPolicy()
		var rest uint32 = 10_000
		for c := range ClassTreasury {
			b := rapid.Uint32Range(0, rest).Draw(t, "bps")
			p.Shares[c], rest = Bps(b), rest-b
		}
		p.Shares[ClassTreasury] = Bps(rest)
		if rapid.Bool().Draw(t, "perIdentity") {
			p.Payout, p.ParticipationReward = PerIdentity, Tokens(rapid.Uint64Range(0, 1e9).Draw(t, "participation"))
		}
		acct := rapid.Custom(func(t *rapid.T) Account {
			return Account(fmt.Sprintf("n%d", rapid.IntRange(0, 9).Draw(t, "id")))
		})
		pd := Period{
			Height:   rapid.Uint64().Draw(t, "height"),
			Emission: Tokens(rapid.Uint64Range(0, 1<<62).Draw(t, "emission")),
			Fees:     Tokens(rapid.Uint64Range(0, 1<<62).Draw(t, "fees")),
			Work: rapid.SliceOf(rapid.Custom(func(t *rapid.T) VerifiedWork {
				return VerifiedWork{acct.Draw(t, "provider"), rapid.Uint64().Draw(t, "flops")}
			})).Draw(t, "work"),
			Data: rapid.SliceOf(rapid.Custom(func(t *rapid.T) DataContribution {
				return DataContribution{Provider: acct.Draw(t, "provider"), Hash: h(rapid.Byte().Draw(t, "hash")),
					Quantity: rapid.Uint64().Draw(t, "qty"), Quality: PPM(rapid.Uint32Range(0, 1e6).Draw(t, "q")),
					Uniqueness: PPM(rapid.Uint32Range(0, 1e6).Draw(t, "u"))}
			})).Draw(t, "data"),
			Validators: rapid.SliceOf(rapid.Custom(func(t *rapid.T) ValidatorScore {
				return ValidatorScore{acct.Draw(t, "validator"), Tokens(rapid.Uint64().Draw(t, "stake")), PPM(rapid.Uint32Range(0, 1e6).Draw(t, "acc"))}
			})).Draw(t, "validators"),
		}
		out, err := newDist(t, p).Distribute(pd)
		if err != nil {
			t.Fatal(err)
		}
		books(t, out)
		shuffled := pd
		shuffled.Work = rapid.Permutation(pd.Work).Draw(t, "work order")
		shuffled.Validators = rapid.Permutation(pd.Validators).Draw(t, "validator order")
		again, err := newDist(t, p).Distribute(shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(out) != fmt.Sprint(again) {
			t.Fatalf("input order changed the payout:\n%+v\n%+v", out, again)
		}
		for _, v := range out.Validators {
			for _, s := range pd.Validators {
				if s.Validator == v.To && (s.Stake == 0 || s.Accuracy == 0) && v.Amount > 0 {
					// Only if every entry of this account weighs 0 is a payment wrong.
					zero := true
					for _, o := range pd.Validators {
						if o.Validator == v.To && o.Stake > 0 && o.Accuracy > 0 {
							zero = false
						}
					}
					if zero {
						t.Fatalf("%s paid %d with no weight", v.To, v.Amount)
					}
				}
			}
		}
	})
}

func TestFeeSplit(t *testing.T) {
	f := FeePolicy{BurnBps: 1000, ProviderBps: 8000}
	if got := f.Split(1999); got != (FeeSplit{Burn: 199, Provider: 1599, Pot: 201}) {
		t.Errorf("Split(1999) = %+v", got)
	}
	rapid.Check(t, func(t *rapid.T) {
		b := Bps(rapid.Uint32Range(0, 10_000).Draw(t, "burn"))
		f := FeePolicy{BurnBps: b, ProviderBps: Bps(rapid.Uint32Range(0, 10_000-uint32(b)).Draw(t, "provider"))}
		fee := Tokens(rapid.Uint64().Draw(t, "fee"))
		s := f.Split(fee)
		if s.Burn+s.Provider+s.Pot != fee || s.Burn != f.BurnBps.Of(fee) {
			t.Fatalf("Split(%d) = %+v", fee, s)
		}
	})
}

func TestStakingYield(t *testing.T) {
	p := DefaultPolicy()
	p.StakingYieldPPB = 10_000_000 // 1% per epoch
	stakes := []Stake{{"b", 1000 * Token}, {"a", 250}, {"c", 0}, {"b", 50}}
	pays, paid := p.StakingYield(stakes, 100*Token)
	want := []Payment{{"a", 2}, {"b", 10*Token + 0}}
	if !slices.Equal(pays, want) || paid != Sum(want) {
		t.Errorf("yield %v (paid %d), want %v", pays, paid, want)
	}
	// The treasury holds less than owed: it pays all it has, pro rata.
	pays, paid = p.StakingYield(stakes, 1000)
	if paid != 1000 || !slices.Equal(pays, []Payment{{"a", 0}, {"b", 1000}}) {
		t.Errorf("short treasury: %v (paid %d), want everything to b", pays, paid)
	}
	if pays, paid := p.StakingYield(nil, 1000); len(pays) != 0 || paid != 0 {
		t.Errorf("no stakers: %v, %d", pays, paid)
	}
}

func TestSlashAmount(t *testing.T) {
	p := DefaultPolicy()
	for _, c := range []struct {
		o     Offence
		stake Tokens
		want  Tokens
	}{
		{LazyWork, 1000, 100}, {Equivocation, 1000, 50}, {FalseApproval, 1000, 200}, {Equivocation, 39, 1},
	} {
		if got := p.SlashAmount(c.o, c.stake); got != c.want {
			t.Errorf("%s of %d = %d, want %d", c.o, c.stake, got, c.want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Policy){
		"shares short":       func(p *Policy) { p.Shares[ClassTreasury]-- },
		"share above 1":      func(p *Policy) { p.Shares = Shares{ClassCompute: 10_001} },
		"fees above 1":       func(p *Policy) { p.Fees.ProviderBps = 9001 },
		"yield above 1":      func(p *Policy) { p.StakingYieldPPB = 1e9 + 1 },
		"epoch 0":            func(p *Policy) { p.EpochBlocks = 0 },
		"slash above 1":      func(p *Policy) { p.Slash[LazyWork] = 10_001 },
		"participation":      func(p *Policy) { p.ParticipationReward = 1 },
		"payout mode":        func(p *Policy) { p.Payout = 7 },
		"emission kind":      func(p *Policy) { p.Emission.Kind = "" },
		"halving interval 0": func(p *Policy) { p.Emission.HalvingBlocks = 0 },
	} {
		p := DefaultPolicy()
		mut(&p)
		err := p.Validate()
		if !errors.Is(err, ErrPolicy) && !errors.Is(err, ErrSchedule) {
			t.Errorf("%s: %v, want ErrPolicy or ErrSchedule", name, err)
		}
	}
}

func TestWithParams(t *testing.T) {
	keys := ParamKeys()
	if !slices.IsSorted(keys) {
		t.Errorf("ParamKeys not sorted: %v", keys)
	}
	p := DefaultPolicy()
	for _, k := range keys {
		if _, ok := p.Param(k); !ok {
			t.Errorf("key %s has no field", k)
		}
	}
	set := map[string]int64{ParamShareCompute: 5000, ParamShareTreasury: 1500, ParamFeeBurn: 2000, ParamEmissionPerBlock: 3}
	q, err := p.WithParams(func(k string) (int64, bool) { v, ok := set[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if q.Shares[ClassCompute] != 5000 || q.Shares[ClassTreasury] != 1500 || q.Fees.BurnBps != 2000 || q.Emission.Initial != 3 {
		t.Errorf("WithParams gave %+v", q)
	}
	if p.Shares[ClassCompute] != 6000 {
		t.Error("WithParams changed its receiver")
	}
	for _, bad := range []map[string]int64{
		{ParamShareCompute: 5000},          // shares no longer sum to 10,000
		{ParamFeeBurn: -1},                 // out of range
		{ParamParticipationReward: 1},      // needs PerIdentity
		{ParamStakingYield: 1_000_000_001}, // above 1
		{ParamEmissionPerBlock: -5},        // negative tokens
	} {
		if _, err := p.WithParams(func(k string) (int64, bool) { v, ok := bad[k]; return v, ok }); !errors.Is(err, ErrPolicy) {
			t.Errorf("%v: %v, want ErrPolicy", bad, err)
		}
	}
}

// TestSybilGain is the Sybil experiment: one GPU split across k identities
// earns what it earns as one under the work-based default, and more and
// more under a per-identity reward.
func TestSybilGain(t *testing.T) {
	setup := SybilSetup{Emission: 10 * Token, AttackerFLOPs: 1e15 + 7, HonestProviders: 10, HonestFLOPs: 1e15}
	per := DefaultPolicy()
	per.Payout, per.ParticipationReward = PerIdentity, Token/10 // 1% of the pot per identity
	prev := 0.0
	for k := 1; k <= 20; k++ {
		g, err := SybilGain(DefaultPolicy(), k, setup)
		if err != nil {
			t.Fatal(err)
		}
		if g > 1.05 || g < 0.95 {
			t.Errorf("work-based: gain %.6f for k = %d, want ≈ 1", g, k)
		}
		if d := g - 1; d > 1e-6 || d < -1e-6 {
			t.Errorf("work-based: gain %.9f for k = %d, want 1 up to rounding", g, k)
		}
		gp, err := SybilGain(per, k, setup)
		if err != nil {
			t.Fatal(err)
		}
		if k == 1 && gp != 1 {
			t.Errorf("per-identity: gain %.6f for one identity, want 1", gp)
		}
		if k > 1 && (gp <= 1.05 || gp <= prev) {
			t.Errorf("per-identity: gain %.4f for k = %d (k−1: %.4f), want above 1.05 and growing", gp, k, prev)
		}
		prev = gp
	}
	if _, err := SybilGain(DefaultPolicy(), 0, setup); !errors.Is(err, ErrInput) {
		t.Errorf("k = 0: %v, want ErrInput", err)
	}
	if _, err := SybilGain(DefaultPolicy(), 2, SybilSetup{Emission: 10}); !errors.Is(err, ErrInput) {
		t.Errorf("no work: %v, want ErrInput", err)
	}
}
