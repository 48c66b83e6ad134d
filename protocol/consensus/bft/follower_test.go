package bft_test

import (
	"errors"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/consensus/consensustest"
	"github.com/dais-sim/dais/protocol/prototest"
)

// chainOf returns commits of heights 1..n, each signed by the given
// validators' precommits.
func chainOf(n int, signers ...protocol.NodeID) []*bft.Commit {
	var out []*bft.Commit
	var parent consensus.Hash
	app := consensustest.NewApp(8)
	for h := uint64(1); h <= uint64(n); h++ {
		b, hash := app.MakeBlock(h, parent, 0, protocol.Time(h))
		c := &bft.Commit{Height: h, BlockHash: hash, Block: b, Proposed: protocol.Time(h)}
		for _, id := range signers {
			v := &bft.Vote{Type: bft.Precommit, Height: h, BlockHash: hash, Validator: id}
			s := consensus.Signer{Key: consensus.DeriveKey(seed, id)}
			c.Sigs = append(c.Sigs, bft.CommitSig{Validator: id, Sig: s.Sign(v.SignBytes())})
		}
		out = append(out, c)
		parent = hash
	}
	return out
}

func TestVerifyCommit(t *testing.T) {
	set := newSet(t, 1, 1, 1, 1)
	s := &consensus.Signer{}
	if err := bft.VerifyCommit(set, s, chainOf(1, 0, 1, 3)[0]); err != nil {
		t.Fatalf("3 of 4 signatures: %v", err)
	}
	for name, c := range map[string]*bft.Commit{
		"two of four":   chainOf(1, 0, 1)[0],
		"non-validator": chainOf(1, 0, 1, 9)[0],
		"unsorted":      chainOf(1, 3, 1, 0)[0],
		"duplicate":     chainOf(1, 0, 1, 1)[0],
		"other block": func() *bft.Commit {
			c := chainOf(1, 0, 1, 2)[0]
			c.BlockHash[0] ^= 1
			return c
		}(),
	} {
		if err := bft.VerifyCommit(set, s, c); !errors.Is(err, bft.ErrBadCommit) {
			t.Errorf("%s: error %v, want ErrBadCommit", name, err)
		}
	}
	// Modeled signatures are counted, not checked.
	m := &consensus.Signer{Mode: consensus.SigModeled}
	c := chainOf(1, 0, 1, 2)[0]
	c.BlockHash[0] ^= 1
	if err := bft.VerifyCommit(set, m, c); err != nil || m.Skipped != 3 || m.Verified != 0 {
		t.Errorf("modeled: err %v, %d skipped, %d verified; want nil, 3, 0", err, m.Skipped, m.Verified)
	}
}

// TestFollowerOrdersCommits: a follower keeps a commit that came early,
// asks for the one it lacks, applies both in order and forwards each once,
// away from the peer it came from.
func TestFollowerOrdersCommits(t *testing.T) {
	set := newSet(t, 1, 1, 1, 1)
	app := consensustest.NewApp(8)
	app.Keep = true
	f := bft.NewFollower(bft.FollowerConfig{Set: set, App: app, Peers: []protocol.NodeID{10, 11, 12}})
	env := prototest.NewEnv(20, 1)
	env.Node = f
	f.Handle(env, protocol.Start{})
	cs := chainOf(3, 0, 2, 3)

	f.Handle(env, protocol.Recv{From: 10, Msg: cs[2]})
	sent := env.TakeSent()
	if len(sent) != 1 || sent[0].To != 10 || sent[0].Msg.(*consensus.BlockReq).Height != 1 || app.Height() != 0 {
		t.Fatalf("after height 3 alone: sent %+v, applied %d; want a request for height 1 to node 10", sent, app.Height())
	}
	f.Handle(env, protocol.Recv{From: 11, Msg: cs[0]})
	if app.Height() != 1 {
		t.Fatalf("applied %d heights, want 1", app.Height())
	}
	sent = env.TakeSent()
	fwd := map[uint64][]protocol.NodeID{}
	for _, s := range sent {
		if c, ok := s.Msg.(*bft.Commit); ok {
			fwd[c.Height] = append(fwd[c.Height], s.To)
		}
	}
	if len(fwd[1]) != 2 || fwd[1][0] != 10 || fwd[1][1] != 12 {
		t.Errorf("height 1 forwarded to %v, want [10 12]", fwd[1])
	}
	// Height 2 comes; 3 was waiting.
	f.Handle(env, protocol.Recv{From: 12, Msg: cs[1]})
	if app.Height() != 3 {
		t.Fatalf("applied %d heights, want 3", app.Height())
	}
	f.Handle(env, protocol.Recv{From: 11, Msg: cs[1]})
	if f.Dups != 1 {
		t.Errorf("%d duplicates counted, want 1", f.Dups)
	}
	// A bad certificate is not applied.
	bad := chainOf(4, 0, 1)[3]
	bad.Block, bad.BlockHash = consensustest.NewApp(8).MakeBlock(4, app.Last(), 0, 0)
	f.Handle(env, protocol.Recv{From: 10, Msg: bad})
	if app.Height() != 3 {
		t.Fatalf("applied a commit signed by half the stake")
	}
	// It answers a request for a height it has.
	env.TakeSent()
	f.Handle(env, protocol.Recv{From: 30, Msg: &consensus.BlockReq{Height: 2}})
	if s := env.TakeSent(); len(s) != 1 || s[0].To != 30 || s[0].Msg != cs[1] {
		t.Errorf("answered %+v, want commit 2 to node 30", s)
	}
}
