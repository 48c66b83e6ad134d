package node_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/nakamoto"
	"github.com/dais-sim/dais/protocol/wire"
)

// longestNetwork is testNetwork running longest chain: every validator
// mines by a stake lottery, a block every 250 ms, final at depth 3.
func longestNetwork(t *testing.T, miners int, txRate float64) *node.Network {
	t.Helper()
	netw := testNetwork(t, miners, 0, txRate)
	netw.Engine = node.EngineLongestChain
	netw.LongestChainSpec = &node.LongestChainSpec{Interval: node.Duration(250 * time.Millisecond), Confirmations: 3}
	if err := netw.Validate(); err != nil {
		t.Fatal(err)
	}
	return netw
}

// TestLongestChain runs four longest-chain miners in this process over
// libp2p on 127.0.0.1, with transfers flowing; stops one, lets the others
// go on, and starts it again on its data dir. Every node's final chain
// must be a prefix of the others', heights must grow, every ledger must
// conserve tokens, and the restarted node must replay its store and catch
// up from its peers without forking what it had made final.
func TestLongestChain(t *testing.T) {
	livetest.RequireLoopback(t)
	netw := longestNetwork(t, 4, 8)
	const k = 3
	// Node 3 stays down for more heights than the others keep in memory
	// (nakamoto's Keep, 2k+16 below their final height), so some of the
	// blocks it fetches when it comes back are served from their stores.
	first, more := uint64(8), uint64(2*k+16+4)
	if raceEnabled {
		first, more = 4, 3
	}
	nodes, dirs := startAll(t, netw)
	waitHeights := func(what string, ns []*testNode, h uint64) {
		t.Helper()
		livetest.WaitFor(t, fmt.Sprintf("%s to make height %d final", what, h), func() bool {
			for _, n := range ns {
				if n.height() < h {
					return false
				}
			}
			return true
		})
	}
	waitHeights("every node", nodes, first)

	var shares float64
	for _, n := range nodes {
		st := n.n.Status()
		lc := st.LongestChain
		if lc == nil {
			t.Fatalf("node %d: /status has no longest_chain", st.ID)
		}
		// Status is published whole after each input: the tip is always
		// exactly k above the final height.
		if lc.TipHeight != st.Height+k || lc.Confirmations != k || lc.Mining != node.MiningStake {
			t.Errorf("node %d: tip %d, final %d, confirmations %d, mining %q; want the tip %d above", st.ID, lc.TipHeight, st.Height, lc.Confirmations, lc.Mining, k)
		}
		shares += lc.Share
	}
	if math.Abs(shares-1) > 1e-9 {
		t.Errorf("mining shares sum to %g, want 1", shares)
	}

	// Node 3 stops; the others make more blocks final without it.
	down := nodes[3]
	down.stop(t)
	stopped := uint64(len(storedChain(t, dirs[3])))
	if stopped < first {
		t.Fatalf("node 3 stored %d blocks, fewer than the %d it made final", stopped, first)
	}
	waitHeights("nodes 0-2", nodes[:3], stopped+more)
	target := nodes[0].height()

	restarted := startNode(t, netw, 3, dirs[3])
	nodes[3] = restarted
	livetest.WaitFor(t, "node 3 to replay its store", func() bool { return restarted.n.Status().Ready })
	if st := restarted.n.Status(); st.Replayed != stopped || st.Height < stopped {
		t.Fatalf("node 3 replayed %d heights to height %d; it had stored %d", st.Replayed, st.Height, stopped)
	}
	waitHeights("node 3, restarted,", nodes[3:], target+1)
	waitHeights("every node", nodes, target+1)

	var mined uint64
	for _, n := range nodes {
		st := n.n.Status()
		lc := st.LongestChain
		if lc.SupplyError != "" {
			t.Errorf("node %d: token conservation broken %s", st.ID, lc.SupplyError)
		}
		if lc.SupplyChecked == 0 {
			t.Errorf("node %d: conservation never checked", st.ID)
		}
		if lc.DeepForks != 0 {
			t.Errorf("node %d saw %d forks below its final height", st.ID, lc.DeepForks)
		}
		mined += lc.Mined
	}
	if mined == 0 {
		t.Error("no node reports a block it mined")
	}

	for _, n := range nodes {
		n.stop(t)
	}
	chains := make([][]*nakamoto.Block, len(dirs))
	txs := 0
	for i, d := range dirs {
		chains[i] = decodeLongest(t, i, storedChain(t, d))
		for _, b := range chains[i] {
			cb, err := chain.DecodeBlock(b.Body)
			if err != nil {
				t.Fatalf("node %d height %d: %v", i, b.Height, err)
			}
			txs += len(cb.Txs)
		}
	}
	if txs == 0 {
		t.Error("the final chains carry no transaction: transfers at 8/s reached no block")
	}
	if len(chains[3]) <= int(stopped) || uint64(len(chains[3])) < target {
		t.Errorf("node 3 stored %d blocks after its restart (%d before, the others at %d when it came back): it did not catch up",
			len(chains[3]), stopped, target)
	}
	// Every final chain is a prefix of every other: the same blocks, byte
	// for byte, at every height both stored.
	for i := range chains {
		for j := i + 1; j < len(chains); j++ {
			for h := range min(len(chains[i]), len(chains[j])) {
				if !bytes.Equal(wire.Encode(chains[i][h]), wire.Encode(chains[j][h])) {
					t.Fatalf("nodes %d and %d stored different blocks at height %d", i, j, h+1)
				}
			}
		}
	}
}

