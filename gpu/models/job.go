package models

import (
	"fmt"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/datasets"
)

// TrainJob is one learner's local training in a federated round, as real
// work a gpu.Job can carry: from the global parameters, Epochs passes of
// SGD over Data, and the change in the parameters as the output. Run is a
// pure function of the TrainJob's fields, so the simulator may run it
// ahead of time on any goroutine; Global and Data are read, never
// written, and may be shared by concurrent jobs.
type TrainJob struct {
	// Spec is the model and optimizer. Its Seed orders the rows; give each
	// learner and round its own (the initial weights it would also draw
	// are replaced by Global).
	Spec Spec
	// Global is the parameters the round starts from, in the Model's
	// order.
	Global []float64
	// Data is the learner's own rows.
	Data datasets.Dataset
	// Epochs is the number of local passes over Data, >= 1.
	Epochs int
}

// Run trains and returns the delta (local − Global) as a []float64 the
// caller owns: the learn.Update.Delta of this learner, whose Weight is
// Data.Len(). The error is non-nil for a bad Spec, Global or Data, or a
// diverged run.
func (j TrainJob) Run() (any, error) {
	delta, _, err := j.Train()
	if err != nil {
		return nil, err
	}
	return delta, nil
}

// Train is Run with the mean training loss of the last local epoch, for
// drivers that report it.
func (j TrainJob) Train() (delta []float64, loss float64, err error) {
	m, err := New(j.Spec)
	if err != nil {
		return nil, 0, err
	}
	if err := m.SetParams(j.Global); err != nil {
		return nil, 0, err
	}
	if loss, err = m.Train(j.Data, j.Epochs); err != nil {
		return nil, 0, err
	}
	delta = m.Params()
	for i, g := range j.Global {
		delta[i] -= g
	}
	return delta, loss, nil
}

// Job is the gpu.Job that carries j, with its cost stated for the
// hardware model:
//
//   - FLOPs: Spec.FLOPsPerSample × rows × epochs;
//   - Bytes: per SGD step, the parameters read twice (forward and
//     backward), their gradients written and read, and the parameters
//     written (5 passes over 4-byte values), plus each sample's input and
//     activations written and read once;
//   - MemBytes: the data, the parameters, gradients and momentum, and
//     one batch of activations, in 4-byte values.
//
// Sizes are for FP32, the precision a GPU would train this in; on a CPU
// the package computes in float64, which the simulator does not time.
func (j TrainJob) Job() (gpu.Job, error) {
	if err := j.Spec.Validate(); err != nil {
		return gpu.Job{}, err
	}
	if j.Epochs < 1 {
		return gpu.Job{}, fmt.Errorf("models: TrainJob with %d epochs, want >= 1", j.Epochs)
	}
	s := j.Spec
	rows := float64(j.Data.Len())
	epochs := float64(j.Epochs)
	const word = 4 // bytes per FP32 value
	params := float64(s.NumParams())
	d := s.dims()
	var act float64 // values per sample: input, each layer's output
	for _, w := range d {
		act += float64(w)
	}
	steps := epochs * float64((j.Data.Len()+s.BatchSize-1)/s.BatchSize)
	bytes := steps*5*params*word + epochs*rows*2*act*word
	mem := (rows*float64(s.Inputs+1) + 3*params + float64(s.BatchSize)*2*act) * word
	return gpu.Job{
		Kind:      "train",
		FLOPs:     s.FLOPsPerSample() * rows * epochs,
		Bytes:     bytes,
		MemBytes:  int64(mem),
		Precision: gpu.FP32,
		Work:      j,
	}, nil
}
