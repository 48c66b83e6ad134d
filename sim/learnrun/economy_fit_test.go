package learnrun

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/dais-sim/dais/gpu/models"
)

// TestSoftmaxFit: the fit's gradient is the objective's (finite
// differences), and the fitted model classifies well and scores a lower
// Brier score than the untrained one.
func TestSoftmaxFit(t *testing.T) {
	train, test, err := load()
	if err != nil {
		t.Fatal(err)
	}
	ds := train.Subset(seqRows(0, 400))
	f := softmaxFit{inputs: 64, classes: 10, l2: 1e-3, iters: 200, tol: 1e-3}
	params, evals, err := f.fit(ds)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := models.New(models.Optdigits(models.KindSoftmax))
	if err := m.SetParams(params); err != nil {
		t.Fatal(err)
	}
	acc := m.Accuracy(test)
	b0, b := brier(make([]float64, len(params)), 64, 10, test), brier(params, 64, 10, test)
	t.Logf("400 rows: %d gradient evaluations, test accuracy %.4f, Brier %.4f (untrained %.4f)", evals, acc, b, b0)
	if acc < 0.85 || !(b < b0/3) {
		t.Errorf("fit on 400 rows: accuracy %.4f, Brier %.4f", acc, b)
	}
	if math.Abs(b0-0.9) > 1e-12 {
		t.Errorf("uniform prediction's Brier score %v, want 0.9", b0)
	}
}

// TestSoftmaxObjectiveGradient holds the hand-written gradient to
// central finite differences at a random point.
func TestSoftmaxObjectiveGradient(t *testing.T) {
	train, _, err := load()
	if err != nil {
		t.Fatal(err)
	}
	f := softmaxFit{inputs: 64, classes: 10, l2: 0.01}
	p := f.objective(train.Subset(seqRows(0, 50)))
	x := make([]float64, 650)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = r.NormFloat64() * 0.3
	}
	got := make([]float64, len(x))
	p.Grad(got, x)
	want := fd.Gradient(nil, p.Func, x, &fd.Settings{Formula: fd.Central, Step: 1e-6})
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-6*(1+math.Abs(want[i])) {
			t.Fatalf("gradient %d: %v, finite differences %v", i, got[i], want[i])
		}
	}
}

func seqRows(lo, hi int) []int {
	r := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		r = append(r, i)
	}
	return r
}
