package p2p_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"github.com/dais-sim/dais/live/livetest"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/dais-sim/dais/live"
	"github.com/dais-sim/dais/live/p2p"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/protocol/gossip/gossiptest"
	"github.com/dais-sim/dais/protocol/wire"
)

// startHosts starts n hosts as nodes 0…n-1, each with every other in its
// address book, and closes them when the test ends.
func startHosts(t *testing.T, n int, cfg p2p.Config) []*p2p.Host {
	t.Helper()
	hosts := make([]*p2p.Host, n)
	book := map[protocol.NodeID]peer.AddrInfo{}
	for i := range hosts {
		c := cfg
		c.Self = protocol.NodeID(i)
		h, err := p2p.New(c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := h.Close(); err != nil {
				t.Error(err)
			}
		})
		hosts[i] = h
		book[c.Self] = h.AddrInfo()
		if len(book[c.Self].Addrs) == 0 {
			t.Fatalf("host %d listens on no address", i)
		}
	}
	for _, h := range hosts {
		if err := h.AddPeers(book); err != nil {
			t.Fatal(err)
		}
	}
	return hosts
}

// recorder is a Sink safe for concurrent use.
type recorder struct{ record.Memory }

func (r *recorder) snapshot() []metrics.Stamped { return r.Events() }

func (r *recorder) received() map[protocol.NodeID][]gossip.Received {
	m := map[protocol.NodeID][]gossip.Received{}
	for _, s := range r.snapshot() {
		if ev, ok := s.Event.(gossip.Received); ok {
			m[protocol.NodeID(s.Node)] = append(m[protocol.NodeID(s.Node)], ev)
		}
	}
	return m
}

func (r *recorder) duplicates() int {
	n := 0
	for _, s := range r.snapshot() {
		if _, ok := s.Event.(gossip.Duplicate); ok {
			n++
		}
	}
	return n
}

// payloads records the hash of every block payload a node sends or receives.
type payloads struct {
	mu   sync.Mutex
	sent map[protocol.NodeID][][32]byte
	got  map[protocol.NodeID][][32]byte
}

func newPayloads() *payloads {
	return &payloads{sent: map[protocol.NodeID][][32]byte{}, got: map[protocol.NodeID][][32]byte{}}
}

func (p *payloads) add(m map[protocol.NodeID][][32]byte, id protocol.NodeID, b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m[id] = append(m[id], sha256.Sum256(b))
}

// spy wraps a node and records the blocks it sends and receives, so the
// test can compare payloads without gossip knowing it is watched: the
// decorator pattern attacks use too.
type spy struct {
	inner protocol.Node
	log   *payloads
}

func (s *spy) Handle(env protocol.Env, in protocol.Input) {
	if r, ok := in.(protocol.Recv); ok {
		if b, ok := r.Msg.(*gossip.Block); ok {
			s.log.add(s.log.got, env.Self(), b.Payload)
		}
	}
	s.inner.Handle(spyEnv{env, s.log}, in)
}

type spyEnv struct {
	protocol.Env
	log *payloads
}

func (e spyEnv) Send(to protocol.NodeID, m wire.Msg) {
	if b, ok := m.(*gossip.Block); ok {
		e.log.add(e.log.sent, e.Self(), b.Payload)
	}
	e.Env.Send(to, m)
}

type graph = gossiptest.Graph

// TestFloodOverLibp2p is the boundary proof: gossip.Flood, the same code
// the simulator runs, floods a 256 KiB block over libp2p hosts on
// 127.0.0.1, once over TCP (Noise, yamux) and once over QUIC.
//
// On a tree there is one path to each node, so every node must receive the
// block exactly once, with the origin's bytes, at the graph distance; the
// simulator is held to the same figures on the same graphs (sim's
// TestFloodOnAGraph), and both drivers give a node the same random stream
// (TestRandIsTheNodeStream in sim and live), so the two agree. On a ring the
// flood must also drop duplicates; which copy arrives first around a cycle
// is a race on a real network (under -cpu 1 the three-hop copy sometimes
// wins), so there the test asserts only what no arrival order can change.
func TestFloodOverLibp2p(t *testing.T) {
	livetest.RequireLoopback(t)
	tree := graph{{1, 2}, {0, 3}, {0}, {1, 4}, {3}}
	ring := graph{{1, 3}, {0, 2}, {1, 3}, {2, 0}}
	for _, tr := range []struct {
		name   string
		listen []string
	}{
		{"tcp", []string{"/ip4/127.0.0.1/tcp/0"}},
		{"quic", []string{"/ip4/127.0.0.1/udp/0/quic-v1"}},
	} {
		t.Run(tr.name, func(t *testing.T) {
			if tr.name == "quic" {
				c, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Skipf("skipping: the OS refuses to bind a loopback UDP port (%v)", err)
				}
				c.Close()
			}
			t.Run("tree", func(t *testing.T) { floodOverLibp2p(t, tr.listen, tree, true) })
			t.Run("ring", func(t *testing.T) { floodOverLibp2p(t, tr.listen, ring, false) })
		})
	}
}

