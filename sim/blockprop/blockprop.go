// Package blockprop is the built-in demo run of dais until scenario files
// land: one block flooded (protocol/gossip) over N nodes spread across the
// measured regions, with heterogeneous access links. It reports how long
// the block took to reach the nodes.
package blockprop

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/sim"
	"github.com/dais-sim/dais/sim/netmodel"
)

// Params describes one run.
type Params struct {
	Seed      uint64
	Nodes     int
	BlockSize int // payload bytes
	// Degree is how many peers each node dials; links are both ways, so the
	// mean degree is about twice this.
	Degree int
	// Jitter (seconds) added to each message; nil for none.
	Jitter dist.Dist
	Loss   float64
	// Links are the access-link classes, assigned to nodes by share.
	Links []LinkClass
	// Until bounds simulated time.
	Until protocol.Duration
	// Trace hashes every event (for determinism checks).
	Trace bool
	// Sink, if not nil, also receives every event the nodes emit.
	Sink metrics.Sink
}

// LinkClass is a kind of access link and the share of nodes that have it.
type LinkClass struct {
	Name  string
	Share float64
	netmodel.Link
}

// DefaultLinks are the demo's access links: datacenter GPU hosts on 1 Gbit/s
// symmetric links, and home GPUs on 100 Mbit/s down, 20 Mbit/s up (typical
// asymmetric broadband). They are stated assumptions, not measurements.
var DefaultLinks = []LinkClass{
	{Name: "datacenter-1g", Share: 0.4, Link: netmodel.Link{UpBps: 1e9, DownBps: 1e9}},
	{Name: "home-100/20", Share: 0.6, Link: netmodel.Link{UpBps: 20e6, DownBps: 100e6}},
}

// DefaultParams is the demo that `dais run` performs with no arguments.
func DefaultParams() Params {
	return Params{
		Seed:      1,
		Nodes:     1000,
		BlockSize: 1 << 20,
		Degree:    4,
		Jitter:    dist.Exponential{M: 0.002},
		Links:     DefaultLinks,
		Until:     10 * protocol.Minute,
	}
}

// Validate checks the parameters.
func (p Params) Validate() error {
	switch {
	case p.Nodes < 2:
		return fmt.Errorf("blockprop: nodes = %d, need at least 2", p.Nodes)
	case p.BlockSize < 0 || p.BlockSize > gossip.MaxPayload:
		return fmt.Errorf("blockprop: block size %d outside [0, %d]", p.BlockSize, gossip.MaxPayload)
	case p.Degree < 1 || p.Degree >= p.Nodes:
		return fmt.Errorf("blockprop: degree %d outside [1, %d)", p.Degree, p.Nodes)
	case !(p.Loss >= 0 && p.Loss < 1):
		return fmt.Errorf("blockprop: loss %g outside [0, 1)", p.Loss)
	case len(p.Links) == 0:
		return fmt.Errorf("blockprop: no link classes")
	case p.Until <= 0:
		return fmt.Errorf("blockprop: until must be > 0")
	}
	if p.Jitter != nil {
		if err := dist.Validate(p.Jitter); err != nil {
			return fmt.Errorf("blockprop: jitter: %w", err)
		}
	}
	var sum float64
	for _, l := range p.Links {
		if !(l.Share >= 0) {
			return fmt.Errorf("blockprop: link %s: share %g < 0", l.Name, l.Share)
		}
		sum += l.Share
	}
	if math.Abs(sum-1) > 1e-9 {
		return fmt.Errorf("blockprop: link shares sum to %g, want 1", sum)
	}
	return nil
}

// Result is what a run measured.
type Result struct {
	Params  Params
	Reached int // nodes that received the block, origin included
	// Delays are the propagation times to every reached node but the origin,
	// sorted ascending.
	Delays     []protocol.Duration
	Duplicates int
	// Events is how many inputs the engine dispatched; Sent and Dropped count
	// messages.
	Events, Sent, Dropped uint64
	Wall                  time.Duration
	TraceHash             uint64
	// HeapBytes is the live heap after the world was built and after the run.
	HeapBuilt, HeapEnd uint64
}

// Quantile returns the q-quantile (0..1) of the delays by the nearest-rank
// method: the smallest delay with at least q of the delays at or below it.
func (r *Result) Quantile(q float64) protocol.Duration {
	if len(r.Delays) == 0 {
		return 0
	}
	k := int(math.Ceil(q*float64(len(r.Delays)))) - 1
	return r.Delays[min(max(k, 0), len(r.Delays)-1)]
}

// EventsPerSec is the engine's speed over the whole run, build excluded.
func (r *Result) EventsPerSec() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.Events) / r.Wall.Seconds()
}

// Overlay returns a random peer graph: each node dials degree distinct others
// chosen from its own stream; links are made both ways and each list sorted.
func Overlay(seed uint64, n, degree int) [][]protocol.NodeID {
	adj := make([][]protocol.NodeID, n)
	for i := 0; i < n; i++ {
		r := protocol.Stream(seed, "overlay", uint64(i))
		picked := 0
		for picked < degree {
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

// Run builds the world and floods one block from node 0.
func Run(p Params) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	net, err := netmodel.New(netmodel.DefaultMatrix())
	if err != nil {
		return nil, err
	}
	net.Jitter, net.Loss = p.Jitter, p.Loss
	res := &Result{Params: p}
	sink := metrics.SinkFunc(func(s metrics.Stamped) {
		switch ev := s.Event.(type) {
		case gossip.Received:
			res.Reached++
			if ev.Hops > 0 {
				res.Delays = append(res.Delays, ev.Delay)
			}
		case gossip.Duplicate:
			res.Duplicates++
		}
		if p.Sink != nil {
			p.Sink.Record(s)
		}
	})
	w := sim.New(sim.Config{Seed: p.Seed, Net: net, Sink: sink, Trace: p.Trace})
	adj := Overlay(p.Seed, p.Nodes, p.Degree)
	regions := len(net.Matrix.Regions)
	for i := 0; i < p.Nodes; i++ {
		r := protocol.Stream(p.Seed, "placement", uint64(i))
		net.AddNode(r.IntN(regions), pickLink(p.Links, r.Float64()))
		f := &gossip.Flood{Peers: adj[i]}
		if i == 0 {
			f.BlockSize = p.BlockSize
		}
		w.Add(f)
	}
	res.HeapBuilt = heapInUse()
	start := time.Now()
	w.Start()
	w.RunUntil(protocol.Time(p.Until))
	res.Wall = time.Since(start)
	res.HeapEnd = heapInUse()
	res.Events = w.Events()
	res.Sent, res.Dropped = w.Messages()
	res.TraceHash = w.TraceHash()
	slices.Sort(res.Delays)
	return res, nil
}

func pickLink(ls []LinkClass, u float64) netmodel.Link {
	for _, l := range ls {
		if u < l.Share {
			return l.Link
		}
		u -= l.Share
	}
	return ls[len(ls)-1].Link
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
