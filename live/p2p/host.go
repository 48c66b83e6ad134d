package p2p

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	libp2pproto "github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"golang.org/x/time/rate"

	"github.com/dais-sim/dais/live"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// ProtocolID names the direct-message stream protocol. The version changes
// when the framing does; the wire frame carries its own codec version.
const ProtocolID libp2pproto.ID = "/dais/msg/1.0.0"

// TopicPrefix namespaces dais topics among gossipsub topics; the version
// changes if the meaning of a published payload does.
const TopicPrefix = "/dais/topic/1/"

// DefaultMaxFrameBytes bounds a direct-message frame: the largest payload a
// dais message carries (gossip.MaxPayload, 64 MiB) plus room for headers.
const DefaultMaxFrameBytes = 64<<20 + 64<<10

// DefaultMaxPublishBytes bounds a published frame. It is gossipsub's own
// default, because every mesh peer forwards a publication to its peers:
// large payloads belong on direct streams.
const DefaultMaxPublishBytes = pubsub.DefaultMaxMessageSize

// pubsubOverhead is room for what gossipsub adds around a payload (topic,
// sequence number, signature and key) within one RPC.
const pubsubOverhead = 8 << 10

// DefaultListenAddrs keeps a host on the loopback interface; a testnet
// across machines passes its own.
var DefaultListenAddrs = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}

// Errors callers may check with errors.Is.
var (
	ErrClosed        = errors.New("p2p: host closed")
	ErrUnknownNode   = errors.New("p2p: node not in the address book")
	ErrFrameTooLarge = errors.New("p2p: frame larger than the limit")
	ErrBadPeers      = errors.New("p2p: inconsistent address book")
	// ErrMalformedFrame is a length prefix that is not a valid uvarint.
	ErrMalformedFrame = errors.New("p2p: malformed frame length")
)

// Config describes a Host. The zero value of each optional field is usable.
type Config struct {
	// Self is the node this host speaks for.
	Self protocol.NodeID
	// Key is the libp2p identity; nil generates a random Ed25519 key.
	Key crypto.PrivKey
	// ListenAddrs are multiaddrs to listen on; nil means DefaultListenAddrs.
	// The host starts if at least one of them can be bound.
	ListenAddrs []string
	// MaxFrameBytes bounds direct-message frames both ways; 0 means
	// DefaultMaxFrameBytes.
	MaxFrameBytes int
	// MaxPublishBytes bounds published frames; 0 means DefaultMaxPublishBytes.
	MaxPublishBytes int
	// DialTimeout bounds opening a stream, dial included; 0 means 10 s.
	DialTimeout time.Duration
	// WriteTimeout bounds writing one frame; 0 means 30 s.
	WriteTimeout time.Duration
	// Limits are the resource manager's limits (limits.go); nil means
	// DefaultLimits.
	Limits *Limits
	// KindLimits bound inbound frames of the kinds they name, in bytes,
	// below MaxFrameBytes: a peer that announces a longer one is refused
	// before anything is allocated (frames.go). A kind no codec has
	// registered is always refused; a registered kind not named here may
	// be up to MaxFrameBytes.
	KindLimits map[wire.Kind]int
	// FrameTimeout is how long an inbound frame may take to arrive once
	// its length prefix has, plus one second per MiB; 0 means 10 s.
	FrameTimeout time.Duration
	// IdleTimeout closes an inbound stream that carries no frame for that
	// long (the peer reopens one when it next sends); 0 means 5 minutes.
	IdleTimeout time.Duration
	// PeerFrameRate and PeerByteRate are each peer's inbound budget, in
	// frames and bytes per second, with bursts of twice as many frames and
	// of MaxFrameBytes bytes; a frame over budget is dropped. 0 means 1,000
	// frames/s and 64 MiB/s.
	PeerFrameRate, PeerByteRate float64
	// Observers are peers outside the address book that may connect (a
	// monitoring host's ping): their streams and publications are still
	// refused. Every other peer outside the book is refused at the
	// handshake.
	Observers []peer.ID
	// UserAgent is what identify announces; "" means "dais".
	UserAgent string
	// Log receives one line per reason a peer's input was refused, at
	// most every 10 s (Refusals); nil logs nothing.
	Log *slog.Logger
}

