package consensus

import (
	"encoding/binary"
	"errors"

	"github.com/dais-sim/dais/protocol/wire"
)

// BlockReq asks a peer for a block it has and the asker lacks: the BFT
// engine asks for the commit of a height (Hash zero), the longest-chain
// engine for a block by hash (Height 0 when unknown). A peer that has it
// answers with the engine's block message (bft.Commit, nakamoto.Block); one
// that has not stays silent, and the asker retries elsewhere.
type BlockReq struct {
	Height uint64
	Hash   Hash
}

func init() {
	wire.Register(wire.KindBlockReq, "consensus.BlockReq", decodeBlockReq)
}

// Kind implements wire.Msg.
func (*BlockReq) Kind() wire.Kind { return wire.KindBlockReq }

// AppendBody implements wire.Msg.
func (r *BlockReq) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, r.Height)
	return AppendHash(b, r.Hash)
}

// WireSize implements wire.Msg.
func (r *BlockReq) WireSize() int {
	return wire.HeaderSize(wire.KindBlockReq) + wire.UvarintSize(r.Height) + HashSize(r.Hash)
}

func decodeBlockReq(body []byte) (wire.Msg, error) {
	rd := wire.NewReader(body)
	m := &BlockReq{Height: rd.Uvarint()}
	h, err := ReadHash(rd)
	if err != nil {
		return nil, err
	}
	m.Hash = h
	if err := rd.Done(); err != nil {
		return nil, err
	}
	return m, nil
}

// AppendHash appends a hash as a byte string: empty for the zero Hash, 32
// bytes otherwise, so nil votes and unknown hashes cost one byte.
func AppendHash(b []byte, h Hash) []byte {
	if h.IsZero() {
		return append(b, 0)
	}
	b = append(b, 32)
	return append(b, h[:]...)
}

// HashSize is the encoded size of a hash written by AppendHash.
func HashSize(h Hash) int {
	if h.IsZero() {
		return 1
	}
	return 33
}

// ErrBadHash rejects a hash that is neither empty nor 32 bytes long, or
// the zero Hash written in full (it has one encoding: the empty string).
var ErrBadHash = errors.New("consensus: malformed hash")

// ReadHash reads a hash written by AppendHash. A reader error sticks in r
// and is reported by r.Done.
func ReadHash(r *wire.Reader) (Hash, error) {
	p := r.Bytes(32)
	var h Hash
	switch len(p) {
	case 0:
		return h, nil
	case 32:
		copy(h[:], p)
		if h.IsZero() {
			return h, ErrBadHash
		}
		return h, nil
	}
	return h, ErrBadHash
}
