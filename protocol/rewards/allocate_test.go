package rewards

import (
	"fmt"
	"math/big"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func claims(ws ...uint64) []Claim {
	out := make([]Claim, len(ws))
	for i, w := range ws {
		out[i] = Claim{To: Account(fmt.Sprintf("a%02d", i)), Weight: bigU(w)}
	}
	return out
}

func amounts(ps []Payment) []Tokens {
	out := make([]Tokens, len(ps))
	for i, p := range ps {
		out[i] = p.Amount
	}
	return out
}

func TestAllocateByHand(t *testing.T) {
	for _, c := range []struct {
		total Tokens
		w     []uint64
		want  []Tokens
	}{
		{10, []uint64{1, 1, 1}, []Tokens{4, 3, 3}},            // tie: the smallest account gets the unit
		{100, []uint64{1, 2, 3}, []Tokens{17, 33, 50}},        // 16.67, 33.33, 50: largest remainder .67
		{5, []uint64{3, 3, 0, 4}, []Tokens{2, 1, 2}},          // 1.5, 1.5, 2: tie broken by account; 0 weight omitted
		{0, []uint64{5, 7}, []Tokens{0, 0}},                   // nothing to give, everyone listed
		{1, []uint64{1 << 63, 1 << 63, 1}, []Tokens{1, 0, 0}}, // weights past 64 bits in sum
	} {
		got := Allocate(c.total, claims(c.w...))
		if !slices.Equal(amounts(got), c.want) {
			t.Errorf("Allocate(%d, %v) = %v, want %v", c.total, c.w, amounts(got), c.want)
		}
	}
	if got := Allocate(10, claims(0, 0)); got != nil {
		t.Errorf("all-zero weights: %v, want nil", got)
	}
	merged := Allocate(9, []Claim{{To: "b", Weight: bigU(1)}, {To: "a", Weight: bigU(1)}, {To: "b", Weight: bigU(1)}})
	if len(merged) != 2 || merged[0] != (Payment{"a", 3}) || merged[1] != (Payment{"b", 6}) {
		t.Errorf("merged claims: %v, want a:3 b:6", merged)
	}
}

// TestAllocateProperties checks Allocate against its definition for random
// claims: the sum is exact, each amount is the floor of its exact share or
// one more, the units above the floor went to the largest remainders (ties
// to the smaller account), and the input order does not matter.
func TestAllocateProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(t, "n")
		total := Tokens(rapid.Uint64().Draw(t, "total"))
		cs := make([]Claim, n)
		for i := range cs {
			w := new(big.Int).SetUint64(rapid.Uint64Range(0, 1<<20).Draw(t, "w"))
			if rapid.Bool().Draw(t, "huge") {
				w.Lsh(w, 70)
			}
			cs[i] = Claim{To: Account(fmt.Sprintf("acct%d", rapid.IntRange(0, 12).Draw(t, "to"))), Weight: w}
		}
		got := Allocate(total, cs)
		perm := rapid.Permutation(cs).Draw(t, "perm")
		if again := Allocate(total, perm); !slices.Equal(got, again) {
			t.Fatalf("order changed the result: %v vs %v", got, again)
		}
		want := map[Account]*big.Int{}
		sumW := new(big.Int)
		for _, c := range cs {
			if want[c.To] == nil {
				want[c.To] = new(big.Int)
			}
			want[c.To].Add(want[c.To], c.Weight)
			sumW.Add(sumW, c.Weight)
		}
		if sumW.Sign() == 0 {
			if got != nil {
				t.Fatalf("no weight, got %v", got)
			}
			return
		}
		if Sum(got) != total {
			t.Fatalf("Σ = %d, want %d", Sum(got), total)
		}
		type share struct {
			to    Account
			extra bool
			rem   *big.Int
		}
		var shares []share
		for i, p := range got {
			if i > 0 && got[i-1].To >= p.To {
				t.Fatalf("payments out of account order: %v", got)
			}
			w := want[p.To]
			if w == nil || w.Sign() == 0 {
				t.Fatalf("paid %s, which has no weight", p.To)
			}
			q, r := new(big.Int).QuoRem(new(big.Int).Mul(bigU(uint64(total)), w), sumW, new(big.Int))
			switch uint64(p.Amount) - q.Uint64() {
			case 0:
				shares = append(shares, share{p.To, false, r})
			case 1:
				shares = append(shares, share{p.To, true, r})
			default:
				t.Fatalf("%s got %d, exact share floors to %d", p.To, p.Amount, q)
			}
		}
		for _, a := range shares {
			for _, b := range shares {
				if a.extra && !b.extra {
					if c := a.rem.Cmp(b.rem); c < 0 || (c == 0 && a.to > b.to) {
						t.Fatalf("%s got the extra unit with remainder %s before %s with %s", a.to, a.rem, b.to, b.rem)
					}
				}
			}
		}
	})
}
