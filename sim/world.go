package sim

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
	"math/rand/v2"
	"reflect"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// Network turns a send into an arrival time or a drop. sim/netmodel
// implements it; tests may use anything simpler.
type Network interface {
	// Transmit returns when a message of size bytes, sent from→to at now,
	// arrives, or ok=false if the network drops it. r is the sender's own
	// network stream. Transmit may update queueing state (a busy uplink).
	Transmit(now protocol.Time, from, to protocol.NodeID, size int, r *rand.Rand) (at protocol.Time, ok bool)
	// Linked reports whether a message from→to may arrive at t; false during
	// a partition that separates them. A message in flight when a partition
	// starts is lost.
	Linked(from, to protocol.NodeID, t protocol.Time) bool
}

// Config describes a World. The zero value of each field is usable.
type Config struct {
	// Seed is the root of every random stream in the run.
	Seed uint64
	// Net delivers messages; nil delivers every message instantly.
	Net Network
	// Hardware returns the GPU class of a node; nil means every node has the
	// "cpu" class. Model turns a job and a class into a duration.
	Hardware func(protocol.NodeID) gpu.Class
	Model    gpu.Model
	// Overlay returns the gossip neighbours of a node, used by Publish.
	// nil means Publish reaches nobody.
	Overlay func(protocol.NodeID) []protocol.NodeID
	// Sink receives every event nodes emit, stamped; nil discards them.
	Sink metrics.Sink
	// Trace, when true, hashes every dispatched input into TraceHash so two
	// runs can be compared for determinism.
	Trace bool
	// CPU is what each message costs its sender's and receiver's
	// processor; the zero value costs nothing.
	CPU CPU
	// Online, if not nil, is told when a node comes up or goes down (a
	// start, a leave or crash, a rejoin, the run's Stop), at the World's
	// time: what a driver needs to count online time exactly.
	Online func(id protocol.NodeID, up bool)
	// TimerLateNs delays every timer past its due time, as a live
	// runtime's timers fire late by the wake-up and the inputs queued
	// ahead of them; a timer re-armed when it fires slips by as much each
	// time, as it does live. 0: timers fire on time.
	TimerLateNs int64
}

// CPU is the processing time a World charges for messages (netspec.CPU,
// the description a scenario and dais calibrate share). A node's
// processor does one thing at a time: a message it sends leaves, and a
// message it receives is handled, only once the processor has spent the
// cost after everything charged before (World.Charge included); messages
// wait in that order. Timers and job completions are not charged and do
// not wait: they stand for work the node's other threads do.
type CPU = netspec.CPU

type evKind uint8

const (
	evNone   evKind = iota // cancelled timer, or a free slot
	evStart                // tag: 1 when rejoining
	evRecv                 // from, msg
	evGossip               // from = origin, id = publication, tag = previous hop
	evTimer                // id = TimerID, tag
	evJob                  // id = JobID, res
	evStop                 // tag: 1 when leaving
	evLeave                // churn: tag 1 = crash, 0 = graceful
	evRejoin               // churn
	evCall                 // fn
	evReady                // from, msg: a received message the node's processor has processed
)

// payload is the body of a queued event; slots are reused through a free list.
type payload struct {
	kind  evKind
	node  protocol.NodeID
	from  protocol.NodeID
	epoch uint32
	gen   uint32 // bumped at every reuse, so a TimerID names one use of a slot
	id    uint64
	tag   uint64
	// obj is the message (evRecv, evGossip), the *gpu.Result (evJob) or the
	// func() (evCall): one field keeps the payload at 56 bytes.
	obj any
}

// nodeState is the driver's record of one node; kept small because a run may
// hold 10⁵ idle nodes.
type nodeState struct {
	node    protocol.Node
	rng     *rand.Rand // created on first use
	netRng  *rand.Rand
	gpuFree protocol.Time // the node's GPU runs one job at a time, FIFO
	cpuFree protocol.Time // when the node's processor is next free (Config.CPU, Charge)
	epoch   uint32        // bumped when the node leaves, so its old timers and jobs die
	online  bool
	started bool
}

