// Package gossiptest gives tests of the flood protocol, under any driver,
// the figures a flood over a known graph must produce.
package gossiptest

import "github.com/dais-sim/dais/protocol"

// Graph is an undirected peer graph as adjacency lists; node 0 is the origin.
type Graph [][]protocol.NodeID

// Edges builds an n-node graph from undirected edges.
func Edges(n int, es ...[2]protocol.NodeID) Graph {
	g := make(Graph, n)
	for _, e := range es {
		g[e[0]] = append(g[e[0]], e[1])
		g[e[1]] = append(g[e[1]], e[0])
	}
	return g
}

// Distances is each node's hop distance from node 0 by breadth-first
// search; -1 for nodes it cannot reach.
func (g Graph) Distances() []int {
	d := make([]int, len(g))
	for i := range d {
		d[i] = -1
	}
	d[0] = 0
	for q := []protocol.NodeID{0}; len(q) > 0; q = q[1:] {
		for _, v := range g[q[0]] {
			if d[v] < 0 {
				d[v] = d[q[0]] + 1
				q = append(q, v)
			}
		}
	}
	return d
}

// FloodSends is how many copies a flood from node 0 sends, whatever order
// they arrive in: the origin sends to every peer, every other node to every
// peer but the one its first copy came from.
func (g Graph) FloodSends() int {
	n := len(g[0])
	for _, p := range g[1:] {
		n += len(p) - 1
	}
	return n
}
