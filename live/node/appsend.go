package node

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/dais-sim/dais/live/p2p"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// The runtime sends from the node goroutine, and a send to a peer that
// accepts connections but does not answer (a process that is stopped or
// hung) holds it for two dials of dialTimeout each (p2p.Host.Send tries
// twice), every time: 6 s. For consensus that is the price of sending in
// order; for the services' traffic (the marketplace, federated training)
// it would stall the node's votes behind, say, a model sent to a learner
// that hangs. So the frames of the Apps' wire kinds leave through
// appSender: a queue and a goroutine per peer, in order, off the node
// goroutine.

// appQueue bounds the frames waiting for one peer; past it a frame is
// dropped (the peer is not taking them), as the network may drop it.
const appQueue = 256

// errAppQueueFull is a service frame dropped because its peer's queue is
// full.
var errAppQueueFull = errors.New("node: the peer's queue of service messages is full")

// appSender sends service frames from a goroutine per peer. Its methods
// are safe for concurrent use.
type appSender struct {
	h     *p2p.Host
	log   *slog.Logger
	kinds map[wire.Kind]bool

	mu     sync.Mutex
	queues map[protocol.NodeID]chan []byte
	closed bool
	wg     sync.WaitGroup

	errs, dropped atomic.Uint64
}

func newAppSender(h *p2p.Host, log *slog.Logger, kinds []wire.Kind) *appSender {
	s := &appSender{h: h, log: log, kinds: map[wire.Kind]bool{}, queues: map[protocol.NodeID]chan []byte{}}
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

// send queues frame for to; errAppQueueFull if it is dropped.
func (s *appSender) send(to protocol.NodeID, frame []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errFailed
	}
	q, ok := s.queues[to]
	if !ok {
		q = make(chan []byte, appQueue)
		s.queues[to] = q
		s.wg.Add(1)
		go s.drain(to, q)
	}
	select {
	case q <- frame:
		return nil
	default:
		s.dropped.Add(1)
		return errAppQueueFull
	}
}

func (s *appSender) drain(to protocol.NodeID, q chan []byte) {
	defer s.wg.Done()
	for frame := range q {
		if err := s.h.Send(to, frame); err != nil {
			s.errs.Add(1)
			s.log.Debug("transport", "peer", to, "err", err)
		}
	}
}

// close ends the goroutines once their queues are sent or fail; close the
// host first, so that a pending dial ends at once.
func (s *appSender) close() error {
	s.mu.Lock()
	s.closed = true
	for _, q := range s.queues {
		close(q)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
