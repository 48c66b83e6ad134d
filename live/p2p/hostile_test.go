package p2p_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/p2p"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/protocol/wire"
)

var tcpOnly = []string{"/ip4/127.0.0.1/tcp/0"}

// rawMember is a plain libp2p host that h's address book names as node
// id: a member that speaks the protocol by hand (a compromised node).
func rawMember(t *testing.T, h *p2p.Host, id protocol.NodeID, opts ...libp2p.Option) host.Host {
	t.Helper()
	raw, err := libp2p.New(append([]libp2p.Option{libp2p.NoListenAddrs, libp2p.DisableMetrics()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	info := h.AddrInfo()
	raw.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.PermanentAddrTTL)
	if err := h.AddPeers(map[protocol.NodeID]peer.AddrInfo{h.Self(): info, id: {ID: raw.ID()}}); err != nil {
		t.Fatal(err)
	}
	return raw
}

// attacked starts host 0 with cfg (Self and ListenAddrs set here), its
// frames going to the returned inbox, and a raw member 1 to attack it.
func attacked(t *testing.T, cfg p2p.Config) (*p2p.Host, *inbox, host.Host) {
	t.Helper()
	cfg.Self, cfg.ListenAddrs = 0, tcpOnly
	h, err := p2p.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	box := &inbox{}
	h.SetReceiver(box)
	return h, box, rawMember(t, h, 1)
}

// block is a wire frame of n bytes or a little more (a gossip.Block).
func block(n int) []byte {
	return wire.Encode(&gossip.Block{Origin: 1, Height: 1, Payload: make([]byte, max(0, n-16))})
}

// prefixed is frame with its length prefix.
func prefixed(frame []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(frame))), frame...)
}

// halfFrame is the length prefix and the first half of a block frame: a
// host reading it waits for the rest.
func halfFrame() []byte {
	f := block(1000)
	return prefixed(f)[:len(f)/2]
}

// stream opens a direct-message stream from raw to h.
func stream(t *testing.T, raw host.Host, h *p2p.Host) network.Stream {
	t.Helper()
	s, err := raw.NewStream(livetest.Context(t), h.AddrInfo().ID, p2p.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Reset() })
	return s
}

// TestFramesRefusedByKindAndHeader: a member's frames over their kind's
// limit, of a kind no codec knows, or of another codec version are refused
// before their bodies are read, each counted by reason and kind; a good
// frame on a fresh stream still arrives.
func TestFramesRefusedByKindAndHeader(t *testing.T) {
	livetest.RequireLoopback(t)
	h, box, raw := attacked(t, p2p.Config{KindLimits: map[wire.Kind]int{wire.KindBlockAnnounce: 500}})
	unknown := append([]byte{wire.Version}, binary.AppendUvarint(nil, 60999)...)
	want := map[string]uint64{}
	for _, c := range []struct {
		frame        []byte
		reason, kind string
	}{
		{block(600), p2p.ReasonOversize, "gossip.Block"},
		{append(unknown, 1, 2, 3), p2p.ReasonUndecodable, "kind(60999)"},
		{[]byte{wire.Version + 1, byte(wire.KindBlockAnnounce), 0}, p2p.ReasonUndecodable, "header"},
		{[]byte{wire.Version}, p2p.ReasonUndecodable, "header"},
	} {
		want[c.reason+" "+c.kind]++
		n := want[c.reason+" "+c.kind]
		s := stream(t, raw, h)
		s.Write(prefixed(c.frame))
		livetest.WaitFor(t, c.reason+" "+c.kind, func() bool { return h.Refusals().Of(c.reason, c.kind) == n })
	}
	good := block(400)
	stream(t, raw, h).Write(prefixed(good))
	livetest.WaitFor(t, "the good frame", func() bool { return len(box.all()) == 1 })
	if got := box.all()[0]; got.from != 1 || !bytes.Equal(got.frame, good) {
		t.Errorf("got %d bytes from node %d, want the good frame from node 1", len(got.frame), got.from)
	}
	if st := h.Stats(); st.Malformed != 4 || st.FramesReceived != 1 {
		t.Errorf("Malformed %d, FramesReceived %d; want 4 and 1", st.Malformed, st.FramesReceived)
	}
}

// TestSlowFrameTimesOut: a frame whose bytes stop arriving is refused
// when its deadline passes, and its stream is reset.
func TestSlowFrameTimesOut(t *testing.T) {
	livetest.RequireLoopback(t)
	h, _, raw := attacked(t, p2p.Config{FrameTimeout: 100e6})
	s := stream(t, raw, h)
	s.Write(halfFrame())
	livetest.WaitFor(t, "the half frame to time out", func() bool {
		return h.Refusals().Of(p2p.ReasonTimeout, "gossip.Block") == 1
	})
	if _, err := s.Read(make([]byte, 1)); err == nil {
		t.Error("the stream of the refused frame is still open")
	}
}

