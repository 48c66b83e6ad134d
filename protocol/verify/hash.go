package verify

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/dais-sim/dais/protocol/chain"
)

// Hash is a SHA-256 digest (a result, a checkpoint, a Merkle root).
type Hash = chain.Hash

// Checkpoint is the honest state hash of a unit after step (0 ≤ step ≤
// steps): step 0 is the unit's input, step `steps` its result. It stands
// for the hash of a real computation's state (model weights after a
// training step, a frame's pixels): a pure function of the unit, so
// re-executing is re-deriving it, and a provider that skipped the work
// cannot produce it except by chance (2⁻²⁵⁶).
func Checkpoint(job chain.JobID, unit, step uint32) Hash {
	var b [9 + 16 + 8]byte
	copy(b[:], "dais/ckpt")
	copy(b[9:], job[:])
	binary.BigEndian.PutUint32(b[25:], unit)
	binary.BigEndian.PutUint32(b[29:], step)
	return sha256.Sum256(b[:])
}

// Honest is the honest result of a unit of the given number of steps: its
// last checkpoint.
func Honest(job chain.JobID, unit, steps uint32) Hash { return Checkpoint(job, unit, steps) }

// Trajectory returns the honest checkpoints 0 … steps of a unit.
func Trajectory(job chain.JobID, unit, steps uint32) []Hash {
	out := make([]Hash, steps+1)
	for i := range out {
		out[i] = Checkpoint(job, unit, uint32(i))
	}
	return out
}

// Merkle tree over checkpoints. Leaves and inner nodes are hashed under
// different prefixes (RFC 6962), so a leaf cannot pose as a subtree; a node
// without a sibling moves up unchanged, so n leaves need no padding.

func leafHash(h Hash) Hash {
	var b [33]byte
	b[0] = 0
	copy(b[1:], h[:])
	return sha256.Sum256(b[:])
}

func nodeHash(l, r Hash) Hash {
	var b [65]byte
	b[0] = 1
	copy(b[1:], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

// Root is the Merkle root of the leaves; the zero Hash for none.
func Root(leaves []Hash) Hash {
	if len(leaves) == 0 {
		return Hash{}
	}
	level := make([]Hash, len(leaves))
	for i, l := range leaves {
		level[i] = leafHash(l)
	}
	for len(level) > 1 {
		next := level[:0:0]
		for i := 0; i < len(level); i += 2 {
			if i+1 < len(level) {
				next = append(next, nodeHash(level[i], level[i+1]))
			} else {
				next = append(next, level[i])
			}
		}
		level = next
	}
	return level[0]
}

// Prove returns the Merkle proof of leaf i: the siblings from the leaf up,
// skipping levels where the node has none.
func Prove(leaves []Hash, i int) []Hash {
	level := make([]Hash, len(leaves))
	for j, l := range leaves {
		level[j] = leafHash(l)
	}
	var proof []Hash
	for len(level) > 1 {
		if s := i ^ 1; s < len(level) {
			proof = append(proof, level[s])
		}
		next := level[:0:0]
		for j := 0; j < len(level); j += 2 {
			if j+1 < len(level) {
				next = append(next, nodeHash(level[j], level[j+1]))
			} else {
				next = append(next, level[j])
			}
		}
		level, i = next, i/2
	}
	return proof
}

// VerifyProof reports whether leaf is leaf i of the n-leaf tree with the
// given root.
func VerifyProof(root Hash, n, i int, leaf Hash, proof []Hash) bool {
	if i < 0 || i >= n {
		return false
	}
	h := leafHash(leaf)
	for m := n; m > 1; m = (m + 1) / 2 {
		if s := i ^ 1; s < m {
			if len(proof) == 0 {
				return false
			}
			if i&1 == 0 {
				h = nodeHash(h, proof[0])
			} else {
				h = nodeHash(proof[0], h)
			}
			proof = proof[1:]
		}
		i /= 2
	}
	return len(proof) == 0 && h == root
}
