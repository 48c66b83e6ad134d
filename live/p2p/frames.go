package p2p

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"golang.org/x/time/rate"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// Reading a direct-message stream. A peer in the address book may still be
// hostile (a compromised node, a bug), so a frame costs the host only what
// the peer has really sent, within stated bounds:
//
//   - the length prefix is checked against the largest frame any kind may
//     have, then, once the frame's header (codec version and kind) has
//     arrived, against its kind's own limit (Config.KindLimits), before
//     any buffer is allocated;
//   - the frame's length is reserved in the stream's resource scope, so
//     the resource manager's per-peer and system memory limits bound the
//     frames being read, however many streams carry them;
//   - the buffer grows with the bytes that arrive (doubling from 64 KiB),
//     so a prefix that promises 64 MiB and sends 5 bytes costs 64 KiB;
//   - a frame must arrive within FrameTimeout plus one second per MiB,
//     and a stream that carries no frame for IdleTimeout is closed;
//   - each peer has a frame rate and a byte rate; a frame over either is
//     read into no buffer and dropped.
//
// Every frame refused is counted by reason and kind (Refusals).

// firstChunk is the buffer a frame starts with; it doubles as bytes arrive.
const firstChunk = 64 << 10

// bytesPerSecond is the slowest rate a frame may arrive at before
// FrameTimeout runs out: its deadline is FrameTimeout plus one second per
// MiB of its length.
const bytesPerSecond = 1 << 20

// inStream is what reading a stream needs of it: network.Stream in
// production (streamOf), a fake in the fuzz test.
type inStream interface {
	io.Reader
	SetReadDeadline(time.Time) error
	// ReserveMemory and ReleaseMemory are the stream's resource scope's.
	ReserveMemory(size int, prio uint8) error
	ReleaseMemory(size int)
}

type streamOf struct{ network.Stream }

func (s streamOf) ReserveMemory(n int, prio uint8) error { return s.Scope().ReserveMemory(n, prio) }
func (s streamOf) ReleaseMemory(n int)                   { s.Scope().ReleaseMemory(n) }

// refusedErr is a frame refused for reason; the stream is reset unless
// skipped says the frame was read past (and the stream may go on).
type refusedErr struct {
	reason, kind string
	skipped      bool
	err          error
}

func (e *refusedErr) Error() string {
	return fmt.Sprintf("p2p: frame refused (%s, %s): %v", e.reason, e.kind, e.err)
}

func (e *refusedErr) Unwrap() error { return e.err }

// peerRate is one peer's inbound budget, shared by its streams.
type peerRate struct{ frames, bytes *rate.Limiter }

// headerSize is the most a frame header may take: the codec version and a
// kind (≤ 0xffff) as a uvarint.
const headerSize = 1 + 3

// readHeader reads a frame's version and kind from r, within the frame's
// n bytes, and returns the header bytes read.
func readHeader(r io.ByteReader, n int) ([]byte, wire.Kind, error) {
	var hdr [headerSize]byte
	if n < 2 {
		return nil, 0, fmt.Errorf("%w: a %d-byte frame has no header", wire.ErrShort, n)
	}
	for i := range min(n, headerSize) {
		b, err := r.ReadByte()
		if err != nil {
			return nil, 0, err
		}
		hdr[i] = b
		if i == 0 && b != wire.Version {
			return nil, 0, fmt.Errorf("%w %d", wire.ErrVersion, b)
		}
		if i > 0 && b < 0x80 {
			k, m := binary.Uvarint(hdr[1 : i+1])
			if m != i || k > 0xffff || m != wire.UvarintSize(k) {
				break
			}
			return hdr[:i+1], wire.Kind(k), nil
		}
	}
	return nil, 0, fmt.Errorf("%w: bad kind in header %x", wire.ErrUnknownKind, hdr)
}

// frameLimit is the largest frame of kind k this host takes; 0 for a kind
// no codec knows.
func (h *Host) frameLimit(k wire.Kind) int {
	if !h.known[k] {
		return 0
	}
	if l, ok := h.cfg.KindLimits[k]; ok {
		return min(l, h.cfg.MaxFrameBytes)
	}
	return h.cfg.MaxFrameBytes
}

// checkFrame reports why a whole frame (a publication) would be refused, or
// "" if it would not: its header must name a known kind, and its length
// must be within the kind's limit.
func (h *Host) checkFrame(frame []byte) (reason, kind string) {
	_, k, err := readHeader(bytes.NewReader(frame), len(frame))
	switch {
	case err != nil:
		return ReasonUndecodable, "header"
	case h.frameLimit(k) == 0:
		return ReasonUndecodable, wire.Name(k)
	case len(frame) > h.frameLimit(k):
		return ReasonOversize, wire.Name(k)
	}
	return "", ""
}

