package tune

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/dais-sim/dais/protocol"
)

// BenchmarkOptimizers reports how close each method gets on test
// functions, from 0.5 in every coordinate with an initial step of 0.3 (as
// dais tune starts in its unit cube), after a budget of evaluations: the
// metric digits is −log10 of the true function value at the point the
// method returns (higher is better; the minimum is 0), the median over
// seeds 1..9. The noisy sphere adds Gaussian noise of standard deviation
// 0.01 to every evaluation, as a simulated figure's run-to-run spread does.
func BenchmarkOptimizers(b *testing.B) {
	sphere := func(x []float64) float64 {
		var f float64
		for _, v := range x {
			f += (v - 0.37) * (v - 0.37)
		}
		return f
	}
	rosen := func(x []float64) float64 {
		var f float64
		for i := 0; i+1 < len(x); i++ {
			a, c := 1-x[i], x[i+1]-x[i]*x[i]
			f += a*a + 100*c*c
		}
		return f
	}
	for _, fn := range []struct {
		name  string
		f     func([]float64) float64
		noise float64
	}{{"sphere4", sphere, 0}, {"rosenbrock4", rosen, 0}, {"noisy-sphere4", sphere, 0.01}} {
		for _, evals := range []int{100, 600} {
			for _, m := range []string{"cmaes", "cmaes_chol", "nelder_mead"} {
				b.Run(fmt.Sprintf("%s/evals=%d/%s", fn.name, evals, m), func(b *testing.B) {
					for range b.N {
						var digits []float64
						for seed := uint64(1); seed <= 9; seed++ {
							digits = append(digits, -math.Log10(minimize(b, m, seed, fn.f, fn.noise, evals)))
						}
						slices.Sort(digits)
						b.ReportMetric(digits[len(digits)/2], "digits")
					}
				})
			}
		}
	}
}

// minimize runs one method on f (plus noise) from 0.5 in four coordinates
// and returns f's true value where the method ends.
func minimize(b *testing.B, method string, seed uint64, f func([]float64) float64, noise float64, evals int) float64 {
	const dim = 4
	x0 := []float64{0.5, 0.5, 0.5, 0.5}
	src := protocol.Stream(seed, "bench", 0)
	var m optimize.Method
	switch method {
	case "cmaes":
		m = &CMAES{Sigma: 0.3, Src: src}
	case "cmaes_chol":
		var ch mat.Cholesky
		ch.Factorize(mat.NewDiagDense(dim, []float64{0.09, 0.09, 0.09, 0.09}))
		m = &optimize.CmaEsChol{InitStepSize: 0.3, InitCholesky: &ch, Src: src}
	default:
		m = &optimize.NelderMead{SimplexSize: 0.3}
	}
	rnd := protocol.Stream(seed, "bench/noise", 0)
	noisy := func(x []float64) float64 { return f(x) + noise*rnd.NormFloat64() }
	var best []float64
	bestF := math.Inf(1)
	_, err := drive(m, x0, 100, evals, func(xs [][]float64) ([]float64, error) {
		fs := make([]float64, len(xs))
		for i, x := range xs {
			fs[i] = noisy(x)
			if fs[i] < bestF {
				bestF, best = fs[i], slices.Clone(x)
			}
		}
		return fs, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return f(best)
}
