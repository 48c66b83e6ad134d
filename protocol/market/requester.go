package market

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
)

// Process is a job arrival process.
type Process uint8

// Arrival processes.
const (
	Poisson  Process = iota + 1 // exponential gaps at Rate
	Constant                    // one job every 1/Rate
	Burst                       // BurstSize jobs every BurstEvery
)

// ParseProcess reads a process's name.
func ParseProcess(s string) (Process, error) {
	switch s {
	case "poisson":
		return Poisson, nil
	case "constant":
		return Constant, nil
	case "burst":
		return Burst, nil
	}
	return 0, fmt.Errorf("market: unknown arrival process %q (poisson, constant, burst)", s)
}

// Arrivals is when one requester posts jobs.
type Arrivals struct {
	Process Process
	// Rate is jobs per second (Poisson, Constant).
	Rate       float64
	BurstSize  int
	BurstEvery protocol.Duration
}

// Validate reports an arrival process that cannot run.
func (a Arrivals) Validate() error {
	switch a.Process {
	case Poisson, Constant:
		if !(a.Rate > 0) || math.IsInf(a.Rate, 0) {
			return fmt.Errorf("market: arrival rate %v, want > 0", a.Rate)
		}
	case Burst:
		if a.BurstSize < 1 || a.BurstEvery <= 0 {
			return fmt.Errorf("market: bursts of %d every %v", a.BurstSize, a.BurstEvery)
		}
	default:
		return fmt.Errorf("market: arrival process %d", a.Process)
	}
	return nil
}

// JobType is one kind of job a requester posts.
type JobType struct {
	Name  string
	Kind  Kind
	Share float64 // of arrivals; shares of a requester's types are normalized
	// FLOPs per unit, drawn per job (all units of a job cost the same).
	FLOPs dist.Dist
	Units uint32
	// Intensity is FLOPs per byte of memory traffic; 0 means the units
	// are compute-bound (no traffic charged).
	Intensity float64
	MemBytes  uint64
	// Steps per unit (checkpoints a dispute bisects); 0 means 1.
	Steps     uint32
	Precision gpu.Precision
	Deadline  protocol.Duration
	// Budget per job, base units; when PricePerPFLOP > 0 the budget is
	// instead ⌈PricePerPFLOP × the job's FLOPs / 10¹⁵⌉, so that every
	// unit pays the same per FLOP whatever its size.
	Budget        uint64
	PricePerPFLOP uint64
	// InputBytes and OutputBytes of each unit, drawn per job like FLOPs
	// (nil: none): the data a provider fetches before a unit and sends
	// back after it.
	InputBytes, OutputBytes dist.Dist
	// Stream makes the arrivals of this type units, not jobs: the
	// requester opens a session (a job with Spec.Stream) of Units units
	// and releases one unit into it at each arrival, opening the next
	// session when one is used up; at Until it ends its open sessions.
	Stream bool
}

// Requester posts jobs to the committee by its arrival process, from its
// own random stream, until Until, and records how each ends.
type Requester struct {
	Committee protocol.NodeID
	Arrivals  Arrivals
	Types     []JobType
	// Until is when posting stops (0: never).
	Until protocol.Time
	// CancelShare of jobs are cancelled CancelAfter after posting, if
	// they have not ended.
	CancelShare float64
	CancelAfter protocol.Duration

	seq      uint64
	posted   map[uint64]*posted // by Seq, until final
	sessions []session          // by job type, for Stream types
}

// session is a Stream type's open session: its Seq and the units it
// released.
type session struct {
	seq         uint64
	next, units uint32
}

type posted struct {
	at  protocol.Time
	job JobID
	ok  bool // the job is on chain
}

const cancelTag = 1 << 63

// Handle implements protocol.Node.
func (q *Requester) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		if in.Rejoin {
			return
		}
		q.posted = map[uint64]*posted{}
		q.sessions = make([]session, len(q.Types))
		q.next(env, true)
	case protocol.TimerFired:
		if in.Tag&cancelTag != 0 {
			if p, ok := q.posted[in.Tag&^cancelTag]; ok && p.ok {
				env.Send(q.Committee, &Cancel{Job: p.job})
			}
			return
		}
		n := 1
		if q.Arrivals.Process == Burst {
			n = q.Arrivals.BurstSize
		}
		for range n {
			q.post(env)
		}
		q.next(env, false)
	case protocol.Recv:
		if f, ok := in.Msg.(*Fetch); ok {
			// The requester holds its jobs' inputs and serves them to the
			// providers the committee assigned (in a deployment, checked
			// against the signed assignment; not modeled).
			env.Send(in.From, &Data{Job: f.Job, Unit: f.Unit, Bytes: f.Bytes})
			return
		}
		m, ok := in.Msg.(*JobStatus)
		if !ok {
			return
		}
		p, ok := q.posted[m.Seq]
		if !ok {
			return
		}
		if m.Status == Opened {
			p.job, p.ok = m.Job, true
			return
		}
		for i := range q.sessions {
			if q.sessions[i].seq == m.Seq {
				q.sessions[i].seq = 0 // ended (refused, expired, cancelled): the next arrival opens another
			}
		}
		delete(q.posted, m.Seq)
		env.Emit(JobFinished{Seq: m.Seq, Job: m.Job, Status: m.Status, Verified: m.Verified, Refund: m.Refund,
			Latency: env.Now().Sub(p.at)})
	}
}

