package secagg

import (
	"errors"
	"fmt"
	"math"
)

// Inputs are vectors over the ring Z_2⁶⁴ (uint64 arithmetic, wrapping):
// real values in fixed point with FracBits fractional bits, negatives in
// two's complement. Sums wrap exactly, so a sum of encodings decodes to
// the sum of the encoded values as long as it stays within ±2⁶³ / 2^FracBits.

// ErrRange means a value cannot be encoded: NaN, infinite, or so large
// that a sum of MaxSummands of them could wrap.
var ErrRange = errors.New("secagg: value out of the fixed-point range")

// MaxSummands is the most inputs Encode leaves headroom for: a value is
// refused unless 2²⁰ of its size sum within the ring.
const MaxSummands = 1 << 20

// Encode returns v in fixed point with fracBits fractional bits, each
// value rounded to the nearest multiple of 2^−fracBits.
func Encode(v []float64, fracBits int) ([]uint64, error) {
	out := make([]uint64, len(v))
	limit := math.Ldexp(1, 63-20-fracBits) // |x|·2^f·2²⁰ < 2⁶³
	for i, x := range v {
		if !(math.Abs(x) < limit) {
			return nil, fmt.Errorf("%w: %v at %d, limit ±%g with %d fractional bits", ErrRange, x, i, limit, fracBits)
		}
		out[i] = uint64(int64(math.Round(math.Ldexp(x, fracBits))))
	}
	return out, nil
}

// Decode reads a ring vector (a sum of encodings) back as reals.
func Decode(v []uint64, fracBits int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Ldexp(float64(int64(x)), -fracBits)
	}
	return out
}
