package blockprop

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/sim"
	"github.com/dais-sim/dais/sim/netmodel"
)

// The engine is a sim.World specialized to the relay: the same events in
// the same (time, seq) order, with what a World keeps per node and per
// message reduced to flat arrays of small records.

type evKind uint8

const (
	evStart   evKind = iota + 1
	evMsg            // msg: gossip.MsgKind; aux: hops or count
	evTimer          // a relay timer; msg: gossip.Timer; aux: the node's epoch
	evPropose        // a schedule timer; block: its tag; aux: the node's epoch
	evCall           // aux: index into calls
	evLeave          // aux: 1 for a crash
	evRejoin
)

// event is one queued event; 16 bytes. A message's sender is the peer
// fromIdx of its receiver node.
type event struct {
	kind    evKind
	msg     uint8
	fromIdx uint16 // the sender's index in the receiver's peer list
	node    protocol.NodeID
	block   uint32
	aux     uint32
}

// nodeRec is the engine's record of a node, as a World's nodeState.
type nodeRec struct {
	// net is the node's network stream; off and deg its row of edges.
	// They sit with the rest so that a node passing a block on touches
	// one record, not four arrays.
	net       rand.PCG
	off       uint32
	deg       uint16
	pushes    uint16 // its first pushes peers take compact blocks unsolicited
	maxHeight uint64 // highest block held: mining extends it
	// delaySum and receipts are the node's first-hold delays (ms, summed
	// in event order) and their count, for the per-group table.
	delaySum float64
	receipts uint32
	epoch    uint32 // bumped when the node leaves, so its old timers die
	online   bool
	started  bool
}

// blockEntry is a block being relayed: its per-node state lives here
// while any message or timer about it is in flight, and is freed when
// none is, since nothing can touch it again.
type blockEntry struct {
	id       uint32
	live     bool
	ref      gossip.Ref
	txs      int
	size     [gossip.NumMsgKinds]int // wire sizes, for messages without counts and hops below 128
	inflight int32
	reached  int32
	slots    []gossip.Slot
	// done has bit i set when node i holds the block (push) or has
	// relayed it (announce, compact): what Send asks of a receiver, in
	// n/8 bytes rather than n slots.
	done []uint64
}

// edge is one directed edge of the peer graph.
type edge struct {
	to  protocol.NodeID
	rev uint16 // the index of this edge's source in to's peer list
	end uint16 // to's receiving end, an index into engine.ends
}

// blockState is a block's per-node arrays, kept for the next block when
// it is freed.
type blockState struct {
	slots []gossip.Slot
	done  []uint64
}

type engine struct {
	p    *Params
	cfg  *gossip.Config
	net  *netmodel.Model
	topo *Topology
	q    sim.Queue[event]
	now  protocol.Time
	end  protocol.Time // the run ends here

	nodes []nodeRec
	// Each node's relay and network streams, as values in two arrays;
	// relay and net draw from the one their cursor points at.
	relayPCG         []rand.PCG
	relayCur, netCur cursor
	relay, net_      *rand.Rand
	turns            []uint32            // slots: each node's turn
	gaps             []protocol.Duration // mining: each node's mean gap between blocks
	valScale         []float64           // nil when every node's is 1
	valZero          bool
	cuts             bool // partitions: arrivals are checked against them
	churn            bool // nodes leave: arrivals and timers are checked against it
	// edges are the peer graph's rows as one array: whom an edge reaches,
	// where that node lists this one, and its receiving end (region,
	// downlink) among the few distinct ones in ends, so that a send reads
	// one record in edge order rather than four arrays, one of them at
	// random among all nodes. ends is nil with more than 2¹⁶ distinct
	// ends.
	edges []edge
	ends  []netmodel.End

	blocks []blockEntry // by block ID & mask
	mask   uint32
	nextID uint32
	spare  []blockState

	calls     []func()
	freeCalls []uint32

	// The event being handled.
	cur     protocol.NodeID
	curB    *blockEntry
	curSize int
	dup     bool

	need [3]int32 // nodes holding a block at 50%, 90% and 100%

	rec   *record.Recorder
	tally tally
	sink  metrics.Sink
	// settle: a message that can only arrive as a duplicate is counted
	// when sent instead of queued (see Send).
	settleEarly bool
	trace       hash.Hash64
	tbuf        [32]byte

	events, queued, sent, dropped uint64
	res                           Result
}

