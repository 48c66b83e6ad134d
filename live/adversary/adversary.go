// Package adversary attacks a live dais network from outside its code: a
// plain libp2p host that speaks dais's protocols by hand, with a member's
// identity (a compromised node) or its own (an outsider), and the frames
// an attacker would send: length prefixes that promise what never comes,
// forged and replayed votes, random bodies of every kind, floods of
// streams and of gossip. Tests drive it against test networks and read
// what the nodes refused from their /metrics (Scrape).
//
//	att, err := adversary.New(netw, keys.Peer, member.Addrs) // node 4's stolen keys
//	defer att.Close()
//	att.Send(ctx, 1, adversary.ForgedVotes(netw.Seed, 2, h, 100)...)
//	m, _ := adversary.Scrape(ctx, statusAddr)
//	m.Sum("dais_p2p_refused_total", "reason=bad_signature") // 100
package adversary

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/p2p"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/wire"
)

// maxKept bounds the messages a Host keeps of what the nodes send it.
const maxKept = 4096

// Host is the attacker's libp2p host. It knows every member's addresses
// and keeps the messages the nodes send it (Received), so that it can
// replay them. Methods are safe for concurrent use.
type Host struct {
	host.Host
	net *node.Network
	ps  *pubsub.PubSub

	mu  sync.Mutex
	got []wire.Msg
}

// New starts a host with identity key, listening on listen (a member's
// addresses, so that the nodes send it what they send that member; none
// for an outsider).
func New(netw *node.Network, key crypto.PrivKey, listen []string) (*Host, error) {
	opts := []libp2p.Option{libp2p.Identity(key), libp2p.DisableRelay(), libp2p.DisableMetrics(), libp2p.UserAgent("adversary"),
		// An attacker does not hold itself back.
		libp2p.ResourceManager(&network.NullResourceManager{})}
	if len(listen) == 0 {
		opts = append(opts, libp2p.NoListenAddrs)
	} else {
		opts = append(opts, libp2p.ListenAddrStrings(listen...))
	}
	lh, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("adversary: a host: %w", err)
	}
	h := &Host{Host: lh, net: netw}
	for _, m := range netw.Nodes {
		for _, a := range m.Addrs {
			if ma, err := multiaddr(a); err == nil {
				lh.Peerstore().AddAddr(netw.PeerIDOf(m.ID), ma, peerstore.PermanentAddrTTL)
			}
		}
	}
	lh.SetStreamHandler(p2p.ProtocolID, h.collect)
	return h, nil
}

// collect keeps the messages a node sends on a direct stream.
func (h *Host) collect(s network.Stream) {
	defer s.Reset()
	r := bufio.NewReader(s)
	for {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > 16<<20 {
			return
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(r, frame); err != nil {
			return
		}
		m, err := wire.Decode(frame)
		if err != nil {
			continue
		}
		h.mu.Lock()
		if len(h.got) < maxKept {
			h.got = append(h.got, m)
		}
		h.mu.Unlock()
	}
}

// Received returns the messages the nodes sent this host so far.
func (h *Host) Received() []wire.Msg {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]wire.Msg(nil), h.got...)
}

// Stream opens a direct-message stream to node to.
func (h *Host) Stream(ctx context.Context, to protocol.NodeID) (network.Stream, error) {
	return h.NewStream(ctx, h.net.PeerIDOf(to), p2p.ProtocolID)
}

// Send writes frames, each length-prefixed, on a fresh stream to node
// to, and closes its write side. It fails only if the stream cannot be
// opened: a node resets a stream at a frame it refuses, so the writes
// after it may fail, and an attacker does not care.
func (h *Host) Send(ctx context.Context, to protocol.NodeID, frames ...[]byte) error {
	s, err := h.Stream(ctx, to)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(s)
	for _, f := range frames {
		w.Write(Framed(f))
	}
	if w.Flush() != nil || s.CloseWrite() != nil {
		s.Reset()
	}
	return nil
}

