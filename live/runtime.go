package live

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// Transport moves encoded frames (wire.Encode output) between nodes. A
// Runtime calls Send and Publish from its node goroutine only, after the
// Handle that produced the message has returned; several Runtimes in one
// process may share a Transport, so an implementation shared that way must be
// safe for concurrent use. Both methods may block until the frame is handed
// to the network. The transport owns frame after the call; the runtime never
// touches it again. An error means the frame was not sent; the runtime counts
// it (Stats) and reports it to Config.OnError, and the node never learns of
// it, as a node in the simulator never learns of a dropped message.
type Transport interface {
	// Send delivers frame to one node.
	Send(to protocol.NodeID, frame []byte) error
	// Publish gossips frame to the subscribers of topic, the sender excluded.
	Publish(topic wire.Topic, frame []byte) error
}

// Receiver takes the frames a transport received. Deliver may be called from
// any goroutine, concurrently; it must not block for long, because a
// transport calls it from its read loops. The receiver owns frame after the
// call (decoded messages alias it), so the transport must not reuse it.
// *Runtime is a Receiver.
type Receiver interface {
	Deliver(from protocol.NodeID, frame []byte)
}

// ErrConfig is returned by New for a Config it cannot run.
var ErrConfig = errors.New("live: invalid config")

// Config describes the node a Runtime drives.
type Config struct {
	// ID is the node's identity, the same one the other nodes' address books use.
	ID protocol.NodeID
	// Seed is the root seed: Rand is protocol.Stream(Seed, "node", ID), the
	// stream the simulator gives the same node.
	Seed uint64
	// Epoch is the instant the run started; Now counts from it. Processes
	// that share an Epoch agree on Now up to their wall clocks' skew (use
	// NTP). It must not be the zero time.
	Epoch time.Time
	// Transport carries the node's messages. Required.
	Transport Transport
	// Class is the hardware that cost-only jobs (Job.Work == nil) are
	// emulated on; the zero Class means gpu.Lookup("cpu"), as in sim.
	Class gpu.Class
	// Model costs cost-only jobs; the zero Model means gpu.DefaultModel.
	Model gpu.Model
	// Sink receives the node's events, called from the node goroutine. A
	// Sink shared by several Runtimes is called concurrently, so it must be
	// safe for concurrent use; wrap one that is not with NewLockedSink. nil
	// discards events.
	Sink metrics.Sink
	// OnError, if not nil, is called from the node goroutine with every
	// transport error (each is also counted in Stats).
	OnError func(error)
}

// Stats counts what happened to a Runtime's inputs and outputs. All figures
// are totals since New.
type Stats struct {
	// Handled is the number of inputs handed to the node.
	Handled uint64
	// Malformed is the number of frames Deliver could not decode; they are dropped.
	Malformed uint64
	// Dropped is the number of inputs that arrived while the node was not
	// running (before Start, after Stop) or were queued when Stop came.
	Dropped uint64
	// SendErrors and PublishErrors count frames the transport refused.
	SendErrors    uint64
	PublishErrors uint64
}

type runState uint8

const (
	created runState = iota
	running
	stopped
)