// World owns the nodes of one simulated run and drives them from a single
// event queue in (time, seq) order. It is not safe for concurrent use: a
// run is single-threaded by design, and parallelism comes from running many
// Worlds.
type World struct {
	cfg   Config
	now   protocol.Time
	seq   uint64
	q     queue
	slab  []payload
	free  []uint32
	nodes []nodeState
	env   env

	nextJob  uint64
	pubs     [][]uint64 // per publication: bitset of nodes that have seen it
	trace    hash.Hash64
	traceBuf [40]byte

	events  uint64 // popped from the queue
	inputs  uint64 // handed to nodes
	sent    uint64
	dropped uint64
	stopped bool

	// lastSent is the message the node being handled last paid CPU.SendNs
	// for, and when it left: a broadcast pays once.
	lastSent   wire.Msg
	lastSentAt protocol.Time
}

// New returns an empty World.
func New(cfg Config) *World {
	w := &World{cfg: cfg}
	if cfg.Hardware == nil {
		cpu, _ := gpu.Lookup("cpu")
		w.cfg.Hardware = func(protocol.NodeID) gpu.Class { return cpu }
	}
	if cfg.Model == (gpu.Model{}) {
		w.cfg.Model = gpu.DefaultModel
	}
	if cfg.Trace {
		w.trace = fnv.New64a()
	}
	w.env.w = w
	return w
}

// Add registers a node and returns its ID (IDs are dense from 0). Nodes added
// before Start start at time 0; nodes added later start at the current time.
func (w *World) Add(n protocol.Node) protocol.NodeID {
	id := protocol.NodeID(len(w.nodes))
	w.nodes = append(w.nodes, nodeState{node: n})
	if w.seq > 0 || w.now > 0 {
		w.schedule(w.now, payload{kind: evStart, node: id})
	}
	return id
}

// Len is the number of nodes.
func (w *World) Len() int { return len(w.nodes) }

// Node returns the node with the given ID.
func (w *World) Node(id protocol.NodeID) protocol.Node { return w.nodes[id].node }

// Online reports whether a node is up (started and not left or crashed).
func (w *World) Online(id protocol.NodeID) bool { return w.nodes[id].online }

// Now is the simulated clock.
func (w *World) Now() protocol.Time { return w.now }

// Events is the number of events taken off the queue so far, including
// those that turned out to be dropped messages or cancelled timers.
func (w *World) Events() uint64 { return w.events }

// Inputs is the number of inputs handed to nodes so far.
func (w *World) Inputs() uint64 { return w.inputs }

// Pending is the number of events in the queue.
func (w *World) Pending() int { return w.q.Len() }

// Messages returns how many messages were sent and how many the network
// dropped (loss, partitions, offline receivers).
func (w *World) Messages() (sent, dropped uint64) { return w.sent, w.dropped }

// TraceHash is the running hash of every dispatched input (Config.Trace).
func (w *World) TraceHash() uint64 {
	if w.trace == nil {
		return 0
	}
	return w.trace.Sum64()
}

// Start queues a Start input for every node added so far, at the current
// time, in ID order.
func (w *World) Start() {
	// A run usually holds a few events per node at once; sizing the slab for
	// that up front saves the copies of growing it event by event.
	if want := 4 * len(w.nodes); cap(w.slab) < want {
		w.slab = append(make([]payload, 0, want), w.slab...)
		w.free = append(make([]uint32, 0, want), w.free...)
	}
	for i := range w.nodes {
		if !w.nodes[i].started {
			w.schedule(w.now, payload{kind: evStart, node: protocol.NodeID(i)})
		}
	}
}

// At runs fn at time t, ordered with other events by (time, seq). Drivers use
// it for scheduled actions (churn, measurements); fn runs outside any node.
func (w *World) At(t protocol.Time, fn func()) {
	if t < w.now {
		t = w.now
	}
	w.schedule(t, payload{kind: evCall, obj: fn})
}

// Leave takes a node offline at time t: a graceful leave delivers Stop{Leave:
// true} first; a crash delivers nothing. Either way its timers and jobs are
// discarded and messages to it are dropped until Rejoin.
func (w *World) Leave(id protocol.NodeID, t protocol.Time, crash bool) {
	var tag uint64
	if crash {
		tag = 1
	}
	w.schedule(max(t, w.now), payload{kind: evLeave, node: id, tag: tag})
}

// Rejoin brings a node back at time t with Start{Rejoin: true}.
func (w *World) Rejoin(id protocol.NodeID, t protocol.Time) {
	w.schedule(max(t, w.now), payload{kind: evRejoin, node: id})
}

