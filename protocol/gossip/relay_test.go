package gossip_test

import (
	"fmt"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/protocol/prototest"
	"github.com/dais-sim/dais/protocol/wire"
)

// sent names the messages an env sent: "inv→2", "getdata→1".
func sent(env *prototest.Env) string {
	var out []string
	for _, s := range env.TakeSent() {
		name := wire.Name(s.Msg.Kind())
		out = append(out, fmt.Sprintf("%s→%d", name[len("gossip."):], s.To))
	}
	return fmt.Sprint(out)
}

var ref = gossip.Ref{Origin: 9, Height: 3, Created: 100, Size: 4000}

// Under announce a node asks the first peer that announced a block for it,
// and only that one; once it holds and has validated the block it
// announces it to the peers that have not announced or sent it.
func TestAnnounceRequestsOnceThenAnnounces(t *testing.T) {
	cfg := &gossip.Config{Protocol: gossip.Announce, Timeout: protocol.Second}
	n := &gossip.Node{Config: cfg, Peers: []protocol.NodeID{1, 2, 3, 4},
		Validation: gossip.Validation{Base: dist.Fixed{V: 0.002}}}
	env := prototest.NewEnv(0, 1)
	env.Node = n
	n.Handle(env, protocol.Start{})
	n.Handle(env, protocol.Recv{From: 2, Msg: &gossip.Inv{Ref: ref}})
	if got := sent(env); got != "[GetData→2]" {
		t.Fatalf("after the first inv: sent %s, want a getdata to peer 2", got)
	}
	n.Handle(env, protocol.Recv{From: 3, Msg: &gossip.Inv{Ref: ref}})
	if got := sent(env); got != "[]" {
		t.Fatalf("after a second inv: sent %s, want nothing (already requested)", got)
	}
	env.SetNow(400)
	n.Handle(env, protocol.Recv{From: 2, Msg: cfg.Message(ref, gossip.Msg{Kind: gossip.MsgBlock, Hops: 1}, nil)})
	evs := env.TakeEvents()
	if r, ok := evs[0].Event.(gossip.Received); len(evs) != 1 || !ok || r.Delay != 300 || r.Hops != 2 {
		t.Fatalf("on the block: events %+v, want one Received after 300ns, 2 hops", evs)
	}
	if got := sent(env); got != "[]" {
		t.Fatalf("before validating: sent %s, want nothing", got)
	}
	env.Advance(2 * protocol.Millisecond)
	if got := sent(env); got != "[Inv→1 Inv→4]" {
		t.Fatalf("after validating: sent %s, want invs to peers 1 and 4 (2 sent the block, 3 announced it)", got)
	}
	// A request is answered with the block; a second copy is a duplicate.
	n.Handle(env, protocol.Recv{From: 4, Msg: &gossip.GetData{Origin: ref.Origin, Height: ref.Height}})
	if got := sent(env); got != "[Block→4]" {
		t.Fatalf("on a getdata: sent %s, want the block", got)
	}
	n.Handle(env, protocol.Recv{From: 3, Msg: cfg.Message(ref, gossip.Msg{Kind: gossip.MsgBlock, Hops: 1}, nil)})
	if _, ok := env.TakeEvents()[0].Event.(gossip.Duplicate); !ok {
		t.Fatal("a second block was not a duplicate")
	}
}

// A request that is not answered goes, after the timeout, to another peer
// that announced the block.
func TestAnnounceAsksAnotherPeerAfterTimeout(t *testing.T) {
	cfg := &gossip.Config{Protocol: gossip.Announce, Timeout: protocol.Second}
	n := &gossip.Node{Config: cfg, Peers: []protocol.NodeID{1, 2, 3}}
	env := prototest.NewEnv(0, 1)
	env.Node = n
	n.Handle(env, protocol.Start{})
	n.Handle(env, protocol.Recv{From: 1, Msg: &gossip.Inv{Ref: ref}})
	n.Handle(env, protocol.Recv{From: 3, Msg: &gossip.Inv{Ref: ref}})
	if got := sent(env); got != "[GetData→1]" {
		t.Fatalf("sent %s, want a getdata to peer 1", got)
	}
	env.Advance(protocol.Second)
	if got := sent(env); got != "[GetData→3]" {
		t.Fatalf("after the timeout: sent %s, want a getdata to peer 3", got)
	}
}

