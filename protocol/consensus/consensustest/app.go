package consensustest

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
)

// HeaderSize is the size of a block without padding: a magic word, height,
// parent, proposer and time.
const HeaderSize = 4 + 8 + 32 + 4 + 8

var magic = [4]byte{'d', 'a', 'i', 's'}

// Errors returned by CheckBlock.
var (
	ErrMalformed = errors.New("consensustest: malformed block")
	ErrHeight    = errors.New("consensustest: block for another height")
	ErrParent    = errors.New("consensustest: block on another parent")
)

// App is a consensus.App whose blocks carry no transactions. It is not safe
// for concurrent use; give each node its own.
type App struct {
	// Padding is the number of bytes after the header of each block made.
	Padding int
	// Keep, when true, records the hash of every committed block.
	Keep bool

	height uint64
	last   consensus.Hash
	hashes []consensus.Hash
}

// NewApp returns an App whose blocks have padding bytes after the header.
func NewApp(padding int) *App { return &App{Padding: padding} }

// MakeBlock implements consensus.App. The padding is zero: a block's bytes
// cost the network and the hash what a real block of that size would.
func (a *App) MakeBlock(height uint64, parent consensus.Hash, proposer protocol.NodeID, now protocol.Time) ([]byte, consensus.Hash) {
	b := Block(height, parent, proposer, now, a.Padding)
	return b, sha256.Sum256(b)
}

// Block returns the encoding MakeBlock gives those fields.
func Block(height uint64, parent consensus.Hash, proposer protocol.NodeID, now protocol.Time, padding int) []byte {
	b := make([]byte, HeaderSize+padding)
	copy(b, magic[:])
	binary.BigEndian.PutUint64(b[4:], height)
	copy(b[12:], parent[:])
	binary.BigEndian.PutUint32(b[44:], uint32(proposer))
	binary.BigEndian.PutUint64(b[48:], uint64(now))
	return b
}

// Fields parses a block made by MakeBlock.
func Fields(block []byte) (height uint64, parent consensus.Hash, proposer protocol.NodeID, at protocol.Time, err error) {
	if len(block) < HeaderSize || [4]byte(block[:4]) != magic {
		return 0, parent, 0, 0, ErrMalformed
	}
	height = binary.BigEndian.Uint64(block[4:])
	copy(parent[:], block[12:44])
	proposer = protocol.NodeID(binary.BigEndian.Uint32(block[44:]))
	at = protocol.Time(binary.BigEndian.Uint64(block[48:]))
	return height, parent, proposer, at, nil
}

// CheckBlock implements consensus.App: the block must be well formed and
// name the given height and parent.
func (a *App) CheckBlock(height uint64, parent consensus.Hash, block []byte) (consensus.Hash, error) {
	h, p, _, _, err := Fields(block)
	switch {
	case err != nil:
		return consensus.Hash{}, err
	case h != height:
		return consensus.Hash{}, fmt.Errorf("%w: %d, want %d", ErrHeight, h, height)
	case p != parent:
		return consensus.Hash{}, ErrParent
	}
	return sha256.Sum256(block), nil
}

// Commit implements consensus.App. It panics when heights arrive out of
// order or a block does not extend the last one: the engine broke the App
// contract.
func (a *App) Commit(height uint64, block []byte, hash consensus.Hash, now protocol.Time) {
	// The hash is the engine's (from CheckBlock); re-hashing here would
	// double the App's cost in large runs.
	h, parent, _, _, err := Fields(block)
	if err != nil || h != height || height != a.height+1 || parent != a.last {
		panic(fmt.Sprintf("consensustest: commit of height %d (block height %d, err %v) after %d breaks the chain", height, h, err, a.height))
	}
	a.height, a.last = height, hash
	if a.Keep {
		a.hashes = append(a.hashes, hash)
	}
}

// Height is the last committed height.
func (a *App) Height() uint64 { return a.height }

// Last is the hash of the last committed block (zero before any).
func (a *App) Last() consensus.Hash { return a.last }

// Hashes returns the committed hashes in height order (with Keep). The
// slice is the App's own; do not modify it.
func (a *App) Hashes() []consensus.Hash { return a.hashes }

var _ consensus.App = (*App)(nil)
