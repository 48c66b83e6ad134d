package p2p_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/p2p"
	"github.com/dais-sim/dais/protocol"
)

// TestLimitsRefuseStreams: a node in the address book opens streams to a
// host and leaves them open; the host's stated per-peer stream limit
// refuses those past it, while the default limits take them all.
func TestLimitsRefuseStreams(t *testing.T) {
	livetest.RequireLoopback(t)
	const attempts = 12
	tight := p2p.DefaultLimits
	tight.PeerStreams = 4
	for _, tc := range []struct {
		name   string
		limits *p2p.Limits
		maxOK  int
	}{
		{"default limits", nil, attempts},
		{"4 streams a peer", &tight, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := p2p.New(p2p.Config{Self: 0, Limits: tc.limits})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			raw, err := libp2p.New(libp2p.NoListenAddrs, libp2p.DisableMetrics())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			info := h.AddrInfo()
			raw.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.PermanentAddrTTL)
			if err := h.AddPeers(map[protocol.NodeID]peer.AddrInfo{0: info, 1: {ID: raw.ID()}}); err != nil {
				t.Fatal(err)
			}
			// NewStream negotiates lazily: a refused stream shows as a
			// reset on the first read, an open one as the read deadline
			// passing (the host never writes on it).
			var streams []network.Stream
			for range attempts {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				s, err := raw.NewStream(ctx, info.ID, p2p.ProtocolID)
				cancel()
				if err != nil {
					continue
				}
				defer s.Close()
				streams = append(streams, s)
			}
			var open atomic.Int32
			var wg sync.WaitGroup
			for _, s := range streams {
				wg.Go(func() {
					s.SetReadDeadline(time.Now().Add(time.Second))
					if _, err := s.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
						open.Add(1)
					}
				})
			}
			wg.Wait()
			ok := int(open.Load())
			if ok > tc.maxOK || (tc.limits == nil && ok != attempts) || ok == 0 {
				t.Errorf("%d of %d streams opened, want %s", ok, attempts,
					map[bool]string{true: "all", false: "between 1 and 4"}[tc.limits == nil])
			}
		})
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, mod := range []func(*p2p.Limits){
		func(l *p2p.Limits) { l.Conns = 0 },
		func(l *p2p.Limits) { l.ConnsInbound = l.Conns + 1 },
		func(l *p2p.Limits) { l.StreamsInbound = 0 },
		func(l *p2p.Limits) { l.PeerStreams = 0 },
		func(l *p2p.Limits) { l.PeerMemory = l.Memory + 1 },
	} {
		l := p2p.DefaultLimits
		mod(&l)
		if _, err := p2p.New(p2p.Config{Self: 0, Limits: &l}); err == nil || !strings.Contains(err.Error(), "p2p: limits") {
			t.Errorf("%+v: got %v, want a limits error", l, err)
		}
	}
}