// Runtime drives one node in real time. Every input is handed to
// node.Handle from one goroutine, one at a time, so the node needs no locks,
// as in the simulator. Start, Stop, Deliver, Stats and Now are safe for
// concurrent use; Stop must not be called from inside Handle (it waits for
// the node goroutine). A Runtime runs once: Start after Stop does nothing.
// Inputs that arrive before Start or after Stop are dropped and counted, as
// the simulator drops messages to an offline node, so start the receivers
// of a node's first messages before the node.
//
// Where real time makes live differ from the simulator:
//   - Now is read when an input is dispatched and stays fixed during Handle,
//     so a node sees one instant per input; timers count from that instant.
//   - Messages a node sends are encoded during Handle (the node may reuse
//     them afterwards) and handed to the Transport after Handle returns.
//   - Timers fire in (deadline, order set) like the simulator's (time, seq),
//     but interleave with messages in whatever order they really arrive.
//   - Jobs run one at a time, first in first out, as on the simulator's
//     GPU. A job with Work runs it on a worker goroutine and reports the
//     measured wall time (EnergyJ is Model.Energy of that time: the class's
//     TDP, an upper bound). A cost-only job is emulated by waiting the
//     duration Model predicts for Class, and reports that duration; a job
//     the model rejects (too little memory) fails at once, as in sim.
type Runtime struct {
	node protocol.Node
	cfg  Config
	// Now is base plus the monotonic time elapsed since mono, so that a wall
	// clock step during the run cannot make a node's clock go backwards.
	base protocol.Duration
	mono time.Time

	mu        sync.Mutex
	state     runState
	queue     []protocol.Input
	timersDue bool
	signal    chan struct{} // capacity 1: "look at the queue"
	done      chan struct{} // closed when the node goroutine has ended
	stopping  atomic.Bool

	// Owned by the node goroutine.
	spare     []protocol.Input
	env       env
	rng       *rand.Rand
	handleAt  time.Time
	out       []outFrame
	timers    timerHeap
	timerByID map[protocol.TimerID]*timer
	nextTimer protocol.TimerID
	wake      *time.Timer
	nextJob   protocol.JobID

	jobMu     sync.Mutex
	jobQ      []queuedJob
	jobSignal chan struct{}
	quit      chan struct{} // closed when the node goroutine ends: jobs stop waiting
	jobsDone  chan struct{} // closed when the job worker has ended

	handled, malformed, dropped, sendErrs, pubErrs atomic.Uint64
}

type outFrame struct {
	publish bool
	to      protocol.NodeID
	topic   wire.Topic
	frame   []byte
}

type queuedJob struct {
	id  protocol.JobID
	job gpu.Job
}

// New returns a Runtime for node. Nothing runs until Start.
func New(node protocol.Node, cfg Config) (*Runtime, error) {
	if node == nil {
		return nil, fmt.Errorf("%w: nil node", ErrConfig)
	}
	if cfg.Transport == nil {
		return nil, fmt.Errorf("%w: node %d has no Transport", ErrConfig, cfg.ID)
	}
	if cfg.Epoch.IsZero() {
		return nil, fmt.Errorf("%w: node %d has no Epoch", ErrConfig, cfg.ID)
	}
	if cfg.Class == (gpu.Class{}) {
		cpu, ok := gpu.Lookup("cpu")
		if !ok {
			return nil, fmt.Errorf("%w: the gpu catalog has no \"cpu\" class", ErrConfig)
		}
		cfg.Class = cpu
	}
	if cfg.Model == (gpu.Model{}) {
		cfg.Model = gpu.DefaultModel
	}
	if err := cfg.Class.Validate(); err != nil {
		return nil, fmt.Errorf("%w: node %d: %w", ErrConfig, cfg.ID, err)
	}
	if err := cfg.Model.Validate(); err != nil {
		return nil, fmt.Errorf("%w: node %d: %w", ErrConfig, cfg.ID, err)
	}
	mono := time.Now()
	r := &Runtime{
		node:      node,
		cfg:       cfg,
		base:      protocol.Duration(mono.Sub(cfg.Epoch)),
		mono:      mono,
		signal:    make(chan struct{}, 1),
		done:      make(chan struct{}),
		timerByID: make(map[protocol.TimerID]*timer),
		jobSignal: make(chan struct{}, 1),
		quit:      make(chan struct{}),
		jobsDone:  make(chan struct{}),
	}
	r.env.r = r
	return r, nil
}

// ID is the node's identity.
func (r *Runtime) ID() protocol.NodeID { return r.cfg.ID }

// Now is the run's clock as this Runtime reads it: time since the Epoch,
// never negative.
func (r *Runtime) Now() protocol.Time { return r.timeAt(time.Now()) }

func (r *Runtime) timeAt(t time.Time) protocol.Time {
	now := protocol.Time(r.base + protocol.Duration(t.Sub(r.mono)))
	// Before the epoch (a process started early, or clock skew) the clock
	// reads 0: protocol time is never negative.
	return max(now, 0)
}

