package p2p

import (
	"fmt"
	"sync/atomic"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pproto "github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// Limits are the resource manager's limits a Host states for itself, on
// top of go-libp2p's defaults scaled to the machine (rcmgr.DefaultLimits
// with libp2p's service limits, AutoScale) for every scope not named here.
// A connection or stream over a limit is refused by libp2p and never
// reaches dais. The defaults (DefaultLimits) fit a network of up to a few
// hundred dais nodes, each with one reused direct stream per peer
// (/dais/msg), gossipsub's streams and the peer-record exchange.
type Limits struct {
	// Conns bounds the host's connections, ConnsInbound those others
	// opened.
	Conns, ConnsInbound int
	// Streams bounds its open streams, StreamsInbound those others opened.
	Streams, StreamsInbound int
	// Memory bounds what the host's transports and muxers reserve, in
	// bytes (stream windows, buffers); dais's own frames are bounded by
	// MaxFrameBytes and MaxPublishBytes.
	Memory int64
	// PeerConns and PeerStreams bound what any one peer may hold open
	// with this host; PeerMemory what it may make the host reserve,
	// frames being read included (every frame reserves its length while
	// its bytes arrive).
	PeerConns, PeerStreams int
	PeerMemory             int64
	// PeerMsgStreams bounds the direct-message streams (/dais/msg) one
	// peer may hold open to this host: an honest peer keeps one, and opens
	// another only when a write on it failed.
	PeerMsgStreams int
}

// DefaultLimits are the limits a Host states unless Config.Limits says
// otherwise.
var DefaultLimits = Limits{
	Conns: 1024, ConnsInbound: 512,
	Streams: 8192, StreamsInbound: 4096,
	Memory:    1 << 30,
	PeerConns: 8, PeerStreams: 256,
	PeerMemory:     128 << 20,
	PeerMsgStreams: 8,
}

// validate reports a limit that would stop a host from working at all.
func (l Limits) validate() error {
	switch {
	case l.Conns < 1 || l.ConnsInbound < 1 || l.ConnsInbound > l.Conns:
		return fmt.Errorf("p2p: limits: conns %d, inbound %d: want 1 ≤ inbound ≤ conns", l.Conns, l.ConnsInbound)
	case l.Streams < 1 || l.StreamsInbound < 1 || l.StreamsInbound > l.Streams:
		return fmt.Errorf("p2p: limits: streams %d, inbound %d: want 1 ≤ inbound ≤ streams", l.Streams, l.StreamsInbound)
	case l.PeerConns < 1 || l.PeerStreams < 1 || l.PeerMsgStreams < 1:
		return fmt.Errorf("p2p: limits: per peer %d conns, %d streams, %d message streams: want at least 1 each", l.PeerConns, l.PeerStreams, l.PeerMsgStreams)
	case l.Memory < 1<<20 || l.PeerMemory < 1<<20 || l.PeerMemory > l.Memory:
		return fmt.Errorf("p2p: limits: memory %d, per peer %d: want 1 MiB ≤ per peer ≤ memory", l.Memory, l.PeerMemory)
	}
	return nil
}

// peersStreams bounds the peer-exchange streams one peer may hold open.
const peersStreams = 4

// resourceManager builds the resource manager that enforces l; a stream
// may reserve up to maxFrame bytes (the largest frame it may carry), and
// every refusal is counted in blocked.
func (l Limits) resourceManager(maxFrame int, blocked *Blocked) (network.ResourceManager, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	stated := rcmgr.PartialLimitConfig{
		System:      scope(l.Conns, l.ConnsInbound, l.Streams, l.StreamsInbound, l.Memory),
		PeerDefault: scope(l.PeerConns, l.PeerConns, l.PeerStreams, l.PeerStreams, l.PeerMemory),
		// One frame at a time per stream; the peer's and the system's
		// memory bound them all.
		Stream: rcmgr.ResourceLimits{Memory: rcmgr.LimitVal64(max(int64(maxFrame), 16<<20))},
		ProtocolPeer: map[libp2pproto.ID]rcmgr.ResourceLimits{
			ProtocolID:      {StreamsInbound: rcmgr.LimitVal(l.PeerMsgStreams), Memory: rcmgr.LimitVal64(l.PeerMemory)},
			PeersProtocolID: {StreamsInbound: rcmgr.LimitVal(peersStreams)},
		},
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(stated.Build(scaling.AutoScale())), rcmgr.WithMetrics(blocked))
	if err != nil {
		return nil, fmt.Errorf("p2p: the resource manager: %w", err)
	}
	return rm, nil
}

// scope is one scope's limits; outbound connections and streams are
// bounded only by the totals.
func scope(conns, connsIn, streams, streamsIn int, memory int64) rcmgr.ResourceLimits {
	return rcmgr.ResourceLimits{
		Conns: rcmgr.LimitVal(conns), ConnsInbound: rcmgr.LimitVal(connsIn), ConnsOutbound: rcmgr.LimitVal(conns),
		Streams: rcmgr.LimitVal(streams), StreamsInbound: rcmgr.LimitVal(streamsIn), StreamsOutbound: rcmgr.LimitVal(streams),
		Memory: rcmgr.LimitVal64(memory),
	}
}

// Blocked counts what the resource manager refused, by resource: a
// refusal never reaches dais's handlers, so this is where it shows.
// Memory counts refused reservations, frames' included. Safe for
// concurrent use.
type Blocked struct {
	conns, streams, peers, protocols, services, memory atomic.Uint64
}

// BlockedCounts is a snapshot of Blocked.
type BlockedCounts struct {
	Conns, Streams, Peers, Protocols, Services, Memory uint64
}

// Counts returns the counts so far.
func (b *Blocked) Counts() BlockedCounts {
	return BlockedCounts{Conns: b.conns.Load(), Streams: b.streams.Load(), Peers: b.peers.Load(),
		Protocols: b.protocols.Load(), Services: b.services.Load(), Memory: b.memory.Load()}
}

// The rcmgr.MetricsReporter methods: Block* count, Allow* do nothing.
var _ rcmgr.MetricsReporter = (*Blocked)(nil)

func (*Blocked) AllowConn(network.Direction, bool)           {}
func (b *Blocked) BlockConn(network.Direction, bool)         { b.conns.Add(1) }
func (*Blocked) AllowStream(peer.ID, network.Direction)      {}
func (b *Blocked) BlockStream(peer.ID, network.Direction)    { b.streams.Add(1) }
func (*Blocked) AllowPeer(peer.ID)                           {}
func (b *Blocked) BlockPeer(peer.ID)                         { b.peers.Add(1) }
func (*Blocked) AllowProtocol(libp2pproto.ID)                {}
func (b *Blocked) BlockProtocol(libp2pproto.ID)              { b.protocols.Add(1) }
func (b *Blocked) BlockProtocolPeer(libp2pproto.ID, peer.ID) { b.protocols.Add(1) }
func (*Blocked) AllowService(string)                         {}
func (b *Blocked) BlockService(string)                       { b.services.Add(1) }
func (b *Blocked) BlockServicePeer(string, peer.ID)          { b.services.Add(1) }
func (*Blocked) AllowMemory(int)                             {}
func (b *Blocked) BlockMemory(int)                           { b.memory.Add(1) }
