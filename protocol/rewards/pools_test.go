package rewards

import (
	"errors"
	"math"
	"math/big"
	"testing"

	"pgregory.net/rapid"
)

func TestFloatClaimsExactRatios(t *testing.T) {
	c, err := FloatClaims([]Weighted{{"a", 0.75}, {"b", 1.5}, {"c", 0}, {"d", 3e-300}})
	if err != nil {
		t.Fatal(err)
	}
	// 0.75 : 1.5 exactly 1 : 2.
	if new(big.Int).Mul(c[0].Weight, big.NewInt(2)).Cmp(c[1].Weight) != 0 {
		t.Errorf("0.75 → %v, 1.5 → %v: not 1:2", c[0].Weight, c[1].Weight)
	}
	if c[2].Weight.Sign() != 0 || c[3].Weight.Sign() <= 0 {
		t.Errorf("zero → %v, tiny → %v", c[2].Weight, c[3].Weight)
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := FloatClaims([]Weighted{{"a", bad}}); !errors.Is(err, ErrInput) {
			t.Errorf("weight %v: err %v", bad, err)
		}
	}
}

// TestSplitPoolsConserves: every base unit of the pot lands in exactly
// one place, a pool nobody can claim goes to the treasury, and within a
// pool amounts follow weights.
func TestSplitPoolsConserves(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		total := Tokens(rapid.Uint64Range(0, 1e15).Draw(t, "total"))
		var sh Shares
		left := int(BpsOne)
		for c := range ClassTreasury {
			b := rapid.IntRange(0, left).Draw(t, "share")
			sh[c], left = Bps(b), left-b
		}
		sh[ClassTreasury] = Bps(left)
		gen := func(label string) []Weighted {
			n := rapid.IntRange(0, 6).Draw(t, label)
			ws := make([]Weighted, n)
			for i := range ws {
				ws[i] = Weighted{To: Account(label + string(rune('a'+i))), Weight: rapid.Float64Range(0, 10).Draw(t, label+"w")}
			}
			return ws
		}
		c := PoolClaims{Compute: gen("c"), Data: gen("d"), Validators: gen("v")}
		out, err := SplitPools(total, sh, c)
		if err != nil {
			t.Fatal(err)
		}
		if got := Sum(out.Compute) + Sum(out.Data) + Sum(out.Validators) + out.Treasury; got != total {
			t.Fatalf("paid %d of %d", got, total)
		}
		if out.Compute == nil && out.Class[ClassCompute] > 0 && out.Unallocated < out.Class[ClassCompute] {
			t.Fatalf("unclaimed compute pool not in the treasury")
		}
	})
}

func TestSplitPoolsByHand(t *testing.T) {
	sh := Shares{ClassCompute: 5000, ClassData: 3000, ClassValidators: 2000}
	out, err := SplitPools(1000, sh, PoolClaims{
		Compute: []Weighted{{"p1", 1}, {"p2", 3}},
		Data:    []Weighted{{"d1", 0.2}, {"d2", 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Class != [NumClasses]Tokens{500, 300, 200, 0} {
		t.Errorf("classes %v", out.Class)
	}
	if out.Compute[0].Amount != 125 || out.Compute[1].Amount != 375 {
		t.Errorf("compute %v", out.Compute)
	}
	if len(out.Data) != 1 || out.Data[0] != (Payment{"d1", 300}) {
		t.Errorf("data %v: a zero weight earns nothing", out.Data)
	}
	if out.Treasury != 200 || out.Unallocated != 200 {
		t.Errorf("treasury %d, unallocated %d: the empty validation pool", out.Treasury, out.Unallocated)
	}
}
