package check

import (
	"encoding/hex"
	"fmt"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
)

// ViolationKind names the invariant a violation broke.
type ViolationKind string

const (
	// Conflict: two honest nodes finalized different blocks at one height.
	Conflict ViolationKind = "conflicting_blocks"
	// BrokenChain: a node's commit does not extend its previous one.
	BrokenChain ViolationKind = "broken_chain"
	// Conservation: the Conservation hook returned an error.
	Conservation ViolationKind = "conservation"
	// Divergence: two honest ledger replicas reported different state
	// roots after the same height (chain.Applied): a nondeterministic
	// state transition.
	Divergence ViolationKind = "state_divergence"
)

// Violation is one broken invariant.
type Violation struct {
	Kind   ViolationKind
	Node   protocol.NodeID
	Height uint64
	At     protocol.Time
	// Hash is what Node committed; Other is what it conflicts with: the
	// block OtherNode finalized at Height (Conflict) or the node's own
	// previous block (BrokenChain). For Divergence they are the state
	// roots of Node and OtherNode.
	Hash, Other consensus.Hash
	OtherNode   protocol.NodeID
	// Err is the hook's error (Conservation).
	Err string
}

func (v Violation) String() string {
	switch v.Kind {
	case Conflict:
		return fmt.Sprintf("%s at height %d: node %d finalized %s at %v, node %d had finalized %s",
			v.Kind, v.Height, v.Node, short(v.Hash), v.At, v.OtherNode, short(v.Other))
	case BrokenChain:
		return fmt.Sprintf("%s at height %d: node %d committed %s at %v, not extending its previous block %s",
			v.Kind, v.Height, v.Node, short(v.Hash), v.At, short(v.Other))
	case Divergence:
		return fmt.Sprintf("%s at height %d: node %d has state root %s at %v, node %d had %s",
			v.Kind, v.Height, v.Node, short(v.Hash), v.At, v.OtherNode, short(v.Other))
	}
	return fmt.Sprintf("%s at height %d: node %d at %v: %s", v.Kind, v.Height, v.Node, v.At, v.Err)
}

func short(h consensus.Hash) string { return hex.EncodeToString(h[:6]) }

// Options configure a Checker.
type Options struct {
	// Honest says which nodes the invariants are about; nil means all.
	// Byzantine nodes may commit anything.
	Honest func(protocol.NodeID) bool
	// Conservation, if set, runs after every honest commit; an error is a
	// violation. The runner supplies it (the ledger's supply check).
	Conservation func(node protocol.NodeID, height uint64) error
	// Record keeps violations in Failures instead of panicking.
	Record bool
	// Seed is printed in the panic so the run can be replayed.
	Seed uint64
	// Replay, if set, is printed after the seed: the command that replays
	// the run.
	Replay string
}

type final struct {
	hash consensus.Hash
	node protocol.NodeID
}

type nodeChain struct {
	height uint64
	last   consensus.Hash
}

// Checker checks consensus invariants from the events of a run. It is not
// safe for concurrent use (a sim run is single-threaded; live drivers lock
// around sinks).
type Checker struct {
	opts     Options
	finals   []final // by height−1: the first block finalized there
	roots    []final // by height−1: the first state root reported there
	nodes    []nodeChain
	failures []Violation
	// reported marks (height, hash) conflicts already recorded, so a
	// conflict is reported once, not once per node that shares it.
	reported     map[conflictKey]bool
	reportedRoot map[conflictKey]bool
	commits      uint64
}

type conflictKey struct {
	height uint64
	hash   consensus.Hash
}

// New returns a Checker.
func New(opts Options) *Checker {
	return &Checker{opts: opts, reported: map[conflictKey]bool{}, reportedRoot: map[conflictKey]bool{}}
}