// readFrame reads the next frame from one stream of a peer with budget
// pr. It returns io.EOF at a clean end between frames; a *refusedErr for
// a frame refused; another error when the stream broke or sat idle. The
// caller must ReleaseMemory(len(frame)) once the frame is handed on.
func (h *Host) readFrame(r *bufio.Reader, s inStream, pr *peerRate) ([]byte, error) {
	if err := s.SetReadDeadline(time.Now().Add(h.cfg.IdleTimeout)); err != nil {
		return nil, err
	}
	n, err := readLength(r, h.cfg.MaxFrameBytes)
	switch {
	case err == nil:
	case errors.Is(err, ErrFrameTooLarge):
		return nil, &refusedErr{reason: ReasonOversize, kind: "length", err: err}
	case errors.Is(err, ErrMalformedFrame):
		return nil, &refusedErr{reason: ReasonUndecodable, kind: "length", err: err}
	default:
		return nil, err
	}
	if err := s.SetReadDeadline(time.Now().Add(h.cfg.FrameTimeout + time.Duration(n/bytesPerSecond)*time.Second)); err != nil {
		return nil, err
	}
	hdr, k, err := readHeader(r, n)
	if err != nil {
		if errors.Is(err, wire.ErrShort) || errors.Is(err, wire.ErrVersion) || errors.Is(err, wire.ErrUnknownKind) {
			return nil, &refusedErr{reason: ReasonUndecodable, kind: "header", err: err}
		}
		return nil, timedOut(err, "header")
	}
	name := wire.Name(k)
	limit := h.frameLimit(k)
	switch {
	case limit == 0:
		return nil, &refusedErr{reason: ReasonUndecodable, kind: name, err: fmt.Errorf("%w %d", wire.ErrUnknownKind, k)}
	case n > limit:
		return nil, &refusedErr{reason: ReasonOversize, kind: name, err: fmt.Errorf("%w: a %d-byte %s, limit %d", ErrFrameTooLarge, n, name, limit)}
	}
	if pr != nil && !(pr.frames.Allow() && pr.bytes.AllowN(time.Now(), n)) {
		// Read past it without keeping it: the stream stays usable, and
		// the peer's next frames are judged by the budget then.
		if _, err := io.CopyN(io.Discard, r, int64(n-len(hdr))); err != nil {
			return nil, timedOut(err, name)
		}
		return nil, &refusedErr{reason: ReasonRateLimited, kind: name, skipped: true}
	}
	if err := s.ReserveMemory(n, network.ReservationPriorityAlways); err != nil {
		return nil, &refusedErr{reason: ReasonMemory, kind: name, err: err}
	}
	frame := make([]byte, len(hdr), min(n, firstChunk))
	copy(frame, hdr)
	for len(frame) < n {
		if len(frame) == cap(frame) {
			frame = slices.Grow(frame, min(n-len(frame), len(frame)))
		}
		m, err := r.Read(frame[len(frame):min(cap(frame), n)])
		frame = frame[:len(frame)+m]
		if err != nil && len(frame) < n {
			s.ReleaseMemory(n)
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, timedOut(err, name)
		}
	}
	return frame, nil
}

// timedOut makes a read deadline that passed mid-frame a refusal.
func timedOut(err error, kind string) error {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &refusedErr{reason: ReasonTimeout, kind: kind, err: err}
	}
	return err
}

// serveStream reads frames from one inbound stream of node from (peer
// budget pr) and delivers them until the stream ends, breaks or carries a
// frame that is refused without being read past; it reports whether the
// stream ended cleanly (so the caller closes rather than resets it).
func (h *Host) serveStream(from protocol.NodeID, s inStream, pr *peerRate) (clean bool) {
	r := bufio.NewReader(s)
	for {
		frame, err := h.readFrame(r, s, pr)
		var ref *refusedErr
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return true
		case errors.As(err, &ref):
			h.refuse(ref.reason, ref.kind, from)
			if ref.skipped {
				continue
			}
			return false
		default: // the stream or connection broke, or sat idle; the peer's Send reconnects
			return false
		}
		h.framesReceived.Add(1)
		n := len(frame)
		h.deliver(from, frame) // owned by the receiver from here on
		s.ReleaseMemory(n)
	}
}

// refuse counts a refused input; from is a NodeID or a peer ID.
func (h *Host) refuse(reason, kind string, from any) {
	switch reason {
	case ReasonOversize, ReasonUndecodable:
		h.malformed.Add(1)
	case ReasonUnknownPeer:
		h.unknownPeer.Add(1)
	}
	h.refused.Add(reason, kind, from)
}
