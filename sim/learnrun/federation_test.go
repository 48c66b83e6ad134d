package learnrun

import (
	"testing"

	"github.com/dais-sim/dais/gpu/datasets/optdigits"
	"github.com/dais-sim/dais/scenarios/learning"
)

// A Federation is the run's own job: the same initial model (so the same
// round-0 accuracy), the providers' rows are the training set less the
// validation rows, and a provider's job trains a delta of the model's
// size.
func TestFederationIsTheRunsJob(t *testing.T) {
	p := learning.DefaultParams()
	p.Providers, p.Validators, p.Rounds, p.Epochs = 3, 1, 1, 1
	f, err := learning.NewFederation(&p, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(&p)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Accuracy(f.Initial()); got != res.Accuracy[0] {
		t.Errorf("initial model's accuracy %v, the run's %v", got, res.Accuracy[0])
	}
	var rows uint64
	for i := range p.Providers {
		_, n := f.Train(i)
		rows += n
	}
	if want := uint64(optdigits.TrainRows - p.ValidationRows); rows != want {
		t.Errorf("providers hold %d rows, want %d", rows, want)
	}
	train, _ := f.Train(0)
	out, err := train(5, 1, f.Initial()).Work.Run()
	if d, ok := out.([]float64); err != nil || !ok || len(d) != len(f.Initial()) {
		t.Fatalf("training job: %T, %v", out, err)
	}
	scores, err := f.Score(0)(0, 1, f.Initial(), [][]float64{out.([]float64)}).Work.Run()
	if s, ok := scores.([]float64); err != nil || !ok || len(s) != 1 || !(s[0] > 0) {
		t.Errorf("an honest delta scores %v (%v), want one positive score", scores, err)
	}
}
