package metrics

import (
	"encoding/json"
	"math"
	"strconv"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Reps summarizes one figure over the repetitions of a run.
type Reps struct {
	// N counts the repetitions where the figure is defined (not NaN); the
	// mean, spread and interval are over those.
	N int `json:"n"`
	// Std is the sample standard deviation (n − 1 in the denominator); NaN
	// (null) for N < 2.
	Std float64 `json:"std"`
	// CI95Lo and CI95Hi bound the 95% confidence interval of the mean:
	// mean ± t(0.975, n−1)·std/√n, Student's t; NaN (null) for N < 2.
	CI95Lo float64 `json:"ci95_lo"`
	CI95Hi float64 `json:"ci95_hi"`
	// Values are the figure in each repetition, in repetition order, NaN
	// (null) where it was undefined.
	Values Floats `json:"values"`
}

// MarshalJSON implements json.Marshaler: NaN is null.
func (r Reps) MarshalJSON() ([]byte, error) {
	var b []byte
	b = append(b, `{"n":`...)
	b = strconv.AppendInt(b, int64(r.N), 10)
	for _, kv := range []struct {
		k string
		v float64
	}{{"std", r.Std}, {"ci95_lo", r.CI95Lo}, {"ci95_hi", r.CI95Hi}} {
		b = append(b, `,"`+kv.k+`":`...)
		b = appendFloat(b, kv.v)
	}
	vals, _ := r.Values.MarshalJSON()
	b = append(b, `,"values":`...)
	b = append(b, vals...)
	return append(b, '}'), nil
}

// UnmarshalJSON implements json.Unmarshaler: null is NaN.
func (r *Reps) UnmarshalJSON(b []byte) error {
	var j struct {
		N      int      `json:"n"`
		Std    *float64 `json:"std"`
		CI95Lo *float64 `json:"ci95_lo"`
		CI95Hi *float64 `json:"ci95_hi"`
		Values Floats   `json:"values"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	val := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	*r = Reps{N: j.N, Std: val(j.Std), CI95Lo: val(j.CI95Lo), CI95Hi: val(j.CI95Hi), Values: j.Values}
	return nil
}

// Summarize returns the mean of the defined (not NaN) values and, for two
// or more values, Reps: how many are defined, their spread and 95%
// confidence interval, and every value. The mean is NaN when none is
// defined; spread and interval are NaN when fewer than two are.
func Summarize(values []float64) (mean float64, reps *Reps) {
	if len(values) == 0 {
		return math.NaN(), nil
	}
	defined := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			defined = append(defined, v)
		}
	}
	mean = math.NaN()
	if len(defined) > 0 {
		mean = stat.Mean(defined, nil)
	}
	if len(values) < 2 {
		return mean, nil
	}
	reps = &Reps{N: len(defined), Std: math.NaN(), CI95Lo: math.NaN(), CI95Hi: math.NaN(),
		Values: append(Floats(nil), values...)}
	if len(defined) >= 2 {
		std := stat.StdDev(defined, nil)
		half := TQuantile(0.975, float64(len(defined)-1)) * std / math.Sqrt(float64(len(defined)))
		reps.Std, reps.CI95Lo, reps.CI95Hi = std, mean-half, mean+half
	}
	return mean, reps
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
