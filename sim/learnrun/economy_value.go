package learnrun

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/datavalue"
)

// valuation is what the data sets are worth, measured once, when they are
// registered (modeled as done before training starts).
type valuation struct {
	// On the validation rows (what the protocol sees): leave-one-out,
	// Monte Carlo Shapley and its standard errors, and exact Shapley
	// (nil unless there are at most Valuation.Exact providers).
	loo, shapley, stderr, exact []float64
	// Known to the simulator alone: the value on the 1,797 test rows the
	// protocol never sees — exact Shapley when exact is computed, else the
	// same Monte Carlo estimator (antithetic orders, exact first two and
	// last positions) on orders drawn independently — and leave-one-out
	// there.
	truth, truthLOO []float64
	// full is the whole market's validation gain; truncated the marginal
	// contributions truncation skipped.
	full      float64
	truncated int
	// Host cost: models trained, and the time it took.
	trainings int
	wall      time.Duration
	// game is the validation utility, every coalition evaluated kept.
	game *datavalue.Cache
}

// valuer trains softmax regression on a coalition's unique rows and
// measures the gain in mean Brier score (brier: bounded, so that a
// skewed set cannot blow up small coalitions' utility) on the validation
// and the test rows over the untrained model: u(S) = B(θ₀) − B(θ_S),
// u(∅) = 0. The
// default trainer fits the model to its optimum (softmaxFit: L-BFGS, L2),
// so u is a function of the coalition's rows alone; the "sgd" trainer
// runs gorgonia's SGD (models.Model.Train) for Epochs from the same
// initial weights and seed, whose visiting order changes with the number
// of rows — noise that swamps leave-one-out differences at 20 providers
// (BENCHMARKS.md). Each coalition trains once; both gains come from its
// one model.
type valuer struct {
	spec      models.Spec
	epochs    int
	fit       *softmaxFit
	sets      []datasets.Dataset
	seed      datasets.Dataset
	val, test datasets.Dataset
	base      [2]float64
	done      map[datavalue.Coalition][2]float64
	trainings int
	evals     int
	wall      time.Duration
	err       error
}

func (v *valuer) gains(c datavalue.Coalition) [2]float64 {
	if g, ok := v.done[c]; ok {
		return g
	}
	v.prefetch([]datavalue.Coalition{c})
	return v.done[c]
}

// prefetch trains the models of coalitions not yet trained, on up to
// GOMAXPROCS goroutines: each model is a function of its coalition alone,
// so the results, stored in the given order once all are done, are the
// same whatever finishes first. Only the L-BFGS trainer runs in
// parallel; gorgonia's graph building takes a global lock.
func (v *valuer) prefetch(cs []datavalue.Coalition) {
	var todo []datavalue.Coalition
	for _, c := range cs {
		if _, ok := v.done[c]; !ok && !slices.Contains(todo, c) {
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 {
		return
	}
	start := time.Now()
	out := make([]trained, len(todo))
	workers := 1
	if v.fit != nil {
		workers = min(runtime.GOMAXPROCS(0), len(todo))
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for k := range next {
				out[k] = v.train(v.rows(todo[k]))
			}
		})
	}
	for k := range todo {
		next <- k
	}
	close(next)
	wg.Wait()
	v.wall += time.Since(start)
	for k, c := range todo {
		v.done[c] = out[k].gains
		if out[k].rows > 0 {
			v.trainings++
		}
		v.evals += out[k].evals
		if out[k].err != nil && v.err == nil {
			v.err = out[k].err
		}
	}
}

// rows are the seed's and c's members' unique rows.
func (v *valuer) rows(c datavalue.Coalition) datasets.Dataset {
	rows := datasets.Dataset{X: slices.Clone(v.seed.X), Y: slices.Clone(v.seed.Y)}
	for i, s := range v.sets {
		if c.Has(i) {
			rows.X = append(rows.X, s.X...)
			rows.Y = append(rows.Y, s.Y...)
		}
	}
	return rows
}

// trained is one coalition's model's outcome.
type trained struct {
	gains [2]float64
	rows  int
	evals int
	err   error
}

// train fits a model to rows and measures its gains; no rows is the
// untrained model (no gain). It reads only v's configuration, so
// several may run at once.
func (v *valuer) train(rows datasets.Dataset) trained {
	t := trained{rows: rows.Len()}
	if t.rows == 0 {
		return t
	}
	var params []float64
	var err error
	if v.fit != nil {
		params, t.evals, err = v.fit.fit(rows)
	} else {
		var m *models.Model
		if m, err = models.New(v.spec); err == nil {
			if _, err = m.Train(rows, v.epochs); err == nil {
				params = m.Params()
			}
		}
	}
	if err != nil {
		t.err = err
		return t
	}
	in, k := v.spec.Inputs, v.spec.Classes
	t.gains = [2]float64{v.base[0] - brier(params, in, k, v.val), v.base[1] - brier(params, in, k, v.test)}
	return t
}