// Stats counts a Host's traffic; all figures are totals since New.
type Stats struct {
	// FramesSent and FramesReceived count direct-message frames.
	FramesSent, FramesReceived uint64
	// Streams counts the direct-message streams peers in the book opened
	// to this host (those the resource manager let through).
	Streams uint64
	// Published counts frames published; GossipReceived counts publications
	// from other nodes handed to the receiver.
	Published, GossipReceived uint64
	// Reconnects counts outbound streams reopened after a write failed.
	Reconnects uint64
	// Malformed counts inbound frames refused for a bad or oversized
	// length prefix or header.
	Malformed uint64
	// UnknownPeer counts connections, streams and publications from peers
	// missing from the address book; they are refused.
	UnknownPeer uint64
	// NoReceiver counts frames dropped because SetReceiver was not yet called.
	NoReceiver uint64
	// Refused counts inputs refused by reason (Refusals holds them by
	// kind too): unknown_peer, oversize, undecodable, rate_limited,
	// read_timeout, memory, and what the receiver refused through
	// Refusals (bad_signature, unsigned, stale, …).
	Refused map[string]uint64
	// Blocked counts what the resource manager refused.
	Blocked BlockedCounts
	// PeerRecords counts signed peer records taken from peers answers
	// (FindPeers); PeerRecordsForeign those dropped for naming a peer
	// outside the address book; PeerRecordsMalformed those dropped for not
	// parsing, a bad signature or a bad length prefix.
	PeerRecords, PeerRecordsForeign, PeerRecordsMalformed uint64
}

// Host is one node's libp2p endpoint and a live.Transport. All methods are
// safe for concurrent use. Send blocks while it dials or writes (bounded by
// DialTimeout and WriteTimeout); frames to one peer go out in the order
// their Sends were called, on one stream. If a write fails, Send opens a new
// stream and writes the frame once more, so a frame whose first write
// reached the peer before the failure may, rarely, arrive twice.
type Host struct {
	self   protocol.NodeID
	cfg    Config
	host   host.Host
	ps     *pubsub.PubSub
	ctx    context.Context // cancelled by Close: aborts dials and pubsub
	cancel context.CancelFunc
	recv   atomic.Pointer[receiverBox]

	mu     sync.Mutex
	closed bool
	nodes  map[protocol.NodeID]peer.ID
	peers  map[peer.ID]protocol.NodeID
	out    map[protocol.NodeID]*outbound
	topics map[wire.Topic]*pubsub.Topic
	subs   map[wire.Topic]*pubsub.Subscription
	// records are the signed peer records address-book peers sent in
	// identify, marshalled, for peers answers (peers.go).
	records   map[peer.ID][]byte
	rates     map[peer.ID]*peerRate
	observers map[peer.ID]bool
	wg        sync.WaitGroup // inbound stream handlers and topic readers

	known   map[wire.Kind]bool // kinds a codec has registered
	refused *Refusals
	blocked Blocked

	framesSent, framesReceived, published, gossipReceived atomic.Uint64
	reconnects, malformed, unknownPeer, noReceiver        atomic.Uint64
	streams                                               atomic.Uint64
	peerRecords, peerRecordsForeign, peerRecordsMalformed atomic.Uint64
}

type receiverBox struct{ r live.Receiver }

// outbound is the one stream this host writes to a peer; mu serializes
// writers so frames are never interleaved.
type outbound struct {
	mu  sync.Mutex
	pid peer.ID
	s   network.Stream // nil until the first Send, and after a failed write
}

var _ live.Transport = (*Host)(nil)

