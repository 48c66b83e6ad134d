package gossip_test

import (
	"fmt"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/protocol/prototest"
)

func TestOriginSendsToAllPeers(t *testing.T) {
	env := prototest.NewEnv(0, 1)
	f := &gossip.Flood{Peers: []protocol.NodeID{1, 2, 3}, BlockSize: 1000}
	f.Handle(env, protocol.Start{})
	sent := env.TakeSent()
	if len(sent) != 3 {
		t.Fatalf("origin sent %d messages, want 3", len(sent))
	}
	for i, s := range sent {
		b := s.Msg.(*gossip.Block)
		if s.To != protocol.NodeID(i+1) || b.Origin != 0 || b.Height != 1 || len(b.Payload) != 1000 || b.Hops != 0 {
			t.Errorf("message %d: to %d, %+v", i, s.To, b)
		}
	}
	evs := env.TakeEvents()
	if len(evs) != 1 || evs[0].Event.(gossip.Received).Hops != 0 {
		t.Fatalf("origin events %+v, want one Received with 0 hops", evs)
	}
}

func TestForwardOnceExceptSender(t *testing.T) {
	env := prototest.NewEnv(5, 1)
	f := &gossip.Flood{Peers: []protocol.NodeID{1, 2, 3}}
	f.Handle(env, protocol.Start{})
	b := &gossip.Block{Origin: 9, Height: 4, Created: 100, Hops: 1, Payload: []byte("abc")}
	env.SetNow(350)
	f.Handle(env, protocol.Recv{From: 2, Msg: b})
	sent := env.TakeSent()
	if len(sent) != 2 || sent[0].To != 1 || sent[1].To != 3 {
		t.Fatalf("forwarded to %+v, want nodes 1 and 3", sent)
	}
	if fwd := sent[0].Msg.(*gossip.Block); fwd.Hops != 2 || b.Hops != 1 {
		t.Fatalf("forwarded hops %d (received copy now %d), want 2 (and 1 untouched)", fwd.Hops, b.Hops)
	}
	r := env.TakeEvents()[0].Event.(gossip.Received)
	if r.Delay != 250 || r.Hops != 2 || r.Origin != 9 {
		t.Fatalf("received event %+v, want delay 250ns, 2 hops, origin 9", r)
	}
	// A second copy is a duplicate: no forwarding.
	f.Handle(env, protocol.Recv{From: 3, Msg: b})
	if s := env.TakeSent(); len(s) != 0 {
		t.Fatalf("duplicate forwarded: %+v", s)
	}
	if d, ok := env.TakeEvents()[0].Event.(gossip.Duplicate); !ok || d.Height != 4 {
		t.Fatalf("second copy not reported as duplicate")
	}
}

func TestPrototestTimers(t *testing.T) {
	var fired []uint64
	env := prototest.NewEnv(0, 1)
	env.Node = protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if tf, ok := in.(protocol.TimerFired); ok {
			fired = append(fired, tf.Tag)
			if tf.Tag == 1 {
				env.SetTimer(5, 3) // fires within the same Advance
			}
		}
	})
	env.SetTimer(10, 2)
	env.SetTimer(3, 1)
	dead := env.SetTimer(4, 9)
	env.CancelTimer(dead)
	env.Advance(20)
	if len(fired) != 3 || fired[0] != 1 || fired[1] != 3 || fired[2] != 2 || env.Now() != 20 {
		t.Fatalf("fired %v at now %v, want [1 3 2] and 20ns", fired, env.Now())
	}
}

func TestSlotsTakeTurns(t *testing.T) {
	s := 10 * protocol.Second
	// Three proposers: turn 1 owns slots 1, 4, 7, … at 20 s, 50 s, 80 s.
	env := prototest.NewEnv(1, 1)
	f := &gossip.Flood{Peers: []protocol.NodeID{0}, BlockSize: 10, Slots: gossip.Slots{Interval: s, Proposers: 3, Turn: 1}}
	env.Node = f
	f.Handle(env, protocol.Start{})
	var got []string
	for i := 0; i < 3; i++ {
		ts := env.Timers()
		if len(ts) != 1 {
			t.Fatalf("%d timers pending, want 1", len(ts))
		}
		env.Advance(ts[0].At.Sub(env.Now()))
		for _, m := range env.TakeSent() {
			b := m.Msg.(*gossip.Block)
			got = append(got, fmt.Sprintf("%v h%d", b.Created, b.Height))
		}
	}
	if want := "[20s h2 50s h5 1m20s h8]"; fmt.Sprint(got) != want {
		t.Fatalf("proposals %v, want %s", got, want)
	}
	// Rejoining at 61 s: the next own slot is 7 (80 s).
	env2 := prototest.NewEnv(1, 1)
	env2.SetNow(protocol.Time(61 * protocol.Second))
	f2 := &gossip.Flood{BlockSize: 10, Slots: gossip.Slots{Interval: s, Proposers: 3, Turn: 1}}
	f2.Handle(env2, protocol.Start{Rejoin: true})
	if ts := env2.Timers(); len(ts) != 1 || ts[0].At != protocol.Time(80*protocol.Second) || ts[0].Tag != 7 {
		t.Fatalf("after rejoin at 61s: timers %+v, want slot 7 at 80s", ts)
	}
	// A node beyond the proposer set never proposes.
	env3 := prototest.NewEnv(5, 1)
	(&gossip.Flood{BlockSize: 10, Slots: gossip.Slots{Interval: s, Proposers: 3, Turn: 3}}).Handle(env3, protocol.Start{})
	if len(env3.Timers()) != 0 {
		t.Fatal("node 5 of 3 proposers set a timer")
	}
}

func TestOldHeightsCountAsDuplicates(t *testing.T) {
	env := prototest.NewEnv(0, 1)
	f := &gossip.Flood{Peers: []protocol.NodeID{1}}
	for h := uint64(1); h <= 1000; h++ {
		f.Handle(env, protocol.Recv{From: 1, Msg: &gossip.Block{Origin: 2, Height: h}})
	}
	env.TakeEvents()
	f.Handle(env, protocol.Recv{From: 1, Msg: &gossip.Block{Origin: 2, Height: 500}})
	f.Handle(env, protocol.Recv{From: 1, Msg: &gossip.Block{Origin: 2, Height: 999}})
	evs := env.TakeEvents()
	if len(evs) != 2 || evs[0].Event.Kind() != "gossip.duplicate" || evs[1].Event.Kind() != "gossip.duplicate" {
		t.Fatalf("events %+v, want two duplicates", evs)
	}
}

func TestSlotsStopAtUntil(t *testing.T) {
	s := gossip.Slots{Interval: 10 * protocol.Second, Proposers: 2, Turn: 1, Until: protocol.Time(45 * protocol.Second)}
	env := prototest.NewEnv(1, 1)
	f := &gossip.Flood{BlockSize: 1, Slots: s}
	env.Node = f
	f.Handle(env, protocol.Start{})
	env.Advance(protocol.Minute)
	var heights []uint64
	for _, ev := range env.TakeEvents() {
		heights = append(heights, ev.Event.(gossip.Received).Height)
	}
	// Node 1 owns slots 1 (20 s) and 3 (40 s); slot 5 (60 s) is past Until.
	if fmt.Sprint(heights) != "[2 4]" || len(env.Timers()) != 0 {
		t.Fatalf("proposed heights %v with %d timers left; want [2 4] and none", heights, len(env.Timers()))
	}
}
