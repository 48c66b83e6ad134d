package rewards

import (
	"cmp"
	"math/big"
	"slices"
)

// Claim is one account's weight in a pro-rata split. Weights are
// arbitrary-precision because they are products (stake × accuracy, quality
// × quantity × uniqueness) and sums (FLOPs over an epoch) that overflow 64
// bits.
type Claim struct {
	To     Account
	Weight *big.Int // ≥ 0; nil counts as 0
}

// Payment is an amount paid to an account.
type Payment struct {
	To     Account
	Amount Tokens
}

// Sum returns the total of the payments.
func Sum(ps []Payment) Tokens {
	var s Tokens
	for _, p := range ps {
		s += p.Amount
	}
	return s
}

// Allocate splits total among the claims pro rata to their weights, with
// the largest-remainder method: each account first gets ⌊total·w/W⌋, and
// the base units left over (fewer than the number of accounts) go one each
// to the accounts with the largest remainders of that division, ties to
// the smaller account. The amounts sum to total exactly, and depend only
// on the multiset of claims, not their order.
//
// Claims to the same account are merged. The result has one payment per
// account with positive weight, in ascending account order (an amount may
// be 0); it is nil when no weight is positive, and then nothing is
// allocated: the caller decides where total goes. Allocate panics on a
// negative weight.
func Allocate(total Tokens, claims []Claim) []Payment {
	w := merge(claims)
	if len(w) == 0 {
		return nil
	}
	sumW := new(big.Int)
	for _, c := range w {
		sumW.Add(sumW, c.Weight)
	}
	t := bigU(uint64(total))
	out := make([]Payment, len(w))
	rem := make([]*big.Int, len(w))
	var given Tokens
	for i, c := range w {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(t, c.Weight), sumW, new(big.Int))
		out[i] = Payment{To: c.To, Amount: Tokens(q.Uint64())} // ≤ total
		rem[i] = r
		given += out[i].Amount
	}
	left := total - given // < len(w): each floor lost less than one unit
	if left == 0 {
		return out
	}
	order := make([]int, len(w))
	for i := range order {
		order[i] = i
	}
	// Accounts are distinct and ascending, so a stable sort by remainder
	// alone breaks ties by account.
	slices.SortStableFunc(order, func(a, b int) int { return rem[b].Cmp(rem[a]) })
	for _, i := range order[:left] {
		out[i].Amount++
	}
	return out
}

// allocateEqual splits total equally among accounts (largest remainder,
// so the first total mod n accounts in ascending order get one more).
func allocateEqual(total Tokens, accounts []Account) []Payment {
	one := big.NewInt(1)
	cs := make([]Claim, len(accounts))
	for i, a := range accounts {
		cs[i] = Claim{To: a, Weight: one}
	}
	return Allocate(total, cs)
}

// merge returns the claims with positive weight, one per account (weights
// summed into fresh values), in ascending account order. It panics on a
// negative weight.
func merge(claims []Claim) []Claim {
	sorted := make([]Claim, 0, len(claims))
	for _, c := range claims {
		if c.Weight == nil || c.Weight.Sign() == 0 {
			continue
		}
		if c.Weight.Sign() < 0 {
			panic("rewards: negative weight for " + string(c.To))
		}
		sorted = append(sorted, c)
	}
	slices.SortStableFunc(sorted, func(a, b Claim) int { return cmp.Compare(a.To, b.To) })
	w := sorted[:0]
	for _, c := range sorted {
		if n := len(w); n > 0 && w[n-1].To == c.To {
			w[n-1].Weight.Add(w[n-1].Weight, c.Weight)
			continue
		}
		w = append(w, Claim{To: c.To, Weight: new(big.Int).Set(c.Weight)})
	}
	return w
}
