package secagg

import (
	"errors"
	"math/bits"
)

// Shamir secret sharing over GF(p), p = 2⁶¹ − 1 (a Mersenne prime, so a
// product reduces with shifts and adds). A 32-byte seed would need five
// elements; the secrets here are two elements (≈122 bits of entropy,
// above X25519's 128-bit security level in practice for a single-round
// key), which keeps a client's sharing work at 2·n·t multiplications for
// each of its two secrets — the term that dominates Bonawitz et al.'s
// client cost at n = 1,000.

const prime uint64 = 1<<61 - 1

// Secret is a shared secret: two field elements, each in [0, p).
type Secret [2]uint64

// Share is one party's share of a Secret: the sharing polynomials of its
// two elements evaluated at the party's point.
type Share [2]uint64

func reduce(x uint64) uint64 {
	x = (x & prime) + (x >> 61)
	if x >= prime {
		x -= prime
	}
	return x
}

func add(a, b uint64) uint64 { return reduce(a + b) } // a, b < 2⁶¹: no overflow

func sub(a, b uint64) uint64 { return add(a, prime-b) }

func mul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	// a·b = hi·2⁶⁴ + lo = (hi·2³ + lo>>61)·2⁶¹ + (lo & p) ≡ hi<<3 | lo>>61 + lo&p.
	return reduce((hi<<3 | lo>>61) + (lo & prime))
}

func inv(a uint64) uint64 { // a^(p−2), a ≠ 0
	r, e := uint64(1), prime-2
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = mul(r, a)
		}
		a = mul(a, a)
	}
	return r
}

// element draws a uniform field element from 8 bytes by rejection.
func element(draw func() uint64) uint64 {
	for {
		if x := draw() >> 3; x < prime {
			return x
		}
	}
}

// point is the evaluation point of a party: its ID + 1, so that no party
// holds the point 0, where the secret is.
func point(id ID) uint64 { return uint64(id) + 1 }

// shareSecrets deals t-out-of-n shares of each secret to the parties at
// xs: out[i][k] is party i's share of secrets[k]. Each element of each
// secret gets its own random polynomial of degree t−1 whose constant term
// is the element, drawn from draw. Each point's powers are computed once
// for all the polynomials, and each evaluation sums its 122-bit products
// in 128 bits, reducing once per 64 terms: a quarter of Horner's cost.
func shareSecrets(secrets []Secret, t int, xs []uint64, draw func() uint64) [][]Share {
	m := 2 * len(secrets)
	coef := make([][]uint64, m) // coef[e][j]: coefficient j of polynomial e
	for e := range coef {
		coef[e] = make([]uint64, t)
		coef[e][0] = secrets[e/2][e%2]
	}
	for j := 1; j < t; j++ {
		for e := range coef {
			coef[e][j] = element(draw)
		}
	}
	out := make([][]Share, len(xs))
	flat := make([]Share, len(xs)*len(secrets))
	pw := make([]uint64, t)
	for i, x := range xs {
		pw[0] = 1
		for j := 1; j < t; j++ {
			pw[j] = mul(pw[j-1], x)
		}
		out[i] = flat[i*len(secrets) : (i+1)*len(secrets)]
		for e, c := range coef {
			out[i][e/2][e%2] = dot(c, pw)
		}
	}
	return out
}

// dot is Σ a_j·b_j mod p for a_j, b_j < p.
func dot(a, b []uint64) uint64 {
	var r uint64
	for len(a) > 0 {
		k := min(len(a), 64) // 64 products of < 2¹²² fit in 128 bits
		var hi, lo uint64
		for j, x := range a[:k] {
			h, l := bits.Mul64(x, b[j])
			var carry uint64
			lo, carry = bits.Add64(lo, l, 0)
			hi += h + carry
		}
		// hi·2⁶⁴ + lo ≡ (hi mod p)·2³ + lo (mod p), as 2⁶⁴ = 2³·2⁶¹ ≡ 2³.
		r = add(r, add(reduce(reduce(hi)<<3), reduce(lo)))
		a, b = a[k:], b[k:]
	}
	return r
}

var errPoints = errors.New("secagg: repeated or zero evaluation point")

// lagrangeAtZero returns the coefficients λ_i with f(0) = Σ λ_i f(x_i) for
// every polynomial of degree < len(xs): λ_i = Π_{j≠i} x_j / (x_j − x_i).
// It costs O(len(xs)²) multiplications and one inversion per point; one
// set of coefficients serves every secret the same parties hold shares of.
func lagrangeAtZero(xs []uint64) ([]uint64, error) {
	lam := make([]uint64, len(xs))
	for i, xi := range xs {
		num, den := uint64(1), uint64(1)
		for j, xj := range xs {
			if j == i {
				continue
			}
			if xj == xi || xj == 0 {
				return nil, errPoints
			}
			num = mul(num, xj)
			den = mul(den, sub(xj, xi))
		}
		lam[i] = mul(num, inv(den))
	}
	return lam, nil
}

// combine is Σ λ_i shares_i: the secret, when the shares are t or more
// shares of it from the points λ was computed for.
func combine(lam []uint64, shares []Share) Secret {
	var s Secret
	for i, sh := range shares {
		s[0] = add(s[0], mul(lam[i], sh[0]))
		s[1] = add(s[1], mul(lam[i], sh[1]))
	}
	return s
}
