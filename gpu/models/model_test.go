package models

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
)

func load(t testing.TB) (train, test datasets.Dataset) {
	t.Helper()
	train, test, err := optdigits.Load()
	if err != nil {
		t.Fatal(err)
	}
	return train, test
}

func newModel(t testing.TB, s Spec) *Model {
	t.Helper()
	m, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// rows is rows [lo, hi) of ds.
func rows(ds datasets.Dataset, lo, hi int) datasets.Dataset {
	return datasets.Dataset{X: ds.X[lo:hi], Y: ds.Y[lo:hi]}
}

func TestSpecValidate(t *testing.T) {
	good := Optdigits(KindMLP)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := Optdigits(KindSoftmax).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(*Spec)
	}{
		{"unknown kind", func(s *Spec) { s.Kind = "cnn" }},
		{"mlp without hidden", func(s *Spec) { s.Hidden = 0 }},
		{"softmax with hidden", func(s *Spec) { s.Kind = KindSoftmax }},
		{"no inputs", func(s *Spec) { s.Inputs = 0 }},
		{"one class", func(s *Spec) { s.Classes = 1 }},
		{"zero rate", func(s *Spec) { s.LearningRate = 0 }},
		{"NaN rate", func(s *Spec) { s.LearningRate = math.NaN() }},
		{"momentum 1", func(s *Spec) { s.Momentum = 1 }},
		{"negative momentum", func(s *Spec) { s.Momentum = -0.1 }},
		{"zero batch", func(s *Spec) { s.BatchSize = 0 }},
	} {
		s := good
		c.edit(&s)
		if err := s.Validate(); !errors.Is(err, ErrSpec) {
			t.Errorf("%s: Validate = %v, want ErrSpec", c.name, err)
		}
		if _, err := New(s); !errors.Is(err, ErrSpec) {
			t.Errorf("%s: New = %v, want ErrSpec", c.name, err)
		}
	}
}

// The figures are worked by hand from the formulas in the doc comments.
func TestNumParamsAndFLOPs(t *testing.T) {
	soft, mlp := Optdigits(KindSoftmax), Optdigits(KindMLP)
	plain := mlp
	plain.Momentum = 0
	for _, c := range []struct {
		name   string
		s      Spec
		params int
		flops  float64
	}{
		// 64·10 + 10 = 650.
		// 2·640+10 forward, 2·640+10 backward, 8·10 softmax, 4·650/32 update.
		{"softmax", soft, 650, 1290 + 1290 + 80 + 81.25},
		// 64·64+64 + 64·10+10 = 4810.
		// layer 1: 8256 forward, 8256 backward; layer 2: 1290 forward,
		// 1290+1280 backward; ReLU 128; softmax 80; update 4·4810/32.
		{"mlp", mlp, 4810, 8256 + 8256 + 1290 + 2570 + 128 + 80 + 601.25},
		{"mlp plain SGD", plain, 4810, 8256 + 8256 + 1290 + 2570 + 128 + 80 + 300.625},
	} {
		if got := c.s.NumParams(); got != c.params {
			t.Errorf("%s: NumParams %d, want %d", c.name, got, c.params)
		}
		if got := c.s.FLOPsPerSample(); got != c.flops {
			t.Errorf("%s: FLOPsPerSample %v, want %v", c.name, got, c.flops)
		}
		m := newModel(t, c.s)
		if m.NumParams() != c.params || len(m.Params()) != c.params || m.FLOPsPerSample() != c.flops {
			t.Errorf("%s: model disagrees with its spec", c.name)
		}
	}
}

