package learnrun

import (
	"errors"
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"

	"github.com/dais-sim/dais/gpu/datasets"
)

// softmaxFit trains softmax regression to its optimum: mean cross-entropy
// plus λ/2·‖W‖² (biases unregularized), minimized by L-BFGS (gonum
// optimize) over the full data from zero weights. The objective is convex
// and, with λ > 0, strictly so: its minimum is unique, so the model is a
// function of the rows alone — not of the order they were visited in,
// as SGD's is — and two coalitions' models differ only by what their
// rows teach. The parameters are in gpu/models' softmax order (W
// row-major Inputs×Classes, then b), so models.Model evaluates them.
type softmaxFit struct {
	inputs, classes int
	l2              float64
	iters           int
	tol             float64
	// start, if not nil, is where L-BFGS starts (the same point for every
	// coalition, so the optimum found is still the coalition's alone).
	start []float64
}

// errFit reports an optimizer that stopped without a usable optimum.
var errFit = errors.New("learnrun: softmax fit failed")

// objective is the fit's objective on ds and its gradient, computed
// together once per point.
func (s softmaxFit) objective(ds datasets.Dataset) optimize.Problem {
	n, k := ds.Len(), s.classes
	// The rows' non-zero features (optdigits rows are half zeros), packed.
	var idx []int32
	var val []float64
	off := make([]int, n+1)
	for r, row := range ds.X {
		for i, x := range row {
			if x != 0 {
				idx = append(idx, int32(i))
				val = append(val, x)
			}
		}
		off[r+1] = len(idx)
	}
	nw := s.inputs * k
	var lastX []float64
	var lastF float64
	lastG := make([]float64, nw+k)
	z := make([]float64, k)
	inv := 1 / float64(n)
	eval := func(x []float64) {
		if slices.Equal(x, lastX) {
			return
		}
		lastX = append(lastX[:0], x...)
		clear(lastG)
		var loss float64
		b, gb := x[nw:], lastG[nw:]
		for r := range n {
			copy(z, b)
			for e := off[r]; e < off[r+1]; e++ {
				xi, w := val[e], x[int(idx[e])*k:int(idx[e])*k+k]
				for j, wj := range w {
					z[j] += xi * wj
				}
			}
			sum := expShifted(z)
			y := ds.Y[r]
			loss -= math.Log(z[y] / sum)
			for j := range z { // the row's loss gradient in its logits, over n
				z[j] *= inv / sum
			}
			z[y] -= inv
			for j, d := range z {
				gb[j] += d
			}
			for e := off[r]; e < off[r+1]; e++ {
				xi, g := val[e], lastG[int(idx[e])*k:int(idx[e])*k+k]
				for j, d := range z {
					g[j] += xi * d
				}
			}
		}
		loss *= inv
		for i, w := range x[:nw] {
			loss += s.l2 / 2 * w * w
			lastG[i] += s.l2 * w
		}
		lastF = loss
	}
	return optimize.Problem{
		Func: func(x []float64) float64 { eval(x); return lastF },
		Grad: func(g, x []float64) { eval(x); copy(g, lastG) },
	}
}

// fit returns the optimal parameters for ds and the number of gradient
// evaluations it took.
func (s softmaxFit) fit(ds datasets.Dataset) ([]float64, int, error) {
	p := s.objective(ds)
	x0 := s.start
	if x0 == nil {
		x0 = make([]float64, (s.inputs+1)*s.classes)
	}
	res, err := optimize.Minimize(p, x0,
		&optimize.Settings{MajorIterations: s.iters, GradientThreshold: s.tol, Converger: &optimize.FunctionConverge{Absolute: 1e-9, Iterations: 5}},
		&optimize.LBFGS{})
	if res == nil || math.IsNaN(res.F) {
		return nil, 0, errors.Join(errFit, err)
	}
	// Hitting the iteration cap leaves a model within tolerance of the
	// optimum for these sizes; any other failure is an error.
	if err != nil && res.Status != optimize.IterationLimit {
		return nil, 0, errors.Join(errFit, err)
	}
	return res.X, res.Stats.GradEvaluations, nil
}

// brier is the mean Brier score of softmax regression with parameters p
// (gpu/models' order) on ds: Σ_j (p_j − [j = y])² per row, in [0, 2]. A
// proper scoring rule like cross-entropy, but bounded: a model that
// never saw a class scores at most 2 on its rows, not log 1/p → ∞, so one
// skewed data set cannot make a small coalition's utility, and with it
// every marginal contribution near it, explode.
func brier(p []float64, inputs, classes int, ds datasets.Dataset) float64 {
	z := make([]float64, classes)
	b := p[inputs*classes:]
	var sum float64
	for r, row := range ds.X {
		copy(z, b)
		for i, x := range row {
			if x == 0 {
				continue
			}
			for j, w := range p[i*classes : (i+1)*classes] {
				z[j] += x * w
			}
		}
		s := expShifted(z)
		for j, v := range z {
			d := v / s
			if j == ds.Y[r] {
				d--
			}
			sum += d * d
		}
	}
	return sum / float64(max(ds.Len(), 1))
}

// expShifted replaces logits z by exp(z − max z), so that they cannot
// overflow, and returns their sum: z[j]/sum is the softmax.
func expShifted(z []float64) float64 {
	mx := z[0]
	for _, v := range z[1:] {
		mx = max(mx, v)
	}
	var sum float64
	for j, v := range z {
		z[j] = math.Exp(v - mx)
		sum += z[j]
	}
	return sum
}
