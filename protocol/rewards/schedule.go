package rewards

import (
	"fmt"
	"math/big"
	"math/bits"
)

// Schedule says how many tokens are minted in each block. Height 0 is the
// genesis state, which mints nothing by schedule; blocks are 1, 2, ….
// Implementations are immutable values: any number of goroutines may call
// them, and the same height always gives the same amount.
type Schedule interface {
	// Emission is what the block at height mints: Total(height) −
	// Total(height−1), and 0 at height 0.
	Emission(height uint64) Tokens
	// Total is Σ Emission(h) for h = 1 … upTo: everything minted by the
	// schedule up to and including block upTo.
	Total(upTo uint64) Tokens
}

// Func adapts a schedule to the ledger's emission hook
// (chain.Config.Emission has this underlying type).
func Func(s Schedule) func(height uint64) uint64 {
	return func(h uint64) uint64 { return uint64(s.Emission(h)) }
}

// Every schedule rounds down: amounts are integers of base units and a
// fraction of one is never minted, so a supply bound that holds for the
// real-valued formula holds for the schedule.

// Fixed mints PerBlock at every height. Its Total saturates at the largest
// Tokens (after 1.8·10¹⁰ blocks of one token), where Σ Emission would
// overflow.
type Fixed struct {
	PerBlock Tokens
}

// Emission implements Schedule.
func (f Fixed) Emission(h uint64) Tokens {
	if h == 0 {
		return 0
	}
	return f.PerBlock
}

// Total implements Schedule.
func (f Fixed) Total(h uint64) Tokens {
	hi, lo := bits.Mul64(uint64(f.PerBlock), h)
	if hi != 0 {
		return ^Tokens(0)
	}
	return Tokens(lo)
}

// Halving mints Initial per block in blocks 1 … Interval, Initial/2 (rounded
// down) in the next Interval blocks, and so on: block h pays
// ⌊Initial / 2^⌊(h−1)/Interval⌋⌋. Everything it ever mints is
// Interval·(2·Initial − popcount(Initial)), just under 2·Initial·Interval
// (Σₑ ⌊x/2ᵉ⌋ = 2x − popcount(x)); NewHalving checks that it fits.
type Halving struct {
	initial  Tokens
	interval uint64
}

// NewHalving returns a halving schedule. Interval must be at least 1 and
// the whole emission must fit in Tokens.
func NewHalving(initial Tokens, interval uint64) (Halving, error) {
	if interval == 0 {
		return Halving{}, fmt.Errorf("%w: halving interval is 0 blocks, want at least 1", ErrSchedule)
	}
	hi, _ := bits.Mul64(interval, halvingSum(uint64(initial)))
	if hi != 0 || 2*uint64(initial) < uint64(initial) {
		return Halving{}, fmt.Errorf("%w: halving %s per block every %d blocks mints more than %s in all", ErrSchedule, initial, interval, ^Tokens(0))
	}
	return Halving{initial: initial, interval: interval}, nil
}

// halvingSum is Σₑ≥₀ ⌊x/2ᵉ⌋ = 2x − popcount(x), modulo 2⁶⁴.
func halvingSum(x uint64) uint64 { return 2*x - uint64(bits.OnesCount64(x)) }

// Emission implements Schedule.
func (s Halving) Emission(h uint64) Tokens {
	if h == 0 {
		return 0
	}
	era := (h - 1) / s.interval
	if era >= 64 {
		return 0
	}
	return s.initial >> era
}

// Total implements Schedule.
func (s Halving) Total(h uint64) Tokens {
	full, rest := h/s.interval, h%s.interval
	x := uint64(s.initial)
	if full >= 64 {
		return Tokens(s.interval * halvingSum(x))
	}
	// Σₑ<full ⌊x/2ᵉ⌋ is the whole series less its tail from era full on.
	eras := halvingSum(x) - halvingSum(x>>full)
	return Tokens(s.interval*eras + rest*(x>>full))
}

