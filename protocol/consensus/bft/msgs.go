package bft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/wire"
)

// Limits on decoded messages.
const (
	// MaxBlock bounds a block's encoding on the wire.
	MaxBlock = 64 << 20
	// MaxRound bounds a round number; rounds are int32 inside the engine so
	// that −1 can stand for "none", as in the paper.
	MaxRound = math.MaxInt32
	// MaxCommitSigs bounds the signatures of one Commit.
	MaxCommitSigs = 1 << 16
)

// ErrRange rejects a decoded field outside its range.
var ErrRange = errors.New("bft: field out of range")

// VoteType is the step a vote belongs to.
type VoteType uint8

const (
	Prevote   VoteType = 1
	Precommit VoteType = 2
)

func (t VoteType) String() string {
	switch t {
	case Prevote:
		return "prevote"
	case Precommit:
		return "precommit"
	}
	return fmt.Sprintf("VoteType(%d)", uint8(t))
}

// Proposal is ⟨PROPOSAL, h, round, v, validRound⟩ of the paper (Algorithm 1
// line 19), with the block's hash, the proposer's clock (so latency can be
// measured from the proposal, as CometBFT's proposals carry a timestamp)
// and the proposer's signature over everything but the block bytes, which
// BlockHash stands for.
type Proposal struct {
	Height uint64
	Round  uint32
	// POLRound is the round of the proof of lock the proposer re-proposes
	// Block from (validRound), or −1.
	POLRound  int32
	Time      protocol.Time
	Proposer  protocol.NodeID
	BlockHash consensus.Hash
	Block     []byte
	Sig       []byte
}

// Vote is ⟨PREVOTE, h, round, id(v)⟩ or ⟨PRECOMMIT, h, round, id(v)⟩; a
// zero BlockHash is a vote for nil.
type Vote struct {
	Type      VoteType
	Height    uint64
	Round     uint32
	BlockHash consensus.Hash
	Validator protocol.NodeID
	Sig       []byte
}

// CommitSig is one validator's precommit signature inside a Commit: the
// other fields of the precommit are the Commit's own.
type CommitSig struct {
	Validator protocol.NodeID
	Sig       []byte
}

// Commit is a decided block with more than two thirds of the stake's
// precommits for it: what non-validators follow, and what a validator that
// fell behind catches up from. Sigs are in ascending validator order.
type Commit struct {
	Height    uint64
	Round     uint32
	BlockHash consensus.Hash
	// Proposed is the time of the proposal the block was decided from.
	Proposed protocol.Time
	Block    []byte
	Sigs     []CommitSig
}

func init() {
	wire.Register(wire.KindProposal, "bft.Proposal", decodeProposal)
	wire.Register(wire.KindVote, "bft.Vote", decodeVote)
	wire.Register(wire.KindCommit, "bft.Commit", decodeCommit)
}

// Kind implements wire.Msg.
func (*Proposal) Kind() wire.Kind { return wire.KindProposal }

// Kind implements wire.Msg.
func (*Vote) Kind() wire.Kind { return wire.KindVote }

// Kind implements wire.Msg.
func (*Commit) Kind() wire.Kind { return wire.KindCommit }

func (p *Proposal) appendSigned(b []byte) []byte {
	b = binary.AppendUvarint(b, p.Height)
	b = binary.AppendUvarint(b, uint64(p.Round))
	b = binary.AppendUvarint(b, uint64(p.POLRound+1))
	b = binary.AppendUvarint(b, uint64(p.Time))
	b = binary.AppendUvarint(b, uint64(p.Proposer))
	return consensus.AppendHash(b, p.BlockHash)
}

func (p *Proposal) signedSize() int {
	return wire.UvarintSize(p.Height) + wire.UvarintSize(uint64(p.Round)) +
		wire.UvarintSize(uint64(p.POLRound+1)) + wire.UvarintSize(uint64(p.Time)) +
		wire.UvarintSize(uint64(p.Proposer)) + consensus.HashSize(p.BlockHash)
}

// AppendBody implements wire.Msg.
func (p *Proposal) AppendBody(b []byte) []byte {
	b = p.appendSigned(b)
	b = wire.AppendBytes(b, p.Block)
	return wire.AppendBytes(b, p.Sig)
}

// WireSize implements wire.Msg.
func (p *Proposal) WireSize() int {
	return wire.HeaderSize(wire.KindProposal) + p.signedSize() + wire.BytesSize(len(p.Block)) + wire.BytesSize(len(p.Sig))
}

// SignBytes is what the proposer signs: a domain tag and every field but
// Block (BlockHash stands for it) and Sig.
func (p *Proposal) SignBytes() []byte {
	return p.appendSigned(append(make([]byte, 0, len(proposalDomain)+p.signedSize()), proposalDomain...))
}

const (
	proposalDomain = "dais/bft/proposal/v1\x00"
	voteDomain     = "dais/bft/vote/v1\x00"
)

func decodeProposal(body []byte) (wire.Msg, error) {
	r := wire.NewReader(body)
	p := &Proposal{Height: r.Uvarint()}
	round, pol, t, proposer := r.Uvarint(), r.Uvarint(), r.Uvarint(), r.Uvarint()
	h, herr := consensus.ReadHash(r)
	p.BlockHash = h
	p.Block = r.Bytes(MaxBlock)
	p.Sig = r.Bytes(consensus.SigSize)
	if err := r.Done(); err != nil {
		return nil, err
	}
	if herr != nil {
		return nil, herr
	}
	if round > MaxRound || pol > MaxRound || t > math.MaxInt64 || proposer > math.MaxUint32 {
		return nil, fmt.Errorf("%w: proposal", ErrRange)
	}
	p.Round, p.POLRound, p.Time, p.Proposer = uint32(round), int32(pol)-1, protocol.Time(t), protocol.NodeID(proposer)
	return p, nil
}

