package testnet_test

import (
	"slices"
	"testing"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/protocol"
)

// TestDiscoveryTestnet runs a testnet of four processes of which only node
// 0's address is written down: the others listen on ports the OS picks and
// find one another through node 0. A node SIGKILLed and restarted comes
// back on another port, and the others find it again.
func TestDiscoveryTestnet(t *testing.T) {
	livetest.RequireLoopback(t)
	t.Parallel() // its nodes are processes (or goroutines no other test counts); it mostly waits
	tn, err := testnet.Create(testnet.Options{Dir: t.TempDir(), Nodes: 4, Seed: 5, Timeouts: fast, Discovery: true})
	if err != nil {
		t.Fatal(err)
	}
	n := tn.Network
	if len(n.Nodes[0].Addrs) != 1 || len(n.Bootstrap) != 1 || n.Bootstrap[0] != n.Nodes[0].Addrs[0]+"/p2p/"+n.Nodes[0].PeerID {
		t.Fatalf("node 0's addrs %v, bootstrap %v: want node 0's one address as the bootstrap", n.Nodes[0].Addrs, n.Bootstrap)
	}
	for _, m := range n.Nodes[1:] {
		cfg, err := node.LoadConfig(tn.ConfigPath(m.ID))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Addrs) != 0 || !slices.Equal(cfg.Listen, []string{"/ip4/127.0.0.1/tcp/0"}) {
			t.Fatalf("node %d: addrs %v, listen %v; want none and an OS-chosen port", m.ID, m.Addrs, cfg.Listen)
		}
	}
	stopOnCleanup(t, tn, 16<<10)
	if err := tn.Start(launcher); err != nil {
		t.Fatal(err)
	}
	ctx := livetest.Context(t)
	if err := tn.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	meshAt := func(height uint64) func() bool {
		return func() bool {
			for _, ns := range tn.Status(ctx) {
				want := slices.DeleteFunc([]protocol.NodeID{0, 1, 2, 3}, func(id protocol.NodeID) bool { return id == ns.ID })
				if ns.Status == nil || ns.Status.Height < height || !slices.Equal(ns.Status.Peers, want) {
					return false
				}
			}
			return true
		}
	}
	livetest.WaitFor(t, "every node to see every other and commit height 3", meshAt(3))

	const victim = 2
	before := tn.Status(ctx)[victim].Status.Addrs
	if err := tn.Kill(victim); err != nil {
		t.Fatal(err)
	}
	if err := tn.Start(launcher, victim); err != nil {
		t.Fatal(err)
	}
	if err := tn.WaitReady(ctx, victim); err != nil {
		t.Fatal(err)
	}
	after := tn.Status(ctx)[victim].Status
	switch {
	case after == nil:
		t.Fatal("the restarted node does not answer /status")
	case slices.Equal(after.Addrs, before):
		// The OS may hand the same port out again; then this run shows
		// only that the node is found again, not at a new address.
		t.Logf("the restarted node got its old port again (%v)", before)
	}
	resume := heightOf(t, tn, 0) + 2
	livetest.WaitFor(t, "the restarted node to be found again and every node to commit on", meshAt(resume))
}
