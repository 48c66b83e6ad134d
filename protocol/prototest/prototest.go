// Package prototest drives a protocol.Node by hand in unit tests: Env is a
// synchronous fake that records every effect, and the test decides when time
// moves and which inputs arrive.
//
//	env := prototest.NewEnv(3, 42)
//	node.Handle(env, protocol.Start{})
//	sent := env.TakeSent()              // what the node sent, in order
//	env.Advance(time.Second)             // fires due timers, in order
package prototest

import (
	"math/rand/v2"
	"sort"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// Sent is one recorded Send or Publish (To is unset for Publish).
type Sent struct {
	To    protocol.NodeID
	Topic wire.Topic
	Msg   wire.Msg
}

// Timer is a pending timer.
type Timer struct {
	ID  protocol.TimerID
	At  protocol.Time
	Tag uint64
}

// Job is a submitted job.
type Job struct {
	ID  protocol.JobID
	Job gpu.Job
}

// Env is a fake protocol.Env for one node. It is not safe for concurrent use.
type Env struct {
	Node protocol.Node // driven by Advance for TimerFired; may be nil

	self    protocol.NodeID
	now     protocol.Time
	rng     *rand.Rand
	sent    []Sent
	timers  []Timer
	jobs    []Job
	events  []metrics.Stamped
	nextTID protocol.TimerID
	nextJID protocol.JobID
}

// NewEnv returns an Env for node self whose Rand is seeded by seed.
func NewEnv(self protocol.NodeID, seed uint64) *Env {
	return &Env{self: self, rng: rand.New(rand.NewPCG(seed, uint64(self)))}
}

func (e *Env) Self() protocol.NodeID { return e.self }
func (e *Env) Now() protocol.Time    { return e.now }
func (e *Env) Rand() *rand.Rand      { return e.rng }

func (e *Env) Send(to protocol.NodeID, m wire.Msg) {
	e.sent = append(e.sent, Sent{To: to, Msg: m})
}

func (e *Env) Publish(t wire.Topic, m wire.Msg) {
	e.sent = append(e.sent, Sent{Topic: t, Msg: m})
}

func (e *Env) SetTimer(after protocol.Duration, tag uint64) protocol.TimerID {
	e.nextTID++
	e.timers = append(e.timers, Timer{ID: e.nextTID, At: e.now.Add(max(after, 0)), Tag: tag})
	return e.nextTID
}

func (e *Env) CancelTimer(id protocol.TimerID) {
	for i, t := range e.timers {
		if t.ID == id {
			e.timers = append(e.timers[:i], e.timers[i+1:]...)
			return
		}
	}
}

func (e *Env) Submit(j gpu.Job) protocol.JobID {
	e.nextJID++
	e.jobs = append(e.jobs, Job{ID: e.nextJID, Job: j})
	return e.nextJID
}

func (e *Env) Emit(ev metrics.Event) {
	e.events = append(e.events, metrics.Stamped{Node: uint32(e.self), AtNs: int64(e.now), Event: ev})
}

// TakeSent returns the messages sent since the last call, in order.
func (e *Env) TakeSent() []Sent { s := e.sent; e.sent = nil; return s }

// TakeJobs returns the jobs submitted since the last call, in order.
func (e *Env) TakeJobs() []Job { j := e.jobs; e.jobs = nil; return j }

// TakeEvents returns the events emitted since the last call, in order.
func (e *Env) TakeEvents() []metrics.Stamped { v := e.events; e.events = nil; return v }

// Timers returns the pending timers, earliest first (ties in the order set).
func (e *Env) Timers() []Timer {
	t := append([]Timer(nil), e.timers...)
	sort.SliceStable(t, func(i, j int) bool { return t[i].At < t[j].At })
	return t
}

// SetNow moves the clock without firing timers; it may not go backwards.
func (e *Env) SetNow(t protocol.Time) {
	if t < e.now {
		panic("prototest: clock moved backwards")
	}
	e.now = t
}

// Advance moves the clock forward by d, delivering each timer that falls due
// to Node as TimerFired, in time order, with the clock set to its deadline.
func (e *Env) Advance(d protocol.Duration) {
	end := e.now.Add(d)
	for {
		ts := e.Timers()
		if len(ts) == 0 || ts[0].At > end {
			break
		}
		t := ts[0]
		e.CancelTimer(t.ID)
		e.now = t.At
		if e.Node != nil {
			e.Node.Handle(e, protocol.TimerFired{ID: t.ID, Tag: t.Tag})
		}
	}
	e.now = end
}

var _ protocol.Env = (*Env)(nil)
