package models

import (
	"math"

	"github.com/dais-sim/dais/gpu/datasets"
)

// Inference runs in plain Go on the flat parameters rather than on a
// gorgonia graph: a graph is built for one batch shape, evaluation wants
// any number of rows, and a plain loop is both faster for these sizes and
// exactly reproducible. TestGraphMatchesForward holds the two to the same
// loss.

// forward writes the logits of row x into out (len Classes), using buf
// (len Hidden, or nil for softmax) for the hidden layer.
func forward(s Spec, p, x, buf, out []float64) {
	d := s.dims()
	in, off := x, 0
	for l := 0; l+1 < len(d); l++ {
		nin, nout := d[l], d[l+1]
		w := p[off : off+nin*nout]
		b := p[off+nin*nout : off+nin*nout+nout]
		off += nin*nout + nout
		z := out
		if l+2 < len(d) {
			z = buf
		}
		copy(z, b)
		for i, xi := range in {
			if xi == 0 {
				continue // optdigits rows are about half zeros
			}
			row := w[i*nout : (i+1)*nout]
			for j, wij := range row {
				z[j] += xi * wij
			}
		}
		if l+2 < len(d) {
			for j, v := range z {
				z[j] = max(v, 0)
			}
		}
		in = z
	}
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Predict is the most likely class of row x (ties go to the lower class).
// x must have Spec.Inputs features.
func (m *Model) Predict(x []float64) int {
	out := make([]float64, m.spec.Classes)
	forward(m.spec, m.params, x, make([]float64, m.spec.Hidden), out)
	return argmax(out)
}

// Probabilities are the model's class probabilities for row x: the
// softmax of its logits (Predict is their argmax). x must have
// Spec.Inputs features.
func (m *Model) Probabilities(x []float64) []float64 {
	out := make([]float64, m.spec.Classes)
	forward(m.spec, m.params, x, make([]float64, m.spec.Hidden), out)
	z := logSumExp(out)
	for i, v := range out {
		out[i] = math.Exp(v - z)
	}
	return out
}

// Accuracy is the fraction of ds's rows that Predict classifies
// correctly, or 0 for an empty or ill-fitting ds.
func (m *Model) Accuracy(ds datasets.Dataset) float64 {
	if ds.Len() == 0 || m.checkData(ds) != nil {
		return 0
	}
	buf, out := make([]float64, m.spec.Hidden), make([]float64, m.spec.Classes)
	right := 0
	for i, x := range ds.X {
		forward(m.spec, m.params, x, buf, out)
		if argmax(out) == ds.Y[i] {
			right++
		}
	}
	return float64(right) / float64(ds.Len())
}

// Loss is the mean cross-entropy of the model on ds, in nats; the same
// quantity Train minimizes.
func (m *Model) Loss(ds datasets.Dataset) (float64, error) {
	if err := m.checkData(ds); err != nil {
		return 0, err
	}
	if ds.Len() == 0 {
		return 0, nil
	}
	buf, out := make([]float64, m.spec.Hidden), make([]float64, m.spec.Classes)
	var sum float64
	for i, x := range ds.X {
		forward(m.spec, m.params, x, buf, out)
		sum += logSumExp(out) - out[ds.Y[i]]
	}
	return sum / float64(ds.Len()), nil
}

func logSumExp(v []float64) float64 {
	mx := v[argmax(v)]
	var s float64
	for _, x := range v {
		s += math.Exp(x - mx)
	}
	return mx + math.Log(s)
}