// ExponentialDecay mints a geometric series: block h mints about
// Initial·f^(h−1), with f = 1 − Num/Den the per-block decay factor, and
// everything it ever mints is ⌊Initial·Den/Num⌋ (Limit).
//
// It is defined by its running total, S(h) = Initial·(1 − fʰ)/(1 − f):
// Total(h) = ⌊S(h)⌋ and Emission(h) = Total(h) − Total(h−1). Rounding the
// total, rather than each block, means rounding never accumulates, the sum
// of emissions is the total by construction, and the total is monotone
// (every step below is a monotone function of fʰ, which decreases with h).
//
// fʰ is computed in binary floating point with 192-bit mantissas
// (math/big, so the result is the same on every machine): f^(2^i) is
// tabulated once, and fʰ is the product of the entries for h's set bits,
// every product rounded down; the rest of the formula rounds up. The total
// is therefore ⌊S(h)⌋ except where S(h) lies within about 2⁻⁶⁴ below an
// integer, where it is one more; it never exceeds Limit. Its relative error
// in fʰ (below 2⁻¹²⁰) is far smaller than the decay per block (at least
// 10⁻¹⁸), which is why the total cannot go down from one block to the next.
type ExponentialDecay struct {
	initial  Tokens
	num, den uint64
	limit    Tokens
	scaled   *big.Float    // Initial·Den, exact
	pow      [64]big.Float // f^(2^i), rounded down
}

const decayPrec = 192

// MaxDecayDen bounds the denominator of a decay rate: a rate is at least
// 10⁻¹⁸ per block.
const MaxDecayDen = 1_000_000_000_000_000_000

// NewExponentialDecay returns a schedule starting at initial in block 1
// and decaying by rateNum/rateDen per block. The rate must be in (0, 1),
// rateDen at most MaxDecayDen, and the whole emission ⌊initial·rateDen /
// rateNum⌋ must fit in Tokens.
func NewExponentialDecay(initial Tokens, rateNum, rateDen uint64) (*ExponentialDecay, error) {
	if rateNum == 0 || rateNum >= rateDen || rateDen > MaxDecayDen {
		return nil, fmt.Errorf("%w: decay rate %d/%d, want 0 < rate < 1 with a denominator of at most 10^18", ErrSchedule, rateNum, rateDen)
	}
	hi, lo := bits.Mul64(uint64(initial), rateDen)
	if hi >= rateNum {
		return nil, fmt.Errorf("%w: decay from %s at %d/%d per block mints more than %s in all", ErrSchedule, initial, rateNum, rateDen, ^Tokens(0))
	}
	limit, _ := bits.Div64(hi, lo, rateNum)
	d := &ExponentialDecay{initial: initial, num: rateNum, den: rateDen, limit: Tokens(limit)}
	d.scaled = new(big.Float).SetPrec(decayPrec).SetInt(new(big.Int).Mul(bigU(uint64(initial)), bigU(rateDen)))
	f := new(big.Float).SetPrec(decayPrec).SetMode(big.ToZero)
	f.Quo(new(big.Float).SetUint64(rateDen-rateNum), new(big.Float).SetUint64(rateDen))
	d.pow[0].SetPrec(decayPrec).SetMode(big.ToZero).Set(f)
	for i := 1; i < 64; i++ {
		d.pow[i].SetPrec(decayPrec).SetMode(big.ToZero).Mul(&d.pow[i-1], &d.pow[i-1])
	}
	return d, nil
}

// Limit is everything the schedule ever mints: ⌊Initial·Den/Num⌋.
func (d *ExponentialDecay) Limit() Tokens { return d.limit }

// Total implements Schedule.
func (d *ExponentialDecay) Total(h uint64) Tokens {
	if h == 0 {
		return 0
	}
	q := new(big.Float).SetPrec(decayPrec).SetMode(big.ToZero).SetInt64(1)
	for i := 0; h>>i != 0; i++ {
		if h>>i&1 == 1 {
			q.Mul(q, &d.pow[i])
		}
	}
	s := new(big.Float).SetPrec(decayPrec).SetMode(big.AwayFromZero).SetInt64(1)
	s.Sub(s, q)
	s.Mul(s, d.scaled)
	s.Quo(s, new(big.Float).SetUint64(d.num))
	t, _ := s.Uint64() // truncates; saturates above 2⁶⁴−1, which Limit is below
	return min(Tokens(t), d.limit)
}

// Emission implements Schedule.
func (d *ExponentialDecay) Emission(h uint64) Tokens {
	if h == 0 {
		return 0
	}
	now, before := d.Total(h), d.Total(h-1)
	if now < before {
		panic(fmt.Sprintf("rewards: decay total went down from %d at height %d to %d at %d", before, h-1, now, h))
	}
	return now - before
}

