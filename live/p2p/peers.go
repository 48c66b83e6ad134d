package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	libp2pproto "github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"

	"github.com/dais-sim/dais/protocol"
)

// PeersProtocolID names the peer-exchange stream protocol: the asker opens
// a stream and closes its write side; the answerer writes the signed peer
// records (libp2p's record.Envelope of a peer.PeerRecord) it holds for the
// address-book nodes it is connected to, and its own, each as a uvarint
// length then the envelope, and closes the stream.
const PeersProtocolID libp2pproto.ID = "/dais/peers/1.0.0"

// Limits of a peers answer: a record longer than MaxPeerRecordBytes ends
// the answer as malformed; records after the first MaxPeerRecords are not
// read.
const (
	MaxPeerRecords     = 256
	MaxPeerRecordBytes = 4 << 10
)

// discoveredAddrTTL is how long addresses learnt from a peers answer stay
// in the peerstore; a node asks again whenever it misses a peer.
const discoveredAddrTTL = time.Hour

// peersTimeout bounds one exchange, both ways.
const peersTimeout = 5 * time.Second

// watchIdentify keeps the signed peer record each address-book peer sent in
// its identify message: identify checks it and takes its addresses but does
// not store the record, and the peers answer passes it on unchanged, so the
// asker can check the signature itself.
func (h *Host) watchIdentify() error {
	sub, err := h.host.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		return fmt.Errorf("p2p: node %d watching identify: %w", h.self, err)
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer sub.Close()
		for {
			select {
			case <-h.ctx.Done():
				return
			case e, ok := <-sub.Out():
				if !ok {
					return
				}
				ev := e.(event.EvtPeerIdentificationCompleted)
				if ev.SignedPeerRecord == nil {
					continue
				}
				b, err := ev.SignedPeerRecord.Marshal()
				if err != nil {
					continue
				}
				h.mu.Lock()
				if _, ok := h.peers[ev.Peer]; ok {
					h.records[ev.Peer] = b
				}
				h.mu.Unlock()
			}
		}
	}()
	return nil
}

// handlePeers answers a peers request from an address-book node.
func (h *Host) handlePeers(s network.Stream) {
	if !h.track() {
		s.Reset()
		return
	}
	defer h.wg.Done()
	asker := s.Conn().RemotePeer()
	if _, ok := h.nodeOf(asker); !ok {
		h.unknownPeer.Add(1)
		s.Reset()
		return
	}
	var recs [][]byte
	if cab, ok := peerstore.GetCertifiedAddrBook(h.host.Peerstore()); ok {
		if env := cab.GetPeerRecord(h.host.ID()); env != nil {
			if b, err := env.Marshal(); err == nil {
				recs = append(recs, b)
			}
		}
	}
	h.mu.Lock()
	for pid, b := range h.records {
		if pid != asker && h.host.Network().Connectedness(pid) == network.Connected && len(recs) < MaxPeerRecords {
			recs = append(recs, b)
		}
	}
	h.mu.Unlock()
	if err := s.SetWriteDeadline(time.Now().Add(peersTimeout)); err != nil {
		s.Reset()
		return
	}
	w := bufio.NewWriter(s)
	var hdr [binary.MaxVarintLen64]byte
	for _, b := range recs {
		w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(b)))])
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// FindPeers asks node from, which must be connected or dialable, for the
// addresses of the nodes it is connected to, and adds those of address-book
// nodes to the peerstore, so that Connect and Send reach them. Each record
// is checked: a record that does not parse or whose signature fails is
// dropped and counted (Stats.PeerRecordsMalformed), as is one for a peer ID
// outside the address book (Stats.PeerRecordsForeign). It returns how many
// records it accepted.
func (h *Host) FindPeers(ctx context.Context, from protocol.NodeID) (int, error) {
	pid, err := h.peerOf(from)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, peersTimeout)
	defer cancel()
	s, err := h.host.NewStream(ctx, pid, PeersProtocolID)
	if err != nil {
		return 0, fmt.Errorf("p2p: node %d asking node %d for peers: %w", h.self, from, err)
	}
	defer s.Close()
	s.CloseWrite()
	if dl, ok := ctx.Deadline(); ok {
		s.SetReadDeadline(dl)
	}
	n, err := h.readPeers(s)
	if err != nil {
		s.Reset()
		return n, fmt.Errorf("p2p: node %d reading node %d's peers: %w", h.self, from, err)
	}
	return n, nil
}

// readPeers reads a peers answer and takes in the records it accepts; it
// stops at the end of the stream, at MaxPeerRecords, or at a bad length
// prefix, which it counts as a malformed record.
func (h *Host) readPeers(r io.Reader) (int, error) {
	br := bufio.NewReader(io.LimitReader(r, MaxPeerRecords*(MaxPeerRecordBytes+binary.MaxVarintLen64)))
	accepted := 0
	for range MaxPeerRecords {
		n, err := readLength(br, MaxPeerRecordBytes)
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return accepted, nil
		case errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrMalformedFrame):
			h.peerRecordsMalformed.Add(1)
			return accepted, err
		default:
			return accepted, err
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			h.peerRecordsMalformed.Add(1)
			return accepted, err
		}
		if h.takeRecord(b) {
			accepted++
		}
	}
	return accepted, nil
}

// takeRecord checks one signed peer record and, if it names an
// address-book node, adds its addresses; it counts what it drops.
func (h *Host) takeRecord(b []byte) bool {
	env, rec, err := record.ConsumeEnvelope(b, peer.PeerRecordEnvelopeDomain)
	if err != nil {
		h.peerRecordsMalformed.Add(1)
		return false
	}
	pr, ok := rec.(*peer.PeerRecord)
	if !ok || !pr.PeerID.MatchesPublicKey(env.PublicKey) {
		h.peerRecordsMalformed.Add(1)
		return false
	}
	if _, ok := h.nodeOf(pr.PeerID); !ok {
		h.peerRecordsForeign.Add(1)
		return false
	}
	if pr.PeerID == h.host.ID() {
		return false
	}
	h.peerRecords.Add(1)
	ps := h.host.Peerstore()
	if cab, ok := peerstore.GetCertifiedAddrBook(ps); ok {
		// Replaces the addresses of an older record (a node restarted on
		// another port) and ignores a record older than one it holds.
		if _, err := cab.ConsumePeerRecord(env, discoveredAddrTTL); err == nil {
			return true
		}
	}
	ps.AddAddrs(pr.PeerID, pr.Addrs, discoveredAddrTTL)
	return true
}