func TestParams(t *testing.T) {
	m := newModel(t, Optdigits(KindMLP))
	p := m.Params()
	// Glorot bounds and zero biases: W1 in ±√(6/128), b1 = 0.
	a1 := math.Sqrt(6.0 / 128)
	for i, v := range p[:64*64] {
		if math.Abs(v) > a1 {
			t.Fatalf("W1[%d] = %v outside ±%v", i, v, a1)
		}
	}
	if slices.ContainsFunc(p[64*64:64*64+64], func(v float64) bool { return v != 0 }) {
		t.Fatal("b1 not zero")
	}
	p[0] = 42
	if m.Params()[0] == 42 {
		t.Fatal("Params shares its slice with the model")
	}
	if err := m.SetParams(p); err != nil {
		t.Fatal(err)
	}
	p[1] = 43
	if got := m.Params(); got[0] != 42 || got[1] == 43 {
		t.Fatal("SetParams did not copy")
	}
	if err := m.SetParams(p[:10]); !errors.Is(err, ErrParams) {
		t.Errorf("short vector: %v, want ErrParams", err)
	}
	p[2] = math.Inf(1)
	if err := m.SetParams(p); !errors.Is(err, ErrParams) {
		t.Errorf("infinite parameter: %v, want ErrParams", err)
	}
	// The same seed draws the same weights; another seed others.
	if !slices.Equal(newModel(t, Optdigits(KindMLP)).Params(), newModel(t, Optdigits(KindMLP)).Params()) {
		t.Error("same seed, different initial weights")
	}
	s := Optdigits(KindMLP)
	s.Seed = 2
	if slices.Equal(newModel(t, s).Params(), newModel(t, Optdigits(KindMLP)).Params()) {
		t.Error("seeds 1 and 2 drew the same weights")
	}
}

// The gorgonia graph (training) and the plain-Go forward pass (inference)
// compute the same loss on the same parameters, for a full batch and for
// a short, padded one, after SetParams moves the parameters.
func TestGraphMatchesForward(t *testing.T) {
	train, _ := load(t)
	for _, kind := range []string{KindSoftmax, KindMLP} {
		for _, n := range []int{32, 27, 1} {
			s := Optdigits(kind)
			m := newModel(t, s)
			rng := rand.New(rand.NewPCG(5, 5))
			p := m.Params()
			for i := range p {
				p[i] += 0.3 * rng.NormFloat64()
			}
			if err := m.SetParams(p); err != nil {
				t.Fatal(err)
			}
			ds := rows(train, 0, n)
			want, err := m.Loss(ds)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Train(ds, 1) // one batch: the loss is taken before the step
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-want) > 1e-12*math.Abs(want) {
				t.Errorf("%s, %d rows: graph loss %.17g, forward loss %.17g", kind, n, got, want)
			}
		}
	}
}

// One plain-SGD step moves the parameters by −rate × the gradient of the
// mean loss, which central differences of the plain-Go loss estimate: this
// checks gorgonia's backward pass, padding rows included, against an
// oracle that shares none of its code.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	train, _ := load(t)
	for _, kind := range []string{KindSoftmax, KindMLP} {
		for _, n := range []int{32, 19} {
			s := Optdigits(kind)
			s.Momentum = 0
			s.LearningRate = 1
			m := newModel(t, s)
			ds := rows(train, 100, 100+n)
			before := m.Params()
			if _, err := m.Train(ds, 1); err != nil {
				t.Fatal(err)
			}
			after := m.Params()
			probe := newModel(t, s)
			rng := rand.New(rand.NewPCG(9, 9))
			const h = 1e-5
			for range 40 {
				i := rng.IntN(len(before))
				p := slices.Clone(before)
				p[i] = before[i] + h
				_ = probe.SetParams(p)
				up, _ := probe.Loss(ds)
				p[i] = before[i] - h
				_ = probe.SetParams(p)
				down, _ := probe.Loss(ds)
				numeric := (up - down) / (2 * h)
				step := before[i] - after[i] // = rate × gradient
				if math.Abs(step-numeric) > 1e-6+1e-4*math.Abs(numeric) {
					t.Errorf("%s, %d rows: parameter %d: SGD step %.9g, finite-difference gradient %.9g", kind, n, i, step, numeric)
				}
			}
		}
	}
}

