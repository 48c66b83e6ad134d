package learnrun

import (
	"math"
	"slices"

	"github.com/dais-sim/dais/gpu/datasets"
)

// flip is ds with every src label replaced by dst; the rows are shared.
func flip(ds datasets.Dataset, src, dst int) datasets.Dataset {
	out := datasets.Dataset{X: ds.X, Y: slices.Clone(ds.Y)}
	for i, y := range out.Y {
		if y == src {
			out.Y[i] = dst
		}
	}
	return out
}

// onlyClass is the rows of ds labelled c.
func onlyClass(ds datasets.Dataset, c int) datasets.Dataset {
	var rows []int
	for i, y := range ds.Y {
		if y == c {
			rows = append(rows, i)
		}
	}
	return ds.Subset(rows)
}

// meanSD is the coordinate-wise mean and population standard deviation.
func meanSD(vs [][]float64) (mean, sd []float64) {
	n := len(vs[0])
	mean, sd = make([]float64, n), make([]float64, n)
	for _, v := range vs {
		for j, x := range v {
			mean[j] += x
		}
	}
	k := float64(len(vs))
	for j := range mean {
		mean[j] /= k
	}
	for _, v := range vs {
		for j, x := range v {
			d := x - mean[j]
			sd[j] += d * d
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j] / k)
	}
	return mean, sd
}
