package tune

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"
)

// drive runs a gonum optimize.Method that needs only function values
// (CmaEsChol, NelderMead) from x0 for at most budget evaluations,
// deterministically. optimize.Minimize evaluates on worker goroutines and
// counts evaluations as they finish, so with several workers which
// evaluations run before the budget stops it depends on timing. drive
// instead speaks the Method protocol itself: it takes the method's tasks
// until it has as many as the method asked to run at once (CmaEsChol sends
// a whole generation, NelderMead one point), hands them to eval together,
// and returns the values in the order the method sent them. The method sees
// the same values in the same order whatever eval's parallelism, so the
// points it asks for next are the same too.
//
// eval gets the points (which it must not keep) and returns their values;
// math.Inf and NaN are not allowed (NelderMead refuses a start it cannot
// rank). An error from eval stops the search and is returned. drive
// returns whether the method stopped by itself (converged) before the
// budget.
func drive(m optimize.Method, x0 []float64, concurrent, budget int, eval func(xs [][]float64) ([]float64, error)) (converged bool, err error) {
	dim := len(x0)
	n := m.Init(dim, concurrent)
	ops := make(chan optimize.Task, n)
	res := make(chan optimize.Task, n)
	tasks := make([]optimize.Task, n)
	for i := range tasks {
		tasks[i].Location = &optimize.Location{X: make([]float64, dim), F: math.NaN()}
	}
	copy(tasks[0].X, x0)
	tasks[0].Op = optimize.NoOperation
	go m.Run(ops, res, tasks)

	used := 0
	var pending []optimize.Task
	for used < budget && !converged && err == nil {
		t := <-ops
		switch {
		case t.Op == optimize.FuncEvaluation:
			pending = append(pending, t)
			if len(pending) < n {
				continue
			}
			// Past the budget only the first tasks, in the order sent, run.
			if len(pending) > budget-used {
				pending = pending[:budget-used]
			}
			xs := make([][]float64, len(pending))
			for i, p := range pending {
				xs[i] = slices.Clone(p.X)
			}
			var fs []float64
			if fs, err = eval(xs); err != nil {
				break
			}
			used += len(pending)
			for i := range pending {
				pending[i].F = fs[i]
				res <- pending[i]
			}
			pending = pending[:0]
		case t.Op == optimize.MethodDone:
			converged = true
		case t.Op == optimize.MajorIteration || t.Op == optimize.NoOperation:
			// A major iteration (or nothing): the method waits for it back.
			res <- t
		default:
			panic("tune: the method asked for a gradient or Hessian")
		}
	}
	// Stop the method: it reads PostIteration, drains res until closed, may
	// send a last major iteration, and closes ops.
	res <- optimize.Task{Op: optimize.PostIteration}
	close(res)
	for range ops {
	}
	return converged, err
}