// New starts a libp2p host for cfg.Self: it listens, joins gossipsub and
// accepts direct-message streams. Frames that arrive before SetReceiver is
// called are dropped and counted.
func New(cfg Config) (*Host, error) {
	h, err := hostState(cfg)
	if err != nil {
		return nil, err
	}
	cfg = h.cfg
	limits := DefaultLimits
	if cfg.Limits != nil {
		limits = *cfg.Limits
	}
	rm, err := limits.resourceManager(cfg.MaxFrameBytes, &h.blocked)
	if err != nil {
		return nil, err
	}
	lh, err := libp2p.New(
		libp2p.Identity(cfg.Key),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionGater(gater{h}),
		libp2p.UserAgent(cfg.UserAgent),
		libp2p.ListenAddrStrings(cfg.ListenAddrs...),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		// Peers are named in the address book; a relay would only add hops.
		libp2p.DisableRelay(),
		// dais measures what it reports itself; libp2p's Prometheus
		// collectors would register globally once per host in a process.
		libp2p.DisableMetrics(),
	)
	if err != nil {
		return nil, fmt.Errorf("p2p: starting the host of node %d: %w", cfg.Self, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps, err := pubsub.NewGossipSub(ctx, lh,
		pubsub.WithMaxMessageSize(cfg.MaxPublishBytes+pubsubOverhead),
		// A publisher sends to every subscriber it is connected to, not only
		// its mesh peers: this go-libp2p-pubsub defaults to mesh-only, and the
		// mesh forms at the first heartbeat, so a node publishing at Start
		// would reach no one. It also matches the simulator, where a
		// publication goes to all overlay neighbours.
		pubsub.WithFloodPublish(true),
		// Only members take part in topics: a peer outside the book that
		// may connect (an observer) is never sent or forwarded anything.
		pubsub.WithPeerFilter(func(pid peer.ID, _ string) bool { _, ok := h.nodeOf(pid); return ok }),
		pubsub.WithRawTracer(rejections{h}),
	)
	if err != nil {
		cancel()
		lh.Close()
		return nil, fmt.Errorf("p2p: starting gossipsub for node %d: %w", cfg.Self, err)
	}
	h.host, h.ps, h.ctx, h.cancel = lh, ps, ctx, cancel
	h.mu.Lock()
	h.nodes[cfg.Self], h.peers[lh.ID()] = lh.ID(), cfg.Self
	h.mu.Unlock()
	if err := h.watchIdentify(); err != nil {
		cancel()
		lh.Close()
		return nil, err
	}
	lh.SetStreamHandler(ProtocolID, h.handleStream)
	lh.SetStreamHandler(PeersProtocolID, h.handlePeers)
	return h, nil
}

// hostState fills cfg's defaults and makes the Host's own state, without
// the libp2p host.
func hostState(cfg Config) (*Host, error) {
	if cfg.Key == nil {
		k, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("p2p: generating a key for node %d: %w", cfg.Self, err)
		}
		cfg.Key = k
	}
	if cfg.ListenAddrs == nil {
		cfg.ListenAddrs = DefaultListenAddrs
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if cfg.MaxPublishBytes <= 0 {
		cfg.MaxPublishBytes = DefaultMaxPublishBytes
	}
	cfg.DialTimeout = cmp.Or(cfg.DialTimeout, 10*time.Second)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, 30*time.Second)
	cfg.FrameTimeout = cmp.Or(cfg.FrameTimeout, 10*time.Second)
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, 5*time.Minute)
	cfg.PeerFrameRate = cmp.Or(cfg.PeerFrameRate, 1000)
	cfg.PeerByteRate = cmp.Or(cfg.PeerByteRate, 64<<20)
	cfg.UserAgent = cmp.Or(cfg.UserAgent, "dais")
	h := &Host{
		self:   cfg.Self,
		cfg:    cfg,
		nodes:  map[protocol.NodeID]peer.ID{},
		peers:  map[peer.ID]protocol.NodeID{},
		out:    map[protocol.NodeID]*outbound{},
		topics: map[wire.Topic]*pubsub.Topic{},
		subs:   map[wire.Topic]*pubsub.Subscription{},

		records:   map[peer.ID][]byte{},
		rates:     map[peer.ID]*peerRate{},
		observers: map[peer.ID]bool{},
		known:     map[wire.Kind]bool{},
		refused:   NewRefusals(cfg.Log),
	}
	for _, pid := range cfg.Observers {
		h.observers[pid] = true
	}
	for _, k := range wire.Kinds() {
		h.known[k] = true
	}
	return h, nil
}

// Self is the node this host speaks for.
func (h *Host) Self() protocol.NodeID { return h.self }

// AddrInfo is this host's entry for the other hosts' address books: its peer
// ID and the addresses it listens on. The caller owns the returned value.
func (h *Host) AddrInfo() peer.AddrInfo {
	return peer.AddrInfo{ID: h.host.ID(), Addrs: slices.Clone(h.host.Addrs())}
}

