package learn

import (
	"math"
	"math/big"
	"slices"
)

// Payouts splits a round's pot among learners in proportion to their
// positive scores: learner i gets ⌊pot · sᵢ⁺ / Σ s⁺⌋ base units, where
// s⁺ = max(s, 0) and a NaN or infinite score counts as 0. An update that made the
// model worse on the validators' data, or did nothing (a free rider's zero
// update), earns nothing; among useful updates, more useful earns more.
// rest is the part of the pot left unpaid by rounding or because no score
// was positive; the caller decides where it goes (the treasury).
//
// This is the attribution rule of this package for reports and tests;
// protocol/rewards owns the real split between compute, data and
// validators, and reads the scores from Scored events.
func Payouts(scores []float64, pot uint64) (pay []uint64, rest uint64) {
	pay = make([]uint64, len(scores))
	// Exact rational arithmetic: every float64 is a rational, so the
	// floors are the true ones and the total never exceeds the pot.
	sum := new(big.Rat)
	for _, s := range scores {
		if s > 0 && !math.IsInf(s, 1) {
			sum.Add(sum, new(big.Rat).SetFloat64(s))
		}
	}
	if sum.Sign() == 0 {
		return pay, pot
	}
	potR := new(big.Rat).SetInt(new(big.Int).SetUint64(pot))
	var paid uint64
	q, share := new(big.Int), new(big.Rat)
	for i, s := range scores {
		if s > 0 && !math.IsInf(s, 1) {
			share.SetFloat64(s)
			share.Mul(share, potR)
			share.Quo(share, sum)
			q.Quo(share.Num(), share.Denom()) // both positive: the floor
			pay[i] = q.Uint64()
			paid += pay[i]
		}
	}
	return pay, pot - paid
}

// MedianScore is the median of a learner's scores from several
// validators (the mean of the middle two for an even count; NaN for
// none). With honest validators in the majority, colluders cannot move
// it outside the honest validators' range.
func MedianScore(scores []float64) float64 {
	s := slices.DeleteFunc(slices.Clone(scores), math.IsNaN)
	if len(s) == 0 {
		return math.NaN()
	}
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
