package sim_test

import (
	"testing"

	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/protocol/gossip/gossiptest"
	"github.com/dais-sim/dais/sim"
)

// The simulator's half of the driver boundary: what live's runtime and
// libp2p host are held to (live's TestRandIsTheNodeStream,
// live/p2p's TestFloodOverLibp2p), the simulator is held to here, so the
// two agree without either test importing the other driver.

// TestRandIsTheNodeStream: a node draws protocol.Stream(seed, "node", id).
func TestRandIsTheNodeStream(t *testing.T) {
	const seed, id = 99, 3
	var got []uint64
	w := sim.New(sim.Config{Seed: seed})
	for range id + 1 {
		w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
			if _, ok := in.(protocol.Start); ok && env.Self() == id {
				for range 4 {
					got = append(got, env.Rand().Uint64())
				}
			}
		}))
	}
	w.Start()
	w.RunUntil(protocol.Time(protocol.Second))
	want := protocol.Stream(seed, "node", id)
	for i, x := range got {
		if w := want.Uint64(); x != w {
			t.Fatalf("draw %d: sim %x, the node stream %x", i, x, w)
		}
	}
	if len(got) != 4 {
		t.Fatalf("sim drew %d numbers, want 4", len(got))
	}
}

// TestFloodOnAGraph floods one block from node 0 with gossip.Flood over the
// graphs live/p2p floods over libp2p: on the tree every node receives it
// once at the graph distance; on the ring once, at no fewer hops, from a
// neighbour one hop nearer; and every other copy is a duplicate.
func TestFloodOnAGraph(t *testing.T) {
	for _, tc := range []struct {
		name  string
		g     gossiptest.Graph
		exact bool
	}{
		{"tree", gossiptest.Graph{{1, 2}, {0, 3}, {0}, {1, 4}, {3}}, true},
		{"ring", gossiptest.Graph{{1, 3}, {0, 2}, {1, 3}, {2, 0}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.g)
			rec := &record.Memory{}
			w := sim.New(sim.Config{Seed: 2024, Sink: rec})
			for i := range n {
				f := &gossip.Flood{Peers: tc.g[i]}
				if i == 0 {
					f.BlockSize = 256 << 10
				}
				w.Add(f)
			}
			w.Start()
			w.RunUntil(protocol.Time(10 * protocol.Second))
			hops, got, dups := make([]int, n), make([]int, n), 0
			for _, s := range rec.Events() {
				switch ev := s.Event.(type) {
				case gossip.Received:
					got[s.Node]++
					hops[s.Node] = int(ev.Hops)
					if ev.Origin != 0 || ev.Height != 1 {
						t.Errorf("node %d received %+v, want block 0/1", s.Node, ev)
					}
				case gossip.Duplicate:
					dups++
				}
			}
			if want := tc.g.FloodSends() - (n - 1); dups != want {
				t.Errorf("%d duplicates, want %d", dups, want)
			}
			dist := tc.g.Distances()
			for v := range n {
				switch {
				case got[v] != 1:
					t.Errorf("node %d received the block %d times, want 1", v, got[v])
				case tc.exact && hops[v] != dist[v], hops[v] < dist[v]:
					t.Errorf("node %d: hops %d, graph distance %d", v, hops[v], dist[v])
				}
			}
		})
	}
}