// next sets the timer of the next arrival. A constant process starts at
// a random phase, so that requesters of one rate do not post in lockstep.
func (q *Requester) next(env protocol.Env, first bool) {
	var gap protocol.Duration
	switch q.Arrivals.Process {
	case Poisson:
		gap = seconds(env.Rand().ExpFloat64() / q.Arrivals.Rate)
	case Constant:
		gap = seconds(1 / q.Arrivals.Rate)
		if first {
			gap = seconds(env.Rand().Float64() / q.Arrivals.Rate) // a random phase
		}
	case Burst:
		gap = q.Arrivals.BurstEvery
	}
	if q.Until > 0 && env.Now().Add(gap) >= q.Until {
		for i := range q.sessions {
			if s := &q.sessions[i]; s.seq != 0 && s.next < s.units {
				env.Send(q.Committee, &Release{Seq: s.seq, End: true})
				s.seq = 0
			}
		}
		return
	}
	env.SetTimer(gap, 0)
}

func seconds(s float64) protocol.Duration { return protocol.Duration(math.Round(s * 1e9)) }

// post draws a job and posts it, or for a Stream type releases the next
// unit of its session (posting the session first when needed).
func (q *Requester) post(env protocol.Env) {
	r := env.Rand()
	ti := q.pick(r.Float64())
	t := q.Types[ti]
	if t.Stream {
		s := &q.sessions[ti]
		if s.seq == 0 || s.next == s.units {
			*s = session{seq: q.open(env, r, t), units: max(t.Units, 1)}
		}
		env.Send(q.Committee, &Release{Seq: s.seq, Unit: s.next, Posted: env.Now(), FLOPs: unitFLOPs(t.FLOPs, r)})
		s.next++
		return
	}
	q.open(env, r, t)
}

// open posts a job of type t and returns its Seq.
func (q *Requester) open(env protocol.Env, r *rand.Rand, t JobType) uint64 {
	flops := float64(unitFLOPs(t.FLOPs, r))
	if t.Stream {
		flops = math.Max(math.Min(t.FLOPs.Mean(), 1e19), 1) // a session's units draw their own sizes
	}
	spec := Spec{Kind: t.Kind, Units: max(t.Units, 1), UnitFLOPs: uint64(flops), MemBytes: t.MemBytes,
		Steps: max(t.Steps, 1), Precision: t.Precision, Deadline: t.Deadline, Stream: t.Stream}
	if t.Intensity > 0 {
		spec.UnitBytes = uint64(flops / t.Intensity)
	}
	spec.InputBytes, spec.OutputBytes = dataBytes(t.InputBytes, r), dataBytes(t.OutputBytes, r)
	budget := t.Budget
	if t.PricePerPFLOP > 0 {
		budget = uint64(math.Ceil(float64(t.PricePerPFLOP) * spec.TotalFLOPs() / 1e15))
	}
	q.seq++
	q.posted[q.seq] = &posted{at: env.Now()}
	env.Emit(JobPosted{Seq: q.seq, Type: spec.Kind, Units: spec.Units, FLOPs: spec.UnitFLOPs, Budget: budget})
	env.Send(q.Committee, &PostJob{Seq: q.seq, Posted: env.Now(), Budget: budget, Spec: spec})
	if q.CancelShare > 0 && r.Float64() < q.CancelShare {
		env.SetTimer(q.CancelAfter, cancelTag|q.seq)
	}
	return q.seq
}

// unitFLOPs draws a unit's arithmetic, within [1, 10¹⁹].
func unitFLOPs(d dist.Dist, r *rand.Rand) uint64 {
	f := d.Sample(r)
	if !(f >= 1) {
		f = 1
	}
	return uint64(math.Min(f, 1e19))
}

// dataBytes draws a unit's data size (0 without a distribution), within
// [0, MaxData].
func dataBytes(d dist.Dist, r *rand.Rand) uint64 {
	if d == nil {
		return 0
	}
	x := d.Sample(r)
	if !(x > 0) {
		return 0
	}
	return uint64(math.Min(math.Round(x), MaxData))
}

// pick returns the index of the job type whose share interval holds u.
func (q *Requester) pick(u float64) int {
	var total float64
	for _, t := range q.Types {
		total += t.Share
	}
	x := u * total
	for i, t := range q.Types {
		if x < t.Share {
			return i
		}
		x -= t.Share
	}
	return len(q.Types) - 1
}
