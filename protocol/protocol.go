package protocol

import (
	"math/rand/v2"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol/wire"
)

// NodeID names a node for the whole run. IDs are dense from 0 in the simulator.
type NodeID uint32

// Time is nanoseconds since the run started. It is never a float and never a
// time.Time, so that simulated and live runs count it the same way.
type Time int64

// Duration is a span of Time in nanoseconds.
type Duration int64

// Common durations.
const (
	Nanosecond  Duration = 1
	Microsecond          = 1000 * Nanosecond
	Millisecond          = 1000 * Microsecond
	Second               = 1000 * Millisecond
	Minute               = 60 * Second
	Hour                 = 60 * Minute
)

// Add returns t+d.
func (t Time) Add(d Duration) Time { return t + Time(d) }

// Sub returns t-u.
func (t Time) Sub(u Time) Duration { return Duration(t - u) }

// Seconds returns d as floating-point seconds, for reports only.
func (d Duration) Seconds() float64 { return float64(d) / float64(Second) }

// Milliseconds returns d as floating-point milliseconds, for reports only.
func (d Duration) Milliseconds() float64 { return float64(d) / float64(Millisecond) }

func (d Duration) String() string { return time.Duration(d).String() }

// String prints t as the span since the run started, e.g. "1m30.5s".
func (t Time) String() string { return time.Duration(t).String() }

// TimerID identifies a timer set by one node. IDs are never reused within a run.
type TimerID uint64

// JobID identifies a job submitted by one node. IDs are never reused within a run.
type JobID uint64

// Env is everything a node may touch outside its own state. It records
// effects; the driver applies them. An Env is valid only during the Handle
// call it was passed to: a node must not keep it.
type Env interface {
	// Self is the ID of the node being driven.
	Self() NodeID
	// Now is the driver's clock: simulated in sim, wall-clock since the run
	// started in live mode.
	Now() Time
	// Rand is the node's own stream, derived from (root seed, NodeID).
	Rand() *rand.Rand
	// Send delivers m to one node; the network may delay, drop or reorder it.
	Send(to NodeID, m wire.Msg)
	// Publish gossips m to the topic's subscribers (the sender excluded).
	Publish(t wire.Topic, m wire.Msg)
	// SetTimer asks for a TimerFired input carrying tag after the duration.
	SetTimer(after Duration, tag uint64) TimerID
	// CancelTimer stops a timer; cancelling a fired or unknown timer is a no-op.
	CancelTimer(id TimerID)
	// Submit starts a job on the node's hardware; a JobDone input follows.
	Submit(job gpu.Job) JobID
	// Emit records a measurement stamped with Now.
	Emit(ev metrics.Event)
}

// Input is what a driver hands a node: one of Start, Recv, TimerFired,
// JobDone or Stop.
type Input interface{ isInput() }

// Start is the first input a node gets, and the first after it rejoins.
type Start struct {
	// Rejoin is true when the node comes back after leaving or crashing.
	Rejoin bool
}

// Recv carries a message from another node.
type Recv struct {
	From NodeID
	Msg  wire.Msg
}

// TimerFired reports that a timer set with SetTimer expired.
type TimerFired struct {
	ID  TimerID
	Tag uint64
}

// JobDone reports that a submitted job finished.
type JobDone struct {
	ID     JobID
	Result gpu.Result
}

// Stop is the last input of a node that leaves gracefully or of a run that
// ends. A crashed node gets no Stop.
type Stop struct {
	// Leave is true when the node leaves the network (churn) rather than the
	// run ending.
	Leave bool
}

func (Start) isInput()      {}
func (Recv) isInput()       {}
func (TimerFired) isInput() {}
func (JobDone) isInput()    {}
func (Stop) isInput()       {}

// Node is a protocol participant. Handle runs to completion, never blocks,
// and keeps no reference to env. A driver calls Handle for one node from one
// goroutine at a time.
type Node interface {
	Handle(env Env, in Input)
}

// NodeFunc adapts a function to Node.
type NodeFunc func(env Env, in Input)

// Handle calls f(env, in).
func (f NodeFunc) Handle(env Env, in Input) { f(env, in) }
