package consensus

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"

	"github.com/dais-sim/dais/protocol"
)

// SigSize is the size of a signature on the wire (ed25519).
const SigSize = ed25519.SignatureSize

// DeriveKey returns a node's signing key, a pure function of the run's root
// seed and the node: the ed25519 seed is SHA-256 of protocol.DeriveSeed(seed,
// "key", id), so every participant can compute every public key and a run
// needs no key files.
func DeriveKey(seed uint64, id protocol.NodeID) ed25519.PrivateKey {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], protocol.DeriveSeed(seed, "key", uint64(id)))
	s := sha256.Sum256(b[:])
	return ed25519.NewKeyFromSeed(s[:])
}

// SigMode says whether signatures are computed or modeled.
type SigMode uint8

const (
	// SigReal signs with ed25519 and verifies every signature.
	SigReal SigMode = iota
	// SigModeled puts a fixed 64-byte placeholder where a signature goes,
	// so messages keep their size, and counts each check it skips instead
	// of verifying: a large run (10⁶ votes per height at 1,000 validators)
	// would otherwise spend its time in curve arithmetic, not in the
	// protocol. Forgery is outside what a modeled run can show.
	SigModeled
)

// modeledSig is the placeholder signature; it is never written to.
var modeledSig = make([]byte, SigSize)

// Signer signs and verifies for one node and counts what it did. A node
// owns its Signer; it is not shared.
type Signer struct {
	Mode SigMode
	// Key signs this node's messages; nil for a node that never signs.
	Key ed25519.PrivateKey

	// Signed, Verified and Skipped count signatures made, signatures
	// checked, and checks skipped under SigModeled.
	Signed, Verified, Skipped uint64
}

// Modeled reports whether signatures are modeled, so a caller can skip
// building the bytes to sign.
func (s *Signer) Modeled() bool { return s.Mode == SigModeled }

// Sign signs msg (ignored under SigModeled). The result must not be
// modified.
func (s *Signer) Sign(msg []byte) []byte {
	s.Signed++
	if s.Mode == SigModeled {
		return modeledSig
	}
	return ed25519.Sign(s.Key, msg)
}

// Verify checks sig over msg by pub. Under SigModeled it checks only the
// signature's size and counts a skipped verification.
func (s *Signer) Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(sig) != SigSize {
		return false
	}
	if s.Mode == SigModeled {
		s.Skipped++
		return true
	}
	s.Verified++
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
}

// Candidate returns a validator candidate whose key is DeriveKey(seed, id).
func Candidate(seed uint64, id protocol.NodeID, stake uint64) Validator {
	return Validator{ID: id, Stake: stake, PubKey: DeriveKey(seed, id).Public().(ed25519.PublicKey)}
}
