// Package seal is end-to-end encrypted work: a job's inputs sealed to the
// providers that run it, its results sealed to the requester, so that the
// committee, validators and relays carry only ciphertext and commitments.
//
// An Envelope is age-like envelope encryption: the payload is sealed once
// under a fresh data key with ChaCha20-Poly1305, and the data key is
// wrapped for each recipient by an ephemeral-static X25519 agreement
// (HKDF-SHA-256 to a key-encryption key, ChaCha20-Poly1305 again). A
// holder of the data key can Grant it to another key later — a spot
// checker or a replica drawn after the job was posted — without sealing
// the payload again.
//
// Verification keeps working on ciphertext: every executor that holds the
// data key commits to its plaintext result with Commit, an HMAC keyed by
// the data key, so replicas' commitments agree exactly when their outputs
// do, a spot checker re-executes under its own key and compares, and
// those who only compare commitments (the committee) learn nothing of the
// result, not even by guessing it.
//
// Randomness is passed in (an io.Reader): a seeded stream in the
// simulator, crypto/rand live. Cost is the measured price per byte and
// per key, for a simulator to charge.
//
//	priv, pub, _ := seal.GenerateKey(entropy)
//	env, _ := seal.Seal(entropy, input, ad, providerPub, requesterPub)
//	in, dataKey, _ := seal.Open(providerPriv, env, ad)
//	c := seal.Commit(dataKey, unit, output)          // what the provider commits on chain
//	res, _ := seal.Seal(entropy, output, ad, requesterPub)
package seal

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// Key is an X25519 private or public key.
type Key [32]byte

// DataKey is an envelope's payload key.
type DataKey [chacha20poly1305.KeySize]byte

// Errors.
var (
	ErrNotRecipient = errors.New("seal: no wrap of the data key opens with this key")
	ErrCorrupt      = errors.New("seal: payload does not authenticate")
)

// GenerateKey draws a key pair from entropy.
func GenerateKey(entropy io.Reader) (private, public Key, err error) {
	if _, err = io.ReadFull(entropy, private[:]); err != nil {
		return private, public, err
	}
	return private, PublicOf(private), nil
}

// PublicOf is a private key's public key.
func PublicOf(private Key) Key {
	k, err := ecdh.X25519().NewPrivateKey(private[:])
	if err != nil {
		panic(err) // every 32-byte string is an X25519 private key
	}
	return Key(k.PublicKey().Bytes())
}

// Wrap is the data key wrapped for one recipient: an ephemeral public key
// and the data key sealed under the agreement of its private half with
// the recipient's key.
type Wrap struct {
	Recipient Key
	Ephemeral Key
	Sealed    [chacha20poly1305.KeySize + chacha20poly1305.Overhead]byte
}

// WrapSize is a Wrap's size on the wire.
const WrapSize = 32 + 32 + chacha20poly1305.KeySize + chacha20poly1305.Overhead

// Envelope is a sealed payload and the wraps of its data key.
type Envelope struct {
	Wraps      []Wrap
	Ciphertext []byte // the payload and its 16-byte tag
}

// Size is the envelope's size on the wire: what it adds to the payload is
// Overhead(len(Wraps)).
func (e *Envelope) Size() int { return len(e.Ciphertext) + WrapSize*len(e.Wraps) + 2 }

// Overhead is the bytes an envelope for n recipients adds to its payload:
// the tag, n wraps and two length bytes.
func Overhead(n int) int { return chacha20poly1305.Overhead + WrapSize*n + 2 }

const (
	tagWrap   = "dais/seal/v1/wrap"
	tagCommit = "dais/seal/v1/commit"
)

// zeroNonce: every data key and every key-encryption key seals exactly
// one message, so a fixed nonce never repeats under one key.
var zeroNonce [chacha20poly1305.NonceSize]byte

