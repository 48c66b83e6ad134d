package learn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/floats"
)

// Update is one learner's contribution to a round.
type Update struct {
	// Delta is the learner's parameter change (new − global), flat.
	Delta []float64
	// Weight is how much the update counts in weighted rules (FedAvg): the
	// learner's number of training samples.
	Weight float64
}

// Errors returned by rules.
var (
	ErrNoUpdates = errors.New("learn: no updates to aggregate")
	ErrShape     = errors.New("learn: updates of different lengths")
	ErrTooFew    = errors.New("learn: too few updates for the rule")
)

// Rule aggregates the updates of one round into one delta. Implementations
// must not modify the updates.
type Rule interface {
	Aggregate(us []Update) ([]float64, error)
	Name() string
}

func check(us []Update) (int, error) {
	if len(us) == 0 {
		return 0, ErrNoUpdates
	}
	d := len(us[0].Delta)
	for i, u := range us {
		if len(u.Delta) != d {
			return 0, fmt.Errorf("%w: update %d has %d parameters, update 0 has %d", ErrShape, i, len(u.Delta), d)
		}
	}
	return d, nil
}

// FedAvg is the weighted mean of the updates (McMahan et al. 2017).
type FedAvg struct{}

func (FedAvg) Name() string { return "fedavg" }

func (FedAvg) Aggregate(us []Update) ([]float64, error) {
	d, err := check(us)
	if err != nil {
		return nil, err
	}
	out := make([]float64, d)
	var total float64
	for _, u := range us {
		w := u.Weight
		if !(w > 0) {
			w = 1 // an update without a sample count counts once
		}
		floats.AddScaled(out, w, u.Delta)
		total += w
	}
	floats.Scale(1/total, out)
	return out, nil
}

// Krum picks the update closest to its n−f−2 nearest neighbours (Blanchard
// et al. 2017), tolerating F Byzantine updates; M > 1 is Multi-Krum: the
// mean of the M best-scored updates.
type Krum struct {
	F int // Byzantine updates tolerated; needs n >= 2F+3
	M int // updates averaged; 0 or 1 is plain Krum
}

func (k Krum) Name() string {
	if k.M > 1 {
		return fmt.Sprintf("multi-krum(f=%d,m=%d)", k.F, k.M)
	}
	return fmt.Sprintf("krum(f=%d)", k.F)
}

func (k Krum) Aggregate(us []Update) ([]float64, error) {
	d, err := check(us)
	if err != nil {
		return nil, err
	}
	n := len(us)
	if n < 2*k.F+3 {
		return nil, fmt.Errorf("%w: krum with f=%d needs at least %d updates, got %d", ErrTooFew, k.F, 2*k.F+3, n)
	}
	scores := KrumScores(us, k.F)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] < scores[order[b]] })
	m := max(k.M, 1)
	if m > n-k.F {
		m = n - k.F
	}
	out := make([]float64, d)
	for _, i := range order[:m] {
		floats.Add(out, us[i].Delta)
	}
	floats.Scale(1/float64(m), out)
	return out, nil
}

// KrumScores returns each update's Krum score: the sum of squared distances
// to its n−f−2 nearest other updates. Lower is more central.
func KrumScores(us []Update, f int) []float64 {
	n := len(us)
	dist := make([][]float64, n)
	for i := range dist {
		dist[i] = make([]float64, n)
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			d := sqDist(us[i].Delta, us[j].Delta)
			dist[i][j], dist[j][i] = d, d
		}
	}
	k := n - f - 2
	scores := make([]float64, n)
	row := make([]float64, 0, n-1)
	for i := 0; i < n; i++ {
		row = row[:0]
		for j := 0; j < n; j++ {
			if j != i {
				row = append(row, dist[i][j])
			}
		}
		sort.Float64s(row)
		for _, x := range row[:max(k, 0)] {
			scores[i] += x
		}
	}
	return scores
}