// Charge makes node id's processor busy for d more, from now or from
// when it is next free if that is later: the messages it sends and
// receives meanwhile wait (see CPU). Drivers charge work the World does
// not see, such as storing a committed block; a node that handles an
// input calls it (through its sink) before the input's sends leave, and
// they wait too.
func (w *World) Charge(id protocol.NodeID, d protocol.Duration) {
	if d <= 0 {
		return
	}
	ns := &w.nodes[id]
	ns.cpuFree = max(w.now, ns.cpuFree).Add(d)
}

// Step dispatches the next event. It returns false when the queue is empty.
func (w *World) Step() bool {
	if w.q.Len() == 0 {
		return false
	}
	it := w.q.pop()
	w.events++
	w.now = protocol.Time(it.at)
	slot := it.slot()
	s := &w.slab[slot]
	p := *s
	s.kind, s.obj, s.gen = evNone, nil, s.gen+1 // obj released for the GC
	w.free = append(w.free, slot)
	w.dispatch(&p)
	return true
}

// RunUntil dispatches every event at or before t, then sets the clock to t.
func (w *World) RunUntil(t protocol.Time) {
	for w.q.Len() > 0 && protocol.Time(w.q.peek().at) <= t {
		w.Step()
	}
	if t > w.now {
		w.now = t
	}
}

// RunUntilReporting is RunUntil(end) in n steps, calling report with the
// clock and the events dispatched after each: the same events in the same
// order as one RunUntil, so showing progress cannot change a run.
func (w *World) RunUntilReporting(end protocol.Time, n int, report func(now protocol.Time, events uint64)) {
	chunk := max(protocol.Duration(end.Sub(w.now))/protocol.Duration(max(n, 1)), 1)
	for t := w.now.Add(chunk); t < end; t = t.Add(chunk) {
		w.RunUntil(t)
		report(t, w.Events())
	}
	w.RunUntil(end)
	report(end, w.Events())
}

// RunWhile dispatches events while cond returns true, the queue is not empty
// and the clock has not passed limit. cond is checked before every event.
func (w *World) RunWhile(cond func() bool, limit protocol.Time) {
	for w.q.Len() > 0 && protocol.Time(w.q.peek().at) <= limit && cond() {
		w.Step()
	}
}

// Stop delivers Stop to every online node, in ID order, and ends the run.
func (w *World) Stop() {
	if w.stopped {
		return
	}
	w.stopped = true
	for i := range w.nodes {
		if w.nodes[i].online {
			w.deliver(protocol.NodeID(i), protocol.Stop{})
			w.nodes[i].online = false
			w.notify(protocol.NodeID(i), false)
		}
	}
}

func (w *World) schedule(at protocol.Time, p payload) uint32 {
	var slot uint32
	if n := len(w.free); n > 0 {
		slot = w.free[n-1]
		w.free = w.free[:n-1]
		p.gen = w.slab[slot].gen
	} else {
		slot = uint32(len(w.slab))
		w.slab = append(w.slab, payload{})
	}
	w.slab[slot] = p
	w.q.push(makeItem(int64(at), w.seq, slot))
	w.seq++
	return slot
}