// Record implements metrics.Sink.
func (c *Checker) Record(s metrics.Stamped) {
	node := protocol.NodeID(s.Node)
	switch ev := s.Event.(type) {
	case consensus.Committed:
		if c.opts.Honest == nil || c.opts.Honest(node) {
			c.committed(node, protocol.Time(s.AtNs), ev)
		}
	case chain.Applied:
		if c.opts.Honest == nil || c.opts.Honest(node) {
			c.applied(node, protocol.Time(s.AtNs), ev)
		}
	}
}

// applied holds every honest replica to the first state root reported at
// each height. Like Conflict, a divergence is reported once per root.
func (c *Checker) applied(node protocol.NodeID, at protocol.Time, ev chain.Applied) {
	if ev.Height == 0 {
		return
	}
	i := ev.Height - 1
	for uint64(len(c.roots)) <= i {
		c.roots = append(c.roots, final{})
	}
	f := &c.roots[i]
	switch {
	case f.hash.IsZero():
		*f = final{hash: ev.StateRoot, node: node}
	case f.hash != ev.StateRoot:
		k := conflictKey{ev.Height, ev.StateRoot}
		if !c.reportedRoot[k] {
			c.reportedRoot[k] = true
			c.fail(Violation{Kind: Divergence, Node: node, Height: ev.Height, At: at, Hash: ev.StateRoot, Other: f.hash, OtherNode: f.node})
		}
	}
}

func (c *Checker) committed(node protocol.NodeID, at protocol.Time, ev consensus.Committed) {
	c.commits++
	for int(node) >= len(c.nodes) {
		c.nodes = append(c.nodes, nodeChain{})
	}
	nc := &c.nodes[node]
	if ev.Height != nc.height+1 || ev.Parent != nc.last {
		c.fail(Violation{Kind: BrokenChain, Node: node, Height: ev.Height, At: at, Hash: ev.Hash, Other: nc.last, OtherNode: node})
	}
	nc.height, nc.last = ev.Height, ev.Hash

	if ev.Height == 0 {
		return
	}
	i := ev.Height - 1
	for uint64(len(c.finals)) <= i {
		c.finals = append(c.finals, final{})
	}
	f := &c.finals[i]
	switch {
	case f.hash.IsZero():
		*f = final{hash: ev.Hash, node: node}
	case f.hash != ev.Hash:
		k := conflictKey{ev.Height, ev.Hash}
		if !c.reported[k] {
			c.reported[k] = true
			c.fail(Violation{Kind: Conflict, Node: node, Height: ev.Height, At: at, Hash: ev.Hash, Other: f.hash, OtherNode: f.node})
		}
	}
	if c.opts.Conservation != nil {
		if err := c.opts.Conservation(node, ev.Height); err != nil {
			c.fail(Violation{Kind: Conservation, Node: node, Height: ev.Height, At: at, Hash: ev.Hash, Err: err.Error()})
		}
	}
}

func (c *Checker) fail(v Violation) {
	if !c.opts.Record {
		msg := fmt.Sprintf("check: invariant broken: %v (seed %d)", v, c.opts.Seed)
		if c.opts.Replay != "" {
			msg += "; replay: " + c.opts.Replay
		}
		panic(msg)
	}
	c.failures = append(c.failures, v)
}

// Failures returns the violations recorded, in the order they happened.
// The slice is the Checker's own; do not modify it.
func (c *Checker) Failures() []Violation { return c.failures }

// Heights is the highest height any honest node finalized.
func (c *Checker) Heights() uint64 { return uint64(len(c.finals)) }

// Final returns the first block finalized at a height by an honest node,
// and which node; ok is false if none was.
func (c *Checker) Final(height uint64) (hash consensus.Hash, node protocol.NodeID, ok bool) {
	if height == 0 || height > uint64(len(c.finals)) {
		return hash, 0, false
	}
	f := c.finals[height-1]
	return f.hash, f.node, !f.hash.IsZero()
}

// Commits is how many honest commit events the Checker saw.
func (c *Checker) Commits() uint64 { return c.commits }
