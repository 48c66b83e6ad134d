package datavalue

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/dais-sim/dais/gpu/datasets/optdigits"
)

func TestDedupOptdigits(t *testing.T) {
	train, _, err := optdigits.Load()
	if err != nil {
		t.Fatal(err)
	}
	ix, err := NewIndex(DefaultDedup(3))
	if err != nil {
		t.Fatal(err)
	}
	// 1,000 distinct rows: none may be taken for a copy of another.
	orig := train.X[:1000]
	for _, m := range ix.Add(orig) {
		if m.Of >= 0 {
			t.Fatalf("row %d reported a copy of row %d (Jaccard %.3f)", m.Row, m.Of, m.Similarity)
		}
	}
	// Their copies, exact and with 5% of the pixels moved by one count,
	// in another order: each must resolve to its original.
	r := rand.New(rand.NewPCG(5, 5))
	perm := r.Perm(len(orig))
	var copies [][]float64
	for _, i := range perm {
		x := slices.Clone(orig[i])
		if i%2 == 1 {
			for k := range x {
				if r.Float64() < 0.05 {
					x[k] = min(1, max(0, x[k]+float64(r.IntN(3)-1)/16))
				}
			}
		}
		copies = append(copies, x)
	}
	missed := 0
	for k, m := range ix.Add(copies) {
		if m.Of != perm[k] {
			missed++
		}
	}
	if missed > 0 {
		t.Errorf("%d of %d copies not traced to their original", missed, len(copies))
	}
	// A copy of a copy resolves to the original: copies are not indexed.
	if m := ix.Add([][]float64{orig[7]}); m[0].Of != 7 {
		t.Errorf("third copy of row 7 traced to %d", m[0].Of)
	}
	if ix.Len() != 2001 {
		t.Errorf("Len = %d", ix.Len())
	}
	t.Logf("exact checks: %d for 2,001 rows", ix.Candidates)
	if ix.Candidates > 20*2001 {
		t.Errorf("LSH proposed %d pairs: no better than comparing everything", ix.Candidates)
	}
}

// TestDedupMatchesExact holds LSH to the exact rule on rows that are either
// copies (Jaccard ≥ 0.75) or unrelated (≤ 0.45): far enough from the
// threshold that banding misses a pair with probability below 10⁻³.
func TestDedupMatchesExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		r := rand.New(rand.NewPCG(seed, 1))
		n := rapid.IntRange(1, 40).Draw(t, "rows")
		var rows [][]float64
		for range n {
			if len(rows) > 0 && r.IntN(3) == 0 {
				x := slices.Clone(rows[r.IntN(len(rows))])
				x[r.IntN(len(x))] = 0 // drop at most one of 32 tokens
				rows = append(rows, x)
				continue
			}
			x := make([]float64, 256)
			for range 32 {
				x[r.IntN(len(x))] = 1
			}
			rows = append(rows, x)
		}
		ix, _ := NewIndex(DefaultDedup(seed))
		got := ix.Add(rows)
		// Oracle: the earliest indexed row at or above the threshold.
		var indexed []int
		toks := make([][]uint64, n)
		for k, x := range rows {
			toks[k] = ix.tokenize(x)
			want := -1
			for _, j := range indexed {
				if jaccard(toks[k], toks[j]) >= 0.6 {
					want = j
					break
				}
			}
			if want < 0 {
				indexed = append(indexed, k)
			}
			if got[k].Of != want {
				t.Fatalf("row %d: LSH says copy of %d, exact says %d", k, got[k].Of, want)
			}
		}
	})
}

func TestDedupParams(t *testing.T) {
	for _, p := range []DedupParams{{Hashes: 10, Bands: 3, Levels: 16, Threshold: .5}, {Hashes: 8, Bands: 2, Levels: 0, Threshold: .5},
		{Hashes: 8, Bands: 2, Levels: 16, Threshold: 0}} {
		if _, err := NewIndex(p); !errors.Is(err, ErrParams) {
			t.Errorf("%+v: err %v", p, err)
		}
	}
}

// game is a random cooperative game on n players: a value per coalition.
func game(r *rand.Rand, n int) Utility {
	v := make([]float64, 1<<n)
	for i := 1; i < len(v); i++ {
		v[i] = r.Float64()
	}
	return func(c Coalition) float64 { return v[c] }
}

