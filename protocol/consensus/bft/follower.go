package bft

import (
	"errors"
	"fmt"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
)

// ErrBadCommit rejects a Commit that does not prove its block final.
var ErrBadCommit = errors.New("bft: invalid commit")

// VerifyCommit checks that c carries valid precommit signatures, for its
// height, round and block, of validators holding more than two thirds of
// the stake. Under consensus.SigModeled the signatures are counted, not
// checked.
func VerifyCommit(set *consensus.ValidatorSet, s *consensus.Signer, c *Commit) error {
	var stake uint64
	for k, cs := range c.Sigs {
		if k > 0 && cs.Validator <= c.Sigs[k-1].Validator {
			return fmt.Errorf("%w: signatures not in ascending validator order", ErrBadCommit)
		}
		i, ok := set.Index(cs.Validator)
		if !ok {
			return fmt.Errorf("%w: node %d is not a validator", ErrBadCommit, cs.Validator)
		}
		var sb []byte
		if !s.Modeled() {
			sb = voteSignBytes(Precommit, c.Height, c.Round, c.BlockHash, cs.Validator)
		}
		if !s.Verify(set.At(i).PubKey, sb, cs.Sig) {
			return fmt.Errorf("%w: bad signature of validator %d", ErrBadCommit, cs.Validator)
		}
		stake += set.At(i).Stake
	}
	if !set.Quorum(stake) {
		return fmt.Errorf("%w: %d of %d stake signed", ErrBadCommit, stake, set.Total())
	}
	return nil
}

// FollowerConfig is what a non-validator full node needs.
type FollowerConfig struct {
	Set *consensus.ValidatorSet
	// Signer checks signatures (its Key is unused).
	Signer consensus.Signer
	App    consensus.App
	// Peers are the nodes this follower forwards commits to.
	Peers []protocol.NodeID
	// Window is how many heights ahead a follower keeps commits that
	// arrived early, and how many past commits it keeps to answer
	// BlockReqs. 0 means 64.
	Window int
	// Retry is how long a follower waits for a commit it asked for before
	// asking again. 0 means 1 s.
	Retry protocol.Duration
}

type pending struct {
	c    *Commit
	from protocol.NodeID
}

// Follower is a non-validator full node: it takes each height's Commit
// from its peers (validators push theirs to a few followers; followers
// flood them on), checks the +2/3 precommits, applies the block to its App
// and forwards the Commit once. A commit for a height it is not ready for
// is kept and the missing one asked for with a BlockReq, so a follower
// that missed a block recovers from the next.
type Follower struct {
	cfg    FollowerConfig
	height uint64 // last applied
	parent consensus.Hash
	// ring holds recent commits (height ≤ height) and early ones (height >
	// height), by height % len; an entry is valid if its height matches.
	ring       []pending
	retry      protocol.TimerID
	retryArmed bool
	// behind is the last peer that showed a higher height, behindHeight
	// the height it showed.
	behind       protocol.NodeID
	behindHeight uint64
	// Dups counts commits received for heights already applied.
	Dups uint64
}

// NewFollower returns a follower.
func NewFollower(cfg FollowerConfig) *Follower {
	if cfg.Window <= 0 {
		cfg.Window = 64
	}
	if cfg.Retry <= 0 {
		cfg.Retry = protocol.Second
	}
	return &Follower{cfg: cfg, ring: make([]pending, 2*cfg.Window)}
}

// Height is the last height applied.
func (f *Follower) Height() uint64 { return f.height }

func (f *Follower) slot(h uint64) *pending { return &f.ring[h%uint64(len(f.ring))] }

// Handle implements protocol.Node.
func (f *Follower) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		f.retryArmed = false // a node's timers die when it leaves
	case protocol.Recv:
		switch m := in.Msg.(type) {
		case *Commit:
			f.onCommit(env, in.From, m)
		case *consensus.BlockReq:
			if m.Height <= f.height {
				if p := f.slot(m.Height); p.c != nil && p.c.Height == m.Height {
					env.Send(in.From, p.c)
				}
			}
		}
	case protocol.TimerFired:
		if !f.retryArmed || in.ID != f.retry {
			return
		}
		f.retryArmed = false
		if f.behindHeight > f.height {
			f.ask(env, f.behind, f.behindHeight)
		}
	}
}

func (f *Follower) onCommit(env protocol.Env, from protocol.NodeID, c *Commit) {
	switch {
	case c.Height <= f.height:
		f.Dups++
		return
	case c.Height > f.height+uint64(f.cfg.Window):
		f.ask(env, from, c.Height)
		return
	case c.Height > f.height+1:
		if p := f.slot(c.Height); p.c == nil || p.c.Height != c.Height {
			*p = pending{c, from}
		}
		f.ask(env, from, c.Height)
		return
	}
	if !f.apply(env, from, c) {
		return
	}
	// Early commits that are now next.
	for {
		p := f.slot(f.height + 1)
		if p.c == nil || p.c.Height != f.height+1 || !f.apply(env, p.from, p.c) {
			break
		}
	}
	if f.behindHeight > f.height {
		// Still behind: ask for the next commit now rather than on the retry.
		f.cancelRetry(env)
		f.ask(env, f.behind, f.behindHeight)
	}
}

func (f *Follower) cancelRetry(env protocol.Env) {
	if f.retryArmed {
		env.CancelTimer(f.retry)
		f.retryArmed = false
	}
}

// apply checks and applies the commit of the next height and forwards it.
func (f *Follower) apply(env protocol.Env, from protocol.NodeID, c *Commit) bool {
	if VerifyCommit(f.cfg.Set, &f.cfg.Signer, c) != nil {
		return false
	}
	hash, err := f.cfg.App.CheckBlock(c.Height, f.parent, c.Block)
	if err != nil || hash != c.BlockHash {
		return false
	}
	consensus.Commit(env, f.cfg.App, consensus.Committed{Height: c.Height, Hash: c.BlockHash, Parent: f.parent,
		Round: c.Round, Proposed: c.Proposed, Latency: env.Now().Sub(c.Proposed), Bytes: len(c.Block)}, c.Block)
	f.height, f.parent = c.Height, c.BlockHash
	*f.slot(c.Height) = pending{c, from}
	for _, p := range f.cfg.Peers {
		if p != from {
			env.Send(p, c)
		}
	}
	return true
}

// ask requests the next height from the peer that sent the nearest early
// commit (it has applied everything below it), or else from the peer that
// showed this follower is behind, and arms a retry.
func (f *Follower) ask(env protocol.Env, from protocol.NodeID, height uint64) {
	if height >= f.behindHeight {
		f.behind, f.behindHeight = from, height
	}
	if f.retryArmed {
		return
	}
	for h := f.height + 2; h <= f.height+uint64(f.cfg.Window); h++ {
		if p := f.slot(h); p.c != nil && p.c.Height == h {
			from = p.from
			break
		}
	}
	env.Send(from, &consensus.BlockReq{Height: f.height + 1})
	f.retryArmed = true
	f.retry = env.SetTimer(f.cfg.Retry, 0)
}