func (w *World) dispatch(p *payload) {
	if p.kind == evNone {
		return
	}
	if p.kind == evCall {
		w.traceEvent(p)
		p.obj.(func())()
		return
	}
	ns := &w.nodes[p.node]
	switch p.kind {
	case evStart:
		if ns.online {
			return
		}
		ns.online, ns.started = true, true
		w.notify(p.node, true)
		w.traceEvent(p)
		w.deliver(p.node, protocol.Start{Rejoin: p.tag == 1})
	case evRecv:
		if !ns.online || (w.cfg.Net != nil && !w.cfg.Net.Linked(p.from, p.node, w.now)) {
			w.dropped++
			return
		}
		w.traceEvent(p)
		w.receive(p.node, p.from, p.obj.(wire.Msg))
	case evGossip:
		hop := protocol.NodeID(p.tag)
		if !ns.online || (w.cfg.Net != nil && !w.cfg.Net.Linked(hop, p.node, w.now)) {
			w.dropped++
			return
		}
		seen := w.pubs[p.id]
		if seen[p.node/64]&(1<<(p.node%64)) != 0 {
			return // a duplicate: the router drops it before the node sees it
		}
		seen[p.node/64] |= 1 << (p.node % 64)
		w.forward(w.now, p.node, hop, p.from, p.id, p.obj.(wire.Msg))
		w.traceEvent(p)
		w.receive(p.node, p.from, p.obj.(wire.Msg))
	case evReady:
		if !ns.online || p.epoch != ns.epoch {
			return
		}
		w.traceEvent(p)
		w.deliver(p.node, protocol.Recv{From: p.from, Msg: p.obj.(wire.Msg)})
	case evTimer:
		if !ns.online || p.epoch != ns.epoch {
			return
		}
		w.traceEvent(p)
		w.deliver(p.node, protocol.TimerFired{ID: protocol.TimerID(p.id), Tag: p.tag})
	case evJob:
		if !ns.online || p.epoch != ns.epoch {
			return
		}
		w.traceEvent(p)
		w.deliver(p.node, protocol.JobDone{ID: protocol.JobID(p.id), Result: *p.obj.(*gpu.Result)})
	case evLeave:
		if !ns.online {
			return
		}
		w.traceEvent(p)
		if p.tag == 0 {
			w.deliver(p.node, protocol.Stop{Leave: true})
		}
		ns.online = false
		w.notify(p.node, false)
		ns.epoch++
		ns.gpuFree, ns.cpuFree = 0, 0
	case evRejoin:
		if ns.online || w.stopped {
			return
		}
		w.traceEvent(p)
		ns.online = true
		w.notify(p.node, true)
		w.deliver(p.node, protocol.Start{Rejoin: true})
	}
}

// receive hands a message that arrived to node id, now, or once its
// processor has processed it (CPU.RecvNs, after what it was charged).
func (w *World) receive(id, from protocol.NodeID, m wire.Msg) {
	ns := &w.nodes[id]
	if w.cfg.CPU.RecvNs == 0 && ns.cpuFree <= w.now {
		w.deliver(id, protocol.Recv{From: from, Msg: m})
		return
	}
	ns.cpuFree = max(w.now, ns.cpuFree).Add(protocol.Duration(w.cfg.CPU.RecvNs))
	w.schedule(ns.cpuFree, payload{kind: evReady, node: id, from: from, epoch: ns.epoch, obj: m})
}

// sendAt is when message m, which node id sends now, leaves: now, or once
// its processor has spent CPU.SendNs after what it was charged; m again
// within the same input leaves with the first.
func (w *World) sendAt(id protocol.NodeID, m wire.Msg) protocol.Time {
	ns := &w.nodes[id]
	if w.cfg.CPU.SendNs == 0 && ns.cpuFree <= w.now {
		return w.now
	}
	if w.lastSent != nil && reflect.ValueOf(m).Kind() == reflect.Pointer && m == w.lastSent {
		return max(w.now, w.lastSentAt)
	}
	ns.cpuFree = max(w.now, ns.cpuFree).Add(protocol.Duration(w.cfg.CPU.SendNs))
	w.lastSent, w.lastSentAt = m, ns.cpuFree
	return ns.cpuFree
}

func (w *World) deliver(id protocol.NodeID, in protocol.Input) {
	w.inputs++
	w.lastSent = nil
	w.env.id = id
	w.nodes[id].node.Handle(&w.env, in)
}

func (w *World) notify(id protocol.NodeID, up bool) {
	if w.cfg.Online != nil {
		w.cfg.Online(id, up)
	}
}

func (w *World) traceEvent(p *payload) {
	if w.trace == nil {
		return
	}
	b := w.traceBuf[:]
	binary.LittleEndian.PutUint64(b[0:], uint64(w.now))
	binary.LittleEndian.PutUint32(b[8:], uint32(p.kind))
	binary.LittleEndian.PutUint32(b[12:], uint32(p.node))
	binary.LittleEndian.PutUint32(b[16:], uint32(p.from))
	binary.LittleEndian.PutUint64(b[20:], p.tag)
	var kind, size uint32
	if m, ok := p.obj.(wire.Msg); ok {
		kind, size = uint32(m.Kind()), uint32(m.WireSize())
	}
	binary.LittleEndian.PutUint32(b[28:], kind)
	binary.LittleEndian.PutUint32(b[32:], size)
	binary.LittleEndian.PutUint32(b[36:], uint32(p.id))
	w.trace.Write(b)
}

