package node_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/p2p"
)

// TestHungPeerDoesNotHoldConsensus runs four validators and, as their
// follower, a peer that accepts their connections and message streams and
// never reads one: every Commit a validator pushes to it waits, once the
// stream's flow-control window is full, for the write timeout (30 s).
// Sent from the node goroutine, that would stall each validator for the
// timeout at every height. The validators must keep committing while
// their frames to the hung peer pile up in its queue.
func TestHungPeerDoesNotHoldConsensus(t *testing.T) {
	livetest.RequireLoopback(t)
	if raceEnabled {
		t.Skip("fills a 256 KiB stream window with blocks; TestServiceSendDoesNotHoldConsensus covers the lanes under -race")
	}
	// Transfers make the blocks, and so the Commits pushed to the follower,
	// a few KiB each, so that its window fills within seconds.
	netw := testNetwork(t, 4, 1, 400)
	hung := netw.Nodes[4]
	h, err := libp2p.New(libp2p.Identity(keysOf(t, netw, hung.ID).Peer), libp2p.ListenAddrStrings(hung.Addrs...),
		libp2p.Security(noise.ID, noise.New), libp2p.Transport(tcp.NewTCPTransport), libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		held []network.Stream
	)
	h.SetStreamHandler(p2p.ProtocolID, func(s network.Stream) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, s) // never read
	})
	t.Cleanup(func() {
		h.Close() // before the validators stop, so their pending writes end at once
		mu.Lock()
		defer mu.Unlock()
		if len(held) == 0 {
			t.Error("no validator opened a stream to the hung peer")
		}
	})
	root := t.TempDir()
	var nodes []*testNode
	var dirs []string
	for i := range 4 {
		dir := fmt.Sprintf("%s/node-%d", root, i)
		dirs = append(dirs, dir)
		nodes = append(nodes, startNode(t, netw, i, dir))
	}
	dumpLogsOnFailure(t, dirs...)

	// Frames waiting for the hung peer in a validator's consensus lane:
	// its window is full and it takes nothing more.
	queued := func(n *testNode) float64 {
		return sample(scrape(t, n.n.StatusAddr()), node.MetricSendQueued, map[string]string{"lane": "consensus"})
	}
	const stuck = 8
	livetest.WaitFor(t, fmt.Sprintf("%d frames to wait for the hung peer at every validator", stuck), func() bool {
		for _, n := range nodes {
			if queued(n) < stuck {
				return false
			}
		}
		return true
	})
	low := func() uint64 {
		m := nodes[0].height()
		for _, n := range nodes[1:] {
			m = min(m, n.height())
		}
		return m
	}
	from := low()
	const grow = 25
	livetest.WaitFor(t, fmt.Sprintf("every validator to commit %d heights past %d", grow, from), func() bool { return low() >= from+grow })
	// The peer was hung throughout: the frames behind it only piled up.
	for i, n := range nodes {
		if q := queued(n); q < stuck+grow/2 {
			t.Errorf("validator %d has %g frames queued for the hung peer after %d more heights, want ≥ %d: it was not hung throughout", i, q, grow, stuck+grow/2)
		}
	}
}
