package market

import (
	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/verify"
)

// Provider runs the units the committee assigns on its GPU, one at a time
// in arrival order (the driver's GPU queue), and sends each result hash
// back. An honest provider's result is the unit's honest checkpoint
// (verify.Honest): the hash stands for the real output. A unit with input
// bytes waits for its input, fetched from the assignment's Source one
// unit at a time in assignment order (one download at a time on the
// provider's link, the next while the GPU runs the last); a unit with
// output bytes sends them to the Source before its result, so the result
// leaves the provider's uplink after the output.
type Provider struct {
	Committee protocol.NodeID
	// Class is the hardware the provider declares (the runner gives the
	// real one, or a share of it for a Sybil identity).
	Class gpu.Class
	// Slots is how many units it accepts at once (0 means 2).
	Slots int
	// DownBps and UpBps are its access link as it declares it (Join).
	DownBps, UpBps uint64

	running  map[protocol.JobID]*Assign
	fetching []*Assign // waiting for input; the first is being fetched
}

// Handle implements protocol.Node.
func (p *Provider) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		p.running = map[protocol.JobID]*Assign{} // a rejoin starts empty: the driver dropped the GPU queue
		clear(p.fetching)
		p.fetching = p.fetching[:0]
		env.Send(p.Committee, &Join{Role: RoleProvider, Class: p.Class, Slots: uint32(slotsOr(p.Slots)), DownBps: p.DownBps, UpBps: p.UpBps})
	case protocol.Stop:
		if in.Leave {
			env.Send(p.Committee, &Leave{})
		}
	case protocol.Recv:
		if d, ok := in.Msg.(*Data); ok {
			p.input(env, in.From, d)
			return
		}
		if in.From != p.Committee {
			return // work comes from the committee only: anyone else could make it compute for nothing
		}
		switch m := in.Msg.(type) {
		case *Assign:
			if m.Spec.InputBytes == 0 {
				p.running[env.Submit(m.Spec.Unit())] = m
				return
			}
			p.fetching = append(p.fetching, m)
			if len(p.fetching) == 1 {
				p.fetch(env)
			}
		case *DisputeQuery:
			if m.Steps <= MaxSteps {
				env.Send(p.Committee, Reveal(m, verify.Trajectory(m.Job, m.Unit, stepsOf(m))))
			}
		}
	case protocol.JobDone:
		a, ok := p.running[in.ID]
		if !ok {
			return
		}
		delete(p.running, in.ID)
		res := &Result{Job: a.Job, Unit: a.Unit}
		if in.Result.Err != "" {
			res.Failed = true
		} else {
			if a.Spec.OutputBytes > 0 {
				env.Send(a.Source, &Data{Job: a.Job, Unit: a.Unit, Output: true, Bytes: a.Spec.OutputBytes})
			}
			res.Result = verify.Honest(a.Job, a.Unit, a.Spec.Steps)
			if a.Root {
				res.Root = verify.Root(verify.Trajectory(a.Job, a.Unit, a.Spec.Steps))
			}
			env.Emit(Computed{Job: a.Job, Unit: a.Unit, FLOPs: float64(a.Spec.UnitFLOPs),
				DurationNs: in.Result.DurationNs, EnergyJ: in.Result.EnergyJ})
		}
		env.Send(p.Committee, res)
	}
}

// fetch asks the first waiting unit's source for its input.
func (p *Provider) fetch(env protocol.Env) {
	a := p.fetching[0]
	env.Send(a.Source, &Fetch{Job: a.Job, Unit: a.Unit, Bytes: a.Spec.InputBytes})
}

// input runs the unit whose input arrived, and fetches the next.
func (p *Provider) input(env protocol.Env, from protocol.NodeID, d *Data) {
	if d.Output || len(p.fetching) == 0 {
		return
	}
	a := p.fetching[0]
	if from != a.Source || d.Job != a.Job || d.Unit != a.Unit {
		return
	}
	p.fetching[0] = nil
	p.fetching = p.fetching[1:]
	p.running[env.Submit(a.Spec.Unit())] = a
	if len(p.fetching) > 0 {
		p.fetch(env)
	}
}

// stepsOf is the number of steps of a queried unit. An honest provider
// rebuilds its trajectory from the unit (it is a pure function of it);
// the query carries Steps so that it need not keep every assignment.
func stepsOf(m *DisputeQuery) uint32 { return m.Steps }

// Reveal answers a dispute query from a trajectory (checkpoints 0 …
// steps): the checkpoint at the step and its Merkle proof.
func Reveal(q *DisputeQuery, trajectory []Hash) *DisputeReveal {
	if int(q.Step) >= len(trajectory) {
		return &DisputeReveal{Job: q.Job, Unit: q.Unit, Step: q.Step}
	}
	return &DisputeReveal{Job: q.Job, Unit: q.Unit, Step: q.Step, Checkpoint: trajectory[q.Step],
		Proof: verify.Prove(trajectory, int(q.Step))}
}

func slotsOr(n int) int {
	if n <= 0 {
		return 2
	}
	return n
}

// Validator re-executes what the committee asks: a whole unit (spot
// check) or one step of it (a dispute's referee), and answers with the
// checkpoint it reached. Its GPU work is the verification overhead.
type Validator struct {
	Committee protocol.NodeID
	Class     gpu.Class

	running map[protocol.JobID]*Replay
}

// Handle implements protocol.Node.
func (v *Validator) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		v.running = map[protocol.JobID]*Replay{}
		env.Send(v.Committee, &Join{Role: RoleValidator, Class: v.Class, Slots: 1})
	case protocol.Recv:
		if m, ok := in.Msg.(*Replay); ok && in.From == v.Committee {
			j := m.Spec.Step()
			if m.Whole {
				j = m.Spec.Unit()
			}
			v.running[env.Submit(j)] = m
		}
	case protocol.JobDone:
		m, ok := v.running[in.ID]
		if !ok {
			return
		}
		delete(v.running, in.ID)
		flops := float64(m.Spec.UnitFLOPs)
		if !m.Whole {
			flops /= float64(m.Spec.Steps)
		}
		env.Emit(Computed{Job: m.Job, Unit: m.Unit, FLOPs: flops, DurationNs: in.Result.DurationNs,
			EnergyJ: in.Result.EnergyJ, Replay: true})
		env.Send(v.Committee, &Verdict{Check: m.Check, Result: verify.Checkpoint(m.Job, m.Unit, m.Target())})
	}
}