func sqDist(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// Median is the coordinate-wise median (Yin et al. 2018); with an even
// count, the mean of the two middle values.
type Median struct{}

func (Median) Name() string { return "median" }

func (Median) Aggregate(us []Update) ([]float64, error) {
	return coordinatewise(us, func(col []float64) float64 {
		n := len(col)
		if n%2 == 1 {
			return col[n/2]
		}
		return (col[n/2-1] + col[n/2]) / 2
	})
}

// TrimmedMean drops the Beta largest and Beta smallest values of each
// coordinate and averages the rest (Yin et al. 2018).
type TrimmedMean struct{ Beta int }

func (t TrimmedMean) Name() string { return fmt.Sprintf("trimmed-mean(b=%d)", t.Beta) }

func (t TrimmedMean) Aggregate(us []Update) ([]float64, error) {
	if len(us) <= 2*t.Beta {
		return nil, fmt.Errorf("%w: trimming %d from each end needs more than %d updates, got %d", ErrTooFew, t.Beta, 2*t.Beta, len(us))
	}
	return coordinatewise(us, func(col []float64) float64 {
		return floats.Sum(col[t.Beta:len(col)-t.Beta]) / float64(len(col)-2*t.Beta)
	})
}

// coordinatewise applies f to each coordinate's sorted values.
func coordinatewise(us []Update, f func(sorted []float64) float64) ([]float64, error) {
	d, err := check(us)
	if err != nil {
		return nil, err
	}
	out := make([]float64, d)
	col := make([]float64, len(us))
	for j := 0; j < d; j++ {
		for i, u := range us {
			col[i] = u.Delta[j]
		}
		sort.Float64s(col)
		out[j] = f(col)
	}
	return out, nil
}

// FoolsGold down-weights updates that are too similar to each other, the
// signature of Sybils pushing one poison (Fung et al. 2020, Algorithm 1).
// Similarity is measured between the updates passed in: as a Rule it
// compares one round's updates (the paper compares each learner's summed
// history, which needs learner identities a Rule does not see; a caller
// keeping histories calls Weights on them and weighs the round's updates
// itself).
//
// Zero guard: an all-zero update (a free rider's) has no direction, so
// cosine similarity says nothing about it; left in, it is similar to
// nothing and gets full weight, and under IID data, where the honest
// updates agree and are weighed down, zeros dilute the weighted mean until
// the model stops learning (sim/learnrun measured 11% accuracy with 10%
// free riders). Weights therefore gives near-zero updates — a norm below
// NegligibleNorm times the median non-zero norm, so that noise of 1e-12
// passes no better than zeros — weight 0 and computes the others' weights
// among themselves, as if they had not been sent. Such an update would add
// next to nothing to the weighted sum anyway; the guard only stops it from
// counting in the normalization. An attacker who sends a small update of
// a random direction above that floor still gets full weight: that is the
// limit of the guard, and the validators' score filter's to catch.
type FoolsGold struct {
	// Kappa is the confidence parameter of the logit (the paper uses 1).
	Kappa float64
}

// NegligibleNorm is FoolsGold's zero guard: an update whose norm is below
// this share of the round's median non-zero norm counts as zero.
const NegligibleNorm = 1e-3

func (FoolsGold) Name() string { return "foolsgold" }

func (fg FoolsGold) Aggregate(us []Update) ([]float64, error) {
	w, err := fg.Weights(us)
	if err != nil {
		return nil, err
	}
	d := len(us[0].Delta)
	out := make([]float64, d)
	var total float64
	for i, u := range us {
		floats.AddScaled(out, w[i], u.Delta)
		total += w[i]
	}
	if total == 0 {
		return out, nil // every update judged a Sybil: no step this round
	}
	floats.Scale(1/total, out)
	return out, nil
}

// Weights returns FoolsGold's learning-rate weight for each update, in
// [0, 1]; zero and negligible updates get 0 (see FoolsGold).
func (fg FoolsGold) Weights(us []Update) ([]float64, error) {
	if _, err := check(us); err != nil {
		return nil, err
	}
	norms := make([]float64, len(us))
	var positive []float64
	for i, u := range us {
		if norms[i] = floats.Norm(u.Delta, 2); norms[i] > 0 {
			positive = append(positive, norms[i])
		}
	}
	var floor float64
	if len(positive) > 0 {
		sort.Float64s(positive)
		floor = NegligibleNorm * positive[len(positive)/2]
	}
	var nonzero []Update
	var at []int
	for i, u := range us {
		if norms[i] > floor {
			nonzero = append(nonzero, u)
			at = append(at, i)
		}
	}
	w := make([]float64, len(us))
	if len(nonzero) == 0 {
		return w, nil
	}
	for j, x := range fg.weights(nonzero) {
		w[at[j]] = x
	}
	return w, nil
}

// weights is FoolsGold's Algorithm 1 over non-zero updates.
func (fg FoolsGold) weights(us []Update) []float64 {
	n := len(us)
	cs := make([][]float64, n)
	maxCS := make([]float64, n)
	for i := range cs {
		cs[i] = make([]float64, n)
		maxCS[i] = math.Inf(-1)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i == j {
				continue
			}
			cs[i][j] = cosine(us[i].Delta, us[j].Delta)
			maxCS[i] = max(maxCS[i], cs[i][j])
		}
	}
	if n == 1 {
		return []float64{1}
	}
	w := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			// Pardoning: an honest learner similar to a Sybil keeps its weight.
			if i != j && maxCS[i] < maxCS[j] {
				cs[i][j] *= maxCS[i] / maxCS[j]
			}
		}
		m := math.Inf(-1)
		for j := 0; j < n; j++ {
			if i != j {
				m = max(m, cs[i][j])
			}
		}
		w[i] = 1 - m
	}
	for i := range w {
		w[i] = math.Min(1, math.Max(0, w[i]))
	}
	top := floats.Max(w)
	if top == 0 {
		return w
	}
	kappa := fg.Kappa
	if kappa == 0 {
		kappa = 1
	}
	for i := range w {
		w[i] /= top
		if w[i] == 1 {
			w[i] = 0.99
		}
		w[i] = kappa * (math.Log(w[i]/(1-w[i])) + 0.5)
		w[i] = math.Min(1, math.Max(0, w[i]))
	}
	return w
}

