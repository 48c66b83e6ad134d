package learn

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
)

// ScoreFunc builds the job that scores a round's updates on a validator's
// held-out data. The driver supplies it, as it does TrainFunc. Its Work
// must output a []float64 with one score per delta: in dais, the drop in
// validation loss from global to global+delta, so that an update that
// helps scores above 0 and a harmful one below. global and deltas are
// shared and must not be modified.
type ScoreFunc func(validator protocol.NodeID, round uint64, global []float64, deltas [][]float64) gpu.Job

// ValidatorConfig configures a Validator.
type ValidatorConfig struct {
	Coordinator protocol.NodeID
	Score       ScoreFunc
	// NormBound, if > 0, is τ of the validators' norm bound: an update
	// whose L2 norm exceeds τ times the median norm of the round's
	// non-zero updates it was asked to score is out of bound. It is not
	// scored; its score is −Inf, so it earns nothing (Payouts) and a
	// score filter drops it. Honest updates of one round have norms of
	// one order, so the bound costs them little (sim/learnrun measures
	// it under non-IID data), while an update boosted to dominate a mean
	// (the scaling attack; Sun et al. 2019 bound norms against it) is
	// rejected. The median is over non-zero norms so that free riders'
	// zero updates cannot pull the bound down onto the honest ones. 0
	// turns the bound off; values in (0, 1) would reject ordinary
	// updates and are the caller's to refuse.
	NormBound float64
}

// Validator assesses learners' contributions: it keeps the updates
// learners send it for the current round and, when the coordinator asks,
// scores the listed ones with one job on its own hardware and returns the
// scores. It keeps no history: a round's updates are dropped when the
// next model arrives.
type Validator struct {
	cfg     ValidatorConfig
	round   uint64
	version Hash
	global  []float64
	// updates holds the current round's updates and any that arrived for
	// the next round ahead of its model.
	updates roundUpdates
	jobs    map[protocol.JobID]scoreJob
}

type scoreJob struct {
	round    uint64
	version  Hash
	learners []protocol.NodeID
	// out[i] marks learners[i] as out of the norm bound: not in the
	// job, reported with score −Inf. nil when none is.
	out []bool
}

// NewValidator returns a validator; cfg.Score must not be nil.
func NewValidator(cfg ValidatorConfig) *Validator {
	if cfg.Score == nil {
		panic("learn: ValidatorConfig.Score is nil")
	}
	return &Validator{cfg: cfg, updates: roundUpdates{}, jobs: map[protocol.JobID]scoreJob{}}
}

// Handle implements protocol.Node.
func (v *Validator) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		if in.Rejoin {
			clear(v.jobs)
		}
	case protocol.Recv:
		switch m := in.Msg.(type) {
		case *Model:
			if in.From != v.cfg.Coordinator || m.Round <= v.round || VersionOf(m.Parent, m.Params) != m.Version {
				return
			}
			v.round, v.version, v.global = m.Round, m.Version, m.Params
			v.updates.prune(v.round)
		case *LocalUpdate:
			v.updates.keep(v.round, in.From, m)
		case *ScoreRequest:
			if in.From == v.cfg.Coordinator {
				v.score(env, m)
			}
		}
	case protocol.JobDone:
		s, ok := v.jobs[in.ID]
		if !ok {
			return
		}
		delete(v.jobs, in.ID)
		out := &Scores{Round: s.round, Version: s.version}
		if scores, ok := in.Result.Output.([]float64); ok && in.Result.Err == "" && len(scores) == s.scored() {
			out.Learners, out.Scores = s.learners, s.merge(scores)
		}
		env.Send(v.cfg.Coordinator, out)
	}
}

// score starts the job that scores the requested updates it holds; an
// update it never got, or one that does not fit the model, is left out.
func (v *Validator) score(env protocol.Env, q *ScoreRequest) {
	if q.Round != v.round || q.Version != v.version {
		env.Send(v.cfg.Coordinator, &Scores{Round: q.Round, Version: q.Version})
		return
	}
	var learners []protocol.NodeID
	var deltas [][]float64
	var equivocated []bool
	check := len(q.Digests) == len(q.Learners)
	for i, l := range q.Learners {
		u := v.updates[q.Round][l]
		if u == nil || u.Base != v.version || !fits(u.Delta, len(v.global)) {
			continue
		}
		learners = append(learners, l)
		deltas = append(deltas, u.Delta)
		equivocated = append(equivocated, check && DigestOf(u) != q.Digests[i])
	}
	if len(learners) == 0 {
		env.Send(v.cfg.Coordinator, &Scores{Round: q.Round, Version: q.Version})
		return
	}
	job := scoreJob{round: q.Round, version: q.Version, learners: slices.Clip(learners)}
	job.out = OutOfBound(deltas, v.cfg.NormBound)
	if slices.Contains(equivocated, true) {
		// This copy is not the one the coordinator holds: scored −Inf,
		// as an update out of bound is.
		if job.out == nil {
			job.out = make([]bool, len(deltas))
		}
		for i, e := range equivocated {
			if e {
				job.out[i] = true
				env.Emit(Rejected{Round: q.Round, Learner: learners[i], Reason: RejectEquivocated})
			}
		}
	}
	if job.out != nil {
		in := deltas[:0:0]
		for i, d := range deltas {
			if !job.out[i] {
				in = append(in, d)
			}
		}
		deltas = in
		if len(deltas) == 0 { // only with tau < 1
			env.Send(v.cfg.Coordinator, &Scores{Round: q.Round, Version: q.Version, Learners: job.learners, Scores: job.merge(nil)})
			return
		}
	}
	id := env.Submit(v.cfg.Score(env.Self(), q.Round, v.global, deltas))
	v.jobs[id] = job
}

// scored is the number of learners the job scores.
func (s scoreJob) scored() int {
	n := len(s.learners)
	for _, o := range s.out {
		if o {
			n--
		}
	}
	return n
}

// merge returns one score per learner: the job's scores in order, −Inf
// for those out of bound.
func (s scoreJob) merge(scores []float64) []float64 {
	if s.out == nil {
		return scores
	}
	all := make([]float64, 0, len(s.learners))
	for _, o := range s.out {
		if o {
			all = append(all, math.Inf(-1))
			continue
		}
		all = append(all, scores[0])
		scores = scores[1:]
	}
	return all
}

// OutOfBound marks the deltas whose L2 norm exceeds tau times the median
// norm of the non-zero deltas (see ValidatorConfig.NormBound), or
// returns nil when none does or tau <= 0.
func OutOfBound(deltas [][]float64, tau float64) []bool {
	if !(tau > 0) {
		return nil
	}
	norms := make([]float64, len(deltas))
	var nonzero []float64
	for i, d := range deltas {
		if norms[i] = floats.Norm(d, 2); norms[i] > 0 {
			nonzero = append(nonzero, norms[i])
		}
	}
	if len(nonzero) == 0 {
		return nil
	}
	bound := tau * MedianScore(nonzero) // the median, by the same rule
	var out []bool
	for i, n := range norms {
		if n > bound {
			if out == nil {
				out = make([]bool, len(deltas))
			}
			out[i] = true
		}
	}
	return out
}

// fits reports whether a delta has n values, all finite.
func fits(delta []float64, n int) bool {
	if len(delta) != n {
		return false
	}
	for _, x := range delta {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