// HalfLifeRate returns the per-block decay rate, as num/den with den =
// 10¹⁸, under which an ExponentialDecay halves every halfLife blocks: 1 −
// 2^(−1/halfLife), rounded to the nearest 10⁻¹⁸. It is computed with
// math/big (Newton's method on x^halfLife = 1/2 from x = 1), so it is the
// same on every machine.
func HalfLifeRate(halfLife uint64) (num, den uint64, err error) {
	if halfLife == 0 {
		return 0, 0, fmt.Errorf("%w: half-life of 0 blocks", ErrSchedule)
	}
	const prec = decayPrec
	nf := new(big.Float).SetPrec(prec).SetUint64(halfLife)
	half := new(big.Float).SetPrec(prec).SetFloat64(0.5)
	x := new(big.Float).SetPrec(prec).SetInt64(1)
	pow := func(b *big.Float, e uint64) *big.Float {
		r := new(big.Float).SetPrec(prec).SetInt64(1)
		sq := new(big.Float).SetPrec(prec).Set(b)
		for ; e > 0; e >>= 1 {
			if e&1 == 1 {
				r.Mul(r, sq)
			}
			sq.Mul(sq, sq)
		}
		return r
	}
	// g(x) = x^H − 1/2 is increasing and convex on (0, 1]: Newton's method
	// from x = 1 approaches the root from above, one step at a time.
	for range 400 {
		g := new(big.Float).SetPrec(prec).Sub(pow(x, halfLife), half)
		dg := new(big.Float).SetPrec(prec).Mul(nf, pow(x, halfLife-1))
		next := new(big.Float).SetPrec(prec).Sub(x, g.Quo(g, dg))
		if next.Cmp(x) >= 0 {
			break
		}
		x = next
	}
	den = MaxDecayDen
	r := new(big.Float).SetPrec(prec).Sub(new(big.Float).SetInt64(1), x)
	r.Mul(r, new(big.Float).SetUint64(den))
	r.Add(r, new(big.Float).SetFloat64(0.5))
	n, _ := r.Uint64()
	if n == 0 {
		return 0, 0, fmt.Errorf("%w: half-life of %d blocks is a decay below 10^-18 per block", ErrSchedule, halfLife)
	}
	return n, den, nil
}

// Capped mints what Inner mints until the total reaches Cap, then
// nothing: the block that would cross the cap mints exactly what is left,
// so the capped total equals Cap once Inner's total reaches it.
type Capped struct {
	Inner Schedule
	Cap   Tokens
}

// Total implements Schedule.
func (c Capped) Total(h uint64) Tokens { return min(c.Inner.Total(h), c.Cap) }

// Emission implements Schedule.
func (c Capped) Emission(h uint64) Tokens {
	if h == 0 {
		return 0
	}
	return c.Total(h) - c.Total(h-1)
}

// Schedule kinds for EmissionSpec.
const (
	KindFixed       = "fixed"
	KindHalving     = "halving"
	KindExponential = "exponential"
)

// EmissionSpec describes a schedule as parameters (what a scenario file or
// a governance proposal can state).
type EmissionSpec struct {
	// Kind is KindFixed, KindHalving or KindExponential.
	Kind string
	// Initial is the emission of block 1 (of every block, for fixed).
	Initial Tokens
	// HalvingBlocks is the halving interval (halving only).
	HalvingBlocks uint64
	// DecayNum/DecayDen is the decay rate per block (exponential only);
	// HalfLifeRate converts a half-life.
	DecayNum, DecayDen uint64
	// Cap, if not 0, wraps the schedule in Capped.
	Cap Tokens
}

// Schedule builds the schedule the spec describes.
func (e EmissionSpec) Schedule() (Schedule, error) {
	var s Schedule
	switch e.Kind {
	case KindFixed:
		s = Fixed{PerBlock: e.Initial}
	case KindHalving:
		h, err := NewHalving(e.Initial, e.HalvingBlocks)
		if err != nil {
			return nil, err
		}
		s = h
	case KindExponential:
		d, err := NewExponentialDecay(e.Initial, e.DecayNum, e.DecayDen)
		if err != nil {
			return nil, err
		}
		s = d
	default:
		return nil, fmt.Errorf("%w: kind %q, want %s, %s or %s", ErrSchedule, e.Kind, KindFixed, KindHalving, KindExponential)
	}
	if e.Cap > 0 {
		s = Capped{Inner: s, Cap: e.Cap}
	}
	return s, nil
}