// floodOverLibp2p floods one block from node 0 over g; exact says that
// first arrivals are determined (g is a tree).
func floodOverLibp2p(t *testing.T, listen []string, g graph, exact bool) {
	const (
		seed      = 2024
		blockSize = 256 << 10
	)
	n := len(g)
	dist := g.Distances()
	wantDups := g.FloodSends() - (n - 1)
	newFlood := func(i int, log *payloads) protocol.Node {
		f := &gossip.Flood{Peers: g[i]}
		if i == 0 {
			f.BlockSize = blockSize
		}
		return &spy{inner: f, log: log}
	}

	hosts := startHosts(t, n, p2p.Config{ListenAddrs: listen})
	rec, log := &recorder{}, newPayloads()
	var errMu sync.Mutex
	var transportErrs []error
	epoch := time.Now()
	rts := make([]*live.Runtime, n)
	for i, h := range hosts {
		rt, err := live.New(newFlood(i, log), live.Config{
			ID: protocol.NodeID(i), Seed: seed, Epoch: epoch, Transport: h, Sink: rec,
			OnError: func(err error) { errMu.Lock(); transportErrs = append(transportErrs, err); errMu.Unlock() },
		})
		if err != nil {
			t.Fatal(err)
		}
		h.SetReceiver(rt)
		rts[i] = rt
	}
	// A frame that reaches a runtime before its Start is dropped, as the
	// simulator drops messages to an offline node, so the origin starts last.
	for i := n - 1; i >= 0; i-- {
		rts[i].Start()
	}
	livetest.WaitFor(t, "every node to receive the block and every copy to arrive", func() bool {
		return len(rec.received()) == n && rec.duplicates() == wantDups
	})
	for _, rt := range rts {
		rt.Stop()
	}
	if len(transportErrs) != 0 {
		t.Errorf("transport errors: %v", transportErrs)
	}

	// Live: exactly once, after a real delay, at hops the graph allows.
	hops := make([]uint32, n)
	liveRecv := rec.received()
	for v := range n {
		id := protocol.NodeID(v)
		evs := liveRecv[id]
		if len(evs) != 1 {
			t.Fatalf("node %d received the block %d times, want 1: %+v", v, len(evs), evs)
		}
		ev := evs[0]
		hops[v] = ev.Hops
		if ev.Origin != 0 || ev.Height != 1 {
			t.Errorf("node %d received block %d/%d, want 0/1", v, ev.Origin, ev.Height)
		}
		if v != 0 && ev.Delay <= 0 {
			t.Errorf("node %d: Delay %v, want > 0 over a real network", v, ev.Delay)
		}
	}
	for v := range n {
		switch {
		case exact && int(hops[v]) != dist[v]:
			t.Errorf("node %d: hops %d, want the graph distance %d", v, hops[v], dist[v])
		case int(hops[v]) < dist[v]:
			t.Errorf("node %d: hops %d, fewer than the graph distance %d", v, hops[v], dist[v])
		}
		// A node forwards only its first copy, so its first copy came from
		// a neighbour one hop nearer the origin.
		if v != 0 && !slices.ContainsFunc(g[v], func(u protocol.NodeID) bool { return hops[u]+1 == hops[v] }) {
			t.Errorf("node %d: hops %d, but no neighbour has %d (hops %v)", v, hops[v], hops[v]-1, hops)
		}
	}
	if d := rec.duplicates(); d != wantDups {
		t.Errorf("%d duplicates, want %d", d, wantDups)
	}

	// Live: every copy carried the origin's bytes.
	origin := log.sent[0]
	if len(origin) != len(g[0]) || slices.ContainsFunc(origin, func(h [32]byte) bool { return h != origin[0] }) {
		t.Fatalf("origin sent payloads %x, want one block to each of %d peers", origin, len(g[0]))
	}
	for v := 1; v < n; v++ {
		got := log.got[protocol.NodeID(v)]
		if len(got) == 0 {
			t.Errorf("node %d recorded no block", v)
		}
		for _, hsh := range got {
			if hsh != origin[0] {
				t.Errorf("node %d got payload %x, origin made %x", v, hsh[:8], origin[0][:8])
			}
		}
	}

	// Transport: each copy crossed the network once, intact and attributed.
	var sent, recvd uint64
	for i, h := range hosts {
		st := h.Stats()
		sent += st.FramesSent
		recvd += st.FramesReceived
		if st.Malformed != 0 || st.UnknownPeer != 0 || st.NoReceiver != 0 {
			t.Errorf("host %d: %+v, want no malformed, unknown or undelivered frames", i, st)
		}
		if rs := rts[i].Stats(); rs.Malformed != 0 || rs.Dropped != 0 || rs.SendErrors != 0 {
			t.Errorf("runtime %d: %+v, want no malformed, dropped or failed frames", i, rs)
		}
	}
	if sent != uint64(g.FloodSends()) || recvd != uint64(g.FloodSends()) {
		t.Errorf("hosts sent %d and received %d frames, want %d each", sent, recvd, g.FloodSends())
	}
}

