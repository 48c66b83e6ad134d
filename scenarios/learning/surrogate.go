package learning

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dais-sim/dais/metrics"
)

// Surrogate mode's parameters and the labels its figures carry: the
// surrogate run itself (the fit run, FitCurve, the modeled world) is the
// simulator's (sim/learnrun); Summary labels every figure that comes from
// the curve "surrogate" (labelSurrogate).

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

// SurrogateFit is what a surrogate run's accuracy came from.
type SurrogateFit struct {
	Curve Curve
	// FitAccuracy is the real fit run's test accuracy by round (FitRounds
	// rounds of FitProviders providers).
	FitAccuracy             []float64
	FitProviders, FitRounds int
	// Rows is each learner's nominal row count.
	Rows int
	// FitWall is the host time of the fit run (0 when the curve was
	// given); Result.Wall of a surrogate run does not include it.
	FitWall time.Duration
	// Factor scales the curve's gain over chance for the run's attack,
	// and AttackSuccess is the attack success rate it stands for
	// (attackEffect); 1 and 0 without an attack.
	Factor, AttackSuccess float64
	// Progress is the number of curve steps the committed models made:
	// rounds that moved the model along the honest direction, less those
	// that moved it back.
	Progress int
}

// Note is the sentence reports carry beside every surrogate figure.
func (f *SurrogateFit) Note() string {
	s := fmt.Sprintf("accuracy from a surrogate learning curve acc(k) = %.4f − %.4f·exp(−%.4f·k), fitted (gonum/optimize BFGS, least squares) "+
		"to a real run of %d providers × %d rounds of the same model, partition and rule (RMSE %.4f, max residual %.4f over %d points); "+
		"k counts rounds whose committed model moved along the honest direction",
		f.Curve.A, f.Curve.B, f.Curve.C, f.FitProviders, f.FitRounds, f.Curve.RMSE, f.Curve.MaxResidual, f.Curve.Points)
	if f.Factor != 1 {
		s += fmt.Sprintf("; the attack scales the gain over chance by %.3f and sets attack success to %.3f, interpolated from the measured attack table", f.Factor, f.AttackSuccess)
	}
	return s
}
