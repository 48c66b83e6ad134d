package learnrun

import (
	"errors"
	"fmt"
	"math"

	"github.com/dais-sim/dais/scenarios/learning"
	"gonum.org/v1/gonum/optimize"
)

// Surrogate mode: for runs with more learners than real training can
// afford (or than optdigits has rows: 3,523 unheld), the protocol runs as
// in a real run (rounds, learner selection, updates of the real model's
// size on the network, validator scoring and committee aggregation as
// gpu.Jobs with modeled costs, payouts), but no gradient is computed and
// no model is evaluated: test accuracy after each round comes from a
// learning curve fitted to a real run of the same model, partition, rule
// and local training (FitCurve), and attacks scale it by the effect
// measured in the attack table (attackEffect). Every figure that comes
// from the curve is labelled "surrogate" in its key, its help and the
// report (labelSurrogate).

// ErrFit means the learning curve could not be fitted.
var ErrFit = errors.New("learnrun: learning curve fit failed")

// FitCurve fits acc[r] (r = 0…R, round 0 the initial model) by least
// squares, minimizing Σ (A − B·e^(−C·r) − acc[r])² over A, B and log C
// with gonum/optimize's BFGS and the analytic gradient, from A = the
// best accuracy, B = A − acc[0], C = 0.5.
func FitCurve(acc []float64) (learning.Curve, error) {
	if len(acc) < 4 {
		return learning.Curve{}, fmt.Errorf("%w: %d points, want at least 4", ErrFit, len(acc))
	}
	sse := func(x []float64) float64 {
		c := learning.Curve{A: x[0], B: x[1], C: math.Exp(x[2])}
		var s float64
		for r, y := range acc {
			e := c.At(float64(r)) - y
			s += e * e
		}
		return s
	}
	grad := func(g, x []float64) {
		a, b, c := x[0], x[1], math.Exp(x[2])
		g[0], g[1], g[2] = 0, 0, 0
		for r, y := range acc {
			ex := math.Exp(-c * float64(r))
			e := a - b*ex - y
			g[0] += 2 * e
			g[1] += -2 * e * ex
			g[2] += 2 * e * b * float64(r) * ex * c
		}
	}
	best := acc[0]
	for _, y := range acc {
		best = max(best, y)
	}
	init := []float64{best, best - acc[0], math.Log(0.5)}
	res, err := optimize.Minimize(optimize.Problem{Func: sse, Grad: grad}, init,
		&optimize.Settings{GradientThreshold: 1e-12}, &optimize.BFGS{})
	if err != nil && res == nil {
		return learning.Curve{}, fmt.Errorf("%w: %v", ErrFit, err)
	}
	x := res.X
	c := learning.Curve{A: x[0], B: x[1], C: math.Exp(x[2]), Points: len(acc)}
	for r, y := range acc {
		e := math.Abs(c.At(float64(r)) - y)
		c.RMSE += e * e
		c.MaxResidual = max(c.MaxResidual, e)
	}
	c.RMSE = math.Sqrt(c.RMSE / float64(len(acc)))
	if math.IsNaN(c.RMSE) || !(c.C > 0) {
		return learning.Curve{}, fmt.Errorf("%w: A=%v B=%v C=%v", ErrFit, c.A, c.B, c.C)
	}
	return c, nil
}

// chance is the accuracy of guessing among optdigits' 10 classes.
const chance = 0.1

// attackEffect returns, for an attack by a share of the learners, the
// factor by which it scales the curve's gain over chance and its attack
// success rate, interpolated linearly between the measured attack table's
// shares (measuredTable, BENCHMARKS.md's table: final accuracy and attack
// success after 20 rounds, 20 providers, MLP): factor = (acc_attacked −
// 0.1)/(acc_clean − 0.1). Dirichlet partitions use the α = 0.5 table,
// one-class the IID one.
func attackEffect(p *learning.Params, share float64) (factor, asr float64, err error) {
	if p.Attack.Kind == learning.None || share == 0 {
		return 1, 0, nil
	}
	shares, accs, asrs, err := measuredRow(p)
	if err != nil {
		return 0, 0, err
	}
	share = min(share, shares[len(shares)-1])
	i := 1
	for i < len(shares)-1 && share > shares[i] {
		i++
	}
	t := (share - shares[i-1]) / (shares[i] - shares[i-1])
	acc := accs[i-1] + t*(accs[i]-accs[i-1])
	asr = asrs[i-1] + t*(asrs[i]-asrs[i-1])
	return (acc - chance) / (accs[0] - chance), asr, nil
}
