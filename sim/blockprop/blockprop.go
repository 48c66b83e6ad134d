// Package blockprop runs the block-gossip protocol (protocol/gossip) over a
// simulated network: blocks flooded from proposers over a random peer graph
// of heterogeneous nodes, measuring how long each block takes to reach them.
// It is what `dais run` executes for a scenario until the chain and market
// runners land; FromScenario builds its parameters from a scenario file.
package blockprop

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/scenarios/netspec"
	"github.com/dais-sim/dais/sim"
	"github.com/dais-sim/dais/sim/netmodel"
)

// Node is where one node sits and what it has.
type Node struct {
	Region int // index into Params.Matrix.Regions
	Link   netspec.Link
	GPU    gpu.Class
	Group  int // index into Params.Groups
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
	// mean degree is about twice this.
	Degree int
	// Interval between blocks, proposers taking turns in node order; 0 means
	// one block, from node 0, at the start.
	Interval protocol.Duration
	// Jitter (seconds) added to each message; nil for none.
	Jitter     dist.Dist
	Loss       float64
	Partitions []netspec.Partition
	// Churn, if not nil, applies to ChurnNodes.
	Churn      *netspec.Churn
	ChurnNodes []protocol.NodeID
	// Until is when proposals stop. With an Interval, the run goes on one
	// more interval, without new blocks, so the last block is measured like
	// the others.
	Until protocol.Duration
	// Trace hashes every event (for determinism checks).
	Trace bool
	// Sink, if not nil, also receives every event the nodes emit.
	Sink metrics.Sink
	// Progress, if not nil, is called about 200 times during the run with
	// the simulated time and the events so far. It only reads: running in
	// chunks does not change the order of events.
	Progress func(simNs int64, events uint64)
}

// Validate checks the parameters.
func (p *Params) Validate() error {
	switch {
	case len(p.Nodes) < 2:
		return fmt.Errorf("blockprop: %d nodes, need at least 2", len(p.Nodes))
	case p.BlockSize < 0 || p.BlockSize > gossip.MaxPayload:
		return fmt.Errorf("blockprop: block size %d outside [0, %d]", p.BlockSize, gossip.MaxPayload)
	case p.Degree < 1 || p.Degree >= len(p.Nodes):
		return fmt.Errorf("blockprop: degree %d outside [1, %d)", p.Degree, len(p.Nodes))
	case !(p.Loss >= 0 && p.Loss < 1):
		return fmt.Errorf("blockprop: loss %g outside [0, 1)", p.Loss)
	case p.Until <= 0:
		return fmt.Errorf("blockprop: until must be > 0")
	case p.Interval < 0:
		return fmt.Errorf("blockprop: interval must not be negative")
	}
	if err := p.Matrix.Validate(); err != nil {
		return err
	}
	if p.Jitter != nil {
		if err := dist.Validate(p.Jitter); err != nil {
			return fmt.Errorf("blockprop: jitter: %w", err)
		}
	}
	for i, n := range p.Nodes {
		if n.Region < 0 || n.Region >= len(p.Matrix.Regions) {
			return fmt.Errorf("blockprop: node %d in region %d, out of range", i, n.Region)
		}
	}
	return nil
}

// Result is what a run measured.
type Result struct {
	Params *Params
	// Blocks is how many blocks were proposed; Receipts how many first copies
	// arrived (origins excluded).
	Blocks, Receipts int
	// Delays are the propagation times of every first copy (origins
	// excluded), sorted ascending.
	Delays []protocol.Duration
	// Reached[h] is how many nodes had block h (origin included), by height.
	Reached    map[uint64]int
	Duplicates int
	// Events is how many events the engine dispatched; Sent and Dropped count
	// messages.
	Events, Sent, Dropped uint64
	BytesSent             uint64
	Wall                  time.Duration
	TraceHash             uint64
	// HeapBuilt is the live heap after the world was built.
	HeapBuilt uint64
}

// Quantile returns the q-quantile (0..1) of the delays by the nearest-rank
// method: the smallest delay with at least a share q of delays at or below it.
func (r *Result) Quantile(q float64) protocol.Duration {
	if len(r.Delays) == 0 {
		return 0
	}
	k := int(q*float64(len(r.Delays))+1-1e-9) - 1
	return r.Delays[min(max(k, 0), len(r.Delays)-1)]
}

