package chain

import (
	"crypto/sha256"
	"fmt"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// Header commits to a block's place in the chain, its transactions and the
// state they produce.
type Header struct {
	_        struct{} `cbor:",toarray"`
	Height   uint64
	Prev     Hash // the parent's hash; the zero Hash for height 1
	Time     protocol.Time
	Proposer protocol.NodeID
	// TxRoot is the Merkle root of the transactions' hashes (TxRoot).
	TxRoot Hash
	// StateRoot commits to the whole ledger state after the block
	// (see state.go: an incremental multiset hash over every record).
	StateRoot Hash
}

// Block is a header and its transactions, encoded as the CBOR array
// [header, [tx, …]]. A block's hash (consensus.Hash) is SHA-256 of that
// encoding, the "canonical encoding" consensus.App speaks of. Like Tx, a
// Block caches its encoding on first use and must not change afterwards.
type Block struct {
	_      struct{} `cbor:",toarray"`
	Header Header
	Txs    []*Tx

	enc  []byte
	hash Hash
}

type blockFields Block

// blockOverhead bounds the encoding of a block besides its transactions:
// the array heads and a header with every integer at its largest.
const blockOverhead = 1 + (1 + 9 + 34 + 9 + 5 + 34 + 34) + 9

func init() {
	wire.Register(wire.KindBlock, "chain.Block", func(body []byte) (wire.Msg, error) { return DecodeBlock(body) })
}

// NewBlock returns a sealed block of header and txs. Unlike MakeBlock it
// checks nothing: tests use it to forge blocks.
func NewBlock(h Header, txs []*Tx) *Block {
	b := &Block{Header: h, Txs: txs}
	b.seal()
	return b
}

func (b *Block) seal() {
	if b.enc == nil {
		b.enc = marshal((*blockFields)(b))
		b.hash = sha256.Sum256(b.enc)
	}
}

// Hash returns SHA-256 of the block's canonical encoding.
func (b *Block) Hash() Hash { b.seal(); return b.hash }

// Encoded returns the canonical encoding. The caller must not modify it.
func (b *Block) Encoded() []byte { b.seal(); return b.enc }

// Kind implements wire.Msg.
func (*Block) Kind() wire.Kind { return wire.KindBlock }

// AppendBody implements wire.Msg.
func (b *Block) AppendBody(p []byte) []byte { b.seal(); return append(p, b.enc...) }

// WireSize implements wire.Msg.
func (b *Block) WireSize() int { b.seal(); return wire.HeaderSize(wire.KindBlock) + len(b.enc) }

// DecodeBlock decodes a block's canonical encoding (as MakeBlock returns it,
// and as a wire body). Every transaction must be well formed (DecodeTx);
// nothing is checked against state. Malformed input returns an error, never
// panics.
func DecodeBlock(p []byte) (*Block, error) { return decodeBlock(p, sha256.Sum256(p)) }

// decodeBlock is DecodeBlock for input whose hash is known.
func decodeBlock(p []byte, hash Hash) (*Block, error) {
	var f blockFields
	if err := decMode.Unmarshal(p, &f); err != nil {
		return nil, fmt.Errorf("%w: block: %w", ErrMalformed, err)
	}
	if len(f.Txs) == 0 {
		f.Txs = nil
	}
	for i, tx := range f.Txs {
		if tx == nil {
			return nil, fmt.Errorf("%w: block tx %d is null", ErrMalformed, i)
		}
	}
	b := (*Block)(&f)
	if b.enc = marshal(f); string(b.enc) != string(p) {
		return nil, fmt.Errorf("%w: block", ErrNonCanonical)
	}
	b.hash = hash
	return b, nil
}

// TxRoot returns the Merkle root of the transactions, as RFC 6962 defines
// it over the list of their hashes: a leaf is SHA-256(0x00 ‖ tx hash), an
// inner node SHA-256(0x01 ‖ left ‖ right), the left subtree holding the
// largest power of two of leaves smaller than the count; no transactions
// give SHA-256 of nothing. The tree (rather than a hash of the list) lets a
// later light client prove one transaction's inclusion in log₂ n hashes.
func TxRoot(txs []*Tx) Hash {
	if len(txs) == 0 {
		return sha256.Sum256(nil)
	}
	level := make([]Hash, len(txs))
	var leaf [1 + 32]byte
	for i, tx := range txs {
		h := tx.Hash()
		copy(leaf[1:], h[:])
		level[i] = sha256.Sum256(leaf[:])
	}
	return merkle(level)
}

// merkle returns the RFC 6962 root of leaf hashes.
func merkle(l []Hash) Hash {
	if len(l) == 1 {
		return l[0]
	}
	k := 1
	for k*2 < len(l) {
		k *= 2
	}
	left, right := merkle(l[:k]), merkle(l[k:])
	var node [1 + 64]byte
	node[0] = 1
	copy(node[1:], left[:])
	copy(node[33:], right[:])
	return sha256.Sum256(node[:])
}
