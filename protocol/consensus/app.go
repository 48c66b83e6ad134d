package consensus

import "github.com/dais-sim/dais/protocol"

// Hash is a block's content hash (SHA-256 of its canonical encoding). The
// zero Hash stands for "no block": a nil vote, the parent of height 1.
type Hash [32]byte

// IsZero reports whether h is the zero Hash.
func (h Hash) IsZero() bool { return h == Hash{} }

// App is the state machine consensus orders blocks for. The engine calls it
// from Handle, so it runs in the node's single thread. Each node has its own
// App; engines never share one between nodes.
//
// The longest-chain engine calls MakeBlock and CheckBlock for blocks above
// the App's committed height, on parents the App has not applied (a miner
// builds on its tip; blocks arrive before they are confirmed). An App checks
// there what it can without the parent's state (format, signatures, the
// parent link); Commit, which arrives in height order, is where state
// changes.
type App interface {
	// MakeBlock returns the canonical encoding of the block this node
	// proposes at height on top of parent, and its hash. Two calls that
	// differ only in now should return different blocks (an equivocating
	// proposer in protocol/attack relies on it to build a second block).
	MakeBlock(height uint64, parent Hash, proposer protocol.NodeID, now protocol.Time) (block []byte, hash Hash)
	// CheckBlock validates a block before the node votes for it, builds on
	// it or commits it, and returns its hash. A block that fails is never
	// voted for, built on or committed.
	CheckBlock(height uint64, parent Hash, block []byte) (Hash, error)
	// Commit applies a finalized block. Heights arrive in order, each once,
	// and a commit is never rolled back.
	Commit(height uint64, block []byte, hash Hash, now protocol.Time)
}

// Committed is emitted by an engine when a block becomes final at a node
// (BFT: +2/3 precommits; longest chain: confirmation depth reached), just
// before the engine calls App.Commit. The safety checker in sim/check reads
// these. The App reports what the block held (transactions, fees) in its
// own events: the engine cannot look inside a block.
type Committed struct {
	Height uint64
	Hash   Hash
	Parent Hash
	// Round is the BFT round the block committed in (0 for longest chain).
	Round uint32
	// Proposed is when the block was proposed (BFT: the proposal of the
	// deciding round; longest chain: when it was mined), so Latency =
	// now − Proposed.
	Proposed protocol.Time
	Latency  protocol.Duration
	// Bytes is the size of the block's encoding.
	Bytes int
}

// Kind implements metrics.Event.
func (Committed) Kind() string { return "consensus.committed" }
