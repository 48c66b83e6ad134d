package govern

import (
	"encoding/binary"
	"fmt"

	"github.com/dais-sim/dais/protocol/wire"
)

// A proposal travels in a ledger transaction as an opaque body
// (chain.Proposal.Body); the proposer and deposit come from the
// transaction. The body's canonical encoding is
//
//	version (1 byte, 1) ‖ activation (uvarint) ‖ count (uvarint) ‖
//	count × (key (uvarint length ‖ bytes) ‖ value (zig-zag varint))
//
// with the changes in strictly ascending key order, so that one body has
// one encoding.

const bodyVersion = 1

// maxKeyBytes bounds a parameter key in a body.
const maxKeyBytes = 128

// Body is what a proposal transaction carries.
type Body struct {
	Activation uint64
	Changes    []Change
}

// Encode returns the canonical encoding; the changes are written in key
// order whatever their order in b.
func (b Body) Encode() []byte {
	cs := make([]Change, len(b.Changes))
	copy(cs, b.Changes)
	sortChanges(cs)
	p := []byte{bodyVersion}
	p = binary.AppendUvarint(p, b.Activation)
	p = binary.AppendUvarint(p, uint64(len(cs)))
	for _, c := range cs {
		p = wire.AppendBytes(p, []byte(c.Key))
		p = binary.AppendVarint(p, c.Value)
	}
	return p
}

// DecodeBody reads a body from untrusted bytes. It accepts only the
// canonical encoding of at most MaxChanges changes with distinct keys; it
// does not check keys against a registry (Submit does).
func DecodeBody(p []byte) (Body, error) {
	if len(p) == 0 || p[0] != bodyVersion {
		return Body{}, fmt.Errorf("%w: not a version %d body", ErrBody, bodyVersion)
	}
	r := wire.NewReader(p[1:])
	b := Body{Activation: r.Uvarint()}
	n := r.Uvarint()
	if n > MaxChanges {
		return Body{}, fmt.Errorf("%w: %d changes, at most %d", ErrBody, n, MaxChanges)
	}
	for range n {
		k := string(r.Bytes(maxKeyBytes))
		b.Changes = append(b.Changes, Change{Key: k, Value: r.Varint()})
	}
	if err := r.Done(); err != nil {
		return Body{}, fmt.Errorf("%w: %v", ErrBody, err)
	}
	for i := 1; i < len(b.Changes); i++ {
		if b.Changes[i-1].Key >= b.Changes[i].Key {
			return Body{}, fmt.Errorf("%w: keys out of order or repeated at %q", ErrBody, b.Changes[i].Key)
		}
	}
	return b, nil
}