// TestPeerRateDropsOverBudget: a member that sends more frames than its
// budget has the excess dropped and counted, on the same stream, while
// the frames within the budget arrive.
func TestPeerRateDropsOverBudget(t *testing.T) {
	livetest.RequireLoopback(t)
	const rate, sent = 10, 200 // a burst of 2·rate, then rate a second
	h, box, raw := attacked(t, p2p.Config{PeerFrameRate: rate})
	var all []byte
	for range sent {
		all = append(all, prefixed(block(100))...)
	}
	stream(t, raw, h).Write(all)
	limited := func() uint64 { return h.Refusals().Of(p2p.ReasonRateLimited, "gossip.Block") }
	livetest.WaitFor(t, "every frame to be delivered or dropped", func() bool {
		return uint64(len(box.all()))+limited() == sent
	})
	if got := len(box.all()); got < 2*rate || got >= sent/2 {
		t.Errorf("%d of %d frames delivered, want the burst of %d and a few more", got, sent, 2*rate)
	}
}

// TestOutsiderGossipGoesNowhere: a member relays publications whose
// origin (their signed author) is outside the network, as gossipsub lets
// any peer do. The member host it reaches rejects them before forwarding,
// so the hosts beyond get nothing, while the member's own publication
// reaches them all.
func TestOutsiderGossipGoesNowhere(t *testing.T) {
	livetest.RequireLoopback(t)
	hosts, boxes := subscribed(t, p2p.Config{ListenAddrs: tcpOnly})
	ctx := livetest.Context(t)
	outsider, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	outsiderID, _ := peer.IDFromPrivateKey(outsider)
	raw := rawMember(t, hosts[0], 3)
	for _, h := range hosts[1:] {
		if err := h.AddPeers(map[protocol.NodeID]peer.AddrInfo{3: {ID: raw.ID()}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Connect(ctx, hosts[0].AddrInfo()); err != nil {
		t.Fatal(err)
	}
	ps, err := pubsub.NewGossipSub(ctx, raw, pubsub.WithFloodPublish(true))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := ps.Join(p2p.TopicPrefix + "blocks")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := tp.Subscribe() // so that node 0 lists raw as a topic peer
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	livetest.WaitFor(t, "node 0 to be raw's topic peer", func() bool { return len(tp.ListPeers()) > 0 })
	// everywhere publishes member frames through node 0 until one reaches
	// every host: node 0 forwards only to the peers in its mesh, which
	// forms at gossipsub's heartbeat.
	everywhere := func() {
		t.Helper()
		for i := 0; ; i++ {
			before := [3]int{len(boxes[0].all()), len(boxes[1].all()), len(boxes[2].all())}
			if err := tp.Publish(ctx, block(100+i)); err != nil {
				t.Fatal(err)
			}
			for range 100 {
				if len(boxes[0].all()) > before[0] && len(boxes[1].all()) > before[1] && len(boxes[2].all()) > before[2] {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	everywhere()
	if err := tp.Publish(ctx, block(200<<10), pubsub.WithSecretKeyAndPeerId(outsider, outsiderID)); err != nil {
		t.Fatal(err)
	}
	livetest.WaitFor(t, "node 0 to reject the outsider's publication", func() bool {
		return hosts[0].Refusals().Of(p2p.ReasonUnknownPeer, "gossip") == 1
	})
	// A member's publication afterwards, by the same route, reaches the
	// others: had node 0 forwarded the outsider's, they would have it.
	everywhere()
	for i, b := range boxes {
		for _, got := range b.all() {
			if got.from != 3 || len(got.frame) > 1<<10 {
				t.Errorf("host %d got %d bytes from node %d, want only the member's publications", i, len(got.frame), got.from)
			}
		}
	}
	for i, h := range hosts[1:] {
		if n := h.Refusals().Count(p2p.ReasonUnknownPeer); n != 0 {
			t.Errorf("host %d saw the outsider's publication (%d refused): node 0 forwarded it", i+1, n)
		}
	}
}

// TestIdentifyNamesTheVersion: identify announces the configured agent,
// so a peer (or an operator's tool) can tell which build it talks to.
func TestIdentifyNamesTheVersion(t *testing.T) {
	livetest.RequireLoopback(t)
	h, _, raw := attacked(t, p2p.Config{UserAgent: "dais/v1.2.3"})
	if err := raw.Connect(livetest.Context(t), h.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	livetest.WaitFor(t, "identify", func() bool {
		av, err := raw.Peerstore().Get(h.AddrInfo().ID, "AgentVersion")
		return err == nil && av == "dais/v1.2.3"
	})
}
