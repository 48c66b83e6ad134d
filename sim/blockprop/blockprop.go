// Package blockprop runs block relay (protocol/gossip: push, announce or
// compact) over a simulated network: blocks made by proposers in turn or
// by mining, relayed over a random peer graph of heterogeneous nodes,
// measuring when each block reaches each node and what it costs.
// FromScenario builds its parameters from a scenario file; `dais run`
// executes a scenario without a consensus, workload or learning section
// here.
//
// Run drives gossip's relay logic with its own engine rather than a
// sim.World: node state in flat arrays, a block's per-node state in one
// array freed once nothing about the block is in flight, messages as
// 20-byte records, the peer graph in compressed rows, figures streamed
// into the recorder. Its events and their order are the World's — a test
// holds it to a World running gossip.Node — so it is an optimization, not
// another model.
package blockprop

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/scenarios/netspec"
	"github.com/dais-sim/dais/sim/netmodel"
)

// Node is where one node sits and what it has.
type Node struct {
	Region int // index into Params.Matrix.Regions
	Link   netspec.Link
	GPU    string // the name of its GPU class
	Group  int    // index into Params.Groups
	// HashPower is the node's share of mining, relative to the others'
	// (Params.Mining); 0 never mines.
	HashPower float64
	// ValidationScale multiplies the node's validation times; 0 means 1.
	ValidationScale float64
}

// Params describes one run.
type Params struct {
	Seed   uint64
	Matrix netspec.Matrix
	Nodes  []Node
	// Groups names the population groups Node.Group points into.
	Groups []string
	// BlockSize is each block's payload in bytes.
	BlockSize int
	// Degree is how many peers each node dials; links go both ways, so the
	// mean degree is about twice this. OutDegree, if not nil, draws it per
	// node instead (rounded, at least 1).
	Degree    int
	OutDegree dist.Dist
	// MaxInbound caps the dials one node takes (0: no cap).
	MaxInbound int
	// Graph, if not nil, is the peer graph instead of a random one: each
	// node's peers, links both ways; a node's first peers are the ones it
	// would dial (high-bandwidth compact peers are chosen from them).
	Graph [][]protocol.NodeID
	// Relay is the relay protocol and its parameters; the zero value is
	// the flood.
	Relay gossip.Config
	// HighBandwidth is how many outbound peers each node asks to push it
	// compact blocks unsolicited (Relay.Protocol Compact).
	HighBandwidth int
	// Validation is each hop's validation time (scaled per node by
	// Node.ValidationScale).
	Validation gossip.Validation
	// Interval between blocks, proposers taking turns in a seeded order;
	// with Mining, the mean interval between mined blocks. 0 means one
	// block, from node 0, at the start.
	Interval protocol.Duration
	// Mining makes blocks by mining: exponential gaps of mean Interval,
	// each block's miner drawn by Node.HashPower.
	Mining bool
	// Jitter (seconds) added to each message; nil for none. LatencyFactor
	// multiplies each message's one-way latency; nil for 1.
	Jitter        dist.Dist
	LatencyFactor dist.Dist
	Loss          float64
	Partitions    []netspec.Partition
	// Churn, if not nil, applies to ChurnNodes.
	Churn      *netspec.Churn
	ChurnNodes []protocol.NodeID
	// Until is when proposals stop. With an Interval, the run goes on one
	// more interval, without new blocks, so the last block is measured like
	// the others.
	Until protocol.Duration
	// Trace hashes every event (for determinism checks).
	Trace bool
	// Sink, if not nil, receives the events nodes emit (gossip.Received,
	// gossip.Duplicate). A sink NewRecorder returned is not sent events:
	// the run feeds its recorder directly, which is how figures are made.
	Sink metrics.Sink
	// Progress, if not nil, is called about 200 times during the run with
	// the simulated time and the events so far. It only reads: running in
	// chunks does not change the order of events.
	Progress func(simNs int64, events uint64)

	// queueAll turns off settling messages early (engine.Send), so that a
	// test can compare it with the engine queueing every message.
	queueAll bool
}