// SendEach writes each frame on a stream of its own, a few streams at a
// time: a node resets a stream at the first frame it refuses without
// reading it, so frames after it on the same stream would go unread.
func (h *Host) SendEach(ctx context.Context, to protocol.NodeID, frames ...[]byte) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	next := make(chan []byte)
	for range 8 {
		wg.Go(func() {
			for f := range next {
				if err := h.Send(ctx, to, f); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, f := range frames {
		next <- f
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// Hold opens n streams to node to at once, writes start on each and
// leaves them open until ctx ends; it returns how many took start (the
// others were refused: by the resource manager, or reset). A start that
// is a partial frame (PromisedFrame) keeps the node waiting for the rest.
func (h *Host) Hold(ctx context.Context, to protocol.NodeID, n int, start []byte) int {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		held []network.Stream
	)
	for range n {
		wg.Go(func() {
			s, err := h.Stream(ctx, to)
			if err != nil {
				return
			}
			if _, err := s.Write(start); err != nil {
				s.Reset()
				return
			}
			mu.Lock()
			held = append(held, s)
			mu.Unlock()
		})
	}
	wg.Wait()
	go func() {
		<-ctx.Done()
		for _, s := range held {
			s.Reset()
		}
	}()
	return len(held)
}

// Publish joins topic through node via (connecting to it) and publishes
// each frame there as author (any key: the origin gossipsub signs and
// checks). It returns once every frame has left this host.
func (h *Host) Publish(ctx context.Context, via protocol.NodeID, topic wire.Topic, author crypto.PrivKey, frames ...[]byte) error {
	if err := h.Connect(ctx, peer.AddrInfo{ID: h.net.PeerIDOf(via)}); err != nil {
		return fmt.Errorf("adversary: connecting to node %d: %w", via, err)
	}
	h.mu.Lock()
	if h.ps == nil {
		ps, err := pubsub.NewGossipSub(context.Background(), h.Host, pubsub.WithFloodPublish(true), pubsub.WithPeerOutboundQueueSize(1024))
		if err != nil {
			h.mu.Unlock()
			return err
		}
		h.ps = ps
	}
	ps := h.ps
	h.mu.Unlock()
	tp, err := ps.Join(p2p.TopicPrefix + string(topic))
	if err != nil {
		return err
	}
	defer tp.Close()
	for len(tp.ListPeers()) == 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("adversary: node %d never listed as a peer of %q: %w", via, topic, err)
		}
		sleep(ctx)
	}
	pid, err := peer.IDFromPrivateKey(author)
	if err != nil {
		return err
	}
	for _, f := range frames {
		if err := tp.Publish(ctx, f, pubsub.WithSecretKeyAndPeerId(author, pid)); err != nil {
			return err
		}
	}
	return nil
}

// Framed is frame with its uvarint length prefix, as /dais/msg carries it.
func Framed(frame []byte) []byte {
	return append(binary.AppendUvarint(make([]byte, 0, len(frame)+binary.MaxVarintLen64), uint64(len(frame))), frame...)
}

// PromisedFrame is the length prefix of a length-byte frame of kind k and
// its header, and nothing more: a node reading it waits for the rest.
func PromisedFrame(k wire.Kind, length int) []byte {
	hdr := binary.AppendUvarint([]byte{wire.Version}, uint64(k))
	return append(binary.AppendUvarint(nil, uint64(length)), hdr...)
}

// LeakedPeerKey is the libp2p identity dais derived for node id from the
// network's seed before nodes had keys of their own (as
// node.PeerKey did): what a copy of the network file gave an attacker.
func LeakedPeerKey(seed uint64, id protocol.NodeID) crypto.PrivKey {
	var s [32]byte
	for i := range 4 {
		binary.LittleEndian.PutUint64(s[8*i:], protocol.DeriveSeed(seed, "libp2p.key", 4*uint64(id)+uint64(i)))
	}
	k, _, err := crypto.GenerateEd25519Key(bytes.NewReader(s[:]))
	if err != nil {
		panic(err) // a 32-byte reader cannot fail
	}
	return k
}

// ForgedVotes are n prevotes and precommits of validator as, for heights
// from height on, for random blocks, signed with the key dais derived for
// it from the seed before validators had keys of their own
// (consensus.DeriveKey): what a copy of the network file let an outsider
// sign before.
func ForgedVotes(seed uint64, as protocol.NodeID, height uint64, n int) [][]byte {
	s := consensus.Signer{Key: consensus.DeriveKey(seed, as)}
	rng := rand.New(rand.NewPCG(seed, uint64(as)))
	out := make([][]byte, n)
	for i := range out {
		var hash consensus.Hash
		for j := range hash {
			hash[j] = byte(rng.Uint32())
		}
		v := &bft.Vote{Type: bft.Prevote + bft.VoteType(i%2), Height: height + uint64(i/4), Round: 0, BlockHash: hash, Validator: as}
		v.Sig = s.Sign(v.SignBytes())
		out[i] = wire.Encode(v)
	}
	return out
}

// Replays are the signed messages in msgs made to be sent again: each
// commit, and each of its precommits as a vote.
func Replays(msgs []wire.Msg) [][]byte {
	var out [][]byte
	for _, m := range msgs {
		c, ok := m.(*bft.Commit)
		if !ok {
			continue
		}
		out = append(out, wire.Encode(c))
		for _, cs := range c.Sigs {
			out = append(out, wire.Encode(&bft.Vote{Type: bft.Precommit, Height: c.Height, Round: c.Round, BlockHash: c.BlockHash,
				Validator: cs.Validator, Sig: cs.Sig}))
		}
	}
	return out
}

// RandomFrames are perKind frames of every registered kind with random
// bodies of up to maxBody bytes.
func RandomFrames(rng *rand.Rand, perKind, maxBody int) [][]byte {
	var out [][]byte
	for _, k := range wire.Kinds() {
		for range perKind {
			f := binary.AppendUvarint([]byte{wire.Version}, uint64(k))
			for range rng.IntN(maxBody + 1) {
				f = append(f, byte(rng.Uint32()))
			}
			out = append(out, f)
		}
	}
	return out
}

// sleep waits a moment, or until ctx ends.
func sleep(ctx context.Context) {
	t := timer()
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

var errNoRSS = errors.New("adversary: no VmRSS line")

// Member starts a host with member id's identity (keys stolen from its
// key file), listening where the network says id listens if listen is
// true.
func Member(netw *node.Network, id protocol.NodeID, keys *node.Keys, listen bool) (*Host, error) {
	var addrs []string
	if listen {
		addrs = netw.Nodes[id].Addrs
	}
	return New(netw, keys.Peer, addrs)
}