// inbox is a live.Receiver that keeps every frame.
type inbox struct {
	mu     sync.Mutex
	frames []frameFrom
}

type frameFrom struct {
	from  protocol.NodeID
	frame []byte
}

func (b *inbox) Deliver(from protocol.NodeID, frame []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frames = append(b.frames, frameFrom{from, frame})
}

func (b *inbox) all() []frameFrom {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.frames)
}

// subscribed starts three hosts, connected to each other and subscribed
// to "blocks", each delivering to its inbox.
func subscribed(t *testing.T, cfg p2p.Config) ([]*p2p.Host, []*inbox) {
	t.Helper()
	hosts := startHosts(t, 3, cfg)
	boxes := make([]*inbox, len(hosts))
	for i, h := range hosts {
		boxes[i] = &inbox{}
		h.SetReceiver(boxes[i])
		if err := h.Subscribe("blocks"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][2]int{{0, 1}, {0, 2}, {1, 2}} {
		if err := hosts[c[0]].Connect(livetest.Context(t), protocol.NodeID(c[1])); err != nil {
			t.Fatal(err)
		}
	}
	return hosts, boxes
}

func TestPublishReachesSubscribers(t *testing.T) {
	livetest.RequireLoopback(t)
	hosts, boxes := subscribed(t, p2p.Config{})
	livetest.WaitFor(t, "every host to see the others subscribed", func() bool {
		for i, h := range hosts {
			if len(h.TopicPeers("blocks")) != len(hosts)-1 || slices.Contains(h.TopicPeers("blocks"), protocol.NodeID(i)) {
				return false
			}
		}
		return true
	})
	frame := wire.Encode(&gossip.Block{Origin: 0, Height: 3, Payload: []byte("hello")})
	if err := hosts[0].Publish("blocks", slices.Clone(frame)); err != nil {
		t.Fatal(err)
	}
	livetest.WaitFor(t, "the publication", func() bool {
		return len(boxes[1].all()) > 0 && len(boxes[2].all()) > 0
	})
	for i := 1; i < len(hosts); i++ {
		got := boxes[i].all()
		if len(got) != 1 || got[0].from != 0 || !bytes.Equal(got[0].frame, frame) {
			t.Errorf("host %d got %v, want the frame once from node 0", i, got)
		}
	}
	if got := boxes[0].all(); len(got) != 0 {
		t.Errorf("the publisher got its own publication: %v", got)
	}
	if st := hosts[0].Stats(); st.Published != 1 {
		t.Errorf("Published = %d, want 1", st.Published)
	}
	big := make([]byte, p2p.DefaultMaxPublishBytes+1)
	if err := hosts[0].Publish("blocks", big); !errors.Is(err, p2p.ErrFrameTooLarge) {
		t.Errorf("publishing %d bytes: %v, want ErrFrameTooLarge", len(big), err)
	}
}

// TestStrangersAndBadFramesAreDropped speaks the stream protocol by hand:
// from a peer in the address book (the frames arrive, a bad length prefix
// resets the stream) and from one that is not (its connection is refused
// at the handshake, counted).
func TestStrangersAndBadFramesAreDropped(t *testing.T) {
	livetest.RequireLoopback(t)
	const maxFrame = 1024
	h0, err := p2p.New(p2p.Config{Self: 0, MaxFrameBytes: maxFrame})
	if err != nil {
		t.Fatal(err)
	}
	defer h0.Close()
	box := &inbox{}
	h0.SetReceiver(box)

	rawHost := func() (*peer.ID, func(...[]byte) error) {
		raw, err := libp2p.New(libp2p.NoListenAddrs, libp2p.DisableMetrics())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		info := h0.AddrInfo()
		raw.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.PermanentAddrTTL)
		id := raw.ID()
		// write opens a fresh stream and writes the chunks on it. Only
		// opening can fail the test: h0 may reset the stream as soon as it
		// has read a bad prefix, failing the writes after it.
		write := func(chunks ...[]byte) error {
			s, err := raw.NewStream(livetest.Context(t), info.ID, p2p.ProtocolID)
			if err != nil {
				return err
			}
			for _, c := range chunks {
				if _, err := s.Write(c); err != nil {
					return nil
				}
			}
			s.CloseWrite()
			return nil
		}
		return &id, write
	}
	length := func(n uint64) []byte { return binary.AppendUvarint(nil, n) }
	good := wire.Encode(&gossip.Block{Origin: 1, Height: 1, Payload: []byte("x")})

	node1, write1 := rawHost()
	if err := h0.AddPeers(map[protocol.NodeID]peer.AddrInfo{0: h0.AddrInfo(), 1: {ID: *node1}}); err != nil {
		t.Fatal(err)
	}
	if err := write1(length(uint64(len(good))), good, length(maxFrame+1)); err != nil {
		t.Fatal(err)
	}
	livetest.WaitFor(t, "the good frame and the oversized one", func() bool {
		return len(box.all()) == 1 && h0.Stats().Malformed == 1
	})
	if got := box.all(); got[0].from != 1 || !bytes.Equal(got[0].frame, good) {
		t.Errorf("got %v from node %d, want the good frame from node 1", got[0].frame, got[0].from)
	}
	if err := write1(bytes.Repeat([]byte{0x80}, binary.MaxVarintLen64+1)); err != nil {
		t.Fatal(err)
	}
	livetest.WaitFor(t, "the overlong length prefix", func() bool { return h0.Stats().Malformed == 2 })

	_, writeStranger := rawHost()
	if err := writeStranger(length(uint64(len(good))), good); err == nil {
		t.Error("a stranger opened a stream")
	}
	if n := h0.Refusals().Of(p2p.ReasonUnknownPeer, "conn"); n == 0 || h0.Stats().UnknownPeer != n {
		t.Errorf("the stranger's connections: %d refused (UnknownPeer %d), want at least one, all counted", n, h0.Stats().UnknownPeer)
	}
	if st := h0.Stats(); st.FramesReceived != 1 {
		t.Errorf("FramesReceived = %d, want 1 (only the good frame from node 1)", st.FramesReceived)
	}
	if got := box.all(); len(got) != 1 {
		t.Errorf("receiver got %d frames, want 1", len(got))
	}
}