// Validate checks the parameters.
func (p *Params) Validate() error {
	switch {
	case len(p.Nodes) < 2:
		return fmt.Errorf("blockprop: %d nodes, need at least 2", len(p.Nodes))
	case len(p.Nodes) > maxNodes:
		return fmt.Errorf("blockprop: %d nodes, at most %d", len(p.Nodes), maxNodes)
	case p.BlockSize < 0 || p.BlockSize > gossip.MaxPayload:
		return fmt.Errorf("blockprop: block size %d outside [0, %d]", p.BlockSize, gossip.MaxPayload)
	case p.Graph == nil && (p.Degree < 1 || p.Degree >= len(p.Nodes)):
		return fmt.Errorf("blockprop: degree %d outside [1, %d)", p.Degree, len(p.Nodes))
	case p.Graph != nil && len(p.Graph) != len(p.Nodes):
		return fmt.Errorf("blockprop: a graph of %d nodes for %d nodes", len(p.Graph), len(p.Nodes))
	case p.MaxInbound < 0:
		return fmt.Errorf("blockprop: max inbound %d is negative", p.MaxInbound)
	case p.HighBandwidth < 0:
		return fmt.Errorf("blockprop: high-bandwidth peers %d is negative", p.HighBandwidth)
	case !(p.Loss >= 0 && p.Loss < 1):
		return fmt.Errorf("blockprop: loss %g outside [0, 1)", p.Loss)
	case p.Until <= 0:
		return fmt.Errorf("blockprop: until must be > 0")
	case p.Interval < 0:
		return fmt.Errorf("blockprop: interval must not be negative")
	case p.Mining && p.Interval == 0:
		return fmt.Errorf("blockprop: mining needs a mean interval > 0")
	}
	if err := p.Relay.Validate(); err != nil {
		return fmt.Errorf("blockprop: %w", err)
	}
	if err := p.Matrix.Validate(); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		d    dist.Dist
	}{{"jitter", p.Jitter}, {"latency factor", p.LatencyFactor}, {"out-degree", p.OutDegree}, {"validation", p.Validation.Base}} {
		if d.d != nil {
			if err := dist.Validate(d.d); err != nil {
				return fmt.Errorf("blockprop: %s: %w", d.name, err)
			}
		}
	}
	for i, peers := range p.Graph {
		for k, j := range peers {
			if int(j) >= len(p.Nodes) || int(j) == i || !slices.Contains(p.Graph[j], protocol.NodeID(i)) || slices.Contains(peers[:k], j) {
				return fmt.Errorf("blockprop: graph: node %d lists %d: links must join two distinct nodes, once, both ways", i, j)
			}
		}
	}
	power := 0.0
	for i, n := range p.Nodes {
		if n.Region < 0 || n.Region >= len(p.Matrix.Regions) {
			return fmt.Errorf("blockprop: node %d in region %d, out of range", i, n.Region)
		}
		if !(n.HashPower >= 0) || !(n.ValidationScale >= 0) {
			return fmt.Errorf("blockprop: node %d: hash power %g and validation scale %g must be ≥ 0", i, n.HashPower, n.ValidationScale)
		}
		power += n.HashPower
	}
	if p.Mining && !(power > 0) {
		return fmt.Errorf("blockprop: mining, but no node has hash power")
	}
	return nil
}

// maxNodes keeps node IDs and block counts within the engine's 32-bit
// fields with room to spare.
const maxNodes = 1 << 30

// Result is what a run measured.
type Result struct {
	Params *Params
	// Topology is the peer graph the run used.
	Topology *Topology
	// Blocks is how many blocks were proposed; Receipts how many first
	// copies arrived (origins excluded); Held how many (block, node)
	// pairs ended with the node holding the block (origins included).
	Blocks, Receipts int
	Held             int64
	// LastArrival is the latest first arrival after its block's creation.
	LastArrival protocol.Duration
	// Deliveries counts block copies (full or compact) delivered;
	// Duplicates those that went to a node that had the block already (or
	// was rebuilding it); the Bytes fields count block-carrying messages'
	// bytes (block transactions included).
	Deliveries, Duplicates         uint64
	DeliveredBytes, DuplicateBytes uint64
	// Messages and Bytes count what nodes put on their uplinks, by kind
	// (indexed by gossip.MsgKind).
	Messages, Bytes [gossip.NumMsgKinds]uint64
	// Events is how many events the run dispatched, as a World would;
	// Queued is how many of them went through the engine's queue (the
	// others are messages settled when sent: see engine.Send). Sent and
	// Dropped count messages.
	Events, Queued, Sent, Dropped uint64
	BytesSent                     uint64
	Wall                          time.Duration
	TraceHash                     uint64
	// HeapBuilt is the live heap after the world was built.
	HeapBuilt uint64

	slotArrays int // per-node block state arrays made (the rest reused)
	// Each node's first-hold delays (ms) summed, and their count.
	delaySum []float64
	receipts []uint32
}

// Coverage is the mean share of nodes each block reached.
func (r *Result) Coverage() float64 {
	if r.Blocks == 0 {
		return 0
	}
	return float64(r.Held) / float64(r.Blocks) / float64(len(r.Params.Nodes))
}

// EventsPerSec is the engine's speed over the whole run, build excluded.
func (r *Result) EventsPerSec() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.Events) / r.Wall.Seconds()
}

// Run builds the network and runs it until Params.Until (plus one
// interval).
func Run(p *Params) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	e, err := newEngine(p)
	if err != nil {
		return nil, err
	}
	end := p.end()
	if p.Churn != nil {
		if err := netmodel.ApplyChurn(*p.Churn, e, p.Seed, p.ChurnNodes, end); err != nil {
			return nil, err
		}
	}
	res := &Result{Params: p, Topology: e.topo}
	res.HeapBuilt = heapInUse()
	start := time.Now()
	e.start()
	if p.Progress == nil {
		e.runUntil(end)
	} else {
		chunk := max(end/200, 1)
		for t := chunk; t < end; t += chunk {
			e.runUntil(t)
			p.Progress(int64(t), e.events)
		}
		e.runUntil(end)
		p.Progress(int64(end), e.events)
	}
	e.finish(res)
	res.Wall = time.Since(start)
	return res, nil
}

// end is when the run stops: one interval after proposals stop.
func (p *Params) end() protocol.Time { return protocol.Time(p.Until).Add(p.Interval) }

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// recorderOf returns the recorder a sink made by NewRecorder feeds, or nil.
func recorderOf(s metrics.Sink) *record.Recorder {
	if r, ok := s.(recorderSink); ok {
		return r.rec
	}
	return nil
}

// recorderSink is the sink NewRecorder returns: Run recognizes it and
// feeds its recorder directly, with no event per delivery.
type recorderSink struct{ rec *record.Recorder }

func (s recorderSink) Record(m metrics.Stamped) { s.rec.Record(m) }
