package p2p

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pproto "github.com/libp2p/go-libp2p/core/protocol"
)

// rejections counts the publications gossipsub itself refuses, before or
// instead of validateGossip (which counts its own): a bad or missing
// signature, a validation queue that is full. Only RejectMessage does
// anything.
type rejections struct{ h *Host }

var _ pubsub.RawTracer = rejections{}

func (r rejections) RejectMessage(m *pubsub.Message, reason string) {
	switch reason {
	case pubsub.RejectMissingSignature, pubsub.RejectInvalidSignature, pubsub.RejectUnexpectedSignature, pubsub.RejectUnexpectedAuthInfo:
		r.h.refuse(ReasonBadSignature, "gossip", m.ReceivedFrom)
	case pubsub.RejectValidationQueueFull, pubsub.RejectValidationThrottled:
		r.h.refuse(ReasonRateLimited, "gossip", m.ReceivedFrom)
	}
}

func (rejections) OnNewOutboundStream(peer.ID, libp2pproto.ID)          {}
func (rejections) OnClosedOutboundStream(peer.ID)                       {}
func (rejections) Join(string)                                          {}
func (rejections) Leave(string)                                         {}
func (rejections) Graft(peer.ID, string)                                {}
func (rejections) Prune(peer.ID, string)                                {}
func (rejections) ValidateMessage(*pubsub.Message)                      {}
func (rejections) DeliverMessage(*pubsub.Message)                       {}
func (rejections) DuplicateMessage(*pubsub.Message)                     {}
func (rejections) ThrottlePeer(peer.ID)                                 {}
func (rejections) RecvRPC(*pubsub.RPC)                                  {}
func (rejections) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (rejections) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (rejections) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (rejections) UndeliverableMessage(*pubsub.Message)                 {}