// Under compact relay a sketch whose transactions are all in the mempool
// is the block; one with transactions missing asks for those, and the
// block is held when they come.
func TestCompactRebuildsFromTheMempool(t *testing.T) {
	for _, tc := range []struct {
		overlap float64
		want    string
	}{{1, "[CompactBlock→2 Inv→1]"}, {0, "[GetBlockTxn→3]"}} {
		cfg := &gossip.Config{Protocol: gossip.Compact, TxSize: 400, Overlap: tc.overlap}
		// Peer 2 chose this node as a high-bandwidth peer: it comes first.
		n := &gossip.Node{Config: cfg, Peers: []protocol.NodeID{2, 1, 3}, Pushes: 1}
		env := prototest.NewEnv(0, 1)
		env.Node = n
		n.Handle(env, protocol.Start{})
		n.Handle(env, protocol.Recv{From: 3, Msg: cfg.Message(ref, gossip.Msg{Kind: gossip.MsgCompact}, nil)})
		if got := sent(env); got != tc.want {
			t.Fatalf("overlap %g: sent %s, want %s", tc.overlap, got, tc.want)
		}
		if tc.overlap == 0 {
			if len(env.TakeEvents()) != 0 {
				t.Fatal("held the block with every transaction missing")
			}
			n.Handle(env, protocol.Recv{From: 3, Msg: cfg.Message(ref, gossip.Msg{Kind: gossip.MsgTxn, Count: 10}, nil)})
			if got := sent(env); got != "[CompactBlock→2 Inv→1]" {
				t.Fatalf("with the transactions: sent %s", got)
			}
		}
		if r, ok := env.TakeEvents()[0].Event.(gossip.Received); !ok || r.Hops != 1 {
			t.Fatalf("overlap %g: no Received with 1 hop", tc.overlap)
		}
	}
}

// The getdata's timer, still pending when the sketch arrives, does not cut
// the rebuild short: the missing transactions arriving after it make the
// block, not a duplicate.
func TestCompactRebuildOutlivesTheRequestTimer(t *testing.T) {
	cfg := &gossip.Config{Protocol: gossip.Compact, TxSize: 400, Overlap: 0, Timeout: protocol.Second}
	n := &gossip.Node{Config: cfg, Peers: []protocol.NodeID{1, 3}}
	env := prototest.NewEnv(0, 1)
	env.Node = n
	n.Handle(env, protocol.Start{})
	n.Handle(env, protocol.Recv{From: 1, Msg: &gossip.Inv{Ref: ref}})
	if got := sent(env); got != "[GetData→1]" {
		t.Fatalf("after the inv: sent %s", got)
	}
	n.Handle(env, protocol.Recv{From: 3, Msg: &gossip.Inv{Ref: ref}})
	env.Advance(600 * protocol.Millisecond)
	n.Handle(env, protocol.Recv{From: 1, Msg: cfg.Message(ref, gossip.Msg{Kind: gossip.MsgCompact}, nil)})
	if got := sent(env); got != "[GetBlockTxn→1]" {
		t.Fatalf("after the sketch: sent %s", got)
	}
	env.Advance(400 * protocol.Millisecond) // the getdata's timer fires
	if got := sent(env); got != "[]" {
		t.Fatalf("when the getdata's timer fired mid-rebuild: sent %s, want nothing", got)
	}
	env.Advance(100 * protocol.Millisecond)
	n.Handle(env, protocol.Recv{From: 1, Msg: cfg.Message(ref, gossip.Msg{Kind: gossip.MsgTxn, Count: 10}, nil)})
	evs := env.TakeEvents()
	if len(evs) != 1 {
		t.Fatalf("events %+v, want the block received", evs)
	}
	if _, ok := evs[0].Event.(gossip.Received); !ok {
		t.Fatalf("the transactions made %T, want the block received", evs[0].Event)
	}
}

// The sizes the simulator charges without building messages are the
// encoded sizes of the messages gossip.Node sends.
func TestWireSizeMatchesMessages(t *testing.T) {
	for _, cfg := range []gossip.Config{{Protocol: gossip.Compact, TxSize: 300}, {Protocol: gossip.Announce, Headers: true, TxSize: 1}} {
		for _, r := range []gossip.Ref{ref, {Origin: 1 << 30, Height: 1 << 40, Created: 1 << 50, Size: 1 << 22}, {}} {
			for k := gossip.MsgBlock; k < gossip.NumMsgKinds; k++ {
				for _, m := range []gossip.Msg{{Kind: k}, {Kind: k, Hops: 300, Count: 7}} {
					w := cfg.Message(r, m, nil)
					if got, want := cfg.WireSize(r, m), len(wire.Encode(w)); got != want {
						t.Errorf("%+v %v: WireSize %d, encoded %d", cfg, m, got, want)
					}
					if _, back, ok := cfg.Parse(w); !ok || back.Kind != k {
						t.Errorf("%v does not parse back", m)
					}
				}
			}
		}
	}
}
