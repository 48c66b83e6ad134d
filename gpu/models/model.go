package models

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/dais-sim/dais/gpu/datasets"
)

// Errors of Model methods.
var (
	// ErrParams means a parameter vector of the wrong length, or one
	// holding NaN or infinity.
	ErrParams = errors.New("models: invalid parameters")
	// ErrData means a data set that does not fit the model: rows of the
	// wrong width, labels outside [0, Classes), or no rows to train on.
	ErrData = errors.New("models: data does not fit the model")
	// ErrDiverged means training produced a non-finite loss; the learning
	// rate is too high for the data.
	ErrDiverged = errors.New("models: training diverged")
)

// PCG streams, so that one Spec.Seed gives unrelated draws for the initial
// weights and for the visiting order.
const (
	streamInit    = 0x6d_6f_64_65_6c_69_6e_69 // "modelini"
	streamShuffle = 0x6d_6f_64_65_6c_73_68_75 // "modelshu"
)

// Model is a classifier whose training runs on a gorgonia expression graph
// and whose inference runs in plain Go (forward.go) on the same
// parameters.
//
// The parameters live in one flat []float64, in this order, every matrix
// row-major:
//
//	softmax: W (Inputs×Classes), b (Classes)
//	mlp:     W1 (Inputs×Hidden), b1 (Hidden), W2 (Hidden×Classes), b2 (Classes)
//
// The graph's weight tensors are views of that slice, so the solver's
// in-place updates are the parameters; Params and SetParams copy out and
// in. A Model is not safe for concurrent use; distinct Models are
// independent and may train on different goroutines.
type Model struct {
	spec   Spec
	params []float64

	// The training graph, built for exactly BatchSize rows: a short last
	// batch is padded with zero rows whose targets are zero, which
	// contribute exactly zero to the loss and the gradients.
	vm     G.VM
	solver G.Solver
	learn  G.Nodes   // W1, b1, W2, b2 in params order
	loss   *G.Node   // −Σ target ⊙ log-softmax(logits)
	x      []float64 // backing of the input batch, BatchSize×Inputs
	target []float64 // backing of the targets, BatchSize×Classes: 1/n at (row, label)

	rng  *rand.Rand // the visiting order; advances across Train calls
	perm []int
}

// buildMu serializes graph construction: gorgonia v0.9.18 numbers node
// groups from an unguarded package counter (internal/encoding.NewGroup,
// reached from Rectify), a data race when two goroutines build graphs at
// once. The counter only labels nodes for visualization, so it never
// changes the arithmetic; the lock is there so that drivers running
// TrainJobs on a worker pool stay clean under -race. Running graphs needs
// no lock.
var buildMu sync.Mutex

// New builds a model with Glorot-uniform weights and zero biases drawn
// from spec.Seed.
func New(spec Spec) (*Model, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	m := &Model{
		spec:   spec,
		params: make([]float64, spec.NumParams()),
		rng:    rand.New(rand.NewPCG(spec.Seed, streamShuffle)),
	}
	initGlorot(spec, m.params, rand.New(rand.NewPCG(spec.Seed, streamInit)))
	buildMu.Lock()
	err := m.build()
	buildMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("models: building the %s graph: %w", spec.Kind, err)
	}
	return m, nil
}

// initGlorot fills each weight matrix with U(−a, a), a = √(6/(in+out))
// (Glorot & Bengio 2010), and each bias with 0.
func initGlorot(s Spec, p []float64, rng *rand.Rand) {
	d := s.dims()
	off := 0
	for l := 0; l+1 < len(d); l++ {
		in, out := d[l], d[l+1]
		a := math.Sqrt(6 / float64(in+out))
		for i := range in * out {
			p[off+i] = a * (2*rng.Float64() - 1)
		}
		off += in*out + out // the biases stay 0
	}
}

func (m *Model) build() (err error) {
	s := m.spec
	bs := s.BatchSize
	g := G.NewGraph()
	m.x = make([]float64, bs*s.Inputs)
	m.target = make([]float64, bs*s.Classes)
	x := G.NewMatrix(g, G.Float64, G.WithShape(bs, s.Inputs), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(bs, s.Inputs), tensor.WithBacking(m.x))))
	t := G.NewMatrix(g, G.Float64, G.WithShape(bs, s.Classes), G.WithName("target"),
		G.WithValue(tensor.New(tensor.WithShape(bs, s.Classes), tensor.WithBacking(m.target))))

	// gorgonia reports shape and type errors from each constructor; a
	// validated Spec never causes one, so the first error is kept and the
	// rest of the graph is skipped.
	step := func(n *G.Node, e error) *G.Node {
		if err == nil {
			err = e
		}
		return n
	}
	d := s.dims()
	h, off := x, 0
	for l := 0; l+1 < len(d) && err == nil; l++ {
		in, out := d[l], d[l+1]
		wv := m.params[off : off+in*out : off+in*out]
		bv := m.params[off+in*out : off+in*out+out : off+in*out+out]
		off += in*out + out
		w := G.NewMatrix(g, G.Float64, G.WithShape(in, out), G.WithName(fmt.Sprintf("W%d", l+1)),
			G.WithValue(tensor.New(tensor.WithShape(in, out), tensor.WithBacking(wv))))
		b := G.NewMatrix(g, G.Float64, G.WithShape(1, out), G.WithName(fmt.Sprintf("b%d", l+1)),
			G.WithValue(tensor.New(tensor.WithShape(1, out), tensor.WithBacking(bv))))
		m.learn = append(m.learn, w, b)
		z := step(G.BroadcastAdd(step(G.Mul(h, w)), b, nil, []byte{0}))
		if l+2 < len(d) {
			z = step(G.Rectify(z))
		}
		h = z
	}
	// tensor v0.9.23's softmax kernel shifts every row by the batch's
	// first logit rather than by the row's own maximum: mathematically
	// the same, but logits hundreds apart would overflow.
	// Training that got there has already diverged, and Train reports the
	// non-finite loss as ErrDiverged.
	logp := step(G.LogSoftMax(h))
	m.loss = step(G.Neg(step(G.Sum(step(G.HadamardProd(t, logp))))))
	if err != nil {
		return err
	}
	if _, err := G.Grad(m.loss, m.learn...); err != nil {
		return err
	}
	m.vm = G.NewTapeMachine(g, G.BindDualValues(m.learn...))
	if s.Momentum > 0 {
		m.solver = G.NewMomentum(G.WithLearnRate(s.LearningRate), G.WithMomentum(s.Momentum))
	} else {
		m.solver = G.NewVanillaSolver(G.WithLearnRate(s.LearningRate))
	}
	return nil
}