// Coverage is the mean share of nodes each block reached.
func (r *Result) Coverage() float64 {
	if r.Blocks == 0 {
		return 0
	}
	total := 0
	for _, n := range r.Reached {
		total += n
	}
	return float64(total) / float64(r.Blocks) / float64(len(r.Params.Nodes))
}

// EventsPerSec is the engine's speed over the whole run, build excluded.
func (r *Result) EventsPerSec() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.Events) / r.Wall.Seconds()
}

// Overlay returns a random peer graph: each node dials degree distinct others
// chosen from its own stream (fewer if others' dials already linked it to
// everyone); links are made both ways and each list sorted.
func Overlay(seed uint64, n, degree int) [][]protocol.NodeID {
	adj := make([][]protocol.NodeID, n)
	for i := 0; i < n; i++ {
		r := protocol.Stream(seed, "overlay", uint64(i))
		picked := 0
		// adj[i] holds no duplicates (a node dials only nodes it is not
		// linked to), so n−1 entries link it to every other node.
		for picked < degree && len(adj[i]) < n-1 {
			j := r.IntN(n)
			if j == i || slices.Contains(adj[i], protocol.NodeID(j)) {
				continue
			}
			adj[i] = append(adj[i], protocol.NodeID(j))
			adj[j] = append(adj[j], protocol.NodeID(i))
			picked++
		}
	}
	for i := range adj {
		slices.Sort(adj[i])
		adj[i] = slices.Compact(adj[i])
	}
	return adj
}

// Run builds the world and runs it until Params.Until.
func Run(p *Params) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	net, err := netmodel.New(p.Matrix)
	if err != nil {
		return nil, err
	}
	net.Jitter, net.Loss = p.Jitter, p.Loss
	for _, part := range p.Partitions {
		if err := net.AddPartition(part); err != nil {
			return nil, err
		}
	}
	res := &Result{Params: p, Reached: map[uint64]int{}}
	sink := metrics.SinkFunc(func(s metrics.Stamped) {
		switch ev := s.Event.(type) {
		case gossip.Received:
			res.Reached[ev.Height]++
			if ev.Hops == 0 {
				res.Blocks++
			} else {
				res.Receipts++
				res.Delays = append(res.Delays, ev.Delay)
			}
		case gossip.Duplicate:
			res.Duplicates++
		}
		if p.Sink != nil {
			p.Sink.Record(s)
		}
	})
	w := sim.New(sim.Config{
		Seed: p.Seed, Net: net, Sink: sink, Trace: p.Trace,
		Hardware: func(id protocol.NodeID) gpu.Class { return p.Nodes[id].GPU },
	})
	adj := Overlay(p.Seed, len(p.Nodes), p.Degree)
	slots := gossip.Slots{Interval: p.Interval, Proposers: uint32(len(p.Nodes)), Until: protocol.Time(p.Until)}
	turns := protocol.Stream(p.Seed, "proposers", 0).Perm(len(p.Nodes))
	end := protocol.Time(p.Until).Add(p.Interval)
	for i, n := range p.Nodes {
		net.AddNode(n.Region, n.Link)
		f := &gossip.Flood{Peers: adj[i], Slots: slots}
		f.Slots.Turn = uint32(turns[i])
		if p.Interval > 0 || i == 0 {
			f.BlockSize = p.BlockSize
		}
		w.Add(f)
	}
	if p.Churn != nil {
		if err := netmodel.ApplyChurn(*p.Churn, w, p.Seed, p.ChurnNodes, end); err != nil {
			return nil, err
		}
	}
	res.HeapBuilt = heapInUse()
	start := time.Now()
	w.Start()
	if p.Progress == nil {
		w.RunUntil(end)
	} else {
		chunk := max(end/200, 1)
		for t := chunk; t < end; t += chunk {
			w.RunUntil(t)
			p.Progress(int64(t), w.Events())
		}
		w.RunUntil(end)
		p.Progress(int64(end), w.Events())
	}
	res.Wall = time.Since(start)
	res.Events = w.Events()
	res.Sent, res.Dropped = w.Messages()
	for i := range p.Nodes {
		b, _ := net.UplinkStats(protocol.NodeID(i))
		res.BytesSent += b
	}
	res.TraceHash = w.TraceHash()
	slices.Sort(res.Delays)
	return res, nil
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
