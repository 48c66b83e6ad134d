package learnrun

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"

	"github.com/dais-sim/dais/metrics"
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

// Surrogate configures surrogate mode (Params.Surrogate).
type Surrogate struct {
	// FitProviders and FitRounds size the real run the curve is fitted
	// to: the same model, partition, rule, epochs, batch size and
	// learning rate, no attack, FitProviders providers for FitRounds
	// rounds.
	FitProviders, FitRounds int
	// Rows is each learner's nominal number of training rows: the cost of
	// its training job and the weight it claims. 0 means the rows a
	// provider holds in the fit run.
	Rows int
	// Curve, if set, is a curve fitted before (a SurrogateFit.Curve of a
	// run with the same fit parameters): the fit run is skipped.
	Curve *Curve
}

// DefaultSurrogate fits to the clean configuration: 20 providers,
// 20 rounds.
func DefaultSurrogate() *Surrogate { return &Surrogate{FitProviders: 20, FitRounds: 20} }

// Curve is a saturating learning curve, acc(k) = A − B·exp(−C·k), where k
// counts the rounds that moved the model (a round that committed nothing
// does not advance it, one that committed a lying committee's model walks
// it back one step).
type Curve struct {
	A, B, C float64
	// RMSE and MaxResidual are the fit's residuals over the points it was
	// fitted to; Points is how many there were.
	RMSE, MaxResidual float64
	Points            int
}

// At is the curve's accuracy after k rounds.
func (c Curve) At(k float64) float64 { return c.A - c.B*math.Exp(-c.C*k) }

// ErrFit means the learning curve could not be fitted.
var ErrFit = errors.New("learnrun: learning curve fit failed")

// FitCurve fits acc[r] (r = 0…R, round 0 the initial model) by least
// squares, minimizing Σ (A − B·e^(−C·r) − acc[r])² over A, B and log C
// with gonum/optimize's BFGS and the analytic gradient, from A = the
// best accuracy, B = A − acc[0], C = 0.5.
func FitCurve(acc []float64) (Curve, error) {
	if len(acc) < 4 {
		return Curve{}, fmt.Errorf("%w: %d points, want at least 4", ErrFit, len(acc))
	}
	sse := func(x []float64) float64 {
		c := Curve{A: x[0], B: x[1], C: math.Exp(x[2])}
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
		return Curve{}, fmt.Errorf("%w: %v", ErrFit, err)
	}
	x := res.X
	c := Curve{A: x[0], B: x[1], C: math.Exp(x[2]), Points: len(acc)}
	for r, y := range acc {
		e := math.Abs(c.At(float64(r)) - y)
		c.RMSE += e * e
		c.MaxResidual = max(c.MaxResidual, e)
	}
	c.RMSE = math.Sqrt(c.RMSE / float64(len(acc)))
	if math.IsNaN(c.RMSE) || !(c.C > 0) {
		return Curve{}, fmt.Errorf("%w: A=%v B=%v C=%v", ErrFit, c.A, c.B, c.C)
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
func attackEffect(p *Params, share float64) (factor, asr float64, err error) {
	if p.Attack.Kind == None || share == 0 {
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

// surrogateKeys are the keys of the figures, curves and plots whose values
// come from the curve; labelSurrogate prefixes them with "surrogate_".
var surrogateKeys = []string{"accuracy_final", "accuracy_clean_final", "accuracy_drop", "attack_success_rate",
	"attack_success_rate_mean", "accuracy_by_round", "attack_success_by_round"}

// labelSurrogate marks a surrogate run's summary: every figure and curve
// from the curve gets a "surrogate_" key and a help that says so, plots
// say so in their title and caption, Meta.Params carries the note
// (accuracy_source) and the figures gain surrogate = 1 and the fit. The
// figures that do not come from the curve (round time, bytes, payouts,
// the centralized baseline, which is real) keep their keys.
func labelSurrogate(run *metrics.Run, f *SurrogateFit) {
	note := f.Note()
	label := func(key string) (string, bool) {
		if slices.Contains(surrogateKeys, key) {
			return "surrogate_" + key, true
		}
		return key, false
	}
	for i := range run.Figures {
		if k, ok := label(run.Figures[i].Key); ok {
			run.Figures[i].Key = k
			run.Figures[i].Help = "SURROGATE (fitted learning curve, not measured): " + run.Figures[i].Help
		}
	}
	for i := range run.Curves {
		if k, ok := label(run.Curves[i].Key); ok {
			run.Curves[i].Key = k
			run.Curves[i].Help = "SURROGATE (fitted learning curve, not measured): " + run.Curves[i].Help
			for j := range run.Curves[i].Lines {
				if run.Curves[i].Lines[j].Name != "centralized" {
					run.Curves[i].Lines[j].Name += " (surrogate)"
				}
			}
		}
	}
	if len(run.Curves) > 0 && f.FitAccuracy != nil {
		x := make(metrics.Floats, len(f.FitAccuracy))
		for i := range x {
			x[i] = float64(i)
		}
		run.Curves[0].Lines = append(run.Curves[0].Lines,
			metrics.Line{Name: fmt.Sprintf("real fit run (%d providers, measured)", f.FitProviders), X: x, Y: f.FitAccuracy})
	}
	for i := range run.Plots {
		surrogate := false
		for j, d := range run.Plots[i].Data {
			if k, ok := label(d); ok {
				run.Plots[i].Data[j], surrogate = k, true
			}
		}
		if surrogate {
			run.Plots[i].Title = "Surrogate: " + run.Plots[i].Title
			run.Plots[i].Caption = "SURROGATE: " + note + ". " + run.Plots[i].Caption
		}
	}
	fig := func(key string, v float64, help string) {
		run.Figures = append(run.Figures, metrics.Figure{Key: key, Value: v, Help: help})
	}
	run.Figures = append(run.Figures, metrics.Figure{Key: "surrogate", Value: 1, Headline: true,
		Help: "1: accuracy and attack success come from a surrogate learning curve, not from evaluating a model (" + note + ")"})
	fig("surrogate_fit_a", f.Curve.A, "fitted curve acc(k) = a − b·exp(−c·k): a, the accuracy it saturates at")
	fig("surrogate_fit_b", f.Curve.B, "fitted curve: b, a − the initial accuracy")
	fig("surrogate_fit_c", f.Curve.C, "fitted curve: c, the rate per round")
	fig("surrogate_fit_rmse", f.Curve.RMSE, "root mean square residual of the fit over the real run's rounds")
	fig("surrogate_fit_max_residual", f.Curve.MaxResidual, "largest absolute residual of the fit")
	fig("surrogate_fit_providers", float64(f.FitProviders), "providers of the real run the curve was fitted to")
	fig("surrogate_fit_rounds", float64(f.FitRounds), "rounds of the real run the curve was fitted to")
	fig("surrogate_rows_per_learner", float64(f.Rows), "nominal training rows per learner (cost of its modeled training job)")
	if run.Meta.Params == nil {
		run.Meta.Params = map[string]string{}
	}
	run.Meta.Params["accuracy_source"] = "surrogate: " + note
}
