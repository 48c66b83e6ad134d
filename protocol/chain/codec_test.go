package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/dais-sim/dais/protocol/wire"
)

// sampleTxs has one signed transaction of every type, edge values included.
func sampleTxs() []*Tx {
	k := KeyFor(testSeed, 0)
	to := AddressOf(KeyFor(testSeed, 1))
	job := JobIDFor(AddressOf(k), 3)
	return []*Tx{
		Sign(k, NewTransfer(0, 1, to, 1)),
		Sign(k, NewTransfer(1<<64-1, 1<<64-1, to, 1<<64-1)),
		Sign(k, NewStake(2, 500, 5*Token)),
		Sign(k, NewUnstake(3, 500, 1)),
		Sign(k, NewJobPost(4, 900, 100*Token, []byte("resnet-50, 10 epochs"))),
		Sign(k, NewJobPost(5, 900, 1, nil)),
		Sign(k, NewResultCommit(6, 700, job, 1<<32-1, sha256.Sum256([]byte("weights")))),
		Sign(k, NewSlash(7, 2000, to, bytes.Repeat([]byte{0xee}, 300))),
		Sign(k, NewProposal(8, 2000, []byte("raise the block reward to 2 tokens"))),
		Sign(k, NewVote(9, 300, 1, VoteNo)),
		NewReward(12, to, Token),
	}
}

func TestTxRoundTrip(t *testing.T) {
	for i, tx := range sampleTxs() {
		enc := tx.Encoded()
		got, err := DecodeTx(enc)
		if err != nil {
			t.Fatalf("sample %d (%s): %v", i, tx.Type, err)
		}
		if !reflect.DeepEqual(got, tx) {
			t.Errorf("sample %d (%s): round trip gave %+v, want %+v", i, tx.Type, got, tx)
		}
		if !bytes.Equal(got.Encoded(), enc) || got.Hash() != tx.Hash() {
			t.Errorf("sample %d: re-encoding differs", i)
		}
		frame := wire.Encode(tx)
		if tx.WireSize() != len(frame) {
			t.Errorf("sample %d: WireSize %d, frame %d bytes", i, tx.WireSize(), len(frame))
		}
		m, err := wire.Decode(frame)
		if err != nil || m.(*Tx).Hash() != tx.Hash() {
			t.Errorf("sample %d: wire round trip: %v", i, err)
		}
		if tx.Type != TxReward {
			if err := got.verify(); err != nil {
				t.Errorf("sample %d: decoded signature: %v", i, err)
			}
		}
	}
}

// The encoding is a pure function of the transaction: a golden copy pins it
// across runs, machines and library versions (ed25519 signatures are
// deterministic, so the signature is part of it).
func TestTxEncodingGolden(t *testing.T) {
	tx := Sign(KeyFor(1, 2), NewTransfer(7, 2500, Address{1, 2, 3}, 3*Token))
	const golden = "86015820bb07844912f3875179b1e9d142a7237e544d6a5e9878d01522037665b9add55f071909c4825401020300000000000000000000000000000000001ab2d05e005840309a0061b36559f59787b38d88baff1dc94ef03d3000d8e47f09dcd0474b9d4a2eaeb9e96c8f1dafbeff1daca96a50956eaad9ec1798e93e37a1bdef5f29a30b"
	got := hex.EncodeToString(tx.Encoded())
	if got != golden {
		t.Errorf("encoding changed:\n got %s\nwant %s", got, golden)
	}
	for range 50 {
		again := Sign(KeyFor(1, 2), NewTransfer(7, 2500, Address{1, 2, 3}, 3*Token))
		if !bytes.Equal(again.Encoded(), tx.Encoded()) {
			t.Fatal("signing the same transaction twice gave different bytes")
		}
	}
}

