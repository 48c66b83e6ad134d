package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/dais-sim/dais/protocol"
)

// AddressSize is the size of an account address in bytes.
const AddressSize = 20

// Address names an account: the first 20 bytes of SHA-256 of the account's
// ed25519 public key. Twenty bytes keep per-account state and transfers small
// while leaving 2⁸⁰ work for a collision, far beyond any simulated attacker.
type Address [AddressSize]byte

// String prints the address in hex.
func (a Address) String() string { return hex.EncodeToString(a[:]) }

// PubKey is an ed25519 public key. A transaction carries its sender's key
// (not only the address) so that its signature can be checked without
// looking up state: the mempool and CheckBlock verify before they read.
type PubKey [ed25519.PublicKeySize]byte

// Address returns the address the key controls.
func (k PubKey) Address() Address {
	h := sha256.Sum256(k[:])
	var a Address
	copy(a[:], h[:AddressSize])
	return a
}

// String prints the key in hex.
func (k PubKey) String() string { return hex.EncodeToString(k[:]) }

// PubKeyOf returns the public half of a private key.
func PubKeyOf(key ed25519.PrivateKey) PubKey {
	var k PubKey
	copy(k[:], key.Public().(ed25519.PublicKey))
	return k
}

// AddressOf returns the address a private key controls.
func AddressOf(key ed25519.PrivateKey) Address { return PubKeyOf(key).Address() }

// keyDomain is the protocol.DeriveSeed domain of simulated nodes' keys.
const keyDomain = "chain.key"

// KeyFor returns the ed25519 key of simulated node id in the run with root
// seed seed. The 32-byte ed25519 seed is four derived uint64s,
// protocol.DeriveSeed(seed, "chain.key", 4·id+i) for i = 0…3, each written
// little-endian: a pure function of (seed, id), so every node of a run, in
// sim or live mode, can compute every other node's address without a key
// exchange, and adding nodes never changes existing keys. These keys are for
// simulations and testnets only: anyone who knows the seed knows them all.
func KeyFor(seed uint64, id protocol.NodeID) ed25519.PrivateKey {
	var s [ed25519.SeedSize]byte
	for i := range 4 {
		binary.LittleEndian.PutUint64(s[8*i:], protocol.DeriveSeed(seed, keyDomain, 4*uint64(id)+uint64(i)))
	}
	return ed25519.NewKeyFromSeed(s[:])
}

// GenesisFor returns genesis accounts for nodes 0…n−1 of a run, each with
// the given balance and stake, keyed by KeyFor(seed, id).
func GenesisFor(seed uint64, n int, balance, stake uint64) []Account {
	out := make([]Account, n)
	for i := range out {
		out[i] = Account{Address: AddressOf(KeyFor(seed, protocol.NodeID(i))), Balance: balance, Stake: stake}
	}
	return out
}
