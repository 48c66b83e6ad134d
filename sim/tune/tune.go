package tune

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/runner"
)

// Options tune a Run; the zero value runs quietly on GOMAXPROCS workers
// (or the file's jobs).
type Options struct {
	// Jobs is how many runs go at once (0: the file's jobs, else
	// GOMAXPROCS). The result does not depend on it.
	Jobs int
	// Progress, if not nil, is called after the check run, after each
	// batch of candidates and after the validation.
	Progress func(Progress)
	// CheckOnly stops after the check run (see Run): the Result has no
	// evaluations.
	CheckOnly bool
}

// Progress is where a tuning run stands.
type Progress struct {
	// Done and Budget count candidates; Runs counts simulation runs so far.
	Done, Budget, Runs int
	// Best is the best candidate so far (nil before the first).
	Best *Evaluation
	// Phase is "check", "search" or "validation".
	Phase string
}

// Stat is a mean over repetitions with its 95% confidence interval
// (Student's t; NaN below two defined values) and how many repetitions
// defined it.
type Stat struct {
	Mean, Lo, Hi float64
	N            int
}

func stat(values []float64) Stat {
	mean, reps := metrics.Summarize(values)
	if reps == nil { // one value at most
		n := 0
		if !math.IsNaN(mean) {
			n = 1
		}
		return Stat{Mean: mean, Lo: math.NaN(), Hi: math.NaN(), N: n}
	}
	return Stat{Mean: mean, Lo: reps.CI95Lo, Hi: reps.CI95Hi, N: reps.N}
}

// FigureStat is one figure of a candidate's runs.
type FigureStat struct {
	Key, Unit string
	Stat
}

// Evaluation is one candidate: its parameters and what its runs measured.
type Evaluation struct {
	// Index counts candidates from 1; Generation counts the batches the
	// optimizer asked for together (a CMA-ES generation), from 1.
	Index, Generation int
	// Values are the parameters as run, in the tune file's order, and
	// Overrides the --set arguments that ran them.
	Values    []float64
	Overrides []string
	// Objective is the objective as written; Constraints each constraint's
	// figure.
	Objective   Stat
	Constraints []Stat
	// Violation is how far each constraint's mean is past its bound (0
	// within it); Feasible says all are 0.
	Violation []float64
	Feasible  bool
	// Score is the objective less (maximize) or plus (minimize) each
	// constraint's penalty × violation: what the optimizer ranks. NaN when
	// the objective or a constrained figure is undefined in every
	// repetition, or a run broke an invariant (Failures): such a candidate
	// ranks last.
	Score    float64
	Failures []string
	// Figures are every figure of the runs, means with CIs.
	Figures []FigureStat
}

// Result is a finished tuning run.
type Result struct {
	Tune        *Tune
	Evaluations []Evaluation
	// Best indexes Evaluations: the best score, the earliest on a tie.
	Best int
	// Converged says the optimizer stopped by itself before the budget.
	Converged bool
	// Validation is nil unless the tune file asks for it.
	Validation *Validation
	// Runs is how many simulation runs were made, Events the events their
	// engines handled; Wall their wall time, all together (not part of the
	// deterministic result).
	Runs   int
	Events uint64
	Wall   time.Duration
}

// Validation compares the base and the best candidate on fresh seeds.
type Validation struct {
	Seed        uint64
	Repetitions int
	Base, Best  Sample
	// Diff is best − base score, repetition by repetition (the two share
	// seeds, so the difference is paired).
	Diff Stat
}

// Sample is a scenario's repetitions in the validation.
type Sample struct {
	Overrides   []string
	Objective   Stat
	Constraints []Stat
	// Score is the score of each repetition (its objective with the
	// penalties of its own constraint values), averaged.
	Score    Stat
	Feasible bool
	Failures []string
}

// BestEvaluation is the best candidate.
func (r *Result) BestEvaluation() *Evaluation { return &r.Evaluations[r.Best] }

