package consensustest_test

import (
	"errors"
	"testing"

	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/consensustest"
)

func TestApp(t *testing.T) {
	a := consensustest.NewApp(100)
	b1, h1 := a.MakeBlock(1, consensus.Hash{}, 3, 10)
	if len(b1) != consensustest.HeaderSize+100 {
		t.Fatalf("block of %d bytes", len(b1))
	}
	if h, err := a.CheckBlock(1, consensus.Hash{}, b1); err != nil || h != h1 {
		t.Fatalf("CheckBlock: %v", err)
	}
	if _, h := a.MakeBlock(1, consensus.Hash{}, 3, 11); h == h1 {
		t.Error("blocks made at different times have one hash")
	}
	for name, tc := range map[string]struct {
		height uint64
		parent consensus.Hash
		block  []byte
		want   error
	}{
		"height":    {2, consensus.Hash{}, b1, consensustest.ErrHeight},
		"parent":    {1, consensus.Hash{1}, b1, consensustest.ErrParent},
		"malformed": {1, consensus.Hash{}, b1[:10], consensustest.ErrMalformed},
	} {
		if _, err := a.CheckBlock(tc.height, tc.parent, tc.block); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	a.Keep = true
	a.Commit(1, b1, h1, 20)
	if a.Height() != 1 || a.Last() != h1 || len(a.Hashes()) != 1 {
		t.Errorf("after commit: height %d", a.Height())
	}
	defer func() {
		if recover() == nil {
			t.Error("committing height 1 twice did not panic")
		}
	}()
	a.Commit(1, b1, h1, 21)
}