// tally keeps the counters' totals per time step until the run ends, when
// they go to the recorder: a message settled when it is sent counts in the
// step it arrives in, ahead of the clock. The values are whole numbers,
// so the recorder's totals and series are what adding them one delivery
// at a time would give.
type tally struct {
	step protocol.Time
	rows []counts
}

type counts struct{ deliveries, delivered, duplicates, duplicated, receipts uint64 }

// maxTally bounds the rows; past it the step doubles and rows merge.
const maxTally = 4096

func (t *tally) add(at protocol.Time, c counts) {
	i := int(at / t.step)
	for i >= maxTally {
		t.step *= 2
		for j := range (len(t.rows) + 1) / 2 {
			r := t.rows[2*j]
			if 2*j+1 < len(t.rows) {
				o := t.rows[2*j+1]
				r.deliveries += o.deliveries
				r.delivered += o.delivered
				r.duplicates += o.duplicates
				r.duplicated += o.duplicated
				r.receipts += o.receipts
			}
			t.rows[j] = r
		}
		t.rows = t.rows[:(len(t.rows)+1)/2]
		i = int(at / t.step)
	}
	for len(t.rows) <= i {
		t.rows = append(t.rows, counts{})
	}
	r := &t.rows[i]
	r.deliveries += c.deliveries
	r.delivered += c.delivered
	r.duplicates += c.duplicates
	r.duplicated += c.duplicated
	r.receipts += c.receipts
}

// flush hands the tally to the recorder.
func (t *tally) flush(rec *record.Recorder) {
	for i, r := range t.rows {
		if r == (counts{}) {
			continue
		}
		o := rec.At(int64(i) * int64(t.step))
		o.Add(Deliveries, float64(r.deliveries))
		o.Add(Delivered, float64(r.delivered))
		o.Add(Duplicates, float64(r.duplicates))
		o.Add(DuplicateBytes, float64(r.duplicated))
		o.Add(receipts, float64(r.receipts))
	}
	t.rows = nil
}

func newEngine(p *Params) (*engine, error) {
	topo, err := buildTopology(p)
	if err != nil {
		return nil, err
	}
	net, err := netmodel.New(p.Matrix)
	if err != nil {
		return nil, err
	}
	net.Jitter, net.Factor, net.Loss = p.Jitter, p.LatencyFactor, p.Loss
	for _, part := range p.Partitions {
		if err := net.AddPartition(part); err != nil {
			return nil, err
		}
	}
	n := len(p.Nodes)
	e := &engine{
		p: p, cfg: &p.Relay, net: net, topo: topo,
		end:      p.end(),
		nodes:    make([]nodeRec, n),
		relayPCG: make([]rand.PCG, n),
		valZero:  p.Validation.Zero(),
		cuts:     len(p.Partitions) > 0,
		churn:    p.Churn != nil,
		blocks:   make([]blockEntry, 4),
		mask:     3,
		rec:      recorderOf(p.Sink),
	}
	if e.rec == nil {
		e.sink = p.Sink
	} else if step := e.rec.StepNs(); step > 0 {
		e.tally.step = protocol.Time(step)
	}
	if e.tally.step == 0 {
		e.tally.step = math.MaxInt64
	}
	// Settling early needs every receiver online when a message arrives
	// (no churn) and no sink to get events in time order.
	e.settleEarly = p.Churn == nil && e.sink == nil && !p.queueAll
	if p.Trace {
		e.trace = fnv.New64a()
	}
	e.relay, e.net_ = rand.New(&e.relayCur), rand.New(&e.netCur)
	net.Reserve(n)
	for i, nd := range p.Nodes {
		net.AddNode(nd.Region, nd.Link)
		// The streams a World would make on first use: the node's network
		// stream, and its relay stream, split from its node stream as
		// gossip.Node splits it from env.Rand.
		nr := &e.nodes[i]
		nr.net = protocol.StreamPCG(p.Seed, "net", uint64(i))
		nr.off, nr.deg, nr.pushes = topo.Off[i], uint16(topo.Off[i+1]-topo.Off[i]), topo.Pushes[i]
		node := protocol.StreamPCG(p.Seed, "node", uint64(i))
		e.relayPCG[i] = *rand.NewPCG(node.Uint64(), node.Uint64())
		if nd.ValidationScale != 0 && nd.ValidationScale != 1 {
			if e.valScale == nil {
				e.valScale = make([]float64, n)
				for j := range e.valScale {
					e.valScale[j] = 1
				}
			}
			e.valScale[i] = nd.ValidationScale
		}
	}
	e.edgeEnds()
	if e.turns, e.gaps, err = schedules(p); err != nil {
		return nil, err
	}
	for k, share := range []float64{0.5, 0.9, 1} {
		e.need[k] = int32(math.Ceil(share * float64(n)))
	}
	return e, nil
}

