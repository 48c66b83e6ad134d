package bft

import "github.com/dais-sim/dais/protocol"

// HeightDone is emitted by a validator when it decides a height, with what
// the height cost it.
type HeightDone struct {
	Height uint64
	// Rounds is how many rounds the height took (the deciding round + 1).
	Rounds uint32
	// Msgs and Bytes count what this validator sent during the height
	// (proposals, votes, resends, commits to followers, catch-up traffic),
	// Bytes as encoded on the wire.
	Msgs, Bytes uint64
	// Timeouts counts timeouts that fired and acted (lines 57, 61, 65).
	Timeouts uint32
	// Resends counts rebroadcasts of a stuck validator's messages.
	Resends uint32
	// SigsVerified and SigsSkipped count signature checks done and, under
	// consensus.SigModeled, skipped.
	SigsVerified, SigsSkipped uint64
}

// Kind implements metrics.Event.
func (HeightDone) Kind() string { return "bft.height_done" }

// TimeoutFired is emitted when a timeout of Algorithm 1 fires and acts:
// the node was still in that height, round and step.
type TimeoutFired struct {
	Height uint64
	Round  uint32
	Step   string // "propose", "prevote" or "precommit"
}

// Kind implements metrics.Event.
func (TimeoutFired) Kind() string { return "bft.timeout" }

// Equivocation is emitted when a node receives a second, different
// proposal or vote from one validator for one height, round and step: the
// evidence a slashing module would act on. Only the first is counted.
type Equivocation struct {
	Height    uint64
	Round     uint32
	Validator protocol.NodeID
	// Type is the vote type, or 0 for a proposal.
	Type VoteType
}

// Kind implements metrics.Event.
func (Equivocation) Kind() string { return "bft.equivocation" }
