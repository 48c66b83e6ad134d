package consensus

import (
	"errors"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

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
// the App's committed height, on parents the App has not committed (a miner
// builds on its tip; blocks arrive before they are confirmed), and may offer
// CheckBlock a block whose parent it has not seen yet. An App that needs the
// parent's state (the ledger replays a block on it) keeps what it checked,
// and answers a block on a parent it never checked with ErrUnknownParent:
// the engine holds such a block and offers it again once the parent is
// accepted. Commit, which arrives in height order, is where state becomes
// final.
type App interface {
	// MakeBlock returns the canonical encoding of the block this node
	// proposes at height on top of parent, and its hash. Two calls that
	// differ only in now should return different blocks (an equivocating
	// proposer in protocol/attack relies on it to build a second block).
	MakeBlock(height uint64, parent Hash, proposer protocol.NodeID, now protocol.Time) (block []byte, hash Hash)
	// CheckBlock validates a block before the node votes for it, builds on
	// it or commits it, and returns its hash. A block that fails is never
	// voted for, built on or committed. An error wrapping ErrUnknownParent
	// means the App cannot judge the block yet; it must still return the
	// block's hash then, which the engine files the held block under.
	CheckBlock(height uint64, parent Hash, block []byte) (Hash, error)
	// Commit applies a finalized block. Heights arrive in order, each once,
	// and a commit is never rolled back.
	Commit(height uint64, block []byte, hash Hash, now protocol.Time)
}

// ErrUnknownParent is what CheckBlock wraps when the block's parent is not
// a block the App has checked, so it cannot replay the block on the
// parent's state. It is not a verdict on the block.
var ErrUnknownParent = errors.New("consensus: unknown parent block")

// TxSink is an App that takes transactions from the network: a mempool.
// An engine hands it every message it receives that is not one of the
// engine's own, and never looks inside; which messages are transactions,
// and whether one is valid, is the App's business.
type TxSink interface {
	// ReceiveTx offers the App a message. added reports whether the App
	// took it as new (into its mempool, or held until the transaction
	// before it arrives), so that the engine may relay it; a message that
	// is not a transaction, a duplicate and an invalid transaction are all
	// not added. ev, if not nil, is what the App measured (a refusal and
	// its reason), for the engine to emit on its behalf: an App has no Env.
	ReceiveTx(m wire.Msg) (added bool, ev metrics.Event)
}

// Reporter is an App that measures each block it commits (transactions,
// fees, tokens minted). Right after App.Commit, and after Committed, an
// engine emits what CommitEvent returns, unless it is nil: the App's
// figures are then stamped and routed like the engine's own, in the
// simulator and in live mode alike, without the App seeing an Env.
type Reporter interface {
	CommitEvent() metrics.Event
}

// Committed is emitted by an engine when a block becomes final at a node
// (BFT: +2/3 precommits; longest chain: confirmation depth reached), just
// after the engine calls App.Commit, so that a sink that reads the App (the
// supply check of sim/check) sees the block applied. The safety checker in
// sim/check reads these. The App reports what the block held
// (transactions, fees) through Reporter: the engine cannot look inside a
// block.
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

// Commit commits a final block to app and emits, in order, Committed
// (c) and the App's own measurement of the block (Reporter): the one way
// every engine finalizes a block.
func Commit(env protocol.Env, app App, c Committed, block []byte) {
	app.Commit(c.Height, block, c.Hash, env.Now())
	env.Emit(c)
	if r, ok := app.(Reporter); ok {
		if ev := r.CommitEvent(); ev != nil {
			env.Emit(ev)
		}
	}
}

// OfferTx hands m to app if app is a TxSink, emits what the App measured,
// and reports whether the App added m (false for an App that takes no
// transactions).
func OfferTx(env protocol.Env, app App, m wire.Msg) bool {
	sink, ok := app.(TxSink)
	if !ok {
		return false
	}
	added, ev := sink.ReceiveTx(m)
	if ev != nil {
		env.Emit(ev)
	}
	return added
}
