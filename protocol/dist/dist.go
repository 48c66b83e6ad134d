// Package dist holds the random distributions scenarios name (jitter, churn
// sessions, job sizes, arrivals). Each samples from a stream the caller
// passes, never a global one, so draws are reproducible. Sampling is
// delegated to gonum's distuv.
package dist

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// Dist is a distribution over float64 values (the unit is the caller's:
// seconds for durations, bytes for sizes).
type Dist interface {
	// Sample draws one value from r.
	Sample(r *rand.Rand) float64
	// Mean is the distribution's expectation (+Inf where it has none).
	Mean() float64
	// String names the distribution and its parameters.
	String() string
}

// ErrParam reports parameters outside a distribution's domain.
var ErrParam = errors.New("dist: bad parameter")

// Fixed always returns V.
type Fixed struct{ V float64 }

func (d Fixed) Sample(*rand.Rand) float64 { return d.V }
func (d Fixed) Mean() float64             { return d.V }
func (d Fixed) String() string            { return fmt.Sprintf("fixed(%g)", d.V) }

// Uniform is uniform on [Min, Max).
type Uniform struct{ Min, Max float64 }

func (d Uniform) Sample(r *rand.Rand) float64 { return d.Min + (d.Max-d.Min)*r.Float64() }
func (d Uniform) Mean() float64               { return (d.Min + d.Max) / 2 }
func (d Uniform) String() string              { return fmt.Sprintf("uniform(%g, %g)", d.Min, d.Max) }

// Exponential has the given mean (rate 1/Mean).
type Exponential struct{ M float64 }

func (d Exponential) Sample(r *rand.Rand) float64 {
	return distuv.Exponential{Rate: 1 / d.M, Src: r}.Rand()
}
func (d Exponential) Mean() float64  { return d.M }
func (d Exponential) String() string { return fmt.Sprintf("exponential(mean=%g)", d.M) }

// Normal has mean Mu and standard deviation Sigma.
type Normal struct{ Mu, Sigma float64 }

func (d Normal) Sample(r *rand.Rand) float64 {
	return distuv.Normal{Mu: d.Mu, Sigma: d.Sigma, Src: r}.Rand()
}
func (d Normal) Mean() float64  { return d.Mu }
func (d Normal) String() string { return fmt.Sprintf("normal(mu=%g, sigma=%g)", d.Mu, d.Sigma) }

// LogNormal is exp(Normal(Mu, Sigma)); its median is exp(Mu).
type LogNormal struct{ Mu, Sigma float64 }

func (d LogNormal) Sample(r *rand.Rand) float64 {
	return distuv.LogNormal{Mu: d.Mu, Sigma: d.Sigma, Src: r}.Rand()
}
func (d LogNormal) Mean() float64 { return math.Exp(d.Mu + d.Sigma*d.Sigma/2) }
func (d LogNormal) String() string {
	return fmt.Sprintf("lognormal(mu=%g, sigma=%g)", d.Mu, d.Sigma)
}

// Pareto has scale Xm (the minimum) and shape Alpha.
type Pareto struct{ Xm, Alpha float64 }

func (d Pareto) Sample(r *rand.Rand) float64 {
	return distuv.Pareto{Xm: d.Xm, Alpha: d.Alpha, Src: r}.Rand()
}
func (d Pareto) Mean() float64 {
	if d.Alpha <= 1 {
		return math.Inf(1)
	}
	return d.Alpha * d.Xm / (d.Alpha - 1)
}
func (d Pareto) String() string { return fmt.Sprintf("pareto(xm=%g, alpha=%g)", d.Xm, d.Alpha) }

// Weibull has scale Lambda and shape K; measured peer session lengths in
// P2P networks are commonly fitted with K < 1.
type Weibull struct{ Lambda, K float64 }

func (d Weibull) Sample(r *rand.Rand) float64 {
	return distuv.Weibull{Lambda: d.Lambda, K: d.K, Src: r}.Rand()
}
func (d Weibull) Mean() float64 { return d.Lambda * math.Gamma(1+1/d.K) }
func (d Weibull) String() string {
	return fmt.Sprintf("weibull(lambda=%g, k=%g)", d.Lambda, d.K)
}

// Validate checks a distribution's parameters.
func Validate(d Dist) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: "+format, append([]any{ErrParam, d}, a...)...)
	}
	switch d := d.(type) {
	case Fixed:
		if math.IsNaN(d.V) || math.IsInf(d.V, 0) {
			return bad("value must be finite")
		}
	case Uniform:
		if !(d.Min <= d.Max) {
			return bad("min must not exceed max")
		}
	case Exponential:
		if !(d.M > 0) {
			return bad("mean must be > 0")
		}
	case Normal:
		if !(d.Sigma >= 0) {
			return bad("sigma must be >= 0")
		}
	case LogNormal:
		if !(d.Sigma >= 0) {
			return bad("sigma must be >= 0")
		}
	case Pareto:
		if !(d.Xm > 0) || !(d.Alpha > 0) {
			return bad("xm and alpha must be > 0")
		}
	case Weibull:
		if !(d.Lambda > 0) || !(d.K > 0) {
			return bad("lambda and k must be > 0")
		}
	case nil:
		return fmt.Errorf("%w: no distribution", ErrParam)
	}
	return nil
}