// Stats returns the counters so far.
func (r *Runtime) Stats() Stats {
	return Stats{
		Handled:       r.handled.Load(),
		Malformed:     r.malformed.Load(),
		Dropped:       r.dropped.Load(),
		SendErrors:    r.sendErrs.Load(),
		PublishErrors: r.pubErrs.Load(),
	}
}

// Malformed is the number of frames Deliver dropped because they did not decode.
func (r *Runtime) Malformed() uint64 { return r.malformed.Load() }

// Start starts the node goroutine and hands the node protocol.Start. Only
// the first call does anything.
func (r *Runtime) Start() {
	r.mu.Lock()
	if r.state != created {
		r.mu.Unlock()
		return
	}
	r.state = running
	r.mu.Unlock()
	go r.runJobs()
	go r.loop()
}

// Stop hands the node protocol.Stop as its next input (after Start, which
// always comes first), discards whatever else was queued, stops its timers and jobs, and returns when the node
// goroutine and the job worker have ended. A job whose Work is running
// cannot be interrupted: Stop waits for it. Stop is idempotent and may be
// called before Start (then the node never runs).
func (r *Runtime) Stop() {
	r.mu.Lock()
	switch r.state {
	case created:
		r.state = stopped
		close(r.done)
		close(r.quit)
		close(r.jobsDone)
		r.mu.Unlock()
		return
	case running:
		r.state = stopped
		r.dropped.Add(uint64(len(r.queue)))
		r.queue = nil
		r.stopping.Store(true)
		r.mu.Unlock()
		r.notify()
	default:
		r.mu.Unlock()
	}
	<-r.done
	<-r.jobsDone
}

// Deliver decodes a frame received from another node and queues it as a
// protocol.Recv. It implements Receiver: it may be called from any
// goroutine, and it owns frame after the call. A frame that does not decode
// is counted (Malformed) and dropped; a frame that arrives while the node is
// not running is counted (Dropped) and dropped.
func (r *Runtime) Deliver(from protocol.NodeID, frame []byte) {
	m, err := wire.Decode(frame)
	if err != nil {
		r.malformed.Add(1)
		return
	}
	r.post(protocol.Recv{From: from, Msg: m})
}

// DeliverMsg queues a message already decoded, as a protocol.Recv: Deliver
// for a receiver that decodes and checks frames before the node sees them
// (and counts what it refuses itself). The node owns m after the call.
func (r *Runtime) DeliverMsg(from protocol.NodeID, m wire.Msg) {
	r.post(protocol.Recv{From: from, Msg: m})
}