// edgeEnds fills edges and ends.
func (e *engine) edgeEnds() {
	index := map[netmodel.End]uint16{}
	of := make([]uint16, len(e.nodes))
	for i := range e.nodes {
		end := e.net.End(protocol.NodeID(i))
		k, ok := index[end]
		if !ok {
			if len(e.ends) > math.MaxUint16 {
				e.ends = nil
				break
			}
			k = uint16(len(e.ends))
			index[end] = k
			e.ends = append(e.ends, end)
		}
		of[i] = k
	}
	e.edges = make([]edge, len(e.topo.Peers))
	for k, to := range e.topo.Peers {
		e.edges[k] = edge{to: to, rev: e.topo.Rev[k], end: of[to]}
	}
}

// schedules returns each node's turn (slots) or mean gap between the
// blocks it mines (mining); neither for a single block.
func schedules(p *Params) (turns []uint32, gaps []protocol.Duration, err error) {
	n := len(p.Nodes)
	switch {
	case p.Mining:
		power := 0.0
		for _, nd := range p.Nodes {
			power += nd.HashPower
		}
		gaps = make([]protocol.Duration, n)
		for i, nd := range p.Nodes {
			if nd.HashPower > 0 {
				gaps[i] = protocol.Duration(math.Round(float64(p.Interval) * power / nd.HashPower))
			}
		}
	case p.Interval > 0:
		if uint64(p.Until)/uint64(p.Interval) >= math.MaxUint32 {
			return nil, nil, fmt.Errorf("blockprop: %v of %v slots is more than 2³² blocks", p.Until, p.Interval)
		}
		turns = make([]uint32, n)
		for i, t := range protocol.Stream(p.Seed, "proposers", 0).Perm(n) {
			turns[i] = uint32(t)
		}
	}
	return turns, gaps, nil
}

// scheduleOf is node id's block schedule.
func scheduleOf(p *Params, turns []uint32, gaps []protocol.Duration, id protocol.NodeID) gossip.Schedule {
	switch {
	case gaps != nil:
		return gossip.Schedule{MeanInterval: gaps[id], Until: protocol.Time(p.Until)}
	case turns != nil:
		return gossip.Schedule{Slots: gossip.Slots{Interval: p.Interval, Proposers: uint32(len(p.Nodes)), Turn: turns[id], Until: protocol.Time(p.Until)}}
	}
	return gossip.Schedule{}
}

func (e *engine) schedule(id protocol.NodeID) gossip.Schedule {
	return scheduleOf(e.p, e.turns, e.gaps, id)
}

func (e *engine) push(at protocol.Time, ev event) { e.q.Push(at, ev) }