// Run checks that the objective's and constraints' figures exist in a run
// of the base (repetition 0), searches the parameters for the best score
// within the budget, then validates the best when the file asks. Candidate runs use run.seed =
// Seed and repetitions 0..Repetitions−1 (runner.Once), so every candidate
// sees the same random numbers. The result is a function of the tune file
// and base scenario alone, whatever Options.Jobs and GOMAXPROCS.
func Run(t *Tune, opt Options) (*Result, error) {
	jobs := opt.Jobs
	if jobs == 0 {
		jobs = t.Jobs
	}
	if jobs == 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	s := &search{t: t, jobs: jobs, progress: opt.Progress, res: &Result{Tune: t, Best: -1}}
	if err := s.check(); err != nil {
		return nil, err
	}
	if opt.CheckOnly {
		return s.res, nil
	}
	dim := len(t.Parameters)
	x0 := make([]float64, dim)
	for i := range t.Parameters {
		x0[i] = t.Parameters[i].start()
	}
	m, batch := t.method(dim)
	var err error
	if s.res.Converged, err = drive(m, x0, batch, t.Budget, s.batch); err != nil {
		return nil, err
	}
	if t.Validation > 0 {
		if err := s.validate(); err != nil {
			return nil, err
		}
	}
	return s.res, nil
}

type search struct {
	t        *Tune
	jobs     int
	progress func(Progress)
	res      *Result
	gen      int
}

func (s *search) report(phase string) {
	if s.progress == nil {
		return
	}
	p := Progress{Done: len(s.res.Evaluations), Budget: s.t.Budget, Runs: s.res.Runs, Phase: phase}
	if s.res.Best >= 0 {
		p.Best = s.res.BestEvaluation()
	}
	s.progress(p)
}

// check runs the base once and makes sure the objective's and the
// constraints' figures are in its run, so a mistyped figure is reported
// (at the tune file's line, with a did-you-mean) before the search spends
// its budget.
func (s *search) check() error {
	sc, err := s.scenario(nil, s.t.Seed, 1)
	if err != nil {
		return err
	}
	runs, _, err := s.runs([]*scenarios.Scenario{sc}, 1)
	if err != nil {
		return err
	}
	run := runs[0][0]
	var errs scenarios.Errors
	field := "objective.minimize"
	if s.t.maximize {
		field = "objective.maximize"
	}
	for _, tm := range s.t.objective {
		if _, ok := tm.sel.value(run); !ok {
			errs = append(errs, s.t.doc.Errorf(field, "%s: %s", tm.sel.text, tm.sel.missing(run)))
		}
	}
	for i, c := range s.t.constraints {
		if _, ok := c.value(run); !ok {
			errs = append(errs, s.t.doc.Errorf(fmt.Sprintf("constraints[%d].figure", i), "%s", c.missing(run)))
		}
	}
	if len(errs) > 0 {
		return errs.Sorted()
	}
	s.report("check")
	return nil
}

// scenario is the base with Set, the overrides, run.seed and
// run.repetitions applied.
func (s *search) scenario(overrides []string, seed uint64, reps int) (*scenarios.Scenario, error) {
	all := append(slices.Clone(s.t.Set), overrides...)
	all = append(all, "run.seed="+strconv.FormatUint(seed, 10), "run.repetitions="+strconv.Itoa(reps))
	sc, err := scenarios.Parse(s.t.BaseFile, s.t.BaseSource, all...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s with %v: %w", ErrTune, s.t.BaseFile, overrides, err)
	}
	return sc, nil
}

// overrides are the --set arguments of the point ys (the optimizer's
// coordinates), and the values they set.
func (s *search) overrides(ys []float64) ([]string, []float64) {
	var out []string
	var vals []float64
	for i := range s.t.Parameters {
		p := &s.t.Parameters[i]
		v := p.value(fold(ys[i]))
		vals = append(vals, v)
		out = append(out, p.Key+"="+p.text(v))
	}
	return out, vals
}

