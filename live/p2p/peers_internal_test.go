package p2p

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/protocol"
)

var tcpOnly = []string{"/ip4/127.0.0.1/tcp/0"}

func newHost(t *testing.T, id protocol.NodeID) *Host {
	t.Helper()
	h, err := New(Config{Self: id, ListenAddrs: tcpOnly})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// sealed is a signed peer record for key's peer ID with addrs, marshalled.
func sealed(t *testing.T, key crypto.PrivKey, addrs ...string) []byte {
	t.Helper()
	pid, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	rec := &peer.PeerRecord{PeerID: pid, Seq: 1}
	for _, a := range addrs {
		rec.Addrs = append(rec.Addrs, ma.StringCast(a))
	}
	return seal(t, rec, key)
}

// seal signs rec with key, which need not be rec's peer's, and marshals it.
func seal(t *testing.T, rec *peer.PeerRecord, key crypto.PrivKey) []byte {
	t.Helper()
	env, err := record.Seal(rec, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func frames(recs ...[]byte) []byte {
	var out []byte
	for _, r := range recs {
		out = binary.AppendUvarint(out, uint64(len(r)))
		out = append(out, r...)
	}
	return out
}

func genKey(t *testing.T) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPeersAnswerDropsForeignAndGarbage feeds the answer reader records of
// every kind: only the validly signed one of an address-book peer is taken,
// and each other is dropped and counted.
func TestPeersAnswerDropsForeignAndGarbage(t *testing.T) {
	livetest.RequireLoopback(t)
	h := newHost(t, 0)
	member, foreign := genKey(t), genKey(t)
	memberID, _ := peer.IDFromPrivateKey(member)
	if err := h.AddPeers(map[protocol.NodeID]peer.AddrInfo{1: {ID: memberID}}); err != nil {
		t.Fatal(err)
	}
	good := sealed(t, member, "/ip4/127.0.0.1/tcp/4242")
	// A record for the member's ID signed by another key: its envelope
	// verifies, but the key does not match the ID it claims.
	forged := seal(t, &peer.PeerRecord{PeerID: memberID, Seq: 2, Addrs: []ma.Multiaddr{ma.StringCast("/ip4/10.0.0.1/tcp/1")}}, foreign)
	tampered := bytes.Clone(good)
	tampered[len(tampered)-1] ^= 1 // breaks the signature
	answer := frames(sealed(t, foreign, "/ip4/127.0.0.1/tcp/1"), []byte("garbage"), forged, tampered, good)
	n, err := h.readPeers(bytes.NewReader(answer))
	if err != nil || n != 1 {
		t.Fatalf("readPeers = %d, %v; want 1 record taken", n, err)
	}
	st := h.Stats()
	if st.PeerRecords != 1 || st.PeerRecordsForeign != 1 || st.PeerRecordsMalformed != 3 {
		t.Errorf("stats: %d taken, %d foreign, %d malformed; want 1, 1, 3", st.PeerRecords, st.PeerRecordsForeign, st.PeerRecordsMalformed)
	}
	got := h.host.Peerstore().Addrs(memberID)
	if !slices.ContainsFunc(got, func(a ma.Multiaddr) bool { return a.String() == "/ip4/127.0.0.1/tcp/4242" }) {
		t.Errorf("member's addrs %v lack the signed one", got)
	}
	if slices.ContainsFunc(got, func(a ma.Multiaddr) bool { return a.String() == "/ip4/10.0.0.1/tcp/1" }) {
		t.Errorf("member's addrs %v include the forged one", got)
	}

	// A length prefix above the limit ends the answer, counted.
	over := binary.AppendUvarint(nil, MaxPeerRecordBytes+1)
	if _, err := h.readPeers(bytes.NewReader(append(over, make([]byte, 16)...))); err == nil {
		t.Error("an oversized record was read without an error")
	}
	// So does a record cut short.
	if _, err := h.readPeers(bytes.NewReader(frames(good)[:20])); err == nil {
		t.Error("a truncated record was read without an error")
	}
	if m := h.Stats().PeerRecordsMalformed; m != 5 {
		t.Errorf("%d malformed, want 5", m)
	}
}

// TestFindPeers: nodes 1 and 2 know only node 0's address; node 1 asks
// node 0 for peers and then reaches node 2. A node that answers garbage
// over the real protocol is counted, not trusted, and does not crash the
// asker.
func TestFindPeers(t *testing.T) {
	livetest.RequireLoopback(t)
	hs := []*Host{newHost(t, 0), newHost(t, 1), newHost(t, 2)}
	rogueKey := genKey(t)
	rogue, err := libp2p.New(libp2p.Identity(rogueKey), libp2p.ListenAddrStrings(tcpOnly...))
	if err != nil {
		t.Fatal(err)
	}
	defer rogue.Close()
	rogue.SetStreamHandler(PeersProtocolID, func(s network.Stream) {
		s.Write(frames([]byte("not a record"), sealed(t, genKey(t), "/ip4/127.0.0.1/tcp/9")))
		s.Close()
	})
	ctx := context.Background()
	for _, h := range hs {
		book := map[protocol.NodeID]peer.AddrInfo{3: {ID: rogue.ID(), Addrs: rogue.Addrs()}}
		for _, o := range hs {
			info := peer.AddrInfo{ID: o.host.ID()}
			if o.self == 0 || o == h {
				info = o.AddrInfo()
			}
			book[o.self] = info
		}
		if err := h.AddPeers(book); err != nil {
			t.Fatal(err)
		}
	}
	if err := hs[1].Connect(ctx, 2); err == nil {
		t.Fatal("node 1 reached node 2 without knowing its address")
	}
	for _, h := range hs[1:] {
		if err := h.Connect(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	livetest.WaitFor(t, "node 0 to hold both signed records", func() bool {
		hs[0].mu.Lock()
		defer hs[0].mu.Unlock()
		return len(hs[0].records) == 2
	})
	n, err := hs[1].FindPeers(ctx, 0)
	if err != nil || n != 2 { // node 0's own record and node 2's
		t.Fatalf("FindPeers = %d, %v; want 2", n, err)
	}
	if err := hs[1].Connect(ctx, 2); err != nil {
		t.Fatalf("node 1 cannot reach node 2 after asking node 0: %v", err)
	}
	if n, err := hs[1].FindPeers(ctx, 3); n != 0 || err != nil {
		t.Errorf("FindPeers from the rogue = %d, %v; want 0 records and no error", n, err)
	}
	if st := hs[1].Stats(); st.PeerRecordsForeign != 1 || st.PeerRecordsMalformed != 1 {
		t.Errorf("after the rogue's answer: %d foreign, %d malformed; want 1, 1", st.PeerRecordsForeign, st.PeerRecordsMalformed)
	}
}