func TestExactKnownGames(t *testing.T) {
	// Additive: each player's value is its own weight.
	a := []float64{0.5, -0.25, 2, 0}
	additive := func(c Coalition) float64 {
		var s float64
		for i, x := range a {
			if c.Has(i) {
				s += x
			}
		}
		return s
	}
	phi, err := Exact(len(a), NewCache(additive))
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if math.Abs(phi[i]-a[i]) > 1e-12 {
			t.Errorf("additive: φ%d = %v, want %v", i, phi[i], a[i])
		}
	}
	// Glove game: players 0 and 1 hold left gloves, 2 a right glove; a
	// pair is worth 1. Shapley: 1/6, 1/6, 2/3.
	glove := func(c Coalition) float64 {
		l := 0
		for _, i := range []int{0, 1} {
			if c.Has(i) {
				l++
			}
		}
		if c.Has(2) && l > 0 {
			return 1
		}
		return 0
	}
	phi, _ = Exact(3, NewCache(glove))
	for i, want := range []float64{1. / 6, 1. / 6, 2. / 3} {
		if math.Abs(phi[i]-want) > 1e-12 {
			t.Errorf("glove: φ%d = %v, want %v", i, phi[i], want)
		}
	}
	// A copy is a null player: its rows add nothing to any coalition.
	base := game(rand.New(rand.NewPCG(1, 1)), 3)
	withCopy := func(c Coalition) float64 { return base(c &^ 8) }
	phi, _ = Exact(4, NewCache(withCopy))
	if phi[3] != 0 {
		t.Errorf("null player earns %v", phi[3])
	}
	if _, err := Exact(MaxExact+1, NewCache(additive)); !errors.Is(err, ErrParams) {
		t.Errorf("Exact(%d): %v", MaxExact+1, err)
	}
}

// TestShapleyEfficiency: exact values, and each Monte Carlo order without
// truncation, share out u(N) − u(∅) exactly.
func TestShapleyEfficiency(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 7).Draw(t, "n")
		u := NewCache(game(rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 2)), n))
		want := u.Value(All(n)) - u.Value(0)
		phi, _ := Exact(n, u)
		est, err := MonteCarlo{Permutations: rapid.IntRange(1, 5).Draw(t, "T")}.Estimate(n, u, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range [][]float64{phi, est.Values} {
			var s float64
			for _, x := range v {
				s += x
			}
			if math.Abs(s-want) > 1e-9 {
				t.Fatalf("values sum to %v, want %v", s, want)
			}
		}
	})
}

// TestMonteCarloConverges: on a random game of 8 players the estimate
// from 4,000 orders is within 4 standard errors of the exact values, and
// its standard errors shrink as 1/√T.
func TestMonteCarloConverges(t *testing.T) {
	u := NewCache(game(rand.New(rand.NewPCG(8, 8)), 8))
	phi, _ := Exact(8, u)
	small, _ := MonteCarlo{Permutations: 250}.Estimate(8, u, rand.New(rand.NewPCG(3, 3)))
	big, _ := MonteCarlo{Permutations: 4000}.Estimate(8, u, rand.New(rand.NewPCG(4, 4)))
	strat, _ := MonteCarlo{Permutations: 4000, Antithetic: true, Head: 2, Last: true}.Estimate(8, u, rand.New(rand.NewPCG(5, 5)))
	for i := range phi {
		if d := math.Abs(strat.Values[i] - phi[i]); d > 4*strat.StdErr[i] {
			t.Errorf("player %d: stratified estimate %v, exact %v (%.1f standard errors)", i, strat.Values[i], phi[i], d/strat.StdErr[i])
		}
		if d := math.Abs(big.Values[i] - phi[i]); d > 4*big.StdErr[i] {
			t.Errorf("player %d: estimate %v, exact %v (%.1f standard errors)", i, big.Values[i], phi[i], d/big.StdErr[i])
		}
		if r := small.StdErr[i] / big.StdErr[i]; r < 3 || r > 5.5 {
			t.Errorf("player %d: standard error ratio %.2f for 16× the orders, want about 4", i, r)
		}
	}
}

// TestTruncation: on a game that saturates (the first two players bring
// everything), truncation skips evaluations, and stays close.
func TestTruncation(t *testing.T) {
	n := 10
	sat := func(c Coalition) float64 { return 1 - math.Pow(0.01, float64(c.Size())) }
	full := NewCache(sat)
	plain, _ := MonteCarlo{Permutations: 200}.Estimate(n, full, rand.New(rand.NewPCG(1, 1)))
	trunc := NewCache(sat)
	tr, _ := MonteCarlo{Permutations: 200, Tolerance: 0.001}.Estimate(n, trunc, rand.New(rand.NewPCG(1, 1)))
	if tr.Truncated == 0 {
		t.Fatal("nothing truncated")
	}
	t.Logf("truncated %d of %d marginals", tr.Truncated, 200*n)
	for i := range n {
		if math.Abs(tr.Values[i]-plain.Values[i]) > 0.002 {
			t.Errorf("player %d: truncated %v, full %v", i, tr.Values[i], plain.Values[i])
		}
	}
}

func TestLeaveOneOut(t *testing.T) {
	u := NewCache(func(c Coalition) float64 { return float64(c.Size() * c.Size()) })
	for i, v := range LeaveOneOut(3, u) {
		if v != 5 { // 9 − 4
			t.Errorf("player %d: %v", i, v)
		}
	}
	if u.Evaluations != 4 {
		t.Errorf("%d evaluations, want 4", u.Evaluations)
	}
}