// post queues an input for the node goroutine. The queue is unbounded so
// that no transport read loop, timer or job ever blocks on a busy node.
func (r *Runtime) post(in protocol.Input) {
	r.mu.Lock()
	if r.state != running {
		r.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	r.queue = append(r.queue, in)
	r.mu.Unlock()
	r.notify()
}

func (r *Runtime) notify() {
	select {
	case r.signal <- struct{}{}:
	default: // a wake-up is already pending; the loop will see the queue
	}
}

// timerKick runs on the wake timer's goroutine.
func (r *Runtime) timerKick() {
	r.mu.Lock()
	if r.state != running {
		r.mu.Unlock()
		return
	}
	r.timersDue = true
	r.mu.Unlock()
	r.notify()
}

// loop is the node goroutine. Start is handed over here rather than
// queued, so that it is always the node's first input and Stop cannot
// discard it.
func (r *Runtime) loop() {
	defer close(r.done)
	r.dispatch(protocol.Start{})
	for {
		if r.stopping.Load() {
			r.finish()
			return
		}
		<-r.signal
		for r.drain() {
		}
	}
}

// drain handles due timers and the inputs queued so far, and reports whether
// it did anything (so more may have been queued meanwhile).
func (r *Runtime) drain() bool {
	r.mu.Lock()
	batch := r.queue
	r.queue = r.spare[:0]
	due := r.timersDue
	r.timersDue = false
	r.mu.Unlock()
	if due {
		r.fireTimers()
	}
	for i, in := range batch {
		if r.stopping.Load() {
			r.dropped.Add(uint64(len(batch) - i))
			break
		}
		r.dispatch(in)
	}
	clear(batch)
	r.spare = batch[:0]
	return (len(batch) > 0 || due) && !r.stopping.Load()
}

func (r *Runtime) finish() {
	r.dispatch(protocol.Stop{})
	if r.wake != nil {
		r.wake.Stop()
	}
	r.timers = nil
	clear(r.timerByID)
	close(r.quit)
}

// dispatch hands one input to the node, then applies the sends and
// publishes it recorded.
func (r *Runtime) dispatch(in protocol.Input) {
	r.handleAt = time.Now()
	r.handled.Add(1)
	r.node.Handle(&r.env, in)
	for i := range r.out {
		o := &r.out[i]
		if o.publish {
			if err := r.cfg.Transport.Publish(o.topic, o.frame); err != nil {
				r.pubErrs.Add(1)
				r.report(fmt.Errorf("live: node %d publishing %s (%d bytes) on %q: %w", r.cfg.ID, kindOf(o.frame), len(o.frame), o.topic, err))
			}
		} else if err := r.cfg.Transport.Send(o.to, o.frame); err != nil {
			r.sendErrs.Add(1)
			r.report(fmt.Errorf("live: node %d sending %s (%d bytes) to node %d: %w", r.cfg.ID, kindOf(o.frame), len(o.frame), o.to, err))
		}
		*o = outFrame{}
	}
	r.out = r.out[:0]
}

func (r *Runtime) report(err error) {
	if r.cfg.OnError != nil {
		r.cfg.OnError(err)
	}
}

// kindOf names the message in a frame this runtime encoded, for errors,
// from the header alone (a frame may be 64 MiB).
func kindOf(frame []byte) string {
	if len(frame) < 2 {
		return "frame"
	}
	k, n := binary.Uvarint(frame[1:])
	if n <= 0 || k > 0xffff {
		return "frame"
	}
	return wire.Name(wire.Kind(k))
}

// fireTimers hands the node every timer due now, in (deadline, ID) order.
// Timers set while firing wait for the next wake-up, so a node that keeps
// setting zero timers cannot starve its inbox.
func (r *Runtime) fireTimers() {
	now := time.Now()
	limit := r.nextTimer
	for len(r.timers) > 0 && !r.stopping.Load() {
		t := r.timers[0]
		if t.at.After(now) || t.id > limit {
			break
		}
		heap.Pop(&r.timers)
		delete(r.timerByID, t.id)
		r.dispatch(protocol.TimerFired{ID: t.id, Tag: t.tag})
	}
	r.armWake()
}

// armWake points the one wake timer at the earliest deadline. A timer is
// delivered only from the heap, by the node goroutine, so a cancelled timer
// cannot fire even if the wake-up for it is already on its way.
func (r *Runtime) armWake() {
	if len(r.timers) == 0 {
		if r.wake != nil {
			r.wake.Stop()
		}
		return
	}
	d := time.Until(r.timers[0].at)
	if r.wake == nil {
		r.wake = time.AfterFunc(d, r.timerKick)
	} else {
		r.wake.Reset(d)
	}
}

func (r *Runtime) runJobs() {
	defer close(r.jobsDone)
	for {
		select {
		case <-r.quit:
			return
		case <-r.jobSignal:
		}
		for {
			r.jobMu.Lock()
			if len(r.jobQ) == 0 {
				r.jobMu.Unlock()
				break
			}
			j := r.jobQ[0]
			r.jobQ[0] = queuedJob{}
			r.jobQ = r.jobQ[1:]
			r.jobMu.Unlock()
			res, ok := r.runJob(j.job)
			if !ok {
				return
			}
			r.post(protocol.JobDone{ID: j.id, Result: res})
		}
	}
}

// runJob runs or emulates one job; ok is false if the runtime stopped while
// the job was being emulated.
func (r *Runtime) runJob(j gpu.Job) (res gpu.Result, ok bool) {
	if j.Work != nil {
		start := time.Now()
		out, err := j.Work.Run()
		ns := time.Since(start).Nanoseconds()
		res = gpu.Result{DurationNs: ns, EnergyJ: r.cfg.Model.Energy(r.cfg.Class, ns), Output: out}
		if err != nil {
			res.Err = err.Error()
		}
		return res, true
	}
	res = r.cfg.Model.Run(r.cfg.Class, j)
	if res.Err != "" {
		return res, true
	}
	t := time.NewTimer(time.Duration(res.DurationNs))
	defer t.Stop()
	select {
	case <-t.C:
		return res, true
	case <-r.quit:
		return res, false
	}
}

// env is the Runtime's Env. Its methods run on the node goroutine, inside Handle.
type env struct{ r *Runtime }

func (e *env) Self() protocol.NodeID { return e.r.cfg.ID }
func (e *env) Now() protocol.Time    { return e.r.timeAt(e.r.handleAt) }

func (e *env) Rand() *rand.Rand {
	r := e.r
	if r.rng == nil {
		r.rng = protocol.Stream(r.cfg.Seed, "node", uint64(r.cfg.ID))
	}
	return r.rng
}

func (e *env) Send(to protocol.NodeID, m wire.Msg) {
	e.r.out = append(e.r.out, outFrame{to: to, frame: wire.Encode(m)})
}

func (e *env) Publish(t wire.Topic, m wire.Msg) {
	e.r.out = append(e.r.out, outFrame{publish: true, topic: t, frame: wire.Encode(m)})
}

func (e *env) SetTimer(after protocol.Duration, tag uint64) protocol.TimerID {
	r := e.r
	r.nextTimer++
	t := &timer{id: r.nextTimer, tag: tag, at: r.handleAt.Add(time.Duration(max(after, 0)))}
	heap.Push(&r.timers, t)
	r.timerByID[t.id] = t
	if t.index == 0 {
		r.armWake()
	}
	return t.id
}

func (e *env) CancelTimer(id protocol.TimerID) {
	r := e.r
	t, ok := r.timerByID[id]
	if !ok {
		return
	}
	delete(r.timerByID, id)
	wasFirst := t.index == 0
	heap.Remove(&r.timers, t.index)
	if wasFirst {
		r.armWake()
	}
}

func (e *env) Submit(job gpu.Job) protocol.JobID {
	r := e.r
	r.nextJob++
	r.jobMu.Lock()
	r.jobQ = append(r.jobQ, queuedJob{id: r.nextJob, job: job})
	r.jobMu.Unlock()
	select {
	case r.jobSignal <- struct{}{}:
	default:
	}
	return r.nextJob
}

func (e *env) Emit(ev metrics.Event) {
	if s := e.r.cfg.Sink; s != nil {
		s.Record(metrics.Stamped{Node: uint32(e.r.cfg.ID), AtNs: int64(e.Now()), Event: ev})
	}
}

// timer is a pending timer; index is its place in the heap.
type timer struct {
	at    time.Time // carries a monotonic reading
	id    protocol.TimerID
	tag   uint64
	index int
}

// timerHeap orders timers by (deadline, ID): the simulator's (time, seq),
// since IDs grow in the order timers are set.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].id < h[j].id
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old) - 1
	t := old[n]
	old[n] = nil
	*h = old[:n]
	return t
}

// LockedSink serializes Record calls, so that Runtimes, each calling from
// its own goroutine, can share a Sink that is not safe for concurrent use.
type LockedSink struct {
	mu   sync.Mutex
	sink metrics.Sink
}

// NewLockedSink wraps s.
func NewLockedSink(s metrics.Sink) *LockedSink { return &LockedSink{sink: s} }

// Record passes st to the wrapped sink, one call at a time.
func (l *LockedSink) Record(st metrics.Stamped) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sink.Record(st)
}