func cosine(a, b []float64) float64 {
	na, nb := floats.Norm(a, 2), floats.Norm(b, 2)
	if na == 0 || nb == 0 {
		return 0
	}
	return floats.Dot(a, b) / (na * nb)
}

// Clip scales each update down to an L2 norm of at most Norm, then applies
// Inner; it bounds how far any one learner can move the model.
type Clip struct {
	Norm  float64
	Inner Rule
}

func (c Clip) Name() string { return fmt.Sprintf("clip(%g)+%s", c.Norm, c.Inner.Name()) }

func (c Clip) Aggregate(us []Update) ([]float64, error) {
	if _, err := check(us); err != nil {
		return nil, err
	}
	clipped := make([]Update, len(us))
	for i, u := range us {
		clipped[i] = Update{Delta: ClipNorm(u.Delta, c.Norm), Weight: u.Weight}
	}
	return c.Inner.Aggregate(clipped)
}

// ClipNorm returns v scaled to an L2 norm of at most bound (a copy).
func ClipNorm(v []float64, bound float64) []float64 {
	out := append([]float64(nil), v...)
	if n := floats.Norm(v, 2); n > bound && n > 0 {
		floats.Scale(bound/n, out)
	}
	return out
}

// GaussianNoise adds N(0, (Sigma·Clip/n)²) to each coordinate of an
// aggregate of n clipped updates: the Gaussian mechanism of DP-FedAvg
// (McMahan et al. 2018). Noise comes from r, the caller's stream.
func GaussianNoise(agg []float64, sigma, clip float64, n int, r *rand.Rand) {
	sd := sigma * clip / float64(n)
	for i := range agg {
		agg[i] += r.NormFloat64() * sd
	}
}