// AddPeers adds nodes to the address book; an entry for this host itself
// must name its own peer ID. A node or a peer ID already in the book under a
// different partner is an error (ErrBadPeers), and then nothing is added.
// The host keeps no reference to book.
func (h *Host) AddPeers(book map[protocol.NodeID]peer.AddrInfo) error {
	ids := make([]protocol.NodeID, 0, len(book))
	for id := range book {
		ids = append(ids, id)
	}
	slices.Sort(ids) // so the error names the same entry every time
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	seen := map[peer.ID]protocol.NodeID{}
	for _, id := range ids {
		pid := book[id].ID
		if pid == "" {
			return fmt.Errorf("%w: node %d has no peer ID", ErrBadPeers, id)
		}
		if old, ok := h.nodes[id]; ok && old != pid {
			return fmt.Errorf("%w: node %d is %s, not %s", ErrBadPeers, id, old, pid)
		}
		if old, ok := h.peers[pid]; ok && old != id {
			return fmt.Errorf("%w: peer %s is node %d, not node %d", ErrBadPeers, pid, old, id)
		}
		if old, ok := seen[pid]; ok {
			return fmt.Errorf("%w: peer %s is both node %d and node %d", ErrBadPeers, pid, old, id)
		}
		seen[pid] = id
	}
	for _, id := range ids {
		info := book[id]
		h.nodes[id], h.peers[info.ID] = info.ID, id
		if info.ID != h.host.ID() {
			h.host.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.PermanentAddrTTL)
		}
	}
	return nil
}

// SetReceiver sets where received frames go (a *live.Runtime). Frames from
// both direct streams and subscriptions are delivered with the sending
// node's ID: for a publication, its origin, as in the simulator.
func (h *Host) SetReceiver(r live.Receiver) { h.recv.Store(&receiverBox{r}) }

// Connect dials a node in the address book. Send dials on its own; Connect
// is for gossipsub, which only reaches peers this host is connected to.
// Connect ignores libp2p's dial backoff (which would hold a node that
// dialed a bootstrap peer before it listened off for 5 s and more): its
// callers retry at their own pace.
func (h *Host) Connect(ctx context.Context, id protocol.NodeID) error {
	pid, err := h.peerOf(id)
	if err != nil {
		return err
	}
	if sw, ok := h.host.Network().(*swarm.Swarm); ok && sw.Connectedness(pid) != network.Connected {
		sw.Backoff().Clear(pid)
	}
	if err := h.host.Connect(ctx, peer.AddrInfo{ID: pid}); err != nil {
		return fmt.Errorf("p2p: node %d connecting to node %d: %w", h.self, id, err)
	}
	return nil
}

func (h *Host) peerOf(id protocol.NodeID) (peer.ID, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return "", ErrClosed
	}
	pid, ok := h.nodes[id]
	if !ok {
		return "", fmt.Errorf("%w: node %d", ErrUnknownNode, id)
	}
	return pid, nil
}

func (h *Host) nodeOf(pid peer.ID) (protocol.NodeID, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id, ok := h.peers[pid]
	return id, ok
}

func (h *Host) deliver(from protocol.NodeID, frame []byte) {
	if b := h.recv.Load(); b != nil {
		b.r.Deliver(from, frame)
		return
	}
	h.noReceiver.Add(1)
}

// Send implements live.Transport: it writes frame to the node's stream,
// dialing first if needed. A frame to this host itself goes straight to the
// receiver.
func (h *Host) Send(to protocol.NodeID, frame []byte) error {
	if len(frame) > h.cfg.MaxFrameBytes {
		return fmt.Errorf("p2p: node %d sending to node %d: %w: %d > %d bytes", h.self, to, ErrFrameTooLarge, len(frame), h.cfg.MaxFrameBytes)
	}
	if to == h.self {
		h.deliver(to, frame)
		return nil
	}
	o, err := h.outboundTo(to)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var lastErr error
	for attempt := range 2 {
		if o.s == nil {
			s, err := h.openStream(o.pid)
			if err != nil {
				lastErr = err
				continue
			}
			if attempt > 0 {
				h.reconnects.Add(1)
			}
			o.s = s
		}
		if err := h.writeFrame(o.s, frame); err != nil {
			o.s.Reset()
			o.s = nil
			lastErr = err
			continue
		}
		h.framesSent.Add(1)
		return nil
	}
	if h.ctx.Err() != nil {
		lastErr = ErrClosed
	}
	return fmt.Errorf("p2p: node %d sending to node %d: %w", h.self, to, lastErr)
}

func (h *Host) outboundTo(to protocol.NodeID) (*outbound, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if o, ok := h.out[to]; ok {
		return o, nil
	}
	pid, ok := h.nodes[to]
	if !ok {
		return nil, fmt.Errorf("%w: node %d", ErrUnknownNode, to)
	}
	o := &outbound{pid: pid}
	h.out[to] = o
	return o, nil
}

