package models

import (
	"testing"

	"github.com/dais-sim/dais/gpu/datasets"
)

// BenchmarkTrainStep is one SGD step on a full batch of 32 rows: forward,
// backward and update on the gorgonia graph. The MFLOP/s figure uses the
// FLOPs a gpu.Job would state for the same rows.
func BenchmarkTrainStep(b *testing.B) {
	train, _ := load(b)
	for _, kind := range []string{KindSoftmax, KindMLP} {
		b.Run(kind, func(b *testing.B) {
			s := Optdigits(kind)
			m := newModel(b, s)
			batch := make([]int, s.BatchSize)
			for i := range batch {
				batch[i] = i
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.step(train, batch); err != nil {
					b.Fatal(err)
				}
			}
			flops := s.FLOPsPerSample() * float64(s.BatchSize) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e6, "MFLOP/s")
		})
	}
}

// BenchmarkEpoch is one pass over all 3,823 training rows in batches of
// 32 (120 steps), and the test accuracy the settings reach, measured once
// after 15 epochs outside the timer.
func BenchmarkEpoch(b *testing.B) {
	train, test := load(b)
	for _, kind := range []string{KindSoftmax, KindMLP} {
		b.Run(kind, func(b *testing.B) {
			m := newModel(b, Optdigits(kind))
			for b.Loop() {
				if _, err := m.Train(train, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			c := newModel(b, Optdigits(kind))
			if _, err := c.Train(train, 15); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(100*c.Accuracy(test), "test-acc-%")
		})
	}
}

// BenchmarkNew is building a model and its graph: the fixed cost of every
// TrainJob.
func BenchmarkNew(b *testing.B) {
	for _, kind := range []string{KindSoftmax, KindMLP} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				newModel(b, Optdigits(kind))
			}
		})
	}
}

// BenchmarkFedRound is one FedAvg round of TestFederatedIID: 20 IID
// providers, 2 local epochs each in batches of 10, run one after another.
func BenchmarkFedRound(b *testing.B) {
	train, _ := load(b)
	parts, err := datasets.IID(train, 20, 1)
	if err != nil {
		b.Fatal(err)
	}
	shards := make([]datasets.Dataset, len(parts))
	for p, idx := range parts {
		shards[p] = train.Subset(idx)
	}
	s := Optdigits(KindMLP)
	s.BatchSize = 10
	global := newModel(b, s).Params()
	r := 0
	for b.Loop() {
		r++
		fedRound(b, s, global, shards, r, 2)
	}
}
