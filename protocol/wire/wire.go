// Package wire defines the messages nodes exchange and their canonical
// binary encoding. The encoding is the one place a message's size comes
// from: the network model charges WireSize bytes, and live mode sends
// exactly Encode's output, so the two cannot drift (wire_test.go holds every
// registered kind to it).
//
// A frame is: version byte, kind as uvarint, body. A body is the message's
// fields in declaration order, integers as uvarints, byte strings length-prefixed.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Version is the codec version written in every frame.
const Version = 1

// Kind identifies a message type on the wire. Kinds are assigned once and
// never reused; each protocol package registers its own.
type Kind uint16

// Topic names a gossip topic.
type Topic string

// Msg is a message with a canonical encoding.
type Msg interface {
	// Kind is the registered kind of the message.
	Kind() Kind
	// AppendBody appends the canonical encoding of the body to b.
	AppendBody(b []byte) []byte
	// WireSize is len(Encode(m)), computed without encoding.
	WireSize() int
}

// Errors returned by Decode.
var (
	ErrShort       = errors.New("wire: message truncated")
	ErrVersion     = errors.New("wire: unknown codec version")
	ErrUnknownKind = errors.New("wire: unknown message kind")
	ErrTrailing    = errors.New("wire: trailing bytes after message")
	ErrTooLarge    = errors.New("wire: field larger than its limit")
	// ErrNonCanonical rejects varints with redundant bytes: each message has
	// exactly one encoding, so its hash and size are unique.
	ErrNonCanonical = errors.New("wire: non-canonical varint")
)

// DecodeFunc decodes a body. It must reject trailing bytes (Reader.Done does).
type DecodeFunc func(body []byte) (Msg, error)

type registration struct {
	name   string
	decode DecodeFunc
}

// registry is written only from init functions, before any driver runs.
var registry = map[Kind]registration{}

// Register makes a kind decodable. It panics if the kind is taken, so two
// packages cannot claim one number.
func Register(k Kind, name string, decode DecodeFunc) {
	if r, ok := registry[k]; ok {
		panic(fmt.Sprintf("wire: kind %d registered twice (%s, %s)", k, r.name, name))
	}
	registry[k] = registration{name: name, decode: decode}
}

// Kinds returns the registered kinds in ascending order.
func Kinds() []Kind {
	ks := make([]Kind, 0, len(registry))
	for k := range registry {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

// Name returns the registered name of a kind, or "kind(N)".
func Name(k Kind) string {
	if r, ok := registry[k]; ok {
		return r.name
	}
	return fmt.Sprintf("kind(%d)", k)
}

// HeaderSize is the size of a frame's header for kind k.
func HeaderSize(k Kind) int { return 1 + UvarintSize(uint64(k)) }

// Encode returns the canonical frame of m.
func Encode(m Msg) []byte { return Append(make([]byte, 0, m.WireSize()), m) }

// Append appends the canonical frame of m to b.
func Append(b []byte, m Msg) []byte {
	b = append(b, Version)
	b = binary.AppendUvarint(b, uint64(m.Kind()))
	return m.AppendBody(b)
}

// Decode parses one frame. Malformed input returns an error, never panics.
func Decode(frame []byte) (Msg, error) {
	if len(frame) < 2 {
		return nil, ErrShort
	}
	if frame[0] != Version {
		return nil, fmt.Errorf("%w %d", ErrVersion, frame[0])
	}
	k, n := binary.Uvarint(frame[1:])
	if n <= 0 {
		return nil, ErrShort
	}
	if n != UvarintSize(k) {
		return nil, ErrNonCanonical
	}
	r, ok := registry[Kind(k)]
	if !ok || k > 0xffff {
		return nil, fmt.Errorf("%w %d", ErrUnknownKind, k)
	}
	m, err := r.decode(frame[1+n:])
	if err != nil {
		return nil, fmt.Errorf("wire: decoding %s: %w", r.name, err)
	}
	return m, nil
}

// UvarintSize is the encoded size of x as a uvarint.
func UvarintSize(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// BytesSize is the encoded size of a length-prefixed byte string of n bytes.
func BytesSize(n int) int { return UvarintSize(uint64(n)) + n }

// AppendBytes appends a length-prefixed byte string.
func AppendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// Reader reads a body field by field. The first error sticks; later reads
// return zero values, so a decoder checks Done once at the end.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads from body.
func NewReader(body []byte) *Reader { return &Reader{b: body} }

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrShort
		return 0
	}
	if n != UvarintSize(x) {
		r.err = ErrNonCanonical
		return 0
	}
	r.b = r.b[n:]
	return x
}

// Varint reads a signed (zig-zag) varint.
func (r *Reader) Varint() int64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = ErrShort
		return 0
	}
	if ux := uint64(x) << 1; n != UvarintSize(ux^uint64(x>>63)) {
		r.err = ErrNonCanonical
		return 0
	}
	r.b = r.b[n:]
	return x
}

// Bytes reads a length-prefixed byte string of at most max bytes. The result
// aliases the input.
func (r *Reader) Bytes(max int) []byte {
	n := r.Uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(max) {
		r.err = fmt.Errorf("%w: %d > %d bytes", ErrTooLarge, n, max)
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = ErrShort
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

// Done returns the first error, or ErrTrailing if bytes are left.
func (r *Reader) Done() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return ErrTrailing
	}
	return nil
}