// batch evaluates one batch of the optimizer's points and returns what
// the optimizer minimizes for each.
func (s *search) batch(ys [][]float64) ([]float64, error) {
	s.gen++
	scs := make([]*scenarios.Scenario, len(ys))
	evals := make([]Evaluation, len(ys))
	for i, y := range ys {
		o, vals := s.overrides(y)
		evals[i] = Evaluation{Index: len(s.res.Evaluations) + i + 1, Generation: s.gen, Values: vals, Overrides: o}
		var err error
		if scs[i], err = s.scenario(o, s.t.Seed, s.t.Repetitions); err != nil {
			return nil, err
		}
	}
	runs, fails, err := s.runs(scs, s.t.Repetitions)
	if err != nil {
		return nil, err
	}
	fs := make([]float64, len(ys))
	for i := range evals {
		e := &evals[i]
		s.measure(e, runs[i], fails[i])
		// A candidate that ranks last gets the largest finite value
		// (NelderMead refuses an infinite start).
		fs[i] = math.MaxFloat64
		if !math.IsNaN(e.Score) {
			fs[i] = e.Score
			if s.t.maximize {
				fs[i] = -e.Score
			}
		}
		s.res.Evaluations = append(s.res.Evaluations, *e)
		if s.better(len(s.res.Evaluations) - 1) {
			s.res.Best = len(s.res.Evaluations) - 1
		}
	}
	s.report("search")
	return fs, nil
}

func (s *search) better(i int) bool {
	e := s.res.Evaluations[i].Score
	if math.IsNaN(e) {
		return s.res.Best < 0
	}
	if s.res.Best < 0 {
		return true
	}
	b := s.res.BestEvaluation().Score
	return math.IsNaN(b) || (s.t.maximize && e > b) || (!s.t.maximize && e < b)
}

// values reads the objective and the constraints' figures in each run.
func (t *Tune) values(runs []*metrics.Run) (obj []float64, cons [][]float64) {
	cons = make([][]float64, len(t.constraints))
	for _, run := range runs {
		var o float64
		for _, tm := range t.objective {
			v, _ := tm.sel.value(run)
			o += tm.weight * v
		}
		obj = append(obj, o)
		for j, c := range t.constraints {
			v, ok := c.value(run)
			if !ok {
				v = math.NaN()
			}
			cons[j] = append(cons[j], v)
		}
	}
	return obj, cons
}

// violation is how far x is past constraint j's bounds (NaN if x is).
func (t *Tune) violation(j int, x float64) float64 {
	c := t.Constraints[j]
	v := 0.0
	if c.Min != nil {
		v = max(v, *c.Min-x)
	}
	if c.Max != nil {
		v = max(v, x-*c.Max)
	}
	return v
}

// score is the objective with each constraint's penalty for its
// violation, in the objective's direction.
func (t *Tune) score(obj float64, viol []float64) float64 {
	pen := 0.0
	for j, v := range viol {
		pen += t.Constraints[j].Penalty * v
	}
	if t.maximize {
		return obj - pen
	}
	return obj + pen
}

// measure fills an evaluation from its runs.
func (s *search) measure(e *Evaluation, runs []*metrics.Run, fails []string) {
	t := s.t
	obj, cons := t.values(runs)
	e.Objective = stat(obj)
	e.Failures = fails
	e.Feasible = true
	for j := range cons {
		st := stat(cons[j])
		e.Constraints = append(e.Constraints, st)
		v := t.violation(j, st.Mean)
		e.Violation = append(e.Violation, v)
		if !(v == 0) {
			e.Feasible = false
		}
	}
	e.Score = t.score(e.Objective.Mean, e.Violation)
	if len(fails) > 0 {
		e.Score, e.Feasible = math.NaN(), false
	}
	e.Figures = figureStats(runs)
}

// figureStats summarizes every figure over the runs, keys in the order
// they first appear.
func figureStats(runs []*metrics.Run) []FigureStat {
	var out []FigureStat
	seen := map[string]bool{}
	for _, r := range runs {
		for _, f := range r.Figures {
			if seen[f.Key] {
				continue
			}
			seen[f.Key] = true
			vals := make([]float64, len(runs))
			for i, rr := range runs {
				vals[i] = math.NaN()
				if g, ok := rr.Figure(f.Key); ok {
					vals[i] = g.Value
				}
			}
			out = append(out, FigureStat{Key: f.Key, Unit: f.Unit, Stat: stat(vals)})
		}
	}
	return out
}