// cursor is a random source that draws from the generator it points at.
type cursor struct{ p *rand.PCG }

func (c *cursor) Uint64() uint64 { return c.p.Uint64() }

// start queues a Start for every node, in ID order, as World.Start does.
func (e *engine) start() {
	for i := range e.nodes {
		e.push(e.now, event{kind: evStart, node: protocol.NodeID(i)})
	}
}

func (e *engine) runUntil(t protocol.Time) {
	for e.q.Len() > 0 && e.q.Peek() <= t {
		e.step()
	}
	if t > e.now {
		e.now = t
	}
}

func (e *engine) step() {
	at, ev := e.q.Pop()
	e.events++
	e.queued++
	e.now = at
	nd := &e.nodes[ev.node]
	switch ev.kind {
	case evMsg:
		b := e.block(ev.block)
		// Without churn every node is online from its start, before any
		// message: the check would only cost a cache miss.
		if e.churn && !nd.online || (e.cuts && !e.net.Linked(e.edges[nd.off+uint32(ev.fromIdx)].to, ev.node, at)) {
			e.dropped++
		} else {
			e.deliver(&ev, b)
		}
		b.inflight--
		e.settle(b)
	case evTimer:
		b := e.block(ev.block)
		if !e.churn || nd.online && ev.aux == nd.epoch {
			e.traceEvent(&ev)
			e.cur, e.curB = ev.node, b
			e.cfg.Fire(e, &b.slots[ev.node], gossip.Timer(ev.msg))
			e.mark(b, ev.node)
		}
		b.inflight--
		e.settle(b)
	case evPropose:
		if nd.online && ev.aux == nd.epoch {
			e.traceEvent(&ev)
			s := e.schedule(ev.node)
			height, after, next, ok := s.Next(at, uint64(ev.block), nd.maxHeight, e.relayStream(ev.node))
			e.propose(ev.node, height)
			if ok {
				e.push(at.Add(after), event{kind: evPropose, node: ev.node, block: uint32(next), aux: nd.epoch})
			}
		}
	case evStart:
		if !nd.online {
			nd.online, nd.started = true, true
			e.traceEvent(&ev)
			e.startNode(ev.node, false)
		}
	case evRejoin:
		if !nd.online {
			nd.online = true
			e.traceEvent(&ev)
			e.startNode(ev.node, true)
		}
	case evLeave:
		if nd.online {
			e.traceEvent(&ev)
			nd.online = false
			nd.epoch++
		}
	case evCall:
		e.traceEvent(&ev)
		fn := e.calls[ev.aux]
		e.calls[ev.aux] = nil
		e.freeCalls = append(e.freeCalls, ev.aux)
		fn()
	}
}

// startNode is a node's Start (or its Start{Rejoin: true}), as
// gossip.Node handles it.
func (e *engine) startNode(id protocol.NodeID, rejoin bool) {
	s := e.schedule(id)
	if after, tag, ok := s.First(e.now, e.relayStream(id)); ok {
		e.push(e.now.Add(after), event{kind: evPropose, node: id, block: uint32(tag), aux: e.nodes[id].epoch})
		return
	}
	if s == (gossip.Schedule{}) && id == 0 && e.p.BlockSize > 0 && !rejoin && e.nodes[id].maxHeight == 0 {
		e.propose(id, 1)
	}
}

func (e *engine) relayStream(id protocol.NodeID) func() *rand.Rand {
	return func() *rand.Rand { return e.relayRand(id) }
}

// relayRand is node id's relay stream: valid until relayRand is called
// for another node.
func (e *engine) relayRand(id protocol.NodeID) *rand.Rand {
	e.relayCur.p = &e.relayPCG[id]
	return e.relay
}

func (e *engine) propose(id protocol.NodeID, height uint64) {
	ref := gossip.Ref{Origin: id, Height: height, Created: e.now, Size: e.p.BlockSize}
	b := e.newBlock(ref)
	e.res.Blocks++
	e.cur, e.curB = id, b
	e.curSize = b.size[gossip.MsgBlock]
	e.cfg.Propose(e, &b.slots[id])
	e.mark(b, id)
	e.settle(b)
}

