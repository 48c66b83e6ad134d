// Package models holds the classifiers that federated learning trains for
// real: softmax regression and a one-hidden-layer ReLU MLP, trained by
// mini-batch SGD on a gorgonia expression graph (gorgonia.org/gorgonia),
// with inference in plain Go. Parameters cross the package boundary as one
// flat []float64 in a documented order, which is what protocol/learn
// aggregates.
//
//	m, _ := models.New(models.Optdigits(models.KindMLP))
//	loss, _ := m.Train(train, 15)  // 15 epochs of SGD
//	acc := m.Accuracy(test)        // ≈ 0.967 on optdigits
//
// A TrainJob (global parameters, a learner's rows, local epochs) is the
// gpu.Work of one learner's round: Job states its cost for the hardware
// model, Run returns the parameter delta.
//
// Determinism: training computes in float64 on the CPU, and the same Spec,
// starting parameters and data give bit-identical parameters in any
// process, at any GOMAXPROCS and on any goroutine; the tests check it.
// Gorgonia and gonum do run goroutines inside a step, but each output
// value is summed by one goroutine in a fixed order. Results are not
// promised identical across architectures (arm64 fuses multiply-adds).
//
// gorgonia.org/tensor imports go4.org/unsafe/assume-no-moving-gc, whose
// old versions panic at start on Go releases they do not know; go.mod
// must require its newest version.
//
// This is driver-side code (it runs goroutines and allocates freely):
// protocol never imports it, and reaches a TrainJob only as a gpu.Job.
package models
