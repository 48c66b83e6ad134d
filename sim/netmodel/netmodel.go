// Package netmodel models the network under a simulated run: region-to-region
// latency, per-node bandwidth (a FIFO queue on each uplink, a rate limit on
// each downlink), jitter, loss, partitions and churn, as scenarios/netspec
// describes them (the description live calibration shares). A Model
// implements sim.Network.
//
// A message of S bytes sent at t from a to b, over one-way latency L:
//
//	upStart  = max(t, a.uplinkFree)        the uplink is a FIFO queue
//	upEnd    = upStart + 8S/a.up;          a.uplinkFree = upEnd
//	arrival  = max(upEnd, upStart + 8S/b.down) + L·factor + jitter
//
// so one message over a link of B bit/s on both sides arrives after
// L + 8S/B, and messages queued on one uplink leave one after the other.
// The receiver's downlink limits each message's rate but is not a shared
// queue: contention among many senders into one downlink is not modeled
// (it would need an event per first bit). Jitter is added after the link
// queue, so it delays and may reorder deliveries without shifting the queue.
package netmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// Model is the network of one run. Build it, add every node in ID order, then
// hand it to sim.Config.Net. It is not safe for concurrent use.
type Model struct {
	// Matrix is read when New builds the model; changing it later has no
	// effect.
	Matrix netspec.Matrix
	// Jitter is added to every message's delivery time, in seconds; negative draws
	// count as 0. nil means none. Independent jitter may reorder messages.
	Jitter dist.Dist
	// Factor multiplies every message's one-way latency by a draw (negative
	// draws count as 0), so that its spread scales with the pair's base
	// latency: {pareto, min 0.8, alpha 5} has mean 1 and a tail of slow
	// paths. nil means 1. It is drawn before Jitter, from the same stream.
	Factor dist.Dist
	// Loss is the probability that a message is dropped.
	Loss float64

	// A node's receiving end and its uplink live in two arrays: a message
	// reads the sender's uplink, hot across its broadcast, and the
	// receiver's end, at random among 10⁵ nodes: 16 bytes, not 48.
	ends       []End
	ups        []uplink
	oneWay     []protocol.Duration // regions × regions, row-major
	regions    int
	partitions []netspec.Partition
}

// End is what a message needs of its receiver: its downlink and region.
// A driver that sends along known edges may keep the ends per edge (there
// are few distinct ones) and pass them to TransmitTo, sparing a lookup at
// random among all nodes.
type End struct {
	DownBps float64
	Region  int
}

type uplink struct {
	region       int // the node's, again: a send then reads one record of its sender
	upBps        float64
	upFree       protocol.Time
	bytesUp      uint64
	queueDelayNs int64 // total time messages waited behind others on this uplink
}

// New returns a model over the given regions.
func New(m netspec.Matrix) (*Model, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	n := len(m.Regions)
	md := &Model{Matrix: m, regions: n, oneWay: make([]protocol.Duration, n*n)}
	for i := range n {
		for j := range n {
			md.oneWay[i*n+j] = m.OneWay(i, j)
		}
	}
	return md, nil
}

// AddNode appends a node in a region (by index into Matrix.Regions) and
// returns its ID; IDs must match the World's, so add nodes in the same order.
func (m *Model) AddNode(region int, l netspec.Link) protocol.NodeID {
	if region < 0 || region >= len(m.Matrix.Regions) {
		panic(fmt.Sprintf("netmodel: region %d out of range [0,%d)", region, len(m.Matrix.Regions)))
	}
	m.ends = append(m.ends, End{Region: region, DownBps: l.DownBps})
	m.ups = append(m.ups, uplink{region: region, upBps: l.UpBps})
	return protocol.NodeID(len(m.ends) - 1)
}

// Reserve makes room for n nodes, so that adding them does not regrow the
// model's array.
func (m *Model) Reserve(n int) {
	m.ends = slices.Grow(m.ends, max(n-len(m.ends), 0))
	m.ups = slices.Grow(m.ups, max(n-len(m.ups), 0))
}