// wireSize is m's size on the wire, about block b.
func (e *engine) wireSize(b *blockEntry, m gossip.Msg) int {
	// A hop count below 128 is one byte, as 0 is.
	if m.Hops < 128 && m.Count == 0 && b.size[m.Kind] > 0 {
		return b.size[m.Kind]
	}
	return e.cfg.WireSize(b.ref, m)
}

// deliver hands a message that arrived to its node's relay logic and
// counts what it carried.
func (e *engine) deliver(ev *event, b *blockEntry) {
	e.traceEvent(ev)
	m := gossip.Msg{Kind: gossip.MsgKind(ev.msg)}
	if m.Kind == gossip.MsgGetTxn || m.Kind == gossip.MsgTxn {
		m.Count = ev.aux
	} else {
		m.Hops = ev.aux
	}
	carries := m.Kind.CarriesBlock()
	if carries || e.sink != nil {
		e.curSize = e.wireSize(b, m)
	}
	e.cur, e.curB, e.dup = ev.node, b, false
	e.cfg.Receive(e, &b.slots[ev.node], int(ev.fromIdx), m)
	e.mark(b, ev.node)
	if !carries {
		return
	}
	e.account(e.now, m.Kind, uint64(e.curSize), e.dup)
}

// account counts a block-carrying message delivered at t.
func (e *engine) account(t protocol.Time, k gossip.MsgKind, size uint64, dup bool) {
	var c counts
	e.res.DeliveredBytes += size
	c.delivered = size
	if k != gossip.MsgTxn {
		e.res.Deliveries++
		c.deliveries = 1
	}
	if dup {
		e.res.DuplicateBytes += size
		c.duplicated = size
		if k != gossip.MsgTxn {
			e.res.Duplicates++
			c.duplicates = 1
		}
	}
	if e.rec != nil {
		e.tally.add(t, c)
	}
}

func (e *engine) block(id uint32) *blockEntry {
	b := &e.blocks[id&e.mask]
	if !b.live || b.id != id {
		panic(fmt.Sprintf("blockprop: block %d is not live at %v (seed %d)", id, e.now, e.p.Seed))
	}
	return b
}

func (e *engine) newBlock(ref gossip.Ref) *blockEntry {
	id := e.nextID
	e.nextID++
	for e.blocks[id&e.mask].live {
		e.grow()
	}
	var st blockState
	if k := len(e.spare); k > 0 {
		st, e.spare = e.spare[k-1], e.spare[:k-1]
		clear(st.slots)
		clear(st.done)
	} else {
		st = blockState{make([]gossip.Slot, len(e.nodes)), make([]uint64, (len(e.nodes)+63)/64)}
		e.res.slotArrays++
	}
	b := &e.blocks[id&e.mask]
	*b = blockEntry{id: id, live: true, ref: ref, txs: e.cfg.Txs(ref.Size), slots: st.slots, done: st.done}
	for _, k := range []gossip.MsgKind{gossip.MsgBlock, gossip.MsgInv, gossip.MsgGetData, gossip.MsgCompact} {
		b.size[k] = e.cfg.WireSize(ref, gossip.Msg{Kind: k})
	}
	return b
}

// grow doubles the ring of blocks until every live one has its own place.
func (e *engine) grow() {
	for size := 2 * len(e.blocks); ; size *= 2 {
		blocks, mask := make([]blockEntry, size), uint32(size-1)
		ok := true
		for _, b := range e.blocks {
			if b.live {
				if blocks[b.id&mask].live {
					ok = false
					break
				}
				blocks[b.id&mask] = b
			}
		}
		if ok {
			e.blocks, e.mask = blocks, mask
			return
		}
	}
}

