package chain

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Decoder limits. They bound what a peer can make a node allocate before any
// rule is checked; the ledger's Params are usually stricter.
const (
	// MaxTxBytes is the largest transaction any ledger accepts.
	MaxTxBytes = 256 << 10
	// MaxBlockTxs bounds a block's transaction count.
	MaxBlockTxs = 1 << 18
	// MaxSpecBytes, MaxEvidenceBytes and MaxProposalBytes bound the opaque
	// fields of job posts, slashes and proposals.
	MaxSpecBytes     = 4 << 10
	MaxEvidenceBytes = 64 << 10
	MaxProposalBytes = 16 << 10
)

// The codec is CBOR (RFC 8949) in Core Deterministic Encoding: shortest
// integer forms, definite lengths, sorted map keys. Structs are encoded as
// arrays (toarray), so a message is its fields in declaration order with no
// key names. Decoding is strict: duplicate map keys, unknown fields,
// indefinite lengths and tags are errors, and every decoded item is
// re-encoded and compared with its input, because the CBOR decoder accepts
// non-shortest integers; so each value has exactly one accepted encoding,
// and its hash and wire size are unique.
var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	eo := cbor.CoreDetEncOptions()
	eo.NilContainers = cbor.NilContainerAsEmpty // nil and empty encode alike
	eo.ByteArray = cbor.ByteArrayToByteSlice    // [20]byte is a byte string
	var err error
	if encMode, err = eo.EncMode(); err != nil {
		panic(fmt.Sprintf("chain: encoder options: %v", err))
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   8,
		MaxArrayElements:  MaxBlockTxs,
		MaxMapPairs:       16,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("chain: decoder options: %v", err))
	}
}

// marshal encodes v canonically. The chain's types always encode, so an
// error is a programming error.
func marshal(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("chain: encoding %T: %v", v, err))
	}
	return b
}

// unmarshalCanonical decodes data into v and checks that v encodes back to
// exactly data.
func unmarshalCanonical(data []byte, v any) error {
	if err := decMode.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if enc := marshal(v); string(enc) != string(data) {
		return fmt.Errorf("%w: %T", ErrNonCanonical, v)
	}
	return nil
}

// bstrHeadSize is the size of a CBOR byte string's head for n bytes.
func bstrHeadSize(n int) int {
	switch {
	case n < 24:
		return 1
	case n < 1<<8:
		return 2
	case n < 1<<16:
		return 3
	case n < 1<<32:
		return 5
	}
	return 9
}
