package node_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol"
)

// TestBootstrapDiscovery runs five nodes whose network lists no addresses:
// each listens on a port the OS picks, node 0 is the only bootstrap, and
// the others must find one another through it before they can all see
// each other and commit.
func TestBootstrapDiscovery(t *testing.T) {
	livetest.RequireLoopback(t)
	netw := testNetwork(t, 4, 1, 0)
	for i := range netw.Nodes {
		netw.Nodes[i].Addrs = nil
	}
	root := t.TempDir()
	listen := []string{"/ip4/127.0.0.1/tcp/0"}
	var dirs []string
	var nodes []*testNode
	var boot []string
	for i := range netw.Nodes {
		dir := filepath.Join(root, fmt.Sprintf("node-%d", i))
		dirs = append(dirs, dir)
		tn := startConfig(t, &node.Config{ID: protocol.NodeID(i), DataDir: dir, Network: netw, Listen: listen, Bootstrap: boot})
		nodes = append(nodes, tn)
		if i == 0 {
			info := tn.n.AddrInfo()
			for _, a := range info.Addrs {
				boot = append(boot, fmt.Sprintf("%s/p2p/%s", a, info.ID))
			}
		}
	}
	dumpLogsOnFailure(t, dirs...)

	livetest.WaitFor(t, "every node to list every other as a peer", func() bool {
		for i, n := range nodes {
			want := slices.DeleteFunc([]protocol.NodeID{0, 1, 2, 3, 4}, func(id protocol.NodeID) bool { return id == protocol.NodeID(i) })
			if !slices.Equal(n.n.Status().Peers, want) {
				return false
			}
		}
		return true
	})
	const target = 3
	livetest.WaitFor(t, fmt.Sprintf("every node to commit height %d", target), func() bool {
		for _, n := range nodes {
			if n.height() < target {
				return false
			}
		}
		return true
	})
	// Nodes 1…4 were told only node 0's address: every other one they
	// reached, they learnt from a peers answer.
	for _, n := range nodes[1:] {
		if st := n.n.PeerStats(); st.PeerRecords == 0 || st.PeerRecordsForeign != 0 || st.PeerRecordsMalformed != 0 {
			t.Errorf("node %d: %d peer records taken, %d foreign, %d malformed; want some, 0, 0",
				n.cfg.ID, st.PeerRecords, st.PeerRecordsForeign, st.PeerRecordsMalformed)
		}
	}
	for _, n := range nodes {
		n.stop(t)
	}
	checkNoLeaks(t)
}

// TestBootstrapConfigErrors: bad bootstrap entries and a member with
// nowhere to listen are config errors that name the key.
func TestBootstrapConfigErrors(t *testing.T) {
	netw := testNetwork(t, 2, 0, 0)
	p, err := newKeys(t).Public()
	if err != nil {
		t.Fatal(err)
	}
	other := p.PeerID
	for _, c := range []struct {
		mutate func(*node.Config)
		want   string
	}{
		{func(c *node.Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/1"} }, "bootstrap[0]"},
		{func(c *node.Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/1/p2p/" + other} }, "no node of the network"},
		{func(c *node.Config) { c.Network.Bootstrap = []string{"nonsense"} }, "bootstrap[0] \"nonsense\""},
		{func(c *node.Config) { c.Network.Nodes[1].Addrs = nil }, "give listen"},
	} {
		n := *netw
		n.Nodes = slices.Clone(netw.Nodes)
		cfg := &node.Config{ID: 1, DataDir: t.TempDir(), Network: &n}
		c.mutate(cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate = %v, want an error naming %q", err, c.want)
		}
	}
}