// Seal seals payload to the recipients under a fresh data key; ad is
// authenticated with it (a job and unit ID), not encrypted.
func Seal(entropy io.Reader, payload, ad []byte, to ...Key) (*Envelope, DataKey, error) {
	var dk DataKey
	if _, err := io.ReadFull(entropy, dk[:]); err != nil {
		return nil, dk, err
	}
	aead, _ := chacha20poly1305.New(dk[:])
	e := &Envelope{Ciphertext: aead.Seal(make([]byte, 0, len(payload)+chacha20poly1305.Overhead), zeroNonce[:], payload, ad)}
	for _, r := range to {
		w, err := Grant(entropy, dk, r)
		if err != nil {
			return nil, dk, err
		}
		e.Wraps = append(e.Wraps, w)
	}
	return e, dk, nil
}

// Grant wraps a data key for one more recipient.
func Grant(entropy io.Reader, dk DataKey, to Key) (Wrap, error) {
	w := Wrap{Recipient: to}
	var eph Key
	if _, err := io.ReadFull(entropy, eph[:]); err != nil {
		return w, err
	}
	k, err := ecdh.X25519().NewPrivateKey(eph[:])
	if err != nil {
		return w, err
	}
	w.Ephemeral = Key(k.PublicKey().Bytes())
	kek, err := wrapKey(k, to, w.Ephemeral, to)
	if err != nil {
		return w, err
	}
	aead, _ := chacha20poly1305.New(kek)
	aead.Seal(w.Sealed[:0], zeroNonce[:], dk[:], to[:])
	return w, nil
}

// wrapKey derives the key-encryption key of the agreement of k with
// peer, bound to the ephemeral key and the recipient's: sender and
// recipient derive the same.
func wrapKey(k *ecdh.PrivateKey, peer, ephemeral, recipient Key) ([]byte, error) {
	p, err := ecdh.X25519().NewPublicKey(peer[:])
	if err != nil {
		return nil, err
	}
	shared, err := k.ECDH(p)
	if err != nil {
		return nil, fmt.Errorf("seal: key agreement: %w", err)
	}
	return hkdf.Key(sha256.New, shared, append(ephemeral[:], recipient[:]...), tagWrap, chacha20poly1305.KeySize)
}

// Unwrap recovers the data key from the wrap addressed to private's key.
func Unwrap(private Key, e *Envelope) (DataKey, error) {
	var dk DataKey
	k, err := ecdh.X25519().NewPrivateKey(private[:])
	if err != nil {
		return dk, err
	}
	pub := Key(k.PublicKey().Bytes())
	for _, w := range e.Wraps {
		if w.Recipient != pub {
			continue
		}
		kek, err := wrapKey(k, w.Ephemeral, w.Ephemeral, pub)
		if err != nil {
			return dk, err
		}
		aead, _ := chacha20poly1305.New(kek)
		if _, err := aead.Open(dk[:0], zeroNonce[:], w.Sealed[:], pub[:]); err != nil {
			return dk, ErrCorrupt
		}
		return dk, nil
	}
	return dk, ErrNotRecipient
}

// Open unwraps the data key with private and opens the payload.
func Open(private Key, e *Envelope, ad []byte) ([]byte, DataKey, error) {
	dk, err := Unwrap(private, e)
	if err != nil {
		return nil, dk, err
	}
	p, err := OpenWith(dk, e, ad)
	return p, dk, err
}

// OpenWith opens the payload with a data key already held.
func OpenWith(dk DataKey, e *Envelope, ad []byte) ([]byte, error) {
	aead, _ := chacha20poly1305.New(dk[:])
	p, err := aead.Open(nil, zeroNonce[:], e.Ciphertext, ad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return p, nil
}

// Commitment is what an executor publishes for a plaintext result.
type Commitment [32]byte

// Commit is the commitment to a unit's plaintext result under the job's
// data key: HMAC-SHA-256 over the unit and the result. Deterministic, so
// replicas agree exactly when their outputs do; keyed, so that without
// the data key a commitment neither reveals the result nor can be tested
// against a guess.
func Commit(dk DataKey, unit uint32, result []byte) Commitment {
	k := hmac.New(sha256.New, dk[:])
	k.Write([]byte(tagCommit))
	k.Write(binary.BigEndian.AppendUint32(nil, unit))
	k.Write(result)
	var c Commitment
	k.Sum(c[:0])
	return c
}
