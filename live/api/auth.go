package api

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/dais-sim/dais/live/api/gen/daisv1"
	"github.com/dais-sim/dais/protocol/chain"
)

// Authed is a request that carries an Auth: every request of the API.
type Authed interface {
	proto.Message
	GetAuth() *daisv1.Auth
}

// authDomain separates the API's signatures from every other use of an
// account's key (transactions sign with another prefix).
const authDomain = "dais/api/v1\x00"

// NonceSize is the length of Auth.nonce.
const NonceSize = 16

// signedBytes is what an Auth signs: the domain, the method's full name
// (/dais.v1.NodeService/GetJob), the signing time, the nonce and the
// SHA-256 of the request's deterministic encoding with its auth cleared.
func signedBytes(procedure string, ms int64, nonce []byte, req Authed) ([]byte, error) {
	c := proto.Clone(req)
	c.ProtoReflect().Clear(c.ProtoReflect().Descriptor().Fields().ByName("auth"))
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	b := make([]byte, 0, len(authDomain)+len(procedure)+1+8+len(sum))
	b = append(b, authDomain...)
	b = append(b, procedure...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(ms))
	b = append(b, nonce...)
	return append(b, sum[:]...), nil
}

// SignRequest sets req's auth: key signs procedure (the generated
// daisv1connect.NodeService…Procedure constant), the time now and the
// request. It sets the auth field through reflection, so it works on every
// request type of the API.
func SignRequest(key ed25519.PrivateKey, procedure string, now time.Time, req Authed) error {
	ms := now.UnixMilli()
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	msg, err := signedBytes(procedure, ms, nonce, req)
	if err != nil {
		return err
	}
	auth := &daisv1.Auth{PublicKey: key.Public().(ed25519.PublicKey), SignedUnixMs: ms, Signature: ed25519.Sign(key, msg), Nonce: nonce}
	m := req.ProtoReflect()
	m.Set(m.Descriptor().Fields().ByName("auth"), protoreflect.ValueOfMessage(auth.ProtoReflect()))
	return nil
}

// Errors Verify returns; each is refused with CodeUnauthenticated.
var (
	ErrNoAuth       = errors.New("api: the request carries no auth")
	ErrBadKey       = errors.New("api: auth.public_key is not a 32-byte ed25519 key")
	ErrBadSignature = errors.New("api: auth.signature does not verify for this request, method and time")
	ErrStale        = errors.New("api: auth.signed_unix_ms is outside the node's window")
	ErrReplayed     = errors.New("api: this signature was already used")
)

// Verifier checks requests' auth and remembers the signatures it accepted
// within the window, so a captured request cannot be sent again. It is
// safe for concurrent use.
type Verifier struct {
	// Window is how far a request's signing time may be from Now (5
	// minutes if 0).
	Window time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time

	mu    sync.Mutex
	seen  map[[32]byte]int64 // signature hash → signing time, ms
	sweep int64
}

// Verify checks req's auth for procedure and returns the asker's account.
func (v *Verifier) Verify(procedure string, req Authed) (chain.Address, error) {
	a := req.GetAuth()
	if a == nil {
		return chain.Address{}, ErrNoAuth
	}
	if len(a.PublicKey) != ed25519.PublicKeySize {
		return chain.Address{}, ErrBadKey
	}
	window := v.Window
	if window <= 0 {
		window = 5 * time.Minute
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	nowMs := now().UnixMilli()
	if d := nowMs - a.SignedUnixMs; d > window.Milliseconds() || -d > window.Milliseconds() {
		return chain.Address{}, fmt.Errorf("%w (%s from the node's clock; the window is ±%v)", ErrStale, time.Duration(d)*time.Millisecond, window)
	}
	if len(a.Nonce) != NonceSize {
		return chain.Address{}, fmt.Errorf("%w: auth.nonce has %d bytes, want %d", ErrBadSignature, len(a.Nonce), NonceSize)
	}
	msg, err := signedBytes(procedure, a.SignedUnixMs, a.Nonce, req)
	if err != nil {
		return chain.Address{}, err
	}
	if len(a.Signature) != ed25519.SignatureSize || !ed25519.Verify(a.PublicKey, msg, a.Signature) {
		return chain.Address{}, ErrBadSignature
	}
	key := sha256.Sum256(a.Signature)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[[32]byte]int64{}
	}
	if _, dup := v.seen[key]; dup {
		return chain.Address{}, ErrReplayed
	}
	v.seen[key] = a.SignedUnixMs
	// Forget signatures that have left the window: they are refused as
	// stale from now on, so the map holds one window's requests.
	if nowMs-v.sweep > window.Milliseconds() {
		for k, ms := range v.seen {
			if nowMs-ms > window.Milliseconds() {
				delete(v.seen, k)
			}
		}
		v.sweep = nowMs
	}
	var pk chain.PubKey
	copy(pk[:], a.PublicKey)
	return pk.Address(), nil
}
