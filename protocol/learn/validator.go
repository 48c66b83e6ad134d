package learn

import (
	"math"
	"slices"

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
	updates map[uint64]map[protocol.NodeID]*LocalUpdate
	jobs    map[protocol.JobID]scoreJob
}

type scoreJob struct {
	round    uint64
	version  Hash
	learners []protocol.NodeID
}

// NewValidator returns a validator; cfg.Score must not be nil.
func NewValidator(cfg ValidatorConfig) *Validator {
	if cfg.Score == nil {
		panic("learn: ValidatorConfig.Score is nil")
	}
	return &Validator{cfg: cfg, updates: map[uint64]map[protocol.NodeID]*LocalUpdate{}, jobs: map[protocol.JobID]scoreJob{}}
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
			// Deleting every older round gives the same map in any order.
			for r := range v.updates {
				if r < v.round {
					delete(v.updates, r)
				}
			}
		case *LocalUpdate:
			if m.Round < v.round || m.Round > v.round+1 {
				return
			}
			byLearner := v.updates[m.Round]
			if byLearner == nil {
				byLearner = map[protocol.NodeID]*LocalUpdate{}
				v.updates[m.Round] = byLearner
			}
			if _, dup := byLearner[in.From]; !dup {
				byLearner[in.From] = m
			}
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
		if scores, ok := in.Result.Output.([]float64); ok && in.Result.Err == "" && len(scores) == len(s.learners) {
			out.Learners, out.Scores = s.learners, scores
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
	for _, l := range q.Learners {
		u := v.updates[q.Round][l]
		if u == nil || u.Base != v.version || !fits(u.Delta, len(v.global)) {
			continue
		}
		learners = append(learners, l)
		deltas = append(deltas, u.Delta)
	}
	if len(learners) == 0 {
		env.Send(v.cfg.Coordinator, &Scores{Round: q.Round, Version: q.Version})
		return
	}
	id := env.Submit(v.cfg.Score(env.Self(), q.Round, v.global, deltas))
	v.jobs[id] = scoreJob{round: q.Round, version: q.Version, learners: slices.Clip(learners)}
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