// utility is u(c): the gain of c's model over the seed's (every
// coalition's model also trains on the seed rows; u(∅) = 0).
func (v *valuer) utility(c datavalue.Coalition, test int) float64 {
	return v.gains(c)[test] - v.gains(0)[test]
}

// lookAhead is how many coalitions along a Monte Carlo order are trained
// at once.
const lookAhead = 4

// valueData measures every data set's value.
func valueData(spec *EconomySpec, seed uint64, reg *registry, val, test datasets.Dataset) (*valuation, error) {
	vs := spec.Value
	ms := models.Optdigits(models.KindSoftmax)
	ms.BatchSize, ms.LearningRate, ms.Seed = vs.BatchSize, vs.LearningRate, protocol.DeriveSeed(seed, "valuation", 0)
	v := &valuer{spec: ms, epochs: vs.Epochs, seed: reg.seed, val: val, test: test, done: map[datavalue.Coalition][2]float64{}}
	for _, s := range reg.sets {
		v.sets = append(v.sets, s.unique)
	}
	m, err := models.New(ms)
	if err != nil {
		return nil, err
	}
	if vs.Trainer != TrainerSGD {
		v.fit = &softmaxFit{inputs: ms.Inputs, classes: ms.Classes, l2: vs.L2, iters: 200, tol: 1e-3}
		if v.seed.Len() > 0 {
			// Every coalition's rows include the seed's: start from the
			// seed's model (the same point for all, so each still finds its
			// own optimum, in fewer steps).
			if v.fit.start, _, err = v.fit.fit(v.seed); err != nil {
				return nil, err
			}
		}
	}
	v.base = [2]float64{brier(m.Params(), ms.Inputs, ms.Classes, val), brier(m.Params(), ms.Inputs, ms.Classes, test)}
	onVal := datavalue.NewCache(func(c datavalue.Coalition) float64 { return v.utility(c, 0) })
	onTest := datavalue.NewCache(func(c datavalue.Coalition) float64 { return v.utility(c, 1) })
	for _, c := range []*datavalue.Cache{onVal, onTest} {
		// A fixed look-ahead, not GOMAXPROCS: how many models are trained
		// (a figure of the run) must not depend on the machine.
		c.Prefetch, c.Batch = v.prefetch, lookAhead
	}
	n := len(v.sets)
	out := &valuation{loo: datavalue.LeaveOneOut(n, onVal), truthLOO: datavalue.LeaveOneOut(n, onTest), game: onVal}
	out.full = onVal.Value(datavalue.All(n))
	mc := datavalue.MonteCarlo{Permutations: vs.Permutations, Tolerance: vs.Tolerance, Antithetic: true, Head: 2, Last: true}
	est, err := mc.Estimate(n, onVal, protocol.Stream(seed, "shapley", 0))
	if err != nil {
		return nil, err
	}
	out.shapley, out.stderr, out.truncated = est.Values, est.StdErr, est.Truncated
	if n <= vs.Exact {
		if out.exact, err = datavalue.Exact(n, onVal); err != nil {
			return nil, err
		}
		if out.truth, err = datavalue.Exact(n, onTest); err != nil {
			return nil, err
		}
	} else if vs.Truth {
		// The same estimator on the test rows, on orders of its own, so
		// that the truth does not share the estimate's sampling error.
		t, err := mc.Estimate(n, onTest, protocol.Stream(seed, "shapley-truth", 0))
		if err != nil {
			return nil, err
		}
		out.truth = t.Values
	}
	if out.truth == nil {
		out.truth = make([]float64, n)
		for i := range out.truth {
			out.truth[i] = math.NaN()
		}
	}
	out.trainings, out.wall = v.trainings, v.wall
	return out, v.err
}

// values are what rewards pay by: exact Shapley when it was computed,
// else the Monte Carlo estimate.
func (v *valuation) values() []float64 {
	if v.exact != nil {
		return v.exact
	}
	return v.shapley
}

// mcError is the Monte Carlo estimate's error against exact Shapley: the
// largest absolute difference and the root mean square, both over the
// mean absolute exact value (NaN without exact values).
func (v *valuation) mcError() (maxRel, rmsRel float64) {
	if v.exact == nil {
		return math.NaN(), math.NaN()
	}
	var scale, sq float64
	for i, x := range v.exact {
		scale += math.Abs(x)
		d := math.Abs(v.shapley[i] - x)
		maxRel = max(maxRel, d)
		sq += d * d
	}
	scale /= float64(len(v.exact))
	n := float64(len(v.exact))
	return maxRel / scale, math.Sqrt(sq/n) / scale
}