// settle frees a block's per-node state once nothing about it is in
// flight.
func (e *engine) settle(b *blockEntry) {
	if b.inflight > 0 {
		return
	}
	e.res.Held += int64(b.reached)
	e.spare = append(e.spare, blockState{b.slots, b.done})
	*b = blockEntry{}
}

// finish fills the result.
func (e *engine) finish(res *Result) {
	if e.rec != nil {
		e.tally.flush(e.rec)
	}
	for i := range e.blocks {
		if b := &e.blocks[i]; b.live {
			b.inflight = 0
			e.settle(b)
		}
	}
	r := e.res
	r.Params, r.Topology, r.HeapBuilt = res.Params, res.Topology, res.HeapBuilt
	r.Events, r.Queued, r.Sent, r.Dropped = e.events, e.queued, e.sent, e.dropped
	r.delaySum, r.receipts = make([]float64, len(e.nodes)), make([]uint32, len(e.nodes))
	for i, nd := range e.nodes {
		r.delaySum[i], r.receipts[i] = nd.delaySum, nd.receipts
	}
	for i := range e.nodes {
		b, _ := e.net.UplinkStats(protocol.NodeID(i))
		r.BytesSent += b
	}
	if e.trace != nil {
		r.TraceHash = e.trace.Sum64()
	}
	*res = r
}

func (e *engine) traceEvent(ev *event) {
	if e.trace == nil {
		return
	}
	b := e.tbuf[:]
	binary.LittleEndian.PutUint64(b[0:], uint64(e.now))
	b[8], b[9] = byte(ev.kind), ev.msg
	binary.LittleEndian.PutUint16(b[10:], ev.fromIdx)
	binary.LittleEndian.PutUint32(b[12:], uint32(ev.node))
	binary.LittleEndian.PutUint32(b[16:], ev.block)
	binary.LittleEndian.PutUint32(b[20:], ev.aux)
	e.trace.Write(b[:24])
}

// The engine as the churn model's driver.

func (e *engine) Now() protocol.Time { return e.now }

func (e *engine) At(t protocol.Time, fn func()) {
	var i uint32
	if k := len(e.freeCalls); k > 0 {
		i, e.freeCalls = e.freeCalls[k-1], e.freeCalls[:k-1]
		e.calls[i] = fn
	} else {
		i = uint32(len(e.calls))
		e.calls = append(e.calls, fn)
	}
	e.push(max(t, e.now), event{kind: evCall, aux: i})
}

func (e *engine) Leave(id protocol.NodeID, t protocol.Time, crash bool) {
	var c uint32
	if crash {
		c = 1
	}
	e.push(max(t, e.now), event{kind: evLeave, node: id, aux: c})
}

func (e *engine) Rejoin(id protocol.NodeID, t protocol.Time) {
	e.push(max(t, e.now), event{kind: evRejoin, node: id})
}

// The engine as the relay logic's Host, for node e.cur and block e.curB.

func (e *engine) Rand() *rand.Rand { return e.relayRand(e.cur) }
func (e *engine) Peers() int       { return int(e.nodes[e.cur].deg) }
func (e *engine) Pushes() int      { return int(e.nodes[e.cur].pushes) }
func (e *engine) Txs() int         { return e.curB.txs }

func (e *engine) Validation() protocol.Duration {
	if e.valZero {
		return 0
	}
	scale := 1.0
	if e.valScale != nil {
		scale = e.valScale[e.cur]
	}
	return e.p.Validation.Time(e.relayRand(e.cur), e.curB.ref.Size, scale)
}

