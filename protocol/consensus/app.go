// Package consensus holds the consensus engines dais compares: a BFT
// proof-of-stake engine in the Tendermint family (package bft) and a
// longest-chain engine (package nakamoto). Both are pure state machines
// (protocol.Node) that order opaque blocks for an App, the way CometBFT
// orders blocks for an ABCI application: the engine never looks inside a
// block, and the App (protocol/chain's ledger) never sees votes.
package consensus

import "github.com/dais-sim/dais/protocol"

// Hash is a block's content hash (SHA-256 of its canonical encoding).
type Hash [32]byte

// App is the state machine consensus orders blocks for. The engine calls it
// from Handle, so it runs in the node's single thread.
type App interface {
	// MakeBlock returns the canonical encoding of the block this node
	// proposes at height on top of parent, and its hash.
	MakeBlock(height uint64, parent Hash, proposer protocol.NodeID, now protocol.Time) (block []byte, hash Hash)
	// CheckBlock validates a proposed block before the node votes for it,
	// and returns its hash. A block that fails is never voted for.
	CheckBlock(height uint64, parent Hash, block []byte) (Hash, error)
	// Commit applies a finalized block. Heights arrive in order, each once.
	Commit(height uint64, block []byte, hash Hash, now protocol.Time)
}

// Committed is emitted by an engine when a block becomes final at a node
// (BFT: +2/3 precommits; longest chain: confirmation depth reached). The
// safety checker in sim/check reads these.
type Committed struct {
	Height uint64
	Hash   Hash
	Parent Hash
	// Round is the BFT round the block committed in (0 for longest chain).
	Round uint32
	// Proposed is when the block was proposed, so Latency = now − Proposed.
	Proposed protocol.Time
	Latency  protocol.Duration
	Bytes    int
	Txs      int
}

// Kind implements metrics.Event.
func (Committed) Kind() string { return "consensus.committed" }
