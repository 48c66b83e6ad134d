package metrics

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Reps summarizes one figure over the repetitions of a run.
type Reps struct {
	N int `json:"n"`
	// Std is the sample standard deviation (n − 1 in the denominator).
	Std float64 `json:"std"`
	// CI95Lo and CI95Hi bound the 95% confidence interval of the mean:
	// mean ± t(0.975, n−1)·std/√n, Student's t.
	CI95Lo float64 `json:"ci95_lo"`
	CI95Hi float64 `json:"ci95_hi"`
	// Values are the figure in each repetition, in repetition order.
	Values Floats `json:"values"`
}

// Summarize returns the mean of values and, for two or more values, their
// spread and 95% confidence interval; reps is nil for fewer than two.
func Summarize(values []float64) (mean float64, reps *Reps) {
	if len(values) == 0 {
		return math.NaN(), nil
	}
	mean = stat.Mean(values, nil)
	if len(values) < 2 {
		return mean, nil
	}
	std := stat.StdDev(values, nil)
	half := TQuantile(0.975, float64(len(values)-1)) * std / math.Sqrt(float64(len(values)))
	return mean, &Reps{
		N: len(values), Std: std,
		CI95Lo: mean - half, CI95Hi: mean + half,
		Values: append(Floats(nil), values...),
	}
}

// TQuantile is the p-quantile of Student's t with df degrees of freedom.
func TQuantile(p, df float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p)
}

// TTest is the result of a two-sample t-test.
type TTest struct {
	T  float64 // (meanA − meanB) / standard error
	DF float64 // degrees of freedom
	P  float64 // two-sided p-value
}

// Welch compares the means of two samples given by mean, sample standard
// deviation and size, without assuming equal variances: t = (mA − mB)/√(sA²/nA
// + sB²/nB), with the Welch–Satterthwaite degrees of freedom. ok is false
// when a sample has fewer than two values or both have no variance (the
// test is undefined).
func Welch(meanA, stdA float64, nA int, meanB, stdB float64, nB int) (res TTest, ok bool) {
	if nA < 2 || nB < 2 {
		return TTest{}, false
	}
	va, vb := stdA*stdA/float64(nA), stdB*stdB/float64(nB)
	se2 := va + vb
	if !(se2 > 0) {
		return TTest{}, false
	}
	t := (meanA - meanB) / math.Sqrt(se2)
	df := se2 * se2 / (va*va/float64(nA-1) + vb*vb/float64(nB-1))
	p := 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.CDF(-math.Abs(t))
	return TTest{T: t, DF: df, P: p}, true
}