func (e *engine) Send(peer int, m gossip.Msg) {
	from := e.cur
	nd := &e.nodes[from]
	ed := &e.edges[nd.off+uint32(peer)]
	to := ed.to
	size := e.wireSize(e.curB, m)
	e.sent++
	var end netmodel.End
	if e.ends != nil {
		end = e.ends[ed.end]
	} else {
		end = e.net.End(to)
	}
	e.netCur.p = &nd.net
	at, ok := e.net.TransmitTo(e.now, from, to, end, size, e.net_)
	if !ok {
		e.dropped++
		return
	}
	e.res.Messages[m.Kind]++
	e.res.Bytes[m.Kind] += uint64(size)
	if e.settleEarly && at <= e.end && e.settles(to, m.Kind) {
		// The receiver holds the block for good and reads nothing more
		// from this message: what its arrival would do (lost to a
		// partition then, or counted as a duplicate) is done now, in the
		// step it arrives in, and it is counted as the event it would
		// have been. The run is the same; the queue is spared most of a
		// flood's copies. (A message that would arrive after the run ends
		// is queued, and never dispatched, like any other.)
		e.events++
		if e.cuts && !e.net.Linked(from, to, at) {
			e.dropped++
		} else if m.Kind.CarriesBlock() {
			e.account(at, m.Kind, uint64(size), true)
		}
		return
	}
	aux := m.Hops
	if m.Kind == gossip.MsgGetTxn || m.Kind == gossip.MsgTxn {
		aux = m.Count
	}
	e.push(at, event{kind: evMsg, msg: uint8(m.Kind), fromIdx: ed.rev, node: to, block: e.curB.id, aux: aux})
	e.curB.inflight++
}

// settles reports whether a message of kind k to node to, about the
// current block, can only arrive as a no-op or a duplicate: the receiver
// holds the block and, under announce and compact, has already relayed it
// (until then an announcement or a copy tells it whom not to announce to).
// Receivers keep what they hold, and a block's slots live while anything
// about it is in flight, so what is true when the message leaves is true
// when it arrives.
func (e *engine) settles(to protocol.NodeID, k gossip.MsgKind) bool {
	if e.curB.done[to/64]&(1<<(to%64)) == 0 {
		return false
	}
	if e.cfg.Protocol == gossip.Push {
		return k == gossip.MsgBlock
	}
	return k == gossip.MsgInv || k.CarriesBlock()
}

// mark records in the block's done bits that node id holds the block
// (push) or has relayed it, as its slot says after the relay logic ran.
func (e *engine) mark(b *blockEntry, id protocol.NodeID) {
	s := &b.slots[id]
	if e.cfg.Protocol == gossip.Push && s.Holds() || s.Relayed() {
		b.done[id/64] |= 1 << (id % 64)
	}
}

func (e *engine) After(d protocol.Duration, t gossip.Timer) {
	e.push(e.now.Add(max(d, 0)), event{kind: evTimer, msg: uint8(t), node: e.cur, block: e.curB.id, aux: e.nodes[e.cur].epoch})
	e.curB.inflight++
}

func (e *engine) Hold(hops uint32) {
	b := e.curB
	b.reached++
	nd := &e.nodes[e.cur]
	nd.maxHeight = max(nd.maxHeight, b.ref.Height)
	d := e.now.Sub(b.ref.Created)
	ms := d.Milliseconds()
	if hops > 0 {
		e.res.Receipts++
		e.res.LastArrival = max(e.res.LastArrival, d)
		nd.delaySum += ms
		nd.receipts++
	}
	if e.rec != nil {
		o := e.rec.At(int64(e.now))
		if hops > 0 {
			o.Sample(Propagation, ms)
			e.tally.add(e.now, counts{receipts: 1})
		}
		for k, m := range reach {
			if b.reached == e.need[k] {
				o.Sample(m, ms)
			}
		}
	}
	if e.sink != nil {
		e.sink.Record(metrics.Stamped{Node: uint32(e.cur), AtNs: int64(e.now), Event: gossip.Received{
			Origin: b.ref.Origin, Height: b.ref.Height, Delay: d, Hops: hops, Bytes: e.curSize}})
	}
}

func (e *engine) Duplicate() {
	e.dup = true
	if e.sink != nil {
		b := e.curB
		e.sink.Record(metrics.Stamped{Node: uint32(e.cur), AtNs: int64(e.now), Event: gossip.Duplicate{
			Origin: b.ref.Origin, Height: b.ref.Height, Bytes: e.curSize}})
	}
}
