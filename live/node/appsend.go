package node

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dais-sim/dais/live/p2p"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// The runtime sends from the node goroutine, and a send to a peer that
// accepts connections but does not answer (a process that is stopped or
// hung) holds it for two dials of dialTimeout each (p2p.Host.Send tries
// twice), and one that takes streams but never reads holds it for the
// write timeout once its flow-control window is full. So no frame is sent
// from the node goroutine: each leaves through a queue and a goroutine per
// peer and lane, in order within the lane. There are two lanes, so that
// consensus (votes, proposals, commits, block sync, relayed transactions)
// never waits behind the services' traffic (the marketplace, federated
// training: a model sent to a learner that hangs), and neither waits for
// any other peer.
//
// A lane's queue is bounded in frames and bytes. Past either bound the
// consensus lane drops its oldest frame (a peer that is behind needs the
// current round's messages more than old ones, and block sync fetches
// what it missed); the service lane drops the newest (the services'
// messages are requests whose order matters more than their age, and
// their state machines time out what goes missing). Either way the drop
// is counted (dais_p2p_frames_total{result="consensus_dropped"|
// "app_dropped"}), as the network may drop a message.

// Bounds of one peer's queue, per lane, and of all peers' queues of a lane
// together (laneBytes: without it, 64 hung peers could hold 8 GiB). Past
// the lane's bound the largest queue, a peer that does not read, gives
// way, so peers that keep up are not starved by those that hang.
const (
	appQueue       = 256
	consensusQueue = 512
	queueBytes     = 64 << 20
	laneBytes      = 256 << 20
)

// errAppQueueFull is a service frame dropped because its peer's queue is
// full.
var errAppQueueFull = errors.New("node: the peer's queue of service messages is full")

// peerSender sends frames from a goroutine per peer. Its methods are safe
// for concurrent use.
type peerSender struct {
	h          *p2p.Host
	log        *slog.Logger
	maxFrames  int
	dropOldest bool

	mu     sync.Mutex
	queues map[protocol.NodeID]*peerQueue
	bytes  int // every queue's, together
	// maxBytes bounds bytes (laneBytes; tests lower it).
	maxBytes int
	closed   bool
	wg       sync.WaitGroup

	errs, dropped atomic.Uint64
	queued        atomic.Int64 // frames waiting, every peer's
}

// peerQueue is one peer's frames, oldest first, under the sender's mu.
type peerQueue struct {
	frames [][]byte
	bytes  int
	wake   chan struct{} // cap 1: frames are waiting, or the sender closed
}

func newPeerSender(h *p2p.Host, log *slog.Logger, maxFrames int, dropOldest bool) *peerSender {
	return &peerSender{h: h, log: log, maxFrames: maxFrames, dropOldest: dropOldest, maxBytes: laneBytes, queues: map[protocol.NodeID]*peerQueue{}}
}

// send queues frame for to; errAppQueueFull if it (drop newest) was
// dropped. Dropping the oldest frame to make room is not an error of
// this send.
func (s *peerSender) send(to protocol.NodeID, frame []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errFailed
	}
	q, ok := s.queues[to]
	if !ok {
		q = &peerQueue{wake: make(chan struct{}, 1)}
		s.queues[to] = q
		s.wg.Add(1)
		go s.drain(to, q)
	}
	for len(q.frames) > 0 && (len(q.frames) >= s.maxFrames || q.bytes+len(frame) > queueBytes) {
		if !s.dropOldest {
			s.dropped.Add(1)
			return errAppQueueFull
		}
		s.drop(q, 0)
	}
	for s.bytes+len(frame) > s.maxBytes {
		// The lane is full: the largest queue gives way, at its oldest
		// frame or (service lane) its newest.
		var big *peerQueue
		var bigID protocol.NodeID
		for id, o := range s.queues {
			if big == nil || o.bytes > big.bytes || (o.bytes == big.bytes && id < bigID) {
				big, bigID = o, id
			}
		}
		if big.bytes == 0 || (big == q && !s.dropOldest) {
			s.dropped.Add(1)
			return errAppQueueFull
		}
		if s.dropOldest {
			s.drop(big, 0)
		} else {
			s.drop(big, len(big.frames)-1)
		}
	}
	q.frames = append(q.frames, frame)
	q.bytes += len(frame)
	s.bytes += len(frame)
	s.queued.Add(1)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// drop discards q's frame i, counted (under mu).
func (s *peerSender) drop(q *peerQueue, i int) {
	n := len(q.frames[i])
	q.bytes -= n
	s.bytes -= n
	if i == 0 {
		q.frames[0] = nil
		q.frames = q.frames[1:]
	} else {
		q.frames = slices.Delete(q.frames, i, i+1)
	}
	s.dropped.Add(1)
	s.queued.Add(-1)
}

// next takes q's oldest frame; false once the sender is closed and q is
// empty.
func (s *peerSender) next(q *peerQueue) ([]byte, bool) {
	for {
		s.mu.Lock()
		if len(q.frames) > 0 {
			f := q.frames[0]
			q.frames[0] = nil
			q.frames = q.frames[1:]
			q.bytes -= len(f)
			s.bytes -= len(f)
			s.queued.Add(-1)
			s.mu.Unlock()
			return f, true
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil, false
		}
		<-q.wake
	}
}

func (s *peerSender) drain(to protocol.NodeID, q *peerQueue) {
	defer s.wg.Done()
	for {
		frame, ok := s.next(q)
		if !ok {
			return
		}
		if err := s.h.Send(to, frame); err != nil {
			s.errs.Add(1)
			s.log.Debug("transport", "peer", to, "err", err)
		}
	}
}

// close ends the goroutines once their queues are sent or fail; close the
// host first, so that a pending dial or write ends at once.
func (s *peerSender) close() error {
	s.mu.Lock()
	s.closed = true
	for _, q := range s.queues {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// appSender is the service lane: a peerSender that takes the frames of
// the services' kinds.
type appSender struct {
	*peerSender
	kinds map[wire.Kind]bool
}

func newAppSender(h *p2p.Host, log *slog.Logger, kinds []wire.Kind) *appSender {
	s := &appSender{peerSender: newPeerSender(h, log, appQueue, false), kinds: map[wire.Kind]bool{}}
	for _, k := range kinds {
		s.kinds[k] = true
	}
	return s
}

// takes reports whether frame is of a service's kind.
func (s *appSender) takes(frame []byte) bool {
	if len(s.kinds) == 0 || len(frame) < 2 {
		return false
	}
	k, n := binary.Uvarint(frame[1:])
	return n > 0 && s.kinds[wire.Kind(k)]
}

// newConsensusSender is the consensus lane.
func newConsensusSender(h *p2p.Host, log *slog.Logger) *peerSender {
	return newPeerSender(h, log, consensusQueue, true)
}