func TestSpearman(t *testing.T) {
	for _, c := range []struct {
		x, y []float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, []float64{10, 20, 30, 1000}, 1},
		{[]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
		// ranks of x: 1, 2.5, 2.5, 4; of y: 1, 2, 3, 4 → r = 0.9487
		{[]float64{1, 2, 2, 3}, []float64{1, 2, 3, 4}, 0.9486832980505138},
	} {
		if got := Spearman(c.x, c.y); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Spearman(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	if !math.IsNaN(Spearman([]float64{1}, []float64{2})) {
		t.Error("one pair gave a correlation")
	}
}

func TestBounty(t *testing.T) {
	got := Bounty([]float64{0, 0.1, 0.2, math.NaN()}, 1)
	want := []float64{1, 1.5, 2, 1}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("Bounty[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if b := RowBounty([]int{1, 2, 2, 0}, got); math.Abs(b-1.625) > 1e-12 {
		t.Errorf("RowBounty = %v", b)
	}
	if Score(-1, 2) != 0 || Score(0.5, 2) != 1 {
		t.Error("Score")
	}
}

// TestVarianceReduction: on a game whose value is concave in coalition
// size (a first data set brings most of the gain, as real data sets do),
// antithetic pairs and exact ends each cut the error of the same budget,
// together by more than half, and an exact second position cuts it
// further.
func TestVarianceReduction(t *testing.T) {
	n := 8
	w := []float64{1, 2, 3, 1, 0.5, 2, 1, 0.2}
	u := NewCache(func(c Coalition) float64 {
		var s float64
		for i, x := range w {
			if c.Has(i) {
				s += x
			}
		}
		return math.Sqrt(s)
	})
	exact, _ := Exact(n, u)
	errOf := func(mc MonteCarlo) float64 {
		var sq float64
		for seed := range uint64(50) {
			est, _ := mc.Estimate(n, u, rand.New(rand.NewPCG(seed, 7)))
			for i := range exact {
				d := est.Values[i] - exact[i]
				sq += d * d
			}
		}
		return math.Sqrt(sq / float64(50*n))
	}
	plain := errOf(MonteCarlo{Permutations: 20})
	anti := errOf(MonteCarlo{Permutations: 20, Antithetic: true})
	ends := errOf(MonteCarlo{Permutations: 20, Head: 1, Last: true})
	both := errOf(MonteCarlo{Permutations: 20, Antithetic: true, Head: 1, Last: true})
	pairs := errOf(MonteCarlo{Permutations: 20, Antithetic: true, Head: 2, Last: true})
	t.Logf("RMS error over 50 estimates of 20 orders: plain %.4f, antithetic %.4f, exact ends %.4f, both %.4f, and pairs %.4f", plain, anti, ends, both, pairs)
	if anti >= plain || ends >= plain || both > plain/2 || pairs >= both {
		t.Errorf("RMS errors: plain %.4f, antithetic %.4f, exact ends %.4f, both %.4f, and pairs %.4f", plain, anti, ends, both, pairs)
	}
}

// TestPrefetchChangesNothing: a cache told ahead of time (and looking
// ahead along orders) gives the same values, evaluating every coalition
// it is asked for once.
func TestPrefetchChangesNothing(t *testing.T) {
	g := game(rand.New(rand.NewPCG(2, 2)), 9)
	plain := NewCache(g)
	// A driver memoizes what it computed ahead; the cache may tell it of a
	// coalition again (look-ahead past a truncation point is not kept),
	// and it skips what it has.
	told := map[Coalition]int{}
	memo := map[Coalition]float64{}
	ahead := NewCache(func(c Coalition) float64 {
		if v, ok := memo[c]; ok {
			return v
		}
		told[c]++
		return g(c)
	})
	ahead.Prefetch = func(cs []Coalition) {
		for _, c := range cs {
			if _, ok := memo[c]; !ok {
				told[c]++
				memo[c] = g(c)
			}
		}
	}
	ahead.Batch = 4
	mc := MonteCarlo{Permutations: 30, Tolerance: 0.05, Antithetic: true, Head: 2, Last: true}
	a, _ := mc.Estimate(9, plain, rand.New(rand.NewPCG(3, 3)))
	b, _ := mc.Estimate(9, ahead, rand.New(rand.NewPCG(3, 3)))
	if !slices.Equal(a.Values, b.Values) || a.Truncated != b.Truncated {
		t.Fatalf("with prefetch %v, without %v", b.Values, a.Values)
	}
	for c, n := range told {
		if n > 1 {
			t.Fatalf("coalition %b computed %d times", c, n)
		}
	}
	for _, c := range []Coalition{0, All(9), 1, 3} {
		if told[c] != 1 {
			t.Errorf("coalition %b computed %d times, want once", c, told[c])
		}
	}
}
