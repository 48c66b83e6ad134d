package market

import (
	"encoding/binary"
	"fmt"

	"github.com/dais-sim/dais/protocol/wire"
)

// The market's messages use wire's frame (version, kind, body); a body is
// its fields in order: integers as canonical uvarints, hashes and job IDs
// as their fixed bytes, kinds and flags as one byte, lists with a uvarint
// count. reader is wire.Reader with the fixed-size fields added.

type reader struct {
	b   []byte
	err error
}

func newReader(b []byte) *reader { return &reader{b: b} }

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.fail(wire.ErrShort)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) fixed(p []byte) {
	if r.err != nil {
		return
	}
	if len(r.b) < len(p) {
		r.fail(wire.ErrShort)
		return
	}
	copy(p, r.b)
	r.b = r.b[len(p):]
}

func (r *reader) u64() uint64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(wire.ErrShort)
		return 0
	}
	if n != wire.UvarintSize(x) {
		r.fail(wire.ErrNonCanonical)
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) bounded(max uint64, what string) uint64 {
	x := r.u64()
	if x > max {
		r.fail(fmt.Errorf("%w: %s %d > %d", wire.ErrTooLarge, what, x, max))
		return 0
	}
	return x
}

func (r *reader) u32() uint32 { return uint32(r.bounded(1<<32-1, "32-bit field")) }
func (r *reader) i63() int64  { return int64(r.bounded(1<<63-1, "63-bit field")) }

func (r *reader) flag() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail(fmt.Errorf("%w: flag byte not 0 or 1", wire.ErrTooLarge))
	return false
}

func (r *reader) done() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return wire.ErrTrailing
	}
	return nil
}

func appendU(b []byte, xs ...uint64) []byte {
	for _, x := range xs {
		b = binary.AppendUvarint(b, x)
	}
	return b
}

func sizeU(xs ...uint64) int {
	n := 0
	for _, x := range xs {
		n += wire.UvarintSize(x)
	}
	return n
}

func appendFlag(b []byte, f bool) []byte {
	if f {
		return append(b, 1)
	}
	return append(b, 0)
}