func TestSendAndBookErrors(t *testing.T) {
	livetest.RequireLoopback(t)
	hosts := startHosts(t, 2, p2p.Config{MaxFrameBytes: 64})
	if err := hosts[0].Send(7, []byte{1, 2}); !errors.Is(err, p2p.ErrUnknownNode) {
		t.Errorf("Send to a node not in the book: %v, want ErrUnknownNode", err)
	}
	if err := hosts[0].Send(1, make([]byte, 65)); !errors.Is(err, p2p.ErrFrameTooLarge) {
		t.Errorf("Send of 65 bytes with a 64-byte limit: %v, want ErrFrameTooLarge", err)
	}
	// Node 1's peer ID may not be claimed by another node.
	clash := map[protocol.NodeID]peer.AddrInfo{2: hosts[1].AddrInfo()}
	if err := hosts[0].AddPeers(clash); !errors.Is(err, p2p.ErrBadPeers) {
		t.Errorf("AddPeers with a peer ID under a second node: %v, want ErrBadPeers", err)
	}
	box := &inbox{}
	hosts[1].SetReceiver(box)
	if err := hosts[0].Send(1, wire.Encode(&gossip.Block{Payload: []byte("frame")})); err != nil {
		t.Fatal(err)
	}
	livetest.WaitFor(t, "the frame", func() bool { return len(box.all()) == 1 })
	if err := hosts[0].Close(); err != nil {
		t.Fatal(err)
	}
	if err := hosts[0].Send(1, []byte("late")); !errors.Is(err, p2p.ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
}