// send charges the network for one hop leaving at t (now or later) and
// queues the arrival.
func (w *World) send(t protocol.Time, from, to protocol.NodeID, m wire.Msg, p payload) {
	w.sent++
	at := t
	if w.cfg.Net != nil {
		var ok bool
		at, ok = w.cfg.Net.Transmit(t, from, to, m.WireSize(), w.netRand(from))
		if !ok {
			w.dropped++
			return
		}
	}
	w.schedule(at, p)
}

// forward passes a publication from node on to its overlay neighbours,
// except the one it came from, leaving at t.
func (w *World) forward(t protocol.Time, node, prev, origin protocol.NodeID, pub uint64, m wire.Msg) {
	if w.cfg.Overlay == nil {
		return
	}
	for _, nb := range w.cfg.Overlay(node) {
		if nb == prev || nb == node || nb == origin {
			continue
		}
		w.send(t, node, nb, m, payload{kind: evGossip, node: nb, from: origin, id: pub, tag: uint64(node), obj: m})
	}
}

func (w *World) netRand(id protocol.NodeID) *rand.Rand {
	ns := &w.nodes[id]
	if ns.netRng == nil {
		ns.netRng = protocol.Stream(w.cfg.Seed, "net", uint64(id))
	}
	return ns.netRng
}

// env is the World's Env; one value serves every node, pointed at the node
// being driven, so Handle costs no allocation.
type env struct {
	w  *World
	id protocol.NodeID
}

func (e *env) Self() protocol.NodeID { return e.id }
func (e *env) Now() protocol.Time    { return e.w.now }

func (e *env) Rand() *rand.Rand {
	ns := &e.w.nodes[e.id]
	if ns.rng == nil {
		ns.rng = protocol.Stream(e.w.cfg.Seed, "node", uint64(e.id))
	}
	return ns.rng
}

func (e *env) Send(to protocol.NodeID, m wire.Msg) {
	if int(to) >= len(e.w.nodes) {
		panic(fmt.Sprintf("sim: node %d sent to unknown node %d at %v", e.id, to, e.w.now))
	}
	e.w.send(e.w.sendAt(e.id, m), e.id, to, m, payload{kind: evRecv, node: to, from: e.id, obj: m})
}

func (e *env) Publish(_ wire.Topic, m wire.Msg) {
	w := e.w
	pub := uint64(len(w.pubs))
	seen := make([]uint64, (len(w.nodes)+63)/64)
	seen[e.id/64] |= 1 << (e.id % 64)
	w.pubs = append(w.pubs, seen)
	w.forward(w.sendAt(e.id, m), e.id, e.id, e.id, pub, m)
}

func (e *env) SetTimer(after protocol.Duration, tag uint64) protocol.TimerID {
	if after < 0 {
		after = 0
	}
	w := e.w
	slot := w.schedule(w.now.Add(after+protocol.Duration(w.cfg.TimerLateNs)), payload{kind: evTimer, node: e.id, epoch: w.nodes[e.id].epoch, tag: tag})
	id := uint64(w.slab[slot].gen)<<32 | uint64(slot)
	w.slab[slot].id = id
	return protocol.TimerID(id)
}

func (e *env) CancelTimer(id protocol.TimerID) {
	w := e.w
	slot := uint32(id)
	if int(slot) >= len(w.slab) {
		return
	}
	p := &w.slab[slot]
	if p.kind == evTimer && p.id == uint64(id) && p.node == e.id {
		p.kind = evNone // the queue entry stays and is skipped when it pops
	}
}

func (e *env) Submit(job gpu.Job) protocol.JobID {
	w := e.w
	ns := &w.nodes[e.id]
	w.nextJob++
	id := w.nextJob
	class := w.cfg.Hardware(e.id)
	res := w.cfg.Model.Run(class, job)
	if res.Err == "" && job.Work != nil {
		// Real work runs here, in event order, so its result is deterministic.
		out, err := job.Work.Run()
		if err != nil {
			res.Err = err.Error()
		}
		res.Output = out
	}
	start := max(w.now, ns.gpuFree)
	done := start.Add(protocol.Duration(res.DurationNs))
	ns.gpuFree = done
	w.schedule(done, payload{kind: evJob, node: e.id, epoch: ns.epoch, id: id, obj: &res})
	return protocol.JobID(id)
}

func (e *env) Emit(ev metrics.Event) {
	if s := e.w.cfg.Sink; s != nil {
		s.Record(metrics.Stamped{Node: uint32(e.id), AtNs: int64(e.w.now), Event: ev})
	}
}