// runs runs repetitions 0..reps−1 of every scenario on s.jobs workers and
// returns each scenario's runs in repetition order, with the invariant
// checker's violations. The first error (in scenario and repetition
// order) wins.
func (s *search) runs(scs []*scenarios.Scenario, reps int) ([][]*metrics.Run, [][]string, error) {
	n := len(scs) * reps
	out := make([][]*metrics.Run, len(scs))
	fails := make([][]string, len(scs))
	for i := range out {
		out[i] = make([]*metrics.Run, reps)
	}
	errs := make([]error, n)
	got := make([]runner.Rep, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(s.jobs, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				got[k], errs[k] = runner.Once(scs[k/reps], k%reps, nil)
			}
		}()
	}
	for k := range n {
		next <- k
	}
	close(next)
	wg.Wait()
	for k := range n {
		i, r := k/reps, k%reps
		if errs[k] != nil {
			return nil, nil, fmt.Errorf("tune: %s, repetition %d: %w", scs[i].File, r+1, errs[k])
		}
		out[i][r] = got[k].Run
		s.res.Wall += got[k].Wall
		s.res.Events += got[k].Events
		for _, f := range got[k].Failures {
			fails[i] = append(fails[i], fmt.Sprintf("repetition %d (seed %d): %s", r+1, got[k].Seed, f))
		}
	}
	s.res.Runs += n
	return out, fails, nil
}

// validate runs the base and the best candidate with Validation
// repetitions on seeds no candidate ran with.
func (s *search) validate() error {
	t := s.t
	v := &Validation{Seed: protocol.DeriveSeed(t.Seed, "tune/validation", 0), Repetitions: t.Validation}
	best := s.res.BestEvaluation()
	var scs []*scenarios.Scenario
	for _, o := range [][]string{nil, best.Overrides} {
		sc, err := s.scenario(o, v.Seed, v.Repetitions)
		if err != nil {
			return err
		}
		scs = append(scs, sc)
	}
	runs, fails, err := s.runs(scs, v.Repetitions)
	if err != nil {
		return err
	}
	var scores [2][]float64
	for i, smp := range []*Sample{&v.Base, &v.Best} {
		obj, cons := t.values(runs[i])
		smp.Overrides = [][]string{nil, best.Overrides}[i]
		smp.Objective, smp.Failures, smp.Feasible = stat(obj), fails[i], len(fails[i]) == 0
		for j := range cons {
			c := stat(cons[j])
			smp.Constraints = append(smp.Constraints, c)
			if t.violation(j, c.Mean) != 0 {
				smp.Feasible = false
			}
		}
		for r := range obj {
			viol := make([]float64, len(cons))
			for j := range cons {
				viol[j] = t.violation(j, cons[j][r])
			}
			scores[i] = append(scores[i], t.score(obj[r], viol))
		}
		smp.Score = stat(scores[i])
	}
	diff := make([]float64, v.Repetitions)
	for r := range diff {
		diff[r] = scores[1][r] - scores[0][r]
	}
	v.Diff = stat(diff)
	s.res.Validation = v
	s.report("validation")
	return nil
}

// Overlap says whether two 95% intervals overlap (true when either is
// undefined).
func Overlap(a, b Stat) bool {
	if math.IsNaN(a.Lo) || math.IsNaN(b.Lo) {
		return true
	}
	return a.Lo <= b.Hi && b.Lo <= a.Hi
}

// method builds the optimizer the file names, and how many candidates it
// asks for at once.
func (t *Tune) method(dim int) (optimize.Method, int) {
	src := protocol.Stream(t.Seed, "tune/"+t.Method, 0)
	pop := t.Population
	if pop == 0 {
		pop = 4 + int(3*math.Log(float64(dim)))
	}
	switch t.Method {
	case "nelder_mead":
		return &optimize.NelderMead{SimplexSize: t.StepSize}, 1
	case "cmaes_chol":
		// Its Cholesky factor is the sampling covariance itself, so the
		// initial step size goes in there.
		d := make([]float64, dim)
		for i := range d {
			d[i] = t.StepSize * t.StepSize
		}
		var ch mat.Cholesky
		ch.Factorize(mat.NewDiagDense(dim, d))
		return &optimize.CmaEsChol{InitStepSize: t.StepSize, InitCholesky: &ch, Population: pop, Src: src}, pop
	}
	return &CMAES{Sigma: t.StepSize, Population: pop, Src: src}, pop
}
