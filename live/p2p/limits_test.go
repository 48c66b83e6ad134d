package p2p_test

import (
	"strings"
	"testing"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/p2p"
)

// TestLimitsRefuseStreams: a node in the address book opens direct-message
// streams to a host and leaves them open, each holding half a frame; the
// host's per-peer limit on those streams refuses the ones past it. Each stream either reaches the
// handler (Stats.Streams) or is refused by the resource manager
// (Stats.Blocked.Protocols), so the test waits until every one is one or
// the other.
func TestLimitsRefuseStreams(t *testing.T) {
	livetest.RequireLoopback(t)
	const attempts = 12
	tight, loose := p2p.DefaultLimits, p2p.DefaultLimits
	tight.PeerMsgStreams, loose.PeerMsgStreams = 4, 64
	for _, tc := range []struct {
		name   string
		limits *p2p.Limits
		wantOK int
	}{
		{"default limits", nil, p2p.DefaultLimits.PeerMsgStreams},
		{"4 message streams a peer", &tight, 4},
		{"64 message streams a peer", &loose, attempts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := p2p.New(p2p.Config{Self: 0, Limits: tc.limits, ListenAddrs: tcpOnly})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			raw := rawMember(t, h, 1)
			half := halfFrame()
			for range attempts {
				s, err := raw.NewStream(livetest.Context(t), h.AddrInfo().ID, p2p.ProtocolID)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				// The first write sends the (lazy) protocol negotiation.
				s.Write(half)
			}
			livetest.WaitFor(t, "every stream to be served or refused", func() bool {
				st := h.Stats()
				return st.Streams+st.Blocked.Protocols == attempts
			})
			if st := h.Stats(); st.Streams != uint64(tc.wantOK) || st.Blocked.Protocols != uint64(attempts-tc.wantOK) {
				t.Errorf("%d of %d streams served, %d refused; want %d served", st.Streams, attempts, st.Blocked.Protocols, tc.wantOK)
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
