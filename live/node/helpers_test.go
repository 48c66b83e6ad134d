package node_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/wire"
)

// fastTimeouts make heights take about 100 ms on loopback.
var fastTimeouts = node.Timeouts{
	Propose: node.Duration(400 * time.Millisecond), ProposeDelta: node.Duration(200 * time.Millisecond),
	Prevote: node.Duration(200 * time.Millisecond), PrevoteDelta: node.Duration(100 * time.Millisecond),
	Precommit: node.Duration(200 * time.Millisecond), PrecommitDelta: node.Duration(100 * time.Millisecond),
	Commit: node.Duration(100 * time.Millisecond),
}

// testNetwork describes validators then followers on free loopback TCP
// ports. TCP only: a dial to a closed TCP port fails at once, where QUIC
// waits for a handshake timeout, and the tests stop nodes on purpose.
func testNetwork(t *testing.T, validators, followers int, txRate float64) *node.Network {
	t.Helper()
	netw := &node.Network{Name: "test", Seed: 7, Epoch: time.Now(), Timeouts: fastTimeouts, TxRate: txRate}
	for i := range validators + followers {
		role := node.RoleValidator
		if i >= validators {
			role = node.RoleFollower
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		netw.Nodes = append(netw.Nodes, node.Member{ID: protocol.NodeID(i), Role: role,
			Addrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)}})
	}
	giveKeys(t, netw)
	return netw
}

// networkKeys are the keys of the test networks' nodes, by network.
var networkKeys sync.Map // *node.Network → []*node.Keys

// giveKeys makes keys for every member of netw and lists their public
// halves; startConfig hands a node its own.
func giveKeys(t testing.TB, netw *node.Network) {
	t.Helper()
	var keys []*node.Keys
	for i := range netw.Nodes {
		k := newKeys(t)
		p, err := k.Public()
		if err != nil {
			t.Fatal(err)
		}
		netw.Nodes[i].SetKeys(p)
		keys = append(keys, k)
	}
	networkKeys.Store(netw, keys)
}

// keysOf are node id's keys in a test network.
func keysOf(t testing.TB, netw *node.Network, id protocol.NodeID) *node.Keys {
	t.Helper()
	ks, ok := networkKeys.Load(netw)
	if !ok {
		t.Fatal("a network testNetwork did not make")
	}
	return ks.([]*node.Keys)[id]
}

// testNode is a node of a test network with its config, so that it can be
// stopped and started again on the same data dir.
type testNode struct {
	cfg *node.Config
	n   *node.Node
}

// startAll starts every node of netw, each on its own data dir under a
// test temp dir, and dumps their logs if the test fails.
func startAll(t *testing.T, netw *node.Network) (nodes []*testNode, dirs []string) {
	t.Helper()
	root := t.TempDir()
	for i := range netw.Nodes {
		dir := filepath.Join(root, fmt.Sprintf("node-%d", i))
		dirs = append(dirs, dir)
		nodes = append(nodes, startNode(t, netw, i, dir))
	}
	dumpLogsOnFailure(t, dirs...)
	return nodes, dirs
}

func startNode(t *testing.T, netw *node.Network, id int, dir string) *testNode {
	t.Helper()
	return startConfig(t, &node.Config{ID: protocol.NodeID(id), DataDir: dir, Network: netw})
}

// startConfig starts the node cfg describes and stops it when the test ends.
func startConfig(t *testing.T, cfg *node.Config) *testNode {
	t.Helper()
	if cfg.Keys == nil && cfg.KeyFile == "" {
		cfg.Keys = keysOf(t, cfg.Network, cfg.ID)
	}
	n, err := node.New(cfg, node.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	n.Start()
	tn := &testNode{cfg: cfg, n: n}
	t.Cleanup(func() { tn.stop(t) })
	return tn
}

func (tn *testNode) stop(t *testing.T) {
	t.Helper()
	if tn.n == nil {
		return
	}
	if err := tn.n.Close(); err != nil {
		t.Errorf("closing node %d: %v", tn.cfg.ID, err)
	}
	select {
	case err := <-tn.n.Fatal():
		t.Errorf("node %d failed: %v", tn.cfg.ID, err)
	default:
	}
	tn.n = nil
}

func (tn *testNode) height() uint64 { return tn.n.Status().Height }

// dumpLogsOnFailure prints each node's log if the test fails.
func dumpLogsOnFailure(t *testing.T, dirs ...string) {
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("DAIS_DUMP") == "" {
			return
		}
		for _, d := range dirs {
			b, _ := os.ReadFile(filepath.Join(d, node.LogFile))
			if len(b) > 8<<10 {
				b = b[len(b)-8<<10:]
			}
			t.Logf("%s:\n%s", d, b)
		}
	})
}

// checkNoLeaks fails the test if, once everything is closed, goroutines
// of the live packages are still running.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	deadline := livetest.Deadline(t)
	for {
		var buf bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&buf, 2)
		var leaked []string
		for _, g := range strings.Split(buf.String(), "\n\n") {
			if strings.Contains(g, "github.com/dais-sim/dais/live") && !strings.Contains(g, "testing.tRunner") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of live packages outlived Close:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// storedChain reads every record of a stopped node's store.
func storedChain(t *testing.T, dir string) [][]byte {
	t.Helper()
	s, err := store.Open(filepath.Join(dir, node.StoreFile), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out [][]byte
	err = s.Range(1, s.Height(), func(h uint64, rec []byte) error {
		if h != uint64(len(out)+1) {
			return fmt.Errorf("store has height %d after %d", h, len(out))
		}
		out = append(out, bytes.Clone(rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// blockHashes decodes stored commits into their blocks' hashes. Records of
// one height differ between nodes (each keeps the precommits it counted);
// the blocks may not.
func blockHashes(t *testing.T, recs [][]byte) []consensus.Hash {
	t.Helper()
	out := make([]consensus.Hash, len(recs))
	for i, r := range recs {
		m, err := wire.Decode(bytes.Clone(r))
		if err != nil {
			t.Fatalf("height %d: %v", i+1, err)
		}
		c, ok := m.(*bft.Commit)
		if !ok || c.Height != uint64(i+1) {
			t.Fatalf("height %d holds %T", i+1, m)
		}
		out[i] = c.BlockHash
	}
	return out
}
