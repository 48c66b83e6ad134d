package calibrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dais-sim/dais/live"
	"github.com/dais-sim/dais/live/p2p"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
)

// measureHops is the round trip of a dais message between two live nodes
// on loopback, the whole path a BFT message takes: a node's Handle sends
// (live.Runtime, wire encoding, live/p2p's framed stream over libp2p),
// the other's runtime decodes it, queues it and hands it to its node,
// which sends it back the same way. Two extra runtimes on their own
// libp2p hosts echo count messages gap apart (sparse, as a height's
// messages are), and the first is left out. RTT.BackToBackP50Ms is not
// set.
func measureHops(ctx context.Context, count int, gap time.Duration) (RTT, error) {
	var hosts []*p2p.Host
	var rts []*live.Runtime
	closeAll := func() error {
		for _, rt := range rts {
			rt.Stop()
		}
		return closeEach(hosts)
	}
	book := map[protocol.NodeID]peer.AddrInfo{}
	for id := range protocol.NodeID(2) {
		h, err := p2p.New(p2p.Config{Self: id, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}})
		if err != nil {
			return RTT{}, errors.Join(err, closeAll())
		}
		hosts = append(hosts, h)
		book[id] = h.AddrInfo()
	}
	done := make(chan struct{})
	pinger := &hopPinger{peer: 1, count: count + 1, gap: gap, done: done}
	nodes := []protocol.Node{pinger, protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if r, ok := in.(protocol.Recv); ok {
			env.Send(r.From, r.Msg)
		}
	})}
	epoch := time.Now()
	for i, h := range hosts {
		if err := h.AddPeers(book); err != nil {
			return RTT{}, errors.Join(err, closeAll())
		}
		rt, err := live.New(nodes[i], live.Config{ID: protocol.NodeID(i), Epoch: epoch, Transport: h})
		if err != nil {
			return RTT{}, errors.Join(err, closeAll())
		}
		h.SetReceiver(rt)
		rts = append(rts, rt)
	}
	for _, rt := range rts {
		rt.Start()
	}
	timeout := time.NewTimer(10*time.Second + time.Duration(count)*gap)
	defer timeout.Stop()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = context.Cause(ctx)
	case <-timeout.C:
		err = errors.New("calibrate: the message round trips did not finish")
	}
	err = errors.Join(err, closeAll())
	pinger.mu.Lock()
	rtts := slices.Clone(pinger.rtts)
	pinger.mu.Unlock()
	if err != nil {
		return RTT{}, err
	}
	if len(rtts) < 2 {
		return RTT{}, fmt.Errorf("calibrate: %d message round trips", len(rtts))
	}
	rtts = rtts[1:]
	slices.Sort(rtts)
	q := func(p float64) float64 { return rtts[min(len(rtts)-1, int(p*float64(len(rtts))))] }
	return RTT{Samples: len(rtts), P50Ms: q(0.5), P99Ms: q(0.99), MinMs: rtts[0]}, nil
}

// hopPinger sends a consensus.BlockReq to peer every gap and times its
// echo on the wall clock (this is measuring code, not protocol code).
type hopPinger struct {
	peer  protocol.NodeID
	count int
	gap   time.Duration
	done  chan struct{}

	sent    int                  // messages sent so far
	pending map[uint64]time.Time // by height: when each still unanswered left
	mu      sync.Mutex
	rtts    []float64
}

func (p *hopPinger) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		p.pending = map[uint64]time.Time{}
		env.SetTimer(protocol.Duration(p.gap), 0)
	case protocol.TimerFired:
		if p.sent == p.count {
			return
		}
		p.sent++
		h := uint64(p.sent)
		p.pending[h] = time.Now()
		env.Send(p.peer, &consensus.BlockReq{Height: h})
		env.SetTimer(protocol.Duration(p.gap), 0)
	case protocol.Recv:
		m, ok := in.Msg.(*consensus.BlockReq)
		if !ok {
			return
		}
		t, ok := p.pending[m.Height]
		if !ok {
			return
		}
		delete(p.pending, m.Height)
		p.mu.Lock()
		p.rtts = append(p.rtts, float64(time.Since(t))/float64(time.Millisecond))
		n := len(p.rtts)
		p.mu.Unlock()
		if n == p.count {
			close(p.done)
		}
	}
}
