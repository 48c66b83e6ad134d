package models_test

import (
	"fmt"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/protocol/learn"
)

// The centralized baseline: softmax regression trained on all 3,823 training rows
// for 10 epochs classifies the 1,797 test rows, written by other people (TestCentralized
// holds the MLP to its 96.7%).
func Example() {
	train, test, err := optdigits.Load()
	if err != nil {
		panic(err)
	}
	m, err := models.New(models.Optdigits(models.KindSoftmax))
	if err != nil {
		panic(err)
	}
	if _, err := m.Train(train, 10); err != nil {
		panic(err)
	}
	fmt.Println("test accuracy >= 90%:", m.Accuracy(test) >= 0.90)
	// Output: test accuracy >= 90%: true
}

// A federated round as a driver runs it: each learner's local training is
// a gpu.Job whose duration the hardware model gives, while Run does the
// real arithmetic; FedAvg joins the deltas.
func ExampleTrainJob() {
	train, _, _ := optdigits.Load()
	parts, _ := datasets.IID(train, 3, 1)
	spec := models.Optdigits(models.KindSoftmax)
	m, _ := models.New(spec)
	global := m.Params()
	h100, _ := gpu.Lookup("h100")

	var us []learn.Update
	for p, rows := range parts {
		spec.Seed = uint64(p) // each learner shuffles its own way
		tj := models.TrainJob{Spec: spec, Global: global, Data: train.Subset(rows), Epochs: 1}
		job, _ := tj.Job()
		ns, bound, _ := gpu.DefaultModel.Duration(h100, job)
		out, _ := job.Work.Run()
		us = append(us, learn.Update{Delta: out.([]float64), Weight: float64(len(rows))})
		fmt.Printf("learner %d: %d rows, %.3g FLOPs, %d ns on an h100 (%s)\n", p, len(rows), job.FLOPs, ns, bound)
	}
	delta, _ := learn.FedAvg{}.Aggregate(us)
	fmt.Println("parameters moved:", len(delta))
	// Output:
	// learner 0: 1275 rows, 3.5e+06 FLOPs, 10476 ns on an h100 (memory-bound)
	// learner 1: 1274 rows, 3.49e+06 FLOPs, 10476 ns on an h100 (memory-bound)
	// learner 2: 1274 rows, 3.49e+06 FLOPs, 10476 ns on an h100 (memory-bound)
	// parameters moved: 650
}
