package wire_test

import (
	"bytes"

	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/consensus/nakamoto"
	"github.com/dais-sim/dais/protocol/wire"
)

// Consensus sample values: a hash, a signature, and the largest hash.
var (
	sampleHash = consensus.Hash{0xde, 0xad, 31: 0x01}
	sampleSig  = bytes.Repeat([]byte{0xab}, consensus.SigSize)
	maxHash    = consensus.Hash(bytes.Repeat([]byte{0xff}, 32))
)

// The consensus kinds' samples join the map here, so that wire_test.go is
// not edited by every protocol package.
func init() {
	samples[wire.KindProposal] = []wire.Msg{
		&bft.Proposal{POLRound: -1},
		&bft.Proposal{Height: 7, Round: 2, POLRound: 1, Time: 12345, Proposer: 3, BlockHash: sampleHash, Block: []byte("block"), Sig: sampleSig},
		&bft.Proposal{Height: 1<<64 - 1, Round: bft.MaxRound, POLRound: bft.MaxRound - 1, Time: 1<<63 - 1, Proposer: 1<<32 - 1, BlockHash: maxHash, Block: make([]byte, 1<<16), Sig: sampleSig},
	}
	samples[wire.KindVote] = []wire.Msg{
		&bft.Vote{Type: bft.Prevote},
		&bft.Vote{Type: bft.Precommit, Height: 9, Round: 1, BlockHash: sampleHash, Validator: 42, Sig: sampleSig},
		&bft.Vote{Type: bft.Prevote, Height: 1<<64 - 1, Round: bft.MaxRound, BlockHash: maxHash, Validator: 1<<32 - 1, Sig: sampleSig},
	}
	samples[wire.KindCommit] = []wire.Msg{
		&bft.Commit{},
		&bft.Commit{Height: 3, Round: 1, BlockHash: sampleHash, Proposed: 99, Block: []byte("b"),
			Sigs: []bft.CommitSig{{Validator: 0, Sig: sampleSig}, {Validator: 5, Sig: sampleSig}, {Validator: 300, Sig: sampleSig}}},
		&bft.Commit{Height: 1<<64 - 1, Round: bft.MaxRound, BlockHash: maxHash, Proposed: 1<<63 - 1, Block: make([]byte, 5000),
			Sigs: []bft.CommitSig{{Validator: 1<<32 - 1, Sig: sampleSig}}},
	}
	samples[wire.KindPowBlock] = []wire.Msg{
		&nakamoto.Block{},
		&nakamoto.Block{Height: 5, Parent: sampleHash, Miner: 17, Time: 1000, Body: []byte("body")},
		&nakamoto.Block{Height: 1<<64 - 1, Parent: maxHash, Miner: 1<<32 - 1, Time: 1<<63 - 1, Body: make([]byte, 1<<16)},
	}
	samples[wire.KindBlockReq] = []wire.Msg{
		&consensus.BlockReq{},
		&consensus.BlockReq{Height: 12},
		&consensus.BlockReq{Height: 1<<64 - 1, Hash: maxHash},
	}
}

// normalizeConsensus treats nil and empty byte slices alike, as the codec
// does.
func normalizeConsensus(m wire.Msg) wire.Msg {
	switch b := m.(type) {
	case *bft.Proposal:
		c := *b
		c.Block, c.Sig = nilIfEmpty(c.Block), nilIfEmpty(c.Sig)
		return &c
	case *bft.Vote:
		c := *b
		c.Sig = nilIfEmpty(c.Sig)
		return &c
	case *bft.Commit:
		c := *b
		c.Block = nilIfEmpty(c.Block)
		if len(c.Sigs) == 0 {
			c.Sigs = nil
		}
		return &c
	case *nakamoto.Block:
		c := *b
		c.Body = nilIfEmpty(c.Body)
		return &c
	}
	return m
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