func (h *Host) openStream(pid peer.ID) (network.Stream, error) {
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.DialTimeout)
	defer cancel()
	s, err := h.host.NewStream(ctx, pid, ProtocolID)
	if err != nil {
		return nil, fmt.Errorf("opening a %s stream to %s: %w", ProtocolID, pid, err)
	}
	return s, nil
}

func (h *Host) writeFrame(s network.Stream, frame []byte) error {
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(frame)))
	if err := s.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout)); err != nil {
		return fmt.Errorf("setting a write deadline: %w", err)
	}
	if _, err := s.Write(hdr[:n]); err != nil {
		return fmt.Errorf("writing a frame header: %w", err)
	}
	if _, err := s.Write(frame); err != nil {
		return fmt.Errorf("writing a %d-byte frame: %w", len(frame), err)
	}
	return nil
}

// track registers a goroutine that Close must wait for; false once closed.
func (h *Host) track() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

// handleStream reads frames from one inbound stream until it ends (frames.go).
// The remote peer ID was authenticated by the security handshake, so it is
// safe to attribute the frames through the address book.
func (h *Host) handleStream(s network.Stream) {
	if !h.track() {
		s.Reset()
		return
	}
	defer h.wg.Done()
	pid := s.Conn().RemotePeer()
	from, ok := h.nodeOf(pid)
	if !ok {
		h.refuse(ReasonUnknownPeer, "stream", pid)
		s.Reset()
		return
	}
	h.streams.Add(1)
	if h.serveStream(from, streamOf{s}, h.rateOf(pid)) {
		s.Close()
		return
	}
	s.Reset()
}

// rateOf is peer pid's inbound budget, made on its first stream.
func (h *Host) rateOf(pid peer.ID) *peerRate {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.rates[pid]
	if !ok {
		r = &peerRate{frames: rate.NewLimiter(rate.Limit(h.cfg.PeerFrameRate), int(2*h.cfg.PeerFrameRate)),
			bytes: rate.NewLimiter(rate.Limit(h.cfg.PeerByteRate), h.cfg.MaxFrameBytes)}
		h.rates[pid] = r
	}
	return r
}

// readLength reads a frame's uvarint length prefix, rejecting one above
// limit as soon as its bytes so far exceed it, so a peer cannot make the
// host allocate more than limit for a frame. io.EOF means the stream ended
// cleanly between frames.
func readLength(r io.ByteReader, limit int) (int, error) {
	var x uint64
	for i := range binary.MaxVarintLen64 {
		b, err := r.ReadByte()
		if err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		x |= uint64(b&0x7f) << (7 * i)
		if x > uint64(limit) {
			return 0, fmt.Errorf("%w: %d+ > %d bytes", ErrFrameTooLarge, x, limit)
		}
		if b < 0x80 {
			return int(x), nil
		}
	}
	return 0, fmt.Errorf("%w: more than %d bytes", ErrMalformedFrame, binary.MaxVarintLen64)
}

// topic returns the joined pubsub topic for t, joining it on first use.
func (h *Host) topic(t wire.Topic) (*pubsub.Topic, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if tp, ok := h.topics[t]; ok {
		return tp, nil
	}
	name := TopicPrefix + string(t)
	if err := h.ps.RegisterTopicValidator(name, h.validateGossip, pubsub.WithValidatorInline(true)); err != nil {
		return nil, fmt.Errorf("p2p: node %d validating topic %q: %w", h.self, t, err)
	}
	tp, err := h.ps.Join(name)
	if err != nil {
		return nil, fmt.Errorf("p2p: node %d joining topic %q: %w", h.self, t, err)
	}
	h.topics[t] = tp
	return tp, nil
}

// Subscribe makes this host receive what other nodes publish on t. The Env
// has no Subscribe, so whoever wires a node subscribes its host to the
// topics the node's protocols publish on. Subscribing twice is a no-op.
func (h *Host) Subscribe(t wire.Topic) error {
	tp, err := h.topic(t)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if _, ok := h.subs[t]; ok {
		return nil
	}
	sub, err := tp.Subscribe()
	if err != nil {
		return fmt.Errorf("p2p: node %d subscribing to %q: %w", h.self, t, err)
	}
	h.subs[t] = sub
	h.wg.Add(1)
	go h.readTopic(sub)
	return nil
}

