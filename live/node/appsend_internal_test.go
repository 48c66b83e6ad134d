package node

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/p2p"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/wire"
)

type countingReceiver struct{ n atomic.Int64 }

func (r *countingReceiver) Deliver(protocol.NodeID, []byte) { r.n.Add(1) }

// TestServiceSendDoesNotHoldConsensus sends a model (a service's kind) to
// a peer that accepts TCP connections and never answers, the way a
// stopped process does, which holds a send for two dial timeouts; then a
// vote to a live peer. The model send returns at once and the vote
// arrives while the model's dial is still pending: a hung learner does
// not hold up the node's consensus messages.
func TestServiceSendDoesNotHoldConsensus(t *testing.T) {
	livetest.RequireLoopback(t)
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	var accepted atomic.Int64
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			held = append(held, c)
		}
	}()
	host := func(id protocol.NodeID) *p2p.Host {
		h, err := p2p.New(p2p.Config{Self: id, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, DialTimeout: dialTimeout})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h0, h1 := host(0), host(1)
	defer h1.Close()
	recv := &countingReceiver{}
	h1.SetReceiver(recv)
	if err := h1.AddPeers(map[protocol.NodeID]peer.AddrInfo{0: h0.AddrInfo()}); err != nil {
		t.Fatal(err)
	}
	pid1 := h1.AddrInfo().ID
	h2 := host(2)
	pid2 := h2.AddrInfo().ID // the hung peer claims it; it never speaks libp2p
	h2.Close()
	addr2, _ := ma.NewMultiaddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", hung.Addr().(*net.TCPAddr).Port))
	if err := h0.AddPeers(map[protocol.NodeID]peer.AddrInfo{1: {ID: pid1, Addrs: h1.AddrInfo().Addrs}, 2: {ID: pid2, Addrs: []ma.Multiaddr{addr2}}}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := newAppSender(h0, log, []wire.Kind{wire.KindModel})
	con := newConsensusSender(h0, log)
	g := gate{h: h0, app: app, con: con, failed: new(atomic.Bool)}

	if err := g.Send(2, wire.Encode(&learn.Model{Round: 1})); err != nil {
		t.Fatalf("the model send: %v", err)
	}
	livetest.WaitFor(t, "the model's dial to reach the hung peer", func() bool { return accepted.Load() > 0 })
	if err := g.Send(1, wire.Encode(&bft.Vote{})); err != nil {
		t.Fatalf("the vote: %v", err)
	}
	livetest.WaitFor(t, "the vote to arrive", func() bool { return recv.n.Load() == 1 })
	if n := app.errs.Load(); n != 0 {
		t.Fatalf("the model's send had failed (%d) before the vote arrived: it did not wait for the hung peer", n)
	}
	// Closing the host ends the pending dial, and the sender's goroutine.
	h0.Close()
	app.close()
	con.close()
	if n := app.errs.Load(); n != 1 {
		t.Errorf("%d service sends failed, want the one to the hung peer", n)
	}
}

// A lane's queues together stay within its byte bound however many peers
// stop reading: past it the largest queue gives way (its oldest frame on
// the consensus lane, its newest on the service lane), so a peer that
// keeps up still gets its frames. The queues here have no goroutine
// draining them: every peer hangs but the one whose queue is emptied by
// hand.
func TestLaneBytesBoundHungPeers(t *testing.T) {
	const frame, budget = 1000, 20_000
	for _, oldest := range []bool{true, false} {
		s := newPeerSender(nil, slog.New(slog.DiscardHandler), 1<<20, oldest)
		s.maxBytes = budget
		for id := range protocol.NodeID(6) {
			s.queues[id] = &peerQueue{wake: make(chan struct{}, 1)}
		}
		mark := func(b byte) []byte { f := make([]byte, frame); f[0] = b; return f }
		// Hung peers 1–5 fill the lane, 8 frames each (40 in all, twice
		// the bound), numbered in the order they were sent.
		n := byte(0)
		for range 8 {
			for id := protocol.NodeID(1); id <= 5; id++ {
				n++
				s.send(id, mark(n))
			}
		}
		if s.bytes > budget {
			t.Fatalf("dropOldest %v: the lane holds %d bytes, bound %d", oldest, s.bytes, budget)
		}
		// Peer 0 keeps up: each frame it is sent goes out at once.
		for i := range 50 {
			if err := s.send(0, mark(200)); err != nil {
				t.Fatalf("dropOldest %v: frame %d to the peer that keeps up: %v", oldest, i, err)
			}
			f, _ := s.next(s.queues[0])
			if f[0] != 200 {
				t.Fatalf("dropOldest %v: the peer that keeps up got frame %d", oldest, f[0])
			}
		}
		total, frames := 0, 0
		for id, q := range s.queues {
			total += q.bytes
			frames += len(q.frames)
			if id != 0 && oldest && len(q.frames) > 0 && q.frames[len(q.frames)-1][0] <= 35 {
				t.Errorf("consensus lane: peer %d kept frame %d but lost its later ones", id, q.frames[len(q.frames)-1][0])
			}
			if id != 0 && !oldest && len(q.frames) > 0 && q.frames[0][0] > 5 {
				t.Errorf("service lane: peer %d lost its first frame but kept frame %d", id, q.frames[0][0])
			}
		}
		if total != s.bytes || total > budget || s.dropped.Load() != uint64(40-frames) {
			t.Errorf("dropOldest %v: queues hold %d bytes (the lane counts %d, bound %d), %d frames, %d dropped",
				oldest, total, s.bytes, budget, frames, s.dropped.Load())
		}
	}
}
