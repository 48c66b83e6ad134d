package node

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// Signed is the envelope a service message (market, learning) travels in
// between live nodes: the inner frame, its author and the author's
// signature with its account key over the network's identity, the author
// and the frame. The protocol machines of those services take the sender
// of a message as its author (as the simulator's network delivers it);
// a transport's peer ID says only who passed the message on, so without
// the envelope a relayed or stored message would prove nothing. The
// sending node seals its own messages (gate), the receiving node opens
// and checks them before its state machine sees them (inbound); no
// protocol code sees an envelope.
type Signed struct {
	Author protocol.NodeID
	Sig    []byte
	Inner  []byte // a wire frame of a service kind
}

// signedDomain separates these signatures from every other the account
// key makes (transactions sign their own domain).
const signedDomain = "dais/live/signed/v1\x00"

func init() { wire.Register(wire.KindSigned, "node.Signed", decodeSigned) }

// Kind implements wire.Msg.
func (*Signed) Kind() wire.Kind { return wire.KindSigned }

// AppendBody implements wire.Msg.
func (s *Signed) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(s.Author))
	b = wire.AppendBytes(b, s.Sig)
	return wire.AppendBytes(b, s.Inner)
}

// WireSize implements wire.Msg.
func (s *Signed) WireSize() int {
	return wire.HeaderSize(wire.KindSigned) + wire.UvarintSize(uint64(s.Author)) + wire.BytesSize(len(s.Sig)) + wire.BytesSize(len(s.Inner))
}

func decodeSigned(body []byte) (wire.Msg, error) {
	r := wire.NewReader(body)
	author := r.Uvarint()
	s := &Signed{Sig: r.Bytes(ed25519.SignatureSize), Inner: r.Bytes(math.MaxInt32)}
	if err := r.Done(); err != nil {
		return nil, err
	}
	if author > math.MaxUint32 {
		return nil, fmt.Errorf("node: signed message: author %d out of range", author)
	}
	s.Author = protocol.NodeID(author)
	return s, nil
}

// signedDigest is what the author signs: a hash of the domain, the
// network, the author and the inner frame (so a large frame is not
// copied to be signed).
func signedDigest(network []byte, author protocol.NodeID, inner []byte) []byte {
	h := sha256.New()
	h.Write([]byte(signedDomain))
	h.Write(network)
	h.Write(binary.AppendUvarint(nil, uint64(author)))
	h.Write(inner)
	return h.Sum(nil)
}

// seal signs inner as author in the network with identity network.
func seal(network []byte, author protocol.NodeID, key ed25519.PrivateKey, inner []byte) []byte {
	return wire.Encode(&Signed{Author: author, Sig: ed25519.Sign(key, signedDigest(network, author, inner)), Inner: inner})
}

// verify checks s's signature by pub.
func (s *Signed) verify(network []byte, pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && len(s.Sig) == ed25519.SignatureSize &&
		ed25519.Verify(pub, signedDigest(network, s.Author, s.Inner), s.Sig)
}