// validateGossip runs on every publication this host receives, before
// gossipsub delivers or forwards it: one whose origin (signed by its
// author's key, which gossipsub checks first) is not a member, or whose
// frame no codec takes or is over its kind's limit, is rejected, so it
// goes no further than this host.
func (h *Host) validateGossip(_ context.Context, via peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	origin := m.GetFrom()
	if origin == h.host.ID() {
		return pubsub.ValidationAccept
	}
	if _, ok := h.nodeOf(origin); !ok {
		h.refuse(ReasonUnknownPeer, "gossip", via)
		return pubsub.ValidationReject
	}
	if reason, kind := h.checkFrame(m.Data); reason != "" {
		h.refuse(reason, kind, via)
		return pubsub.ValidationReject
	}
	return pubsub.ValidationAccept
}

func (h *Host) readTopic(sub *pubsub.Subscription) {
	defer h.wg.Done()
	for {
		msg, err := sub.Next(h.ctx)
		if err != nil {
			return // cancelled by Close
		}
		if msg.ReceivedFrom == h.host.ID() {
			continue // our own publication: Publish excludes the sender
		}
		// GetFrom is the signed origin, not the hop it came through.
		from, ok := h.nodeOf(msg.GetFrom())
		if !ok { // validateGossip rejects these; a member removed since, say
			h.refuse(ReasonUnknownPeer, "gossip", msg.GetFrom())
			continue
		}
		h.gossipReceived.Add(1)
		h.deliver(from, msg.Data)
	}
}

// Publish implements live.Transport: it publishes frame on t's gossipsub
// topic, joining it first if needed. It goes straight to every subscriber
// this host is connected to (flood publishing), and on through their mesh
// to the rest.
func (h *Host) Publish(t wire.Topic, frame []byte) error {
	if len(frame) > h.cfg.MaxPublishBytes {
		return fmt.Errorf("p2p: node %d publishing on %q: %w: %d > %d bytes", h.self, t, ErrFrameTooLarge, len(frame), h.cfg.MaxPublishBytes)
	}
	tp, err := h.topic(t)
	if err != nil {
		return err
	}
	if err := tp.Publish(h.ctx, frame); err != nil {
		return fmt.Errorf("p2p: node %d publishing on %q: %w", h.self, t, err)
	}
	h.published.Add(1)
	return nil
}

// TopicPeers returns, in ascending order, the nodes this host knows to be
// subscribed to t: a publication now reaches at least them. Peers missing
// from the address book are left out. The caller owns the slice.
func (h *Host) TopicPeers(t wire.Topic) []protocol.NodeID {
	var ids []protocol.NodeID
	for _, pid := range h.ps.ListPeers(TopicPrefix + string(t)) {
		if id, ok := h.nodeOf(pid); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Stats returns the counters so far.
func (h *Host) Stats() Stats {
	return Stats{
		FramesSent:     h.framesSent.Load(),
		FramesReceived: h.framesReceived.Load(),
		Streams:        h.streams.Load(),
		Published:      h.published.Load(),
		GossipReceived: h.gossipReceived.Load(),
		Reconnects:     h.reconnects.Load(),
		Malformed:      h.malformed.Load(),
		UnknownPeer:    h.unknownPeer.Load(),
		NoReceiver:     h.noReceiver.Load(),

		Refused: h.refusedByReason(),
		Blocked: h.blocked.Counts(),

		PeerRecords:          h.peerRecords.Load(),
		PeerRecordsForeign:   h.peerRecordsForeign.Load(),
		PeerRecordsMalformed: h.peerRecordsMalformed.Load(),
	}
}

func (h *Host) refusedByReason() map[string]uint64 {
	out := map[string]uint64{}
	for _, r := range h.refused.All() {
		out[r.Reason] += r.Count
	}
	return out
}

// Refusals are the host's counts of refused inputs. A receiver that
// refuses frames it was delivered (a bad signature) adds them here, so
// one place counts and logs every refusal.
func (h *Host) Refusals() *Refusals { return h.refused }

// Close shuts the host down: subscriptions end, connections close (frames
// still in flight are lost, so stop the runtime first), and Close returns
// when this host's stream handlers and topic readers have ended. Later
// calls to any method return ErrClosed or do nothing.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	subs := make([]*pubsub.Subscription, 0, len(h.subs))
	for _, s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	h.host.RemoveStreamHandler(ProtocolID)
	h.host.RemoveStreamHandler(PeersProtocolID)
	for _, s := range subs {
		s.Cancel()
	}
	h.cancel()
	err := h.host.Close()
	h.wg.Wait()
	if err != nil {
		return fmt.Errorf("p2p: closing the host of node %d: %w", h.self, err)
	}
	return nil
}
