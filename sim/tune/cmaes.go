package tune

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// CMAES is the covariance matrix adaptation evolution strategy as
// N. Hansen's tutorial states it ("The CMA Evolution Strategy: A
// Tutorial", arXiv:1604.00772, 2016, Fig. 7 and Table 1): each generation
// samples Population points x = m + σ·B·D·z from N(m, σ²C), moves the mean
// to the weighted mean of the better half, and adapts C (rank-one and
// rank-μ updates) and σ (cumulative step-size adaptation). It is an
// optimize.Method, so gonum's optimize.Minimize or this package's driver
// can run it.
//
// It exists because gonum's optimize.CmaEsChol (v0.17.0) samples from its
// Cholesky factor without the step size σ and scales the rank-μ update by
// 1/σ rather than 1/σ², so its step-size adaptation barely reaches the
// samples: on a 4-dimensional sphere from σ = 0.3 it takes about 10,000
// evaluations to get within 3·10⁻⁵ of the optimum, where this one takes
// about 600 (TestCMAESConverges, BENCHMARKS.md). Simulation budgets are
// tens to hundreds of evaluations.
type CMAES struct {
	// Sigma is the initial step size (0: 0.3); Population the candidates
	// per generation (0: 4 + ⌊3·ln n⌋).
	Sigma      float64
	Population int
	// Src draws the samples; it must be set, and makes the search
	// reproducible.
	Src rand.Source
	// TolX stops the search (MethodDone) once σ times the largest axis of
	// C is below it (0: 1e-12).
	TolX float64

	n, lambda, mu                 int
	weights                       []float64
	mueff, cc, cs, c1, cmu, damps float64
	chiN                          float64
	rnd                           *rand.Rand
	mean, pc, ps                  []float64
	sigma                         float64
	c                             *mat.SymDense
	b                             *mat.Dense // eigenvectors of C, by column
	d                             []float64  // square roots of its eigenvalues
	zs, ys                        [][]float64
	fs                            []float64
	gen                           int
	bestX                         []float64
	bestF                         float64
	status                        optimize.Status
}

var (
	_ optimize.Method   = (*CMAES)(nil)
	_ optimize.Statuser = (*CMAES)(nil)
)

// Uses implements optimize.Method: only function values.
func (*CMAES) Uses(optimize.Available) (optimize.Available, error) {
	return optimize.Available{}, nil
}

// Status implements optimize.Statuser.
func (c *CMAES) Status() (optimize.Status, error) { return c.status, nil }

// Init implements optimize.Method: the strategy parameters of Table 1.
func (c *CMAES) Init(dim, tasks int) int {
	if c.Src == nil {
		panic("tune: CMAES needs a Src")
	}
	c.n = dim
	n := float64(dim)
	c.lambda = c.Population
	if c.lambda == 0 {
		c.lambda = 4 + int(3*math.Log(n))
	}
	c.lambda = max(c.lambda, 2)
	c.mu = c.lambda / 2
	c.weights = make([]float64, c.mu)
	for i := range c.weights {
		c.weights[i] = math.Log(float64(c.lambda+1)/2) - math.Log(float64(i+1))
	}
	floats.Scale(1/floats.Sum(c.weights), c.weights)
	c.mueff = 1 / floats.Dot(c.weights, c.weights)
	c.cc = (4 + c.mueff/n) / (n + 4 + 2*c.mueff/n)
	c.cs = (c.mueff + 2) / (n + c.mueff + 5)
	c.c1 = 2 / ((n+1.3)*(n+1.3) + c.mueff)
	c.cmu = math.Min(1-c.c1, 2*(c.mueff-2+1/c.mueff)/((n+2)*(n+2)+c.mueff))
	c.damps = 1 + 2*math.Max(0, math.Sqrt((c.mueff-1)/(n+1))-1) + c.cs
	c.chiN = math.Sqrt(n) * (1 - 1/(4*n) + 1/(21*n*n))
	c.sigma = c.Sigma
	if c.sigma == 0 {
		c.sigma = 0.3
	}
	c.rnd = rand.New(c.Src)
	c.mean, c.pc, c.ps = make([]float64, dim), make([]float64, dim), make([]float64, dim)
	c.c = mat.NewSymDense(dim, nil)
	c.b = mat.NewDense(dim, dim, nil)
	c.d = make([]float64, dim)
	for i := range dim {
		c.c.SetSym(i, i, 1)
		c.b.Set(i, i, 1)
		c.d[i] = 1
	}
	c.zs, c.ys = make([][]float64, c.lambda), make([][]float64, c.lambda)
	for k := range c.zs {
		c.zs[k], c.ys[k] = make([]float64, dim), make([]float64, dim)
	}
	c.fs = make([]float64, c.lambda)
	c.gen, c.bestF, c.bestX = 0, math.Inf(1), make([]float64, dim)
	c.status = optimize.NotTerminated
	return min(tasks, c.lambda)
}

