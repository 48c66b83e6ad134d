package node

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/wire"
)

// TestServiceFramesLeaveOffTheNodeGoroutine: node 0 leads the market
// committee and coordinates the federated job, so it sends Assign, Replay,
// Model and ScoreRequest, none of which it takes; they must still go
// through the per-peer queues, and consensus frames must not.
func TestServiceFramesLeaveOffTheNodeGoroutine(t *testing.T) {
	livetest.RequireLoopback(t)
	mk := DefaultMarket(3)
	mk.Settlement = SettleCommittee // node 0 coordinates too: off the chain, their accounts do not collide
	netw := &Network{Name: "kinds", Seed: 3, Epoch: time.Now(), Market: mk, Learning: DefaultLearning(3)}
	for i := range 3 {
		netw.Nodes = append(netw.Nodes, Member{ID: protocol.NodeID(i), Role: RoleValidator, Addrs: []string{"/ip4/127.0.0.1/tcp/0"}})
	}
	keys := withKeys(t, netw)
	n, err := New(&Config{ID: 0, DataDir: filepath.Join(t.TempDir(), "n0"), Network: netw, Keys: keys[0], Listen: []string{"/ip4/127.0.0.1/tcp/0"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, m := range []wire.Msg{&market.Assign{}, &market.Replay{}, &learn.Model{}, &learn.ScoreRequest{}} {
		if !n.appSend.takes(wire.Encode(m)) {
			t.Errorf("%T goes out on the node goroutine", m)
		}
	}
	if n.appSend.takes(wire.Encode(&bft.Vote{})) {
		t.Error("a consensus vote goes through the service queues")
	}
}
