package datavalue

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// Coalition is a set of players (data providers), player i in bit i: up
// to 64 players.
type Coalition uint64

// Has reports whether player i is in c.
func (c Coalition) Has(i int) bool { return c>>uint(i)&1 == 1 }

// With is c with player i.
func (c Coalition) With(i int) Coalition { return c | 1<<uint(i) }

// Size is the number of players in c.
func (c Coalition) Size() int { return bits.OnesCount64(uint64(c)) }

// All is the coalition of players 0…n−1.
func All(n int) Coalition {
	if n >= 64 {
		return ^Coalition(0)
	}
	return 1<<uint(n) - 1
}

// Utility is what a coalition's data is worth: for a data market, the
// validation gain of a model trained on the union of its members' rows.
// It must be a function of the coalition alone (the same coalition, the
// same value, whatever was evaluated before), which is what lets Cache
// keep it and makes every estimator here reproducible.
type Utility func(Coalition) float64

// Cache memoizes a Utility by coalition. Evaluations counts the calls that
// reached the utility. Used from one goroutine.
type Cache struct {
	u           Utility
	vals        map[Coalition]float64
	Evaluations int
	// Prefetch, if set, is told of coalitions an estimator is about to
	// evaluate, before it asks for them one by one, so that a driver can
	// compute them at once (on a worker pool; the utility stays a
	// function of the coalition, so nothing depends on the order they
	// finish in). Batch is how many coalitions ahead an estimator looks
	// along a random order (0: none); past a truncation point they are
	// computed for nothing.
	Prefetch func([]Coalition)
	Batch    int
}

