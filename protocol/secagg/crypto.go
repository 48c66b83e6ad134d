package secagg

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"

	"golang.org/x/crypto/chacha20poly1305"
)

// Key is a key-agreement key: a private scalar or a public point, 32 bytes.
type Key [32]byte

// KeyAgreement is the Diffie–Hellman the protocol runs. X25519 is the one
// dais uses; the interface exists so that a test can run the protocol's
// arithmetic for 1,000 parties without 10⁶ scalar multiplications (see
// the package tests).
type KeyAgreement interface {
	// Private is the private key of 32 secret bytes.
	Private(secret Key) PrivateKey
}

// PrivateKey is a key-agreement private key.
type PrivateKey interface {
	// Public is its public key.
	Public() Key
	// Shared is the secret two parties agree on: a.Shared(b.Public()) =
	// b.Shared(a.Public()). An error means the peer's key is unusable.
	Shared(peer Key) (Key, error)
}

// X25519 is RFC 7748's key agreement, from crypto/ecdh.
type X25519 struct{}

// Private implements KeyAgreement.
func (X25519) Private(secret Key) PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey(secret[:])
	if err != nil {
		panic(err) // every 32-byte string is an X25519 private key
	}
	return x25519Key{k}
}

type x25519Key struct{ k *ecdh.PrivateKey }

func (k x25519Key) Public() Key { return Key(k.k.PublicKey().Bytes()) }

func (k x25519Key) Shared(peer Key) (Key, error) {
	p, err := ecdh.X25519().NewPublicKey(peer[:])
	if err != nil {
		return Key{}, err
	}
	s, err := k.k.ECDH(p) // fails on a low-order point (an all-zero secret)
	if err != nil {
		return Key{}, fmt.Errorf("secagg: key agreement: %w", err)
	}
	return Key(s), nil
}

// Domain tags keep every hash of the protocol apart.
const (
	tagKey   = "dais/secagg/v1/key"
	tagSelf  = "dais/secagg/v1/self-mask"
	tagPair  = "dais/secagg/v1/pair-mask"
	tagShare = "dais/secagg/v1/share-key"
)

// derive hashes a tag, a round and parts into 32 bytes.
func derive(tag string, round uint64, parts ...[]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(tag))
	h.Write(binary.BigEndian.AppendUint64(nil, round))
	for _, p := range parts {
		h.Write(p)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func (s Secret) bytes() []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, s[0]), s[1])
}

// privateOf is the key-agreement private key a shared seed stands for:
// the seed is what is Shamir-shared, so that the coordinator can rebuild
// a dropped client's key from t shares.
func privateOf(seed Secret, round uint64) Key { return derive(tagKey, round, seed.bytes()) }

// words reads 64-bit words from r; the first read error sticks in *err.
func words(r io.Reader, err *error) func() uint64 {
	var b [8]byte
	return func() uint64 {
		if _, e := io.ReadFull(r, b[:]); e != nil && *err == nil {
			*err = e
		}
		return binary.BigEndian.Uint64(b[:])
	}
}

// newSecret draws a secret from r.
func newSecret(r io.Reader) (Secret, error) {
	var err error
	draw := words(r, &err)
	s := Secret{element(draw), element(draw)}
	return s, err
}

// mask adds (sign +1) or subtracts the PRG expansion of seed to v:
// ChaCha8, the stdlib's cryptographically strong generator, one 64-bit
// word per coordinate of the ring Z_2⁶⁴.
func mask(v []uint64, seed [32]byte, sign int) {
	g := rand.NewChaCha8(seed)
	var buf [4096]byte // ChaCha8's bulk Read is several times faster than a Uint64 a word
	for len(v) > 0 {
		k := min(len(v), len(buf)/8)
		g.Read(buf[:8*k])
		if sign > 0 {
			for i := range v[:k] {
				v[i] += binary.LittleEndian.Uint64(buf[8*i:])
			}
		} else {
			for i := range v[:k] {
				v[i] -= binary.LittleEndian.Uint64(buf[8*i:])
			}
		}
		v = v[k:]
	}
}

// pairSeed is the seed of the mask two clients share: the hash of their
// agreed secret.
func pairSeed(shared Key, round uint64) [32]byte { return derive(tagPair, round, shared[:]) }

func selfSeed(b Secret, round uint64) [32]byte { return derive(tagSelf, round, b.bytes()) }

// The shares a client deals to a peer travel through the coordinator
// encrypted: ChaCha20-Poly1305 under a key from the two clients'
// agreement of their c keys (HKDF-SHA-256), the nonce naming the sender
// (both directions share the key), the sender, receiver and round
// authenticated.

// sealedShareSize is a ciphertext: the two shares (32 bytes) and the tag.
const sealedShareSize = 4*8 + chacha20poly1305.Overhead

func shareKey(shared Key, round uint64) ([]byte, error) {
	var info [8]byte
	binary.BigEndian.PutUint64(info[:], round)
	return hkdf.Key(sha256.New, shared[:], nil, tagShare+string(info[:]), chacha20poly1305.KeySize)
}

func shareAD(round uint64, from, to ID) []byte {
	b := binary.BigEndian.AppendUint64(nil, round)
	b = binary.BigEndian.AppendUint32(b, uint32(from))
	return binary.BigEndian.AppendUint32(b, uint32(to))
}

func shareNonce(from ID) []byte {
	n := make([]byte, chacha20poly1305.NonceSize)
	binary.BigEndian.PutUint32(n[8:], uint32(from))
	return n
}

// sealShares encrypts the shares of s and b that from deals to to.
func sealShares(key []byte, round uint64, from, to ID, s, b Share) []byte {
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		panic(err) // the key is KeySize bytes
	}
	pt := make([]byte, 0, 32)
	for _, x := range [...]uint64{s[0], s[1], b[0], b[1]} {
		pt = binary.BigEndian.AppendUint64(pt, x)
	}
	return aead.Seal(nil, shareNonce(from), pt, shareAD(round, from, to))
}

var errShare = errors.New("secagg: a share does not decrypt or is out of the field")

// openShares decrypts what from dealt to to.
func openShares(key []byte, round uint64, from, to ID, ct []byte) (s, b Share, err error) {
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return s, b, err
	}
	pt, err := aead.Open(nil, shareNonce(from), ct, shareAD(round, from, to))
	if err != nil || len(pt) != 32 {
		return s, b, errShare
	}
	for i, p := range []*uint64{&s[0], &s[1], &b[0], &b[1]} {
		if *p = binary.BigEndian.Uint64(pt[8*i:]); *p >= prime {
			return s, b, errShare
		}
	}
	return s, b, nil
}
