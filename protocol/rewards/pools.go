package rewards

import (
	"fmt"
	"math"
	"math/big"
)

// Contribution pools. An epoch's pot (emission, fees, what requests paid)
// is split by Shares into the compute, data and validation pools (and the
// treasury), and each pool among its contributors by a measured weight:
// compute providers by the consensus their work got from validators,
// data providers by the value of their data, validators by the
// dividends their accuracy earned (see protocol/yuma and
// protocol/datavalue). Weights are real numbers here, because they are
// consensus shares and Shapley values, not counts.

// Weighted is one account's real-valued weight in a pool.
type Weighted struct {
	To     Account
	Weight float64 // ≥ 0 and finite; 0 earns nothing
}

// PoolClaims are the contributors to an epoch's pools.
type PoolClaims struct {
	Compute, Data, Validators []Weighted
}

// Split divides total among the classes by the shares (largest
// remainder: the parts sum to total exactly).
func (s Shares) Split(total Tokens) [NumClasses]Tokens {
	cls := make([]Claim, NumClasses)
	for c, b := range s {
		cls[c] = Claim{To: Account([]byte{byte(c)}), Weight: big.NewInt(int64(b))}
	}
	var out [NumClasses]Tokens
	for _, p := range Allocate(total, cls) {
		out[p.To[0]] = p.Amount
	}
	return out
}

// SplitPools pays one epoch's pot: total split into the pools by shares,
// each pool among its claims pro rata to their weights (Allocate, exact).
// A pool with no positive weight goes to the treasury (Unallocated), as
// in Distribute; every base unit of total is in exactly one place.
func SplitPools(total Tokens, shares Shares, c PoolClaims) (Payout, error) {
	out := Payout{Emission: total, Total: total}
	out.Class = shares.Split(total)
	out.Treasury = out.Class[ClassTreasury]
	pay := func(class Class, ws []Weighted) ([]Payment, error) {
		claims, err := FloatClaims(ws)
		if err != nil {
			return nil, fmt.Errorf("%s pool: %w", class, err)
		}
		p := Allocate(out.Class[class], claims)
		if p == nil {
			out.Unallocated += out.Class[class]
		}
		return p, nil
	}
	var err error
	if out.Compute, err = pay(ClassCompute, c.Compute); err != nil {
		return Payout{}, err
	}
	if out.Data, err = pay(ClassData, c.Data); err != nil {
		return Payout{}, err
	}
	if out.Validators, err = pay(ClassValidators, c.Validators); err != nil {
		return Payout{}, err
	}
	out.Treasury += out.Unallocated
	return out, nil
}

// FloatClaims turns real weights into exact integer claims: every finite
// float64 is m·2^e with an integer m of at most 53 bits, so scaling all of
// them to the smallest exponent among them gives integers in the same
// exact ratios. A negative, NaN or infinite weight is an error.
func FloatClaims(ws []Weighted) ([]Claim, error) {
	minE := math.MaxInt
	type me struct {
		m int64
		e int
	}
	parts := make([]me, len(ws))
	for i, w := range ws {
		if !(w.Weight >= 0) || math.IsInf(w.Weight, 1) {
			return nil, fmt.Errorf("%w: weight %v for %q", ErrInput, w.Weight, w.To)
		}
		if w.Weight == 0 {
			continue
		}
		frac, exp := math.Frexp(w.Weight) // w = frac·2^exp, frac in [0.5, 1)
		parts[i] = me{m: int64(math.Ldexp(frac, 53)), e: exp - 53}
		minE = min(minE, parts[i].e)
	}
	out := make([]Claim, len(ws))
	for i, w := range ws {
		out[i] = Claim{To: w.To, Weight: new(big.Int)}
		if parts[i].m != 0 {
			out[i].Weight.Lsh(big.NewInt(parts[i].m), uint(parts[i].e-minE))
		}
	}
	return out, nil
}
