package learn

import (
	"fmt"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
)

// TrainFunc builds the job of one learner's local training in a round,
// from the round's model. The driver supplies it, because the data and
// the model code live outside protocol: in dais it wraps a
// gpu/models.TrainJob over the learner's own rows. The job's Work must
// output the parameter delta as a []float64 of len(global), which the
// learner then owns; global is shared and must not be modified.
type TrainFunc func(learner protocol.NodeID, round uint64, global []float64) gpu.Job

// LearnerConfig configures a Learner.
type LearnerConfig struct {
	// Coordinator announces rounds; only its Model messages are obeyed.
	Coordinator protocol.NodeID
	// Validators also get every update, to score it, and Aggregators
	// (the committee, if any) to aggregate it.
	Validators, Aggregators []protocol.NodeID
	// Samples is the number of rows the learner trains on, reported as
	// its update's weight.
	Samples uint64
	Train   TrainFunc
	// Secure, if set, sends the update by secure aggregation (see
	// SecureLearner) to the coordinator only: validators and aggregators
	// get nothing.
	Secure *SecureLearner
}

// Learner is a data and compute provider: when the coordinator announces
// a round it was selected for, it checks the model's hash, trains
// locally (a job on its GPU) and sends the delta to the coordinator and
// the validators.
type Learner struct {
	cfg   LearnerConfig
	round uint64 // the newest round it was asked to train for
	jobs  map[protocol.JobID]training
	sec   *secureLearner // the round it aggregates securely in
}

type training struct {
	round uint64
	base  Hash
}

// NewLearner returns a learner; cfg.Train must not be nil.
func NewLearner(cfg LearnerConfig) *Learner {
	if cfg.Train == nil {
		panic("learn: LearnerConfig.Train is nil")
	}
	return &Learner{cfg: cfg, jobs: map[protocol.JobID]training{}}
}

// Handle implements protocol.Node.
func (l *Learner) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		if in.Rejoin {
			clear(l.jobs) // jobs of a node that left never complete
			l.sec = nil   // its keys and shares died with it
		}
	case protocol.Recv:
		if in.From != l.cfg.Coordinator {
			return
		}
		m, ok := in.Msg.(*Model)
		if !ok && l.cfg.Secure != nil {
			l.secureRecv(env, in.Msg)
			return
		}
		if !ok || m.Round <= l.round {
			return
		}
		if VersionOf(m.Parent, m.Params) != m.Version {
			return // not the model it claims to be; wait for the next round
		}
		l.round = m.Round
		id := env.Submit(l.cfg.Train(env.Self(), m.Round, m.Params))
		l.jobs[id] = training{round: m.Round, base: m.Version}
		if l.cfg.Secure != nil {
			l.secureJoin(env, m.Round, len(m.Params))
		}
	case protocol.JobDone:
		t, ok := l.jobs[in.ID]
		if !ok {
			return
		}
		delete(l.jobs, in.ID)
		if in.Result.Err != "" {
			env.Emit(Trained{Round: t.round, DurationNs: in.Result.DurationNs, Err: in.Result.Err})
			return
		}
		delta, ok := in.Result.Output.([]float64)
		if !ok {
			env.Emit(Trained{Round: t.round, DurationNs: in.Result.DurationNs,
				Err: fmt.Sprintf("learn: training output is %T, want []float64", in.Result.Output)})
			return
		}
		env.Emit(Trained{Round: t.round, DurationNs: in.Result.DurationNs})
		if t.round < l.round {
			return // a newer round began while it trained: its round has closed
		}
		if l.cfg.Secure != nil {
			l.secureTrained(env, t.round, delta)
			return
		}
		u := &LocalUpdate{Round: t.round, Base: t.base, Samples: l.cfg.Samples, Delta: delta}
		env.Send(l.cfg.Coordinator, u)
		for _, v := range l.cfg.Validators {
			env.Send(v, u)
		}
		for _, a := range l.cfg.Aggregators {
			env.Send(a, u)
		}
	}
}