func TestTrainErrors(t *testing.T) {
	train, _ := load(t)
	m := newModel(t, Optdigits(KindSoftmax))
	narrow := datasets.Dataset{X: [][]float64{{1, 2}}, Y: []int{0}}
	badLabel := datasets.Dataset{X: train.X[:1], Y: []int{10}}
	for _, c := range []struct {
		name   string
		ds     datasets.Dataset
		epochs int
		want   error
	}{
		{"narrow rows", narrow, 1, ErrData},
		{"label 10", badLabel, 1, ErrData},
		{"no rows", datasets.Dataset{}, 1, ErrData},
	} {
		if _, err := m.Train(c.ds, c.epochs); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := m.Train(rows(train, 0, 10), 0); err == nil {
		t.Error("0 epochs: no error")
	}
	if m.Accuracy(narrow) != 0 {
		t.Error("Accuracy of ill-fitting data is not 0")
	}
	s := Optdigits(KindMLP)
	s.LearningRate = 1e6
	s.Momentum = 0
	if _, err := newModel(t, s).Train(train, 1); !errors.Is(err, ErrDiverged) {
		t.Errorf("learning rate 1e6: %v, want ErrDiverged", err)
	}
}

// trainParams trains a fresh model of s for epochs over ds.
func trainParams(t testing.TB, s Spec, ds datasets.Dataset, epochs int) []float64 {
	t.Helper()
	m := newModel(t, s)
	if _, err := m.Train(ds, epochs); err != nil {
		t.Fatal(err)
	}
	return m.Params()
}

func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

// Training is a pure function of spec, parameters and data: the same run
// twice in one process, with GOMAXPROCS 1 and 4, and on concurrent
// goroutines gives bit-identical parameters. Gorgonia's kernels do run
// goroutines (gonum's Dgemm splits large products into blocks, the
// softmax runs one goroutine per row), but each output element is always
// summed by one goroutine in a fixed order, so the schedule cannot change
// a bit.
func TestTrainDeterministic(t *testing.T) {
	train, _ := load(t)
	ds := rows(train, 0, 700)
	for _, kind := range []string{KindSoftmax, KindMLP} {
		s := Optdigits(kind)
		s.BatchSize = 100 // large enough for gonum's blocked parallel Dgemm
		if kind == KindMLP {
			s.Hidden = 130
		}
		ref := trainParams(t, s, ds, 2)
		if sameBits(ref, newModel(t, s).Params()) {
			t.Fatalf("%s: training did not move the parameters", kind)
		}
		if again := trainParams(t, s, ds, 2); !sameBits(again, ref) {
			t.Errorf("%s: second run differs", kind)
		}
		for _, procs := range []int{1, 4} {
			old := runtime.GOMAXPROCS(procs)
			got := trainParams(t, s, ds, 2)
			runtime.GOMAXPROCS(old)
			if !sameBits(got, ref) {
				t.Errorf("%s: GOMAXPROCS %d differs", kind, procs)
			}
		}
		var wg sync.WaitGroup
		got := make([][]float64, 4)
		for i := range got {
			wg.Go(func() { got[i] = trainParams(t, s, ds, 2) })
		}
		wg.Wait()
		for i, p := range got {
			if !sameBits(p, ref) {
				t.Errorf("%s: concurrent run %d differs", kind, i)
			}
		}
		// Another seed visits the rows in another order.
		s.Seed++
		if sameBits(trainParams(t, s, ds, 2), ref) {
			t.Errorf("%s: seed %d gave the same parameters", kind, s.Seed)
		}
	}
}

// The centralized baselines: all 3,823 training rows, accuracy on the
// 1,797 test rows written by other people.
func TestCentralized(t *testing.T) {
	skipClaimUnderRace(t)
	train, test := load(t)
	for _, c := range []struct {
		kind   string
		epochs int
		min    float64
	}{
		{KindSoftmax, 20, 0.93},
		{KindMLP, 15, 0.95},
	} {
		m := newModel(t, Optdigits(c.kind))
		start := time.Now()
		loss, err := m.Train(train, c.epochs)
		if err != nil {
			t.Fatal(err)
		}
		perEpoch := time.Since(start) / time.Duration(c.epochs)
		acc := m.Accuracy(test)
		t.Logf("%s: %d epochs, train loss %.4f, train accuracy %.4f, test accuracy %.4f, %v per epoch",
			c.kind, c.epochs, loss, m.Accuracy(train), acc, perEpoch.Round(time.Microsecond))
		if acc < c.min {
			t.Errorf("%s: test accuracy %.4f, want >= %.2f", c.kind, acc, c.min)
		}
	}
}
