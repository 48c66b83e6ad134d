package p2p

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/protocol/wire"
)

// fakeStream is an inStream over bytes, with a resource scope that holds
// at most limit bytes.
type fakeStream struct {
	*bytes.Reader
	limit, reserved, peak int
}

func (s *fakeStream) SetReadDeadline(time.Time) error { return nil }

func (s *fakeStream) ReserveMemory(n int, _ uint8) error {
	if s.reserved+n > s.limit {
		return errors.New("over the scope's limit")
	}
	s.reserved += n
	s.peak = max(s.peak, s.reserved)
	return nil
}

func (s *fakeStream) ReleaseMemory(n int) { s.reserved -= n }

// checkingReceiver holds every frame delivered to a host up to its limits.
type checkingReceiver struct {
	t      testing.TB
	h      *Host
	frames int
	bytes  int
}

func (c *checkingReceiver) Deliver(_ protocol.NodeID, frame []byte) {
	c.frames++
	c.bytes += len(frame)
	if reason, kind := c.h.checkFrame(frame); reason != "" {
		c.t.Fatalf("delivered a %d-byte frame the host refuses (%s, %s)", len(frame), reason, kind)
	}
}

func fuzzHost(t testing.TB) (*Host, *checkingReceiver) {
	h, err := hostState(Config{MaxFrameBytes: 1 << 20, KindLimits: map[wire.Kind]int{wire.KindVote: 200}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &checkingReceiver{t: t, h: h}
	h.SetReceiver(rec)
	return h, rec
}

// FuzzServeStream feeds arbitrary bytes to the stream handler, as a
// member peer may: it must not panic; every frame it delivers has a known
// kind within its limit; it never delivers more bytes than arrived, holds
// at most one frame's reservation at a time and releases it; and every
// frame it read is delivered, refused or the stream's last.
func FuzzServeStream(f *testing.F) {
	frame := func(m wire.Msg) []byte {
		b := wire.Encode(m)
		return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
	}
	f.Add(frame(&gossip.Block{Origin: 1, Payload: []byte("x")}))
	f.Add(append(frame(&bft.Vote{Height: 3}), frame(&bft.Vote{Height: 4, Sig: make([]byte, 64)})...))
	f.Add(append(frame(&gossip.Block{Payload: make([]byte, 300)}), 0xff, 0xff, 0xff, 0x7f, 1, 31))
	f.Add(binary.AppendUvarint(nil, 64<<20))
	f.Add([]byte{5, 1, 31, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, rec := fuzzHost(t)
		s := &fakeStream{Reader: bytes.NewReader(data), limit: 2 << 20}
		h.serveStream(1, s, nil)
		if rec.bytes > len(data) {
			t.Fatalf("delivered %d bytes of %d sent", rec.bytes, len(data))
		}
		if s.reserved != 0 || s.peak > 1<<20 {
			t.Fatalf("reservation %d left, peak %d", s.reserved, s.peak)
		}
		if got := h.Stats().FramesReceived; got != uint64(rec.frames) {
			t.Fatalf("FramesReceived %d, delivered %d", got, rec.frames)
		}
	})
}

// TestPromisedFrameCostsWhatArrives: a length prefix that promises a
// 60 MiB frame, followed by a few bytes, costs the host a first chunk,
// not the frame; the reservation is returned when the stream ends.
func TestPromisedFrameCostsWhatArrives(t *testing.T) {
	h, err := hostState(Config{})
	if err != nil {
		t.Fatal(err)
	}
	h.SetReceiver(&checkingReceiver{t: t, h: h})
	hdr := wire.Encode(&gossip.Block{})[:2]
	data := append(binary.AppendUvarint(nil, 60<<20), hdr...)
	data = append(data, 1, 2, 3)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := &fakeStream{Reader: bytes.NewReader(data), limit: 1 << 30}
	clean := h.serveStream(1, s, nil)
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4*firstChunk {
		t.Errorf("a 5-byte start of a promised 60 MiB frame allocated %d bytes", grew)
	}
	if clean || s.reserved != 0 || s.peak != 60<<20 {
		t.Errorf("clean %v, reserved %d, peak %d: want a broken stream, its reservation of 60 MiB returned", clean, s.reserved, s.peak)
	}
}

// TestFrameOverScopeRefused: a frame the resource scope has no memory for
// is refused and counted, never read.
func TestFrameOverScopeRefused(t *testing.T) {
	h, rec := fuzzHost(t)
	b := wire.Encode(&gossip.Block{Payload: make([]byte, 5000)})
	data := append(binary.AppendUvarint(nil, uint64(len(b))), b...)
	s := &fakeStream{Reader: bytes.NewReader(data), limit: 4096}
	h.serveStream(1, s, nil)
	if rec.frames != 0 || h.Refusals().Of(ReasonMemory, "gossip.Block") != 1 {
		t.Errorf("delivered %d, refused for memory %d; want 0 and 1", rec.frames, h.Refusals().Of(ReasonMemory, "gossip.Block"))
	}
}