// Spec is the spec the model was built from.
func (m *Model) Spec() Spec { return m.spec }

// NumParams is the length of Params.
func (m *Model) NumParams() int { return len(m.params) }

// FLOPsPerSample is Spec.FLOPsPerSample.
func (m *Model) FLOPsPerSample() float64 { return m.spec.FLOPsPerSample() }

// Params is a copy of the parameters in the documented order; the caller
// owns it.
func (m *Model) Params() []float64 { return append([]float64(nil), m.params...) }

// SetParams replaces the parameters with a copy of p. Momentum state, if
// any, is kept: SetParams moves the model, it does not restart training.
func (m *Model) SetParams(p []float64) error {
	if len(p) != len(m.params) {
		return fmt.Errorf("%w: %d values, the %s model has %d", ErrParams, len(p), m.spec.Kind, len(m.params))
	}
	for i, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: parameter %d is %v", ErrParams, i, v)
		}
	}
	copy(m.params, p)
	return nil
}

// checkData reports a data set whose rows or labels do not fit the model.
func (m *Model) checkData(ds datasets.Dataset) error {
	if err := ds.Validate(m.spec.Classes); err != nil {
		return fmt.Errorf("%w: %w", ErrData, err)
	}
	if ds.Len() > 0 && ds.Features() != m.spec.Inputs {
		return fmt.Errorf("%w: rows have %d features, the model takes %d", ErrData, ds.Features(), m.spec.Inputs)
	}
	return nil
}

// Train runs epochs passes of mini-batch SGD over ds and returns the mean
// cross-entropy loss of the last pass (as measured during it, before each
// batch's step). Each pass visits the rows in an order drawn from the
// model's shuffling stream, which continues across calls; a short last
// batch is a mean over its own rows. The result depends only on the Spec,
// the parameters before the call, the stream's position and ds, never on
// GOMAXPROCS or timing.
func (m *Model) Train(ds datasets.Dataset, epochs int) (loss float64, err error) {
	if err := m.checkData(ds); err != nil {
		return 0, err
	}
	if ds.Len() == 0 {
		return 0, fmt.Errorf("%w: no rows to train on", ErrData)
	}
	if epochs < 1 {
		return 0, fmt.Errorf("models: Train with %d epochs, want >= 1", epochs)
	}
	n := ds.Len()
	if len(m.perm) != n {
		m.perm = make([]int, n)
	}
	for e := range epochs {
		// Start each pass from the identity so the order depends on the
		// stream alone, not on the data set the model trained on before.
		for i := range m.perm {
			m.perm[i] = i
		}
		m.rng.Shuffle(n, func(i, j int) { m.perm[i], m.perm[j] = m.perm[j], m.perm[i] })
		var sum float64
		for lo := 0; lo < n; lo += m.spec.BatchSize {
			rows := m.perm[lo:min(lo+m.spec.BatchSize, n)]
			l, err := m.step(ds, rows)
			if err != nil {
				return 0, err
			}
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return 0, fmt.Errorf("%w: loss %v in epoch %d", ErrDiverged, l, e+1)
			}
			sum += l * float64(len(rows))
		}
		loss = sum / float64(n)
	}
	return loss, nil
}

// step is one SGD step on the given rows of ds; it returns the batch's
// mean loss before the step.
func (m *Model) step(ds datasets.Dataset, rows []int) (float64, error) {
	in, k := m.spec.Inputs, m.spec.Classes
	clear(m.x)
	clear(m.target)
	w := 1 / float64(len(rows))
	for i, r := range rows {
		copy(m.x[i*in:(i+1)*in], ds.X[r])
		m.target[i*k+ds.Y[r]] = w
	}
	defer m.vm.Reset()
	if err := m.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("models: forward/backward: %w", err)
	}
	loss, ok := m.loss.Value().Data().(float64)
	if !ok {
		return 0, fmt.Errorf("models: loss is %T, want float64", m.loss.Value().Data())
	}
	if err := m.solver.Step(G.NodesToValueGrads(m.learn)); err != nil {
		return 0, fmt.Errorf("models: SGD step: %w", err)
	}
	return loss, nil
}