// sample draws candidate k: y = B·D·z, x = m + σ·y.
func (c *CMAES) sample(k int, x []float64) {
	z, y := c.zs[k], c.ys[k]
	for i := range z {
		z[i] = c.rnd.NormFloat64()
	}
	for i := range y {
		y[i] = 0
		for j := range z {
			y[i] += c.b.At(i, j) * c.d[j] * z[j]
		}
		x[i] = c.mean[i] + c.sigma*y[i]
	}
}

// Run implements optimize.Method. Candidates go out as tasks with IDs
// 0..λ−1, at most len(tasks) at a time; when all λ are back the
// distribution is updated and a MajorIteration with the best point so far
// goes out, and the next generation starts once it comes back.
func (c *CMAES) Run(ops chan<- optimize.Task, results <-chan optimize.Task, tasks []optimize.Task) {
	copy(c.mean, tasks[0].X)
	sent, received := 0, 0
	send := func(t optimize.Task) {
		t.ID, t.Op = sent, optimize.FuncEvaluation
		c.sample(sent, t.X)
		sent++
		ops <- t
	}
	for _, t := range tasks {
		send(t)
	}
loop:
	for {
		r := <-results
		switch r.Op {
		case optimize.PostIteration:
			break loop
		case optimize.MajorIteration:
			sent, received = 0, 0
			for _, t := range tasks {
				send(t)
			}
		case optimize.FuncEvaluation:
			c.fs[r.ID] = r.F
			if r.F < c.bestF {
				c.bestF = r.F
				copy(c.bestX, r.X)
			}
			received++
			switch {
			case sent < c.lambda:
				send(r)
			case received == c.lambda:
				c.update()
				r.ID, r.F = -1, c.bestF
				copy(r.X, c.bestX)
				r.Op = optimize.MajorIteration
				if c.status != optimize.NotTerminated {
					r.Op = optimize.MethodDone
				}
				ops <- r
			}
		default:
			panic("tune: CMAES got an unknown operation")
		}
	}
	for range results {
	}
	close(ops)
}

// update moves the mean and adapts the paths, C and σ (Fig. 7).
func (c *CMAES) update() {
	c.gen++
	n := c.n
	idx := make([]int, c.lambda)
	for k := range idx {
		idx[k] = k
	}
	// Stable, so equal values keep their sampling order.
	slices.SortStableFunc(idx, func(a, b int) int {
		fa, fb := c.fs[a], c.fs[b]
		switch {
		case fa < fb || math.IsNaN(fb) && !math.IsNaN(fa):
			return -1
		case fb < fa || math.IsNaN(fa) && !math.IsNaN(fb):
			return 1
		}
		return 0
	})
	yw := make([]float64, n) // Σ w·y over the best μ
	zw := make([]float64, n) // Σ w·z: C^(−1/2)·yw = B·zw'
	for i, w := range c.weights {
		floats.AddScaled(yw, w, c.ys[idx[i]])
		floats.AddScaled(zw, w, c.zs[idx[i]])
	}
	floats.AddScaled(c.mean, c.sigma, yw)
	// C^(−1/2)·yw = B·D⁻¹·Bᵀ·B·D·zw = B·zw.
	bz := make([]float64, n)
	for i := range bz {
		for j := range zw {
			bz[i] += c.b.At(i, j) * zw[j]
		}
	}
	floats.Scale(1-c.cs, c.ps)
	floats.AddScaled(c.ps, math.Sqrt(c.cs*(2-c.cs)*c.mueff), bz)
	norm := floats.Norm(c.ps, 2)
	hsig := 0.0
	if norm/math.Sqrt(1-math.Pow(1-c.cs, 2*float64(c.gen)))/c.chiN < 1.4+2/(float64(n)+1) {
		hsig = 1
	}
	floats.Scale(1-c.cc, c.pc)
	floats.AddScaled(c.pc, hsig*math.Sqrt(c.cc*(2-c.cc)*c.mueff), yw)
	// C ← (1 − c1 − cμ)·C + c1·(pc·pcᵀ + (1−hσ)·cc·(2−cc)·C) + cμ·Σ w·y·yᵀ.
	keep := 1 - c.c1 - c.cmu + c.c1*(1-hsig)*c.cc*(2-c.cc)
	for i := range n {
		for j := i; j < n; j++ {
			v := keep*c.c.At(i, j) + c.c1*c.pc[i]*c.pc[j]
			for k, w := range c.weights {
				y := c.ys[idx[k]]
				v += c.cmu * w * y[i] * y[j]
			}
			c.c.SetSym(i, j, v)
		}
	}
	c.sigma *= math.Exp(c.cs / c.damps * (norm/c.chiN - 1))
	var eig mat.EigenSym
	if !eig.Factorize(c.c, true) {
		c.status = optimize.Failure
		return
	}
	vals := eig.Values(nil)
	eig.VectorsTo(c.b)
	for i, v := range vals {
		c.d[i] = math.Sqrt(math.Max(v, 1e-300))
	}
	tol := c.TolX
	if tol == 0 {
		tol = 1e-12
	}
	if c.sigma*floats.Max(c.d) < tol {
		c.status = optimize.MethodConverge
	}
}