// decodeLongest decodes a longest-chain node's stored records and checks
// that each block's parent is the block stored below it.
func decodeLongest(t *testing.T, id int, recs [][]byte) []*nakamoto.Block {
	t.Helper()
	out := make([]*nakamoto.Block, len(recs))
	var parent consensus.Hash
	for i, r := range recs {
		m, err := wire.Decode(bytes.Clone(r))
		if err != nil {
			t.Fatalf("node %d height %d: %v", id, i+1, err)
		}
		b, ok := m.(*nakamoto.Block)
		if !ok || b.Height != uint64(i+1) {
			t.Fatalf("node %d height %d holds %T", id, i+1, m)
		}
		if b.Parent != parent {
			t.Fatalf("node %d height %d: its parent is not the block stored at height %d", id, i+1, i)
		}
		cb, err := chain.DecodeBlock(b.Body)
		if err != nil {
			t.Fatalf("node %d height %d: %v", id, i+1, err)
		}
		parent = cb.Hash()
		out[i] = b
	}
	return out
}

// TestLongestChainConfig: what a network file may say about its engine,
// and that the engine is part of the network's identity (a BFT data dir
// does not open in a longest-chain network of the same nodes).
func TestLongestChainConfig(t *testing.T) {
	base := longestNetwork(t, 3, 0)
	for _, c := range []struct {
		name string
		edit func(n *node.Network)
		want string // in the error; "" means valid
	}{
		{"stake lottery", func(*node.Network) {}, ""},
		{"pow, one class for all", func(n *node.Network) {
			n.LongestChainSpec = &node.LongestChainSpec{Mining: node.MiningPoW, GPUs: []string{"a100"}}
		}, ""},
		{"unknown engine", func(n *node.Network) { n.Engine = "pbft" }, `engine "pbft"`},
		{"spec without the engine", func(n *node.Network) { n.Engine = "" }, "longest_chain is set but the engine is bft"},
		{"unknown mining", func(n *node.Network) { n.LongestChainSpec.Mining = "vdf" }, `longest_chain.mining "vdf"`},
		{"unknown GPU", func(n *node.Network) {
			n.LongestChainSpec = &node.LongestChainSpec{Mining: node.MiningPoW, GPUs: []string{"h9000"}}
		}, `unknown GPU class "h9000"`},
		{"GPUs for some miners", func(n *node.Network) {
			n.LongestChainSpec = &node.LongestChainSpec{Mining: node.MiningPoW, GPUs: []string{"h100", "a100"}}
		}, "2 classes for 3 miners"},
		{"GPUs with a stake lottery", func(n *node.Network) { n.LongestChainSpec.GPUs = []string{"h100"} }, "a stake lottery weighs stake"},
		{"with the marketplace", func(n *node.Network) { n.Market = node.DefaultMarket(3) }, "run on a BFT chain"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := *base
			spec := *base.LongestChainSpec
			n.LongestChainSpec = &spec
			c.edit(&n)
			err := n.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
		})
	}
	bft := *base
	bft.Engine, bft.LongestChainSpec = "", nil
	if bytes.Equal(bft.Identity(), base.Identity()) {
		t.Error("a BFT and a longest-chain network of the same nodes have one identity")
	}
}
