package blockprop

import (
	"fmt"
	"math"
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/gossip"
)

// Topology is a run's peer graph in compressed rows, the layout the engine
// walks: node i's peers are Peers[Off[i]:Off[i+1]], and the first
// Pushes[i] of them chose i as a high-bandwidth compact-block peer. Rev[k]
// is where the node at the other end of edge k lists the node at this end,
// so a message carries its sender's index in the receiver's list.
type Topology struct {
	Off    []uint32
	Peers  []protocol.NodeID
	Rev    []uint16
	Pushes []uint16
	// Unfilled counts dials that found no node to take them (every other
	// node linked already or at MaxInbound).
	Unfilled int
}

// maxPeers bounds a node's peer list: peer indexes travel as uint16, 0xffff
// meaning "not a peer".
const maxPeers = math.MaxUint16 - 1

// Len is the number of nodes.
func (t *Topology) Len() int { return len(t.Off) - 1 }

// Of returns node i's peers; the slice aliases the topology.
func (t *Topology) Of(i protocol.NodeID) []protocol.NodeID {
	return t.Peers[t.Off[i]:t.Off[i+1]]
}

// Edges is the number of directed edges (twice the links).
func (t *Topology) Edges() int { return len(t.Peers) }

// Overlay returns a random peer graph: each node dials degree distinct others
// chosen from its own stream (fewer if others' dials already linked it to
// everyone); links are made both ways and each list sorted.
func Overlay(seed uint64, n, degree int) [][]protocol.NodeID {
	adj, _, _ := dial(seed, n, func(int) int { return degree }, 0)
	return adj
}

// dial makes the links of a random peer graph: node i, in ID order, dials
// degree(i) distinct others drawn uniformly from its own stream, skipping
// itself, nodes it is linked to and nodes that maxInbound dials have
// filled (0: no cap). It returns each node's sorted peer list, its
// outbound peers in the order it dialed them, and how many dials found no
// node. With no cap it draws exactly as Overlay always has.
func dial(seed uint64, n int, degree func(int) int, maxInbound int) (adj, out [][]protocol.NodeID, unfilled int) {
	adj = make([][]protocol.NodeID, n)
	out = make([][]protocol.NodeID, n)
	var inbound []int
	if maxInbound > 0 {
		inbound = make([]int, n)
	}
	open := func(i, j int) bool {
		return j != i && (inbound == nil || inbound[j] < maxInbound) && !slices.Contains(adj[i], protocol.NodeID(j))
	}
	for i := 0; i < n; i++ {
		r := protocol.Stream(seed, "overlay", uint64(i))
		want := degree(i)
		misses := 0
		// adj[i] holds no duplicates (a node dials only nodes it is not
		// linked to), so n−1 entries link it to every other node.
		for picked := 0; picked < want && len(adj[i]) < n-1; {
			j := r.IntN(n)
			if !open(i, j) {
				if misses++; inbound == nil || misses < 64 {
					continue
				}
				// Under a cap, draws may keep hitting full nodes: draw
				// among the nodes still open instead, or give up.
				var cand []int
				for k := range n {
					if open(i, k) {
						cand = append(cand, k)
					}
				}
				if len(cand) == 0 {
					unfilled += want - picked
					break
				}
				j, misses = cand[r.IntN(len(cand))], 0
			}
			adj[i] = append(adj[i], protocol.NodeID(j))
			adj[j] = append(adj[j], protocol.NodeID(i))
			out[i] = append(out[i], protocol.NodeID(j))
			if inbound != nil {
				inbound[j]++
			}
			picked++
		}
	}
	for i := range adj {
		slices.Sort(adj[i])
		adj[i] = slices.Compact(adj[i])
	}
	return adj, out, unfilled
}

// outDegrees returns how many peers each node dials: degree, or a draw
// from d per node (its own stream), rounded and kept in [1, n−1].
func outDegrees(seed uint64, n, degree int, d dist.Dist) func(int) int {
	if d == nil {
		return func(int) int { return degree }
	}
	return func(i int) int {
		v := math.Round(d.Sample(protocol.Stream(seed, "out-degree", uint64(i))))
		return int(min(max(v, 1), float64(n-1)))
	}
}

// buildTopology makes the peer graph of p. Under compact relay with
// HighBandwidth > 0, each node picks its first HighBandwidth outbound peers
// (in the order it dialed them, which is random) to push it sketches, and
// each such peer lists its push targets first.
func buildTopology(p *Params) (*Topology, error) {
	n := len(p.Nodes)
	var adj, out [][]protocol.NodeID
	var unfilled int
	if p.Graph != nil {
		for _, peers := range p.Graph {
			adj, out = append(adj, slices.Clone(peers)), append(out, peers)
		}
	} else {
		adj, out, unfilled = dial(p.Seed, n, outDegrees(p.Seed, n, p.Degree, p.OutDegree), p.MaxInbound)
	}
	t := &Topology{Off: make([]uint32, n+1), Pushes: make([]uint16, n), Unfilled: unfilled}
	if p.HighBandwidth > 0 && p.Relay.Protocol == gossip.Compact {
		pushTo := make([][]protocol.NodeID, n)
		for v := range out {
			for _, u := range out[v][:min(p.HighBandwidth, len(out[v]))] {
				pushTo[u] = append(pushTo[u], protocol.NodeID(v))
			}
		}
		for u := range adj {
			if len(pushTo[u]) == 0 {
				continue
			}
			slices.Sort(pushTo[u])
			rest := slices.DeleteFunc(adj[u], func(v protocol.NodeID) bool { _, found := slices.BinarySearch(pushTo[u], v); return found })
			adj[u] = append(pushTo[u], rest...)
			t.Pushes[u] = uint16(len(pushTo[u]))
		}
	}
	total := 0
	for i, a := range adj {
		if len(a) > maxPeers {
			return nil, fmt.Errorf("blockprop: node %d has %d peers, more than %d", i, len(a), maxPeers)
		}
		total += len(a)
		t.Off[i+1] = uint32(total)
	}
	if total > math.MaxUint32 {
		return nil, fmt.Errorf("blockprop: %d edges, more than the engine indexes", total)
	}
	t.Peers = make([]protocol.NodeID, 0, total)
	for _, a := range adj {
		t.Peers = append(t.Peers, a...)
	}
	t.Rev = make([]uint16, total)
	for u := range n {
		for k := t.Off[u]; k < t.Off[u+1]; k++ {
			t.Rev[k] = uint16(slices.Index(t.Of(t.Peers[k]), protocol.NodeID(u)))
		}
	}
	return t, nil
}