// prefetch passes the coalitions not yet known to Prefetch.
func (c *Cache) prefetch(cs []Coalition) {
	if c.Prefetch == nil {
		return
	}
	var missing []Coalition
	for _, s := range cs {
		if _, ok := c.vals[s]; !ok && !slices.Contains(missing, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		c.Prefetch(missing)
	}
}

// NewCache returns an empty cache over u.
func NewCache(u Utility) *Cache { return &Cache{u: u, vals: map[Coalition]float64{}} }

// Value is u(c), computed once.
func (c *Cache) Value(s Coalition) float64 {
	if v, ok := c.vals[s]; ok {
		return v
	}
	v := c.u(s)
	c.vals[s] = v
	c.Evaluations++
	return v
}

// Known reports u(c) if it has been computed.
func (c *Cache) Known(s Coalition) (float64, bool) {
	v, ok := c.vals[s]
	return v, ok
}

// MaxExact is the most players Exact takes: 2^20 coalitions.
const MaxExact = 20

// Exact is the Shapley value of each of n players:
//
//	φ_i = Σ_{S ⊆ N∖{i}} |S|!·(n−|S|−1)!/n! · (u(S ∪ {i}) − u(S))
//
// from every one of the 2^n coalitions (Shapley 1953): the reference the
// Monte Carlo estimate is measured against.
func Exact(n int, u *Cache) ([]float64, error) {
	if n < 1 || n > MaxExact {
		return nil, fmt.Errorf("%w: exact Shapley of %d players, want 1…%d", ErrParams, n, MaxExact)
	}
	// w[k] = k!(n−k−1)!/n!, by the recurrence w[k+1] = w[k]·(k+1)/(n−k−1).
	w := make([]float64, n)
	w[0] = 1 / float64(n)
	for k := 0; k+1 < n; k++ {
		w[k+1] = w[k] * float64(k+1) / float64(n-k-1)
	}
	if u.Prefetch != nil {
		all := make([]Coalition, 0, 1<<uint(n))
		for s := Coalition(0); s <= All(n); s++ {
			all = append(all, s)
		}
		u.prefetch(all)
	}
	phi := make([]float64, n)
	for s := Coalition(0); s <= All(n); s++ {
		us := u.Value(s)
		k := s.Size()
		for i := range n {
			if !s.Has(i) {
				phi[i] += w[k] * (u.Value(s.With(i)) - us)
			}
		}
	}
	return phi, nil
}

// LeaveOneOut is each player's u(N) − u(N ∖ {i}): what the market loses
// without it.
func LeaveOneOut(n int, u *Cache) []float64 {
	all := All(n)
	cs := []Coalition{all}
	for i := range n {
		cs = append(cs, all&^(1<<uint(i)))
	}
	u.prefetch(cs)
	full := u.Value(all)
	out := make([]float64, n)
	for i := range n {
		out[i] = full - u.Value(cs[i+1])
	}
	return out
}

// MonteCarlo is truncated Monte Carlo Shapley (TMC-Shapley, Ghorbani & Zou,
// "Data Shapley", ICML 2019): average each player's marginal contribution
// over random orders of the players, and stop walking an order once the
// coalition built so far is within Tolerance of the full coalition's
// utility (the rest of the order adds nothing worth training for, and
// counts 0).
type MonteCarlo struct {
	// Permutations is the sample budget: orders drawn.
	Permutations int
	// Tolerance is the truncation, relative to |u(N) − u(∅)|; 0 never
	// truncates.
	Tolerance float64
	// Antithetic follows every order drawn with its reverse (Permutations
	// then counts both): a player early in one is late in the other, so
	// the large marginals of the first positions, which dominate the
	// variance, are balanced by small ones (antithetic variates).
	Antithetic bool
	// Head computes each player's mean marginal contribution at the first
	// Head positions exactly (0, 1 or 2: over every coalition of fewer
	// than Head others — n, then n(n−1)/2 more evaluations) and Last the
	// one at the last position (u(N) − u(N ∖ {i}), its leave-one-out
	// value); orders are sampled for the positions between only:
	//
	//	φ_i = (Σ_{exact k} μ_{i,k} + m · the mean of i's sampled marginals) / n
	//
	// with m the number of sampled positions (stratification by position:
	// unbiased, since i's position in a random order is uniform over the
	// sampled ones given it is in one). The first positions carry most of
	// the variance of data games, where one data set alone brings most of
	// the gain, and a poor one makes a small coalition poor. A player
	// never drawn in a sampled position (a budget far below n orders)
	// gets 0 for them.
	Head int
	Last bool
}

// Estimate is a Monte Carlo Shapley estimate.
type Estimate struct {
	Values []float64
	// StdErr is each value's standard error over the orders drawn (NaN
	// with one order). With antithetic pairs it treats the orders as
	// independent, which overstates it when the pair's marginals are
	// negatively correlated, as they are meant to be.
	StdErr []float64
	// Truncated counts the marginal contributions set to 0 by truncation.
	Truncated int
}

// Estimate draws mc.Permutations orders of n players from r.
func (mc MonteCarlo) Estimate(n int, u *Cache, r *rand.Rand) (Estimate, error) {
	if n < 1 || n > 64 || mc.Permutations < 1 || !(mc.Tolerance >= 0) {
		return Estimate{}, fmt.Errorf("%w: Monte Carlo Shapley of %d players, %d orders, tolerance %v", ErrParams, n, mc.Permutations, mc.Tolerance)
	}
	if mc.Head < 0 || mc.Head > 2 {
		return Estimate{}, fmt.Errorf("%w: %d exact head positions, want 0, 1 or 2", ErrParams, mc.Head)
	}
	head, last := min(mc.Head, n), mc.Last && n > mc.Head
	exactSet := []Coalition{0, All(n)}
	for i := range n {
		if head >= 1 {
			exactSet = append(exactSet, Coalition(0).With(i))
		}
		if last {
			exactSet = append(exactSet, All(n)&^(1<<uint(i)))
		}
		for j := i + 1; head >= 2 && j < n; j++ {
			exactSet = append(exactSet, Coalition(0).With(i).With(j))
		}
	}
	u.prefetch(exactSet)
	empty, full := u.Value(0), u.Value(All(n))
	tol := mc.Tolerance * math.Abs(full-empty)
	lo, hi := head, n // sampled positions [lo, hi)
	if last {
		hi--
	}
	sum, sq, cnt := make([]float64, n), make([]float64, n), make([]float64, n)
	est := Estimate{Values: make([]float64, n), StdErr: make([]float64, n)}
	order := make([]int, n)
	for t := range mc.Permutations {
		if mc.Antithetic && t%2 == 1 {
			slices.Reverse(order)
		} else {
			for i := range order {
				order[i] = i
			}
			r.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		var s Coalition
		prev := empty
		for k, p := range order {
			s = s.With(p)
			if k >= hi {
				break // exact, below
			}
			var m float64
			if mc.Tolerance > 0 && math.Abs(full-prev) < tol {
				est.Truncated++
			} else {
				if _, ok := u.Known(s); !ok && u.Batch > 1 {
					ahead, a := []Coalition{s}, s
					for _, q := range order[k+1 : min(k+u.Batch, hi)] {
						a = a.With(q)
						ahead = append(ahead, a)
					}
					u.prefetch(ahead)
				}
				v := u.Value(s)
				m, prev = v-prev, v
			}
			if k < lo {
				continue
			}
			sum[p] += m
			sq[p] += m * m
			cnt[p]++
		}
	}
	all := All(n)
	for i := range n {
		mean, se := 0.0, math.NaN()
		if c := cnt[i]; c > 0 {
			mean = sum[i] / c
			if c > 1 {
				v := (sq[i] - sum[i]*sum[i]/c) / (c - 1)
				se = math.Sqrt(max(v, 0) / c)
			}
		}
		sampled := float64(hi - lo)
		exact := 0.0
		if head >= 1 {
			exact += u.Value(Coalition(0).With(i)) - empty
		}
		if head >= 2 {
			var pair float64
			for j := range n {
				if j != i {
					pair += u.Value(Coalition(0).With(i).With(j)) - u.Value(Coalition(0).With(j))
				}
			}
			exact += pair / float64(n-1)
		}
		if last {
			exact += full - u.Value(all&^(1<<uint(i)))
		}
		est.Values[i] = (exact + sampled*mean) / float64(n)
		est.StdErr[i] = sampled / float64(n) * se
	}
	return est, nil
}