// Len is the number of nodes added.
func (m *Model) Len() int { return len(m.ends) }

// Region returns a node's region index.
func (m *Model) Region(id protocol.NodeID) int { return m.ends[id].Region }

// End returns node id's receiving end.
func (m *Model) End(id protocol.NodeID) End { return m.ends[id] }

// UplinkStats returns the bytes a node has put on its uplink and the total
// time its messages waited in the uplink queue.
func (m *Model) UplinkStats(id protocol.NodeID) (bytes uint64, queued protocol.Duration) {
	u := &m.ups[id]
	return u.bytesUp, protocol.Duration(u.queueDelayNs)
}

// inside reports whether p cuts id off.
func inside(p *netspec.Partition, m *Model, id protocol.NodeID) bool {
	r := m.ends[id].Region
	for _, x := range p.Regions {
		if x == r {
			return true
		}
	}
	i := sort.Search(len(p.Nodes), func(i int) bool { return p.Nodes[i] >= id })
	return i < len(p.Nodes) && p.Nodes[i] == id
}

// AddPartition schedules a partition.
func (m *Model) AddPartition(p netspec.Partition) error {
	if p.Until <= p.From {
		return fmt.Errorf("netmodel: partition heals at %v, not after it starts at %v", p.Until, p.From)
	}
	for _, r := range p.Regions {
		if r < 0 || r >= len(m.Matrix.Regions) {
			return fmt.Errorf("netmodel: partition names region %d, out of range [0,%d)", r, len(m.Matrix.Regions))
		}
	}
	p.Nodes = append([]protocol.NodeID(nil), p.Nodes...)
	sort.Slice(p.Nodes, func(i, j int) bool { return p.Nodes[i] < p.Nodes[j] })
	m.partitions = append(m.partitions, p)
	return nil
}

// Linked reports whether no partition separates a and b at t.
func (m *Model) Linked(a, b protocol.NodeID, t protocol.Time) bool {
	for i := range m.partitions {
		p := &m.partitions[i]
		if t < p.From || t >= p.Until {
			continue
		}
		if inside(p, m, a) != inside(p, m, b) {
			return false
		}
	}
	return true
}

// Transmit implements sim.Network.
func (m *Model) Transmit(now protocol.Time, from, to protocol.NodeID, size int, r *rand.Rand) (protocol.Time, bool) {
	return m.TransmitTo(now, from, to, m.ends[to], size, r)
}

// TransmitTo is Transmit with the receiver's end given (End(to)).
func (m *Model) TransmitTo(now protocol.Time, from, to protocol.NodeID, b End, size int, r *rand.Rand) (protocol.Time, bool) {
	if len(m.partitions) > 0 && !m.Linked(from, to, now) {
		return 0, false
	}
	if m.Loss > 0 && r.Float64() < m.Loss {
		return 0, false
	}
	a := &m.ups[from]
	lat := m.oneWay[a.region*m.regions+b.Region]
	if m.Factor != nil {
		lat = protocol.Duration(math.Round(float64(lat) * max(m.Factor.Sample(r), 0)))
	}
	if m.Jitter != nil {
		if j := m.Jitter.Sample(r); j > 0 {
			lat += protocol.Duration(math.Round(j * float64(protocol.Second)))
		}
	}
	upStart := max(now, a.upFree)
	upEnd := upStart.Add(serialization(size, a.upBps))
	a.upFree = upEnd
	a.bytesUp += uint64(size)
	a.queueDelayNs += int64(upStart - now)
	return max(upEnd, upStart.Add(serialization(size, b.DownBps))).Add(lat), true
}

// serialization is the time to put size bytes on a link of bps bit/s,
// rounded up to whole nanoseconds.
func serialization(size int, bps float64) protocol.Duration {
	if bps <= 0 || size <= 0 {
		return 0
	}
	return protocol.Duration(math.Ceil(float64(size) * 8 * 1e9 / bps))
}
