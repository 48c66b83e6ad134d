package dist_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dais-sim/dais/protocol/dist"
)

// The sample mean of 200,000 draws is within 5 standard errors of Mean.
func TestSampleMeans(t *testing.T) {
	for _, d := range []dist.Dist{
		dist.Fixed{V: 3},
		dist.Uniform{Min: 2, Max: 6},
		dist.Exponential{M: 0.5},
		dist.Normal{Mu: -1, Sigma: 2},
		dist.LogNormal{Mu: 0, Sigma: 0.5},
		dist.Pareto{Xm: 1, Alpha: 3},
		dist.Weibull{Lambda: 2, K: 0.7},
	} {
		r := rand.New(rand.NewPCG(1, 2))
		const n = 200000
		var sum, sq float64
		for i := 0; i < n; i++ {
			x := d.Sample(r)
			sum += x
			sq += x * x
		}
		mean := sum / n
		se := math.Sqrt((sq/n-mean*mean)/n) + 1e-12
		if math.Abs(mean-d.Mean()) > 5*se {
			t.Errorf("%v: sample mean %.4f, Mean() %.4f (se %.4f)", d, mean, d.Mean(), se)
		}
	}
}

func TestSameStreamSameDraws(t *testing.T) {
	d := dist.LogNormal{Mu: 1, Sigma: 1}
	a, b := rand.New(rand.NewPCG(7, 7)), rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 100; i++ {
		if x, y := d.Sample(a), d.Sample(b); x != y {
			t.Fatalf("draw %d: %v != %v", i, x, y)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, d := range []dist.Dist{
		dist.Uniform{Min: 2, Max: 1}, dist.Exponential{M: 0}, dist.Normal{Sigma: -1},
		dist.LogNormal{Sigma: math.NaN()}, dist.Pareto{Xm: 0, Alpha: 1}, dist.Weibull{Lambda: 1},
		dist.Fixed{V: math.Inf(1)}, nil,
	} {
		if err := dist.Validate(d); !errors.Is(err, dist.ErrParam) {
			t.Errorf("%v: Validate = %v, want ErrParam", d, err)
		}
	}
	if err := dist.Validate(dist.Pareto{Xm: 1, Alpha: 2}); err != nil {
		t.Errorf("valid pareto rejected: %v", err)
	}
	if got := (dist.Pareto{Xm: 1, Alpha: 1}).Mean(); !math.IsInf(got, 1) {
		t.Errorf("pareto alpha=1 mean %v, want +Inf", got)
	}
}