func appendVoteSigned(b []byte, t VoteType, height uint64, round uint32, hash consensus.Hash, val protocol.NodeID) []byte {
	b = append(b, byte(t))
	b = binary.AppendUvarint(b, height)
	b = binary.AppendUvarint(b, uint64(round))
	b = consensus.AppendHash(b, hash)
	return binary.AppendUvarint(b, uint64(val))
}

func voteSignedSize(height uint64, round uint32, hash consensus.Hash, val protocol.NodeID) int {
	return 1 + wire.UvarintSize(height) + wire.UvarintSize(uint64(round)) + consensus.HashSize(hash) + wire.UvarintSize(uint64(val))
}

// voteSignBytes is what a validator signs for a vote: a domain tag and every
// field but Sig. A Commit's signatures are over the same bytes.
func voteSignBytes(t VoteType, height uint64, round uint32, hash consensus.Hash, val protocol.NodeID) []byte {
	b := make([]byte, 0, len(voteDomain)+voteSignedSize(height, round, hash, val))
	return appendVoteSigned(append(b, voteDomain...), t, height, round, hash, val)
}

// SignBytes is what the validator signs.
func (v *Vote) SignBytes() []byte {
	return voteSignBytes(v.Type, v.Height, v.Round, v.BlockHash, v.Validator)
}

// AppendBody implements wire.Msg.
func (v *Vote) AppendBody(b []byte) []byte {
	b = appendVoteSigned(b, v.Type, v.Height, v.Round, v.BlockHash, v.Validator)
	return wire.AppendBytes(b, v.Sig)
}

// WireSize implements wire.Msg.
func (v *Vote) WireSize() int {
	return wire.HeaderSize(wire.KindVote) + voteSignedSize(v.Height, v.Round, v.BlockHash, v.Validator) + wire.BytesSize(len(v.Sig))
}

func decodeVote(body []byte) (wire.Msg, error) {
	if len(body) == 0 {
		return nil, wire.ErrShort
	}
	v := &Vote{Type: VoteType(body[0])}
	r := wire.NewReader(body[1:])
	v.Height = r.Uvarint()
	round := r.Uvarint()
	h, herr := consensus.ReadHash(r)
	v.BlockHash = h
	val := r.Uvarint()
	v.Sig = r.Bytes(consensus.SigSize)
	if err := r.Done(); err != nil {
		return nil, err
	}
	if herr != nil {
		return nil, herr
	}
	if (v.Type != Prevote && v.Type != Precommit) || round > MaxRound || val > math.MaxUint32 {
		return nil, fmt.Errorf("%w: vote", ErrRange)
	}
	v.Round, v.Validator = uint32(round), protocol.NodeID(val)
	return v, nil
}

// AppendBody implements wire.Msg.
func (c *Commit) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, c.Height)
	b = binary.AppendUvarint(b, uint64(c.Round))
	b = consensus.AppendHash(b, c.BlockHash)
	b = binary.AppendUvarint(b, uint64(c.Proposed))
	b = wire.AppendBytes(b, c.Block)
	b = binary.AppendUvarint(b, uint64(len(c.Sigs)))
	for _, s := range c.Sigs {
		b = binary.AppendUvarint(b, uint64(s.Validator))
		b = wire.AppendBytes(b, s.Sig)
	}
	return b
}

// WireSize implements wire.Msg.
func (c *Commit) WireSize() int {
	n := wire.HeaderSize(wire.KindCommit) + wire.UvarintSize(c.Height) + wire.UvarintSize(uint64(c.Round)) +
		consensus.HashSize(c.BlockHash) + wire.UvarintSize(uint64(c.Proposed)) + wire.BytesSize(len(c.Block)) +
		wire.UvarintSize(uint64(len(c.Sigs)))
	for _, s := range c.Sigs {
		n += wire.UvarintSize(uint64(s.Validator)) + wire.BytesSize(len(s.Sig))
	}
	return n
}

func decodeCommit(body []byte) (wire.Msg, error) {
	r := wire.NewReader(body)
	c := &Commit{Height: r.Uvarint()}
	round := r.Uvarint()
	h, herr := consensus.ReadHash(r)
	c.BlockHash = h
	t := r.Uvarint()
	c.Block = r.Bytes(MaxBlock)
	n := r.Uvarint()
	if n > MaxCommitSigs {
		return nil, fmt.Errorf("%w: %d commit signatures", wire.ErrTooLarge, n)
	}
	var prev uint64
	for i := uint64(0); i < n; i++ {
		val := r.Uvarint()
		sig := r.Bytes(consensus.SigSize)
		if err := r.Done(); err != nil && err != wire.ErrTrailing {
			return nil, err
		}
		// One encoding per commit: validators strictly ascending.
		if val > math.MaxUint32 || (i > 0 && val <= prev) {
			return nil, fmt.Errorf("%w: commit signatures not in ascending validator order", ErrRange)
		}
		prev = val
		c.Sigs = append(c.Sigs, CommitSig{Validator: protocol.NodeID(val), Sig: sig})
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	if herr != nil {
		return nil, herr
	}
	if round > MaxRound || t > math.MaxInt64 {
		return nil, fmt.Errorf("%w: commit", ErrRange)
	}
	c.Round, c.Proposed = uint32(round), protocol.Time(t)
	return c, nil
}