func TestBlockRoundTrip(t *testing.T) {
	txs := sampleTxs()
	for _, b := range []*Block{
		NewBlock(Header{}, nil),
		NewBlock(Header{Height: 1<<64 - 1, Prev: Hash{9}, Time: 1<<63 - 1, Proposer: 1<<32 - 1, TxRoot: TxRoot(txs), StateRoot: Hash{7}}, txs),
		NewBlock(Header{Height: 3, Time: -5}, txs[:1]),
	} {
		enc := b.Encoded()
		got, err := DecodeBlock(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Errorf("round trip gave %+v, want %+v", got, b)
		}
		if b.WireSize() != len(wire.Encode(b)) {
			t.Errorf("WireSize %d, frame %d", b.WireSize(), len(wire.Encode(b)))
		}
		if got.Hash() != sha256.Sum256(enc) {
			t.Error("block hash is not SHA-256 of its encoding")
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	tx := sampleTxs()[0]
	enc := tx.Encoded()
	reward := NewReward(3, Address{1}, 5)
	withSig := *reward
	withSig.Sig, withSig.enc = make([]byte, 64), nil
	badType := *tx
	badType.Type, badType.enc = 99, nil
	shortSig := *tx
	shortSig.Sig, shortSig.enc = tx.Sig[:63], nil
	badPayload := *tx
	badPayload.Payload, badPayload.enc = marshal(Stake{Amount: 5}), nil // a stake payload in a transfer
	// A payload whose integer is not in shortest form: [to, 0x1b 00…01].
	longInt := *tx
	p := append([]byte(nil), tx.Payload[:len(tx.Payload)-1]...)
	p = append(p, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1)
	longInt.Payload, longInt.enc = p, nil

	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"truncated", enc[:len(enc)-1], ErrMalformed},
		{"trailing", append(append([]byte{}, enc...), 0), ErrMalformed},
		{"not an array", []byte{0x01}, ErrMalformed},
		{"five fields", append([]byte{0x85}, enc[1:len(enc)-66]...), ErrMalformed},
		{"non-shortest nonce", append(append([]byte{0x86, 0x01}, enc[2:36]...), append([]byte{0x18, 0x00}, enc[37:]...)...), ErrNonCanonical},
		{"indefinite array", append(append([]byte{0x9f}, enc[1:]...), 0xff), ErrMalformed},
		{"tagged", append([]byte{0xc1}, enc...), ErrMalformed},
		{"unknown type", marshal((*txFields)(&badType)), ErrUnknownKind},
		{"short signature", marshal((*txFields)(&shortSig)), ErrMalformed},
		{"reward with a signature", marshal((*txFields)(&withSig)), ErrMalformed},
		{"payload of another type", marshal((*txFields)(&badPayload)), ErrMalformed},
		{"non-canonical payload", marshal((*txFields)(&longInt)), ErrNonCanonical},
		{"huge", make([]byte, MaxTxBytes+1), ErrTxTooLarge},
	} {
		if _, err := DecodeTx(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}

	b := NewBlock(Header{Height: 1}, []*Tx{tx}).Encoded()
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"truncated", b[:len(b)-1], ErrMalformed},
		{"trailing", append(append([]byte{}, b...), 0), ErrMalformed},
		{"null tx", append(append([]byte{}, b[:len(b)-len(enc)]...), 0xf6), ErrMalformed},
		{"bad tx inside", append(append([]byte{}, b[:len(b)-len(enc)]...), marshal((*txFields)(&badType))...), ErrUnknownKind},
		{"three fields", append([]byte{0x83}, append(b[1:], 0x00)...), ErrMalformed},
	} {
		if _, err := DecodeBlock(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("block %s: error %v, want %v", tc.name, err, tc.want)
		}
	}
}

// A signature covers every byte but its own: flipping any bit of the signed
// part makes the transaction undecodable or its signature invalid.
func TestSignatureCoversEveryField(t *testing.T) {
	tx := sampleTxs()[4]
	enc := tx.Encoded()
	signed := len(tx.signedPart())
	for i := range signed {
		for _, bit := range []byte{0x01, 0x80} {
			b := append([]byte(nil), enc...)
			b[i] ^= bit
			got, err := DecodeTx(b)
			if err != nil {
				continue
			}
			if got.verify() == nil {
				t.Fatalf("flipping bit %#x of byte %d left a valid signature", bit, i)
			}
		}
	}
}

func TestKeyFor(t *testing.T) {
	a, b := KeyFor(7, 3), KeyFor(7, 3)
	if !bytes.Equal(a, b) {
		t.Fatal("KeyFor is not a function of (seed, id)")
	}
	if bytes.Equal(KeyFor(7, 4), a) || bytes.Equal(KeyFor(8, 3), a) {
		t.Fatal("KeyFor repeats a key across ids or seeds")
	}
	// Golden: pins the derivation (protocol.DeriveSeed, little-endian words).
	if got, want := AddressOf(KeyFor(0, 0)).String(), goldenAddr00; got != want {
		t.Errorf("address of node 0 at seed 0: %s, want %s", got, want)
	}
	pub := PubKeyOf(a)
	h := sha256.Sum256(pub[:])
	if addr := AddressOf(a); !bytes.Equal(addr[:], h[:20]) {
		t.Error("an address is not the first 20 bytes of SHA-256 of the public key")
	}
}

const goldenAddr00 = "4ce2d78dba678ed18dd61824dffa55bd3a1d4789"

func TestTxRoot(t *testing.T) {
	txs := sampleTxs()[:3]
	leaf := func(tx *Tx) Hash { h := tx.Hash(); return sha256.Sum256(append([]byte{0}, h[:]...)) }
	node := func(a, b Hash) Hash { return sha256.Sum256(append(append([]byte{1}, a[:]...), b[:]...)) }
	if got := TxRoot(nil); got != sha256.Sum256(nil) {
		t.Error("empty root")
	}
	if got := TxRoot(txs[:1]); got != leaf(txs[0]) {
		t.Error("one-leaf root")
	}
	want := node(node(leaf(txs[0]), leaf(txs[1])), leaf(txs[2]))
	if got := TxRoot(txs); got != want {
		t.Error("three-leaf root is not RFC 6962's")
	}
	if TxRoot([]*Tx{txs[1], txs[0]}) == TxRoot(txs[:2]) {
		t.Error("the root does not depend on order")
	}
}

func TestPPM(t *testing.T) {
	for _, tc := range []struct {
		p    PPM
		x    uint64
		want uint64
	}{
		{0, 1000, 0}, {PPMOne, 1<<64 - 1, 1<<64 - 1}, {500_000, 3, 1}, {250_000, 1000, 250},
		{100_000, 1<<64 - 1, 1844674407370955161}, {1, 999_999, 0}, {1, 1_000_000, 1},
	} {
		if got := tc.p.Of(tc.x); got != tc.want {
			t.Errorf("%d ppm of %d = %d, want %d", tc.p, tc.x, got, tc.want)
		}
	}
}
