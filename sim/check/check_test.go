package check_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/sim/check"
)

func hash(s string) consensus.Hash {
	var h consensus.Hash
	copy(h[:], s)
	return h
}

func commit(c *check.Checker, node uint32, at int64, height uint64, h, parent string) {
	var p consensus.Hash
	if parent != "" {
		p = hash(parent)
	}
	c.Record(metrics.Stamped{Node: node, AtNs: at, Event: consensus.Committed{Height: height, Hash: hash(h), Parent: p}})
}

func TestAgreeingChainsPass(t *testing.T) {
	calls := 0
	c := check.New(check.Options{Conservation: func(protocol.NodeID, uint64) error { calls++; return nil }})
	for node := uint32(0); node < 3; node++ {
		commit(c, node, 1, 1, "a", "")
		commit(c, node, 2, 2, "b", "a")
	}
	c.Record(metrics.Stamped{Event: otherEvent{}})
	if len(c.Failures()) != 0 || c.Heights() != 2 || c.Commits() != 6 || calls != 6 {
		t.Fatalf("failures %v, heights %d, commits %d, hook calls %d; want none, 2, 6, 6", c.Failures(), c.Heights(), c.Commits(), calls)
	}
	if h, n, ok := c.Final(2); !ok || h != hash("b") || n != 0 {
		t.Errorf("final at 2: %v %d %v", h, n, ok)
	}
}

type otherEvent struct{}

func (otherEvent) Kind() string { return "test.other" }

// TestConflictIsCaught: two honest nodes finalizing different blocks at one
// height is reported once, with both nodes and hashes; a byzantine node's
// commits are not the checker's concern.
func TestConflictIsCaught(t *testing.T) {
	c := check.New(check.Options{Record: true, Honest: func(id protocol.NodeID) bool { return id != 9 }})
	commit(c, 0, 10, 1, "a", "")
	commit(c, 9, 11, 1, "evil", "")
	commit(c, 1, 12, 1, "x", "")
	commit(c, 2, 13, 1, "x", "")
	fs := c.Failures()
	if len(fs) != 1 {
		t.Fatalf("%d failures, want 1: %v", len(fs), fs)
	}
	f := fs[0]
	if f.Kind != check.Conflict || f.Node != 1 || f.OtherNode != 0 || f.Height != 1 || f.Hash != hash("x") || f.Other != hash("a") || f.At != 12 {
		t.Errorf("violation %+v", f)
	}
	if !strings.Contains(f.String(), "node 1 finalized") {
		t.Errorf("String() = %q", f.String())
	}
}

// TestBrokenChainIsCaught: a node's commit must extend its previous one.
func TestBrokenChainIsCaught(t *testing.T) {
	c := check.New(check.Options{Record: true})
	commit(c, 0, 1, 1, "a", "")
	commit(c, 0, 2, 2, "b", "z") // wrong parent
	commit(c, 1, 3, 2, "b", "a") // skipped height 1
	fs := c.Failures()
	if len(fs) != 2 || fs[0].Kind != check.BrokenChain || fs[0].Node != 0 || fs[1].Kind != check.BrokenChain || fs[1].Node != 1 {
		t.Fatalf("failures %v, want two broken chains (nodes 0 and 1)", fs)
	}
}

func TestConservationHook(t *testing.T) {
	c := check.New(check.Options{Record: true, Conservation: func(n protocol.NodeID, h uint64) error {
		if h == 2 {
			return errors.New("supply off by 3")
		}
		return nil
	}})
	commit(c, 4, 1, 1, "a", "")
	commit(c, 4, 2, 2, "b", "a")
	fs := c.Failures()
	if len(fs) != 1 || fs[0].Kind != check.Conservation || fs[0].Node != 4 || fs[0].Height != 2 || fs[0].Err != "supply off by 3" {
		t.Fatalf("failures %+v", fs)
	}
}

// TestPanicsWithSeed: without Record, a violation panics naming the seed.
func TestPanicsWithSeed(t *testing.T) {
	c := check.New(check.Options{Seed: 1234, Replay: "dais run x.yaml --seed 1234"})
	commit(c, 0, 1, 1, "a", "")
	defer func() {
		msg := fmt.Sprint(recover())
		if !strings.Contains(msg, "seed 1234") || !strings.Contains(msg, "conflicting_blocks") || !strings.Contains(msg, "dais run") {
			t.Errorf("panic %q, want the seed, the invariant and the replay command", msg)
		}
	}()
	commit(c, 1, 2, 1, "b", "")
	t.Error("no panic")
}

// TestDivergenceIsCaught: honest ledger replicas must report the same state
// root after each height; a different one is reported once, and a
// byzantine node's is not the checker's concern.
func TestDivergenceIsCaught(t *testing.T) {
	c := check.New(check.Options{Record: true, Honest: func(id protocol.NodeID) bool { return id != 9 }})
	applied := func(node uint32, height uint64, root string) {
		c.Record(metrics.Stamped{Node: node, AtNs: int64(height), Event: chain.Applied{Height: height, StateRoot: hash(root)}})
	}
	applied(0, 1, "r1")
	applied(9, 1, "evil")
	applied(1, 1, "r1")
	applied(0, 2, "r2")
	applied(1, 2, "bad")
	applied(2, 2, "bad")
	fs := c.Failures()
	if len(fs) != 1 || fs[0].Kind != check.Divergence || fs[0].Node != 1 || fs[0].OtherNode != 0 || fs[0].Height != 2 ||
		fs[0].Hash != hash("bad") || fs[0].Other != hash("r2") {
		t.Fatalf("failures %+v, want one divergence of node 1 from node 0 at height 2", fs)
	}
	if !strings.Contains(fs[0].String(), "state root") {
		t.Errorf("String() = %q", fs[0].String())
	}
}
