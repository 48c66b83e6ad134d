package models

import (
	"errors"
	"fmt"
	"math"
)

// Model kinds.
const (
	// KindSoftmax is multinomial logistic regression: one affine layer and
	// a softmax.
	KindSoftmax = "softmax"
	// KindMLP has one hidden ReLU layer of Spec.Hidden units before the
	// softmax layer.
	KindMLP = "mlp"
)

// ErrSpec means a Spec cannot build a model; the message names the field.
var ErrSpec = errors.New("models: invalid spec")

// Spec is everything that determines a model and how it trains: the same
// Spec, starting parameters and data give bit-identical parameters after
// training (see the package doc).
type Spec struct {
	// Kind is KindSoftmax or KindMLP.
	Kind string
	// Inputs is the number of features per row; Classes the number of
	// labels.
	Inputs, Classes int
	// Hidden is the MLP's hidden width; it must be 0 for KindSoftmax.
	Hidden int
	// LearningRate is the SGD step size, > 0.
	LearningRate float64
	// Momentum is the SGD momentum in [0, 1); 0 is plain SGD. Momentum
	// state lives in the Model and starts at zero, so a TrainJob, which
	// builds a fresh Model, restarts it every round as FedAvg assumes.
	Momentum float64
	// BatchSize is the number of rows per SGD step; the last batch of an
	// epoch may be smaller.
	BatchSize int
	// Seed draws the initial weights and the order rows are visited in.
	Seed uint64
}

// Optdigits returns the spec this package is tuned and tested with on
// optdigits (64 features, 10 classes) for kind: for the MLP, 64 hidden
// units, learning rate 0.1, momentum 0.9, batches of 32. A federated
// learner holding a few hundred rows does better with batches of 10, which
// give it more steps per round (TestFederatedIID). An unknown kind gives a
// spec that fails Validate.
func Optdigits(kind string) Spec {
	s := Spec{Kind: kind, Inputs: 64, Classes: 10, LearningRate: 0.1, Momentum: 0.9, BatchSize: 32, Seed: 1}
	if kind == KindMLP {
		s.Hidden = 64
	}
	return s
}

// Validate reports the first field that makes s unusable.
func (s Spec) Validate() error {
	switch s.Kind {
	case KindSoftmax:
		if s.Hidden != 0 {
			return fmt.Errorf("%w: softmax has no hidden layer, Hidden is %d", ErrSpec, s.Hidden)
		}
	case KindMLP:
		if s.Hidden < 1 {
			return fmt.Errorf("%w: mlp Hidden is %d, want >= 1", ErrSpec, s.Hidden)
		}
	default:
		return fmt.Errorf("%w: Kind %q, want %q or %q", ErrSpec, s.Kind, KindSoftmax, KindMLP)
	}
	if s.Inputs < 1 {
		return fmt.Errorf("%w: Inputs is %d, want >= 1", ErrSpec, s.Inputs)
	}
	if s.Classes < 2 {
		return fmt.Errorf("%w: Classes is %d, want >= 2", ErrSpec, s.Classes)
	}
	if !(s.LearningRate > 0) || math.IsInf(s.LearningRate, 1) {
		return fmt.Errorf("%w: LearningRate is %v, want a finite number > 0", ErrSpec, s.LearningRate)
	}
	if !(s.Momentum >= 0 && s.Momentum < 1) {
		return fmt.Errorf("%w: Momentum is %v, want [0, 1)", ErrSpec, s.Momentum)
	}
	if s.BatchSize < 1 {
		return fmt.Errorf("%w: BatchSize is %d, want >= 1", ErrSpec, s.BatchSize)
	}
	return nil
}

// dims is the width of each layer's input, then the output width:
// [Inputs, Classes] or [Inputs, Hidden, Classes].
func (s Spec) dims() []int {
	if s.Kind == KindMLP {
		return []int{s.Inputs, s.Hidden, s.Classes}
	}
	return []int{s.Inputs, s.Classes}
}

// NumParams is the length of the flat parameter vector: for each layer,
// in×out weights and out biases.
func (s Spec) NumParams() int {
	d := s.dims()
	n := 0
	for l := 0; l+1 < len(d); l++ {
		n += d[l]*d[l+1] + d[l+1]
	}
	return n
}

// FLOPsPerSample is the arithmetic of one training sample, forward and
// backward, counting a multiply-add as 2 FLOPs:
//
//   - forward: 2·in·out per layer, plus out for the bias, 1 per hidden
//     unit for the ReLU and 4 per class for the log-softmax;
//   - backward: 2·in·out per layer for the weight gradient, 2·in·out more
//     for the gradient to the layer's input (every layer but the first),
//     out for the bias gradient, 1 per hidden unit and 4 per class;
//   - update: one SGD step per batch of 2 FLOPs per parameter (4 with
//     momentum), shared by the batch's samples.
//
// It is the figure a gpu.Job states; the hardware model turns it into
// time.
func (s Spec) FLOPsPerSample() float64 {
	d := s.dims()
	var f float64
	for l := 0; l+1 < len(d); l++ {
		in, out := float64(d[l]), float64(d[l+1])
		f += 2*in*out + out // forward matmul and bias
		f += 2*in*out + out // weight and bias gradients
		if l > 0 {
			f += 2 * in * out // gradient to the layer's input
		}
	}
	if s.Kind == KindMLP {
		f += 2 * float64(s.Hidden) // ReLU forward and backward
	}
	f += 8 * float64(s.Classes) // log-softmax and its gradient
	update := 2.0
	if s.Momentum > 0 {
		update = 4
	}
	f += update * float64(s.NumParams()) / float64(max(s.BatchSize, 1))
	return f
}
