package learn

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// Limits on decoded messages, so that a hostile frame cannot make a node
// allocate without bound.
const (
	// MaxParams bounds a parameter vector: 4 Mi values, 32 MiB on the wire.
	MaxParams = 1 << 22
	// MaxLearners bounds the learner lists of ScoreRequest and Scores.
	MaxLearners = 1 << 20
)

// ErrMalformed means a learn message whose fields are well-framed but do
// not fit together: a hash of the wrong length, a vector that is not whole
// values, scores that do not match their learners.
var ErrMalformed = errors.New("learn: malformed message")

// Hash is a model version: the SHA-256 of a parent version and the
// canonical encoding of the parameters (see VersionOf).
type Hash [32]byte

// String is the first 8 bytes in hex, enough to tell versions apart in logs.
func (h Hash) String() string { return hex.EncodeToString(h[:8]) }

// versionDomain separates model hashes from every other SHA-256 in dais.
const versionDomain = "dais/learn/model/v1"

// VersionOf is the content hash of a model: SHA-256 over a domain tag,
// the parent version and the parameters as the wire encodes them (a
// length, then each value's IEEE-754 bits little-endian). Two models with
// the same parameters but different histories have different versions, so
// a version names one point of one chain of rounds; the genesis model's
// parent is the zero Hash.
func VersionOf(parent Hash, params []float64) Hash {
	h := sha256.New()
	h.Write([]byte(versionDomain))
	h.Write(parent[:])
	var buf [1024]byte
	b := binary.AppendUvarint(buf[:0], uint64(8*len(params)))
	for _, v := range params {
		if len(b)+8 > len(buf) {
			h.Write(b)
			b = buf[:0]
		}
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	h.Write(b)
	var out Hash
	h.Sum(out[:0])
	return out
}

func init() {
	wire.Register(wire.KindModel, "learn.Model", decodeModel)
	wire.Register(wire.KindUpdate, "learn.LocalUpdate", decodeUpdate)
	wire.Register(wire.KindScoreRequest, "learn.ScoreRequest", decodeScoreRequest)
	wire.Register(wire.KindScores, "learn.Scores", decodeScores)
}

// Model announces the model a round starts from. Receivers must treat
// Params as read-only: in the simulator one message value reaches every
// receiver.
type Model struct {
	// Round is the round that trains from this model, from 1.
	Round uint64
	// Version is VersionOf(Parent, Params); receivers check it.
	Version Hash
	Parent  Hash
	Params  []float64
}

// LocalUpdate is a learner's contribution to a round on the wire: the
// change its local training made to the round's model. Receivers must treat Delta as
// read-only.
type LocalUpdate struct {
	Round uint64
	// Base is the version the learner trained from.
	Base Hash
	// Samples is the number of rows the learner trained on, the weight
	// FedAvg gives the update (as the learner claims it).
	Samples uint64
	Delta   []float64
}

// ScoreRequest asks a validator to score the listed learners' updates of
// a round, and closes the round's collection.
type ScoreRequest struct {
	Round   uint64
	Version Hash
	// Learners are the learners whose updates the coordinator accepted,
	// ascending.
	Learners []protocol.NodeID
	// Digests are the DigestOf of those updates as the coordinator holds
	// them, one per learner (the coordinator always sends them; a
	// validator checks them when they are there): a validator holding
	// another copy from a learner scores it −Inf, so a learner cannot have
	// a good update scored and another aggregated.
	Digests []Hash
}

// Scores is one validator's scores of a round's updates: Scores[i] is its
// score of Learners[i]'s update (see Validator for what a score means).
// Learners it had no update from are absent.
type Scores struct {
	Round    uint64
	Version  Hash
	Learners []protocol.NodeID
	Scores   []float64
}

// Kind implements wire.Msg.
func (*Model) Kind() wire.Kind { return wire.KindModel }

// Kind implements wire.Msg.
func (*LocalUpdate) Kind() wire.Kind { return wire.KindUpdate }

// Kind implements wire.Msg.
func (*ScoreRequest) Kind() wire.Kind { return wire.KindScoreRequest }

// Kind implements wire.Msg.
func (*Scores) Kind() wire.Kind { return wire.KindScores }

// AppendBody implements wire.Msg.
func (m *Model) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, m.Round)
	b = wire.AppendBytes(b, m.Version[:])
	b = wire.AppendBytes(b, m.Parent[:])
	return appendVector(b, m.Params)
}

// WireSize implements wire.Msg.
func (m *Model) WireSize() int {
	return wire.HeaderSize(wire.KindModel) + wire.UvarintSize(m.Round) + 2*hashSize + vectorSize(m.Params)
}

// AppendBody implements wire.Msg.
func (u *LocalUpdate) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, u.Round)
	b = wire.AppendBytes(b, u.Base[:])
	b = binary.AppendUvarint(b, u.Samples)
	return appendVector(b, u.Delta)
}

// WireSize implements wire.Msg.
func (u *LocalUpdate) WireSize() int {
	return wire.HeaderSize(wire.KindUpdate) + wire.UvarintSize(u.Round) + hashSize +
		wire.UvarintSize(u.Samples) + vectorSize(u.Delta)
}

// AppendBody implements wire.Msg.
func (r *ScoreRequest) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, r.Round)
	b = wire.AppendBytes(b, r.Version[:])
	b = appendNodes(b, r.Learners)
	return appendHashes(b, r.Digests)
}

// WireSize implements wire.Msg.
func (r *ScoreRequest) WireSize() int {
	return wire.HeaderSize(wire.KindScoreRequest) + wire.UvarintSize(r.Round) + hashSize + nodesSize(r.Learners) + hashesSize(r.Digests)
}

// AppendBody implements wire.Msg.
func (s *Scores) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, s.Round)
	b = wire.AppendBytes(b, s.Version[:])
	b = appendNodes(b, s.Learners)
	return appendVector(b, s.Scores)
}

// WireSize implements wire.Msg.
func (s *Scores) WireSize() int {
	return wire.HeaderSize(wire.KindScores) + wire.UvarintSize(s.Round) + hashSize +
		nodesSize(s.Learners) + vectorSize(s.Scores)
}

// hashSize is a hash on the wire: a length byte and 32 bytes.
const hashSize = 1 + len(Hash{})

// A vector is a byte string of 8 bytes per value, each the value's
// IEEE-754 bits little-endian: the real size of the parameters, which is
// what the network model charges.
func appendVector(b []byte, v []float64) []byte {
	b = binary.AppendUvarint(b, uint64(8*len(v)))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func vectorSize(v []float64) int { return wire.BytesSize(8 * len(v)) }

func appendNodes(b []byte, ids []protocol.NodeID) []byte {
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(id))
	}
	return b
}

func nodesSize(ids []protocol.NodeID) int {
	n := wire.UvarintSize(uint64(len(ids)))
	for _, id := range ids {
		n += wire.UvarintSize(uint64(id))
	}
	return n
}

// reader adds the learn field types to wire.Reader; the first error
// sticks, as there.
type reader struct {
	*wire.Reader
	err error
}

func (r *reader) hash() Hash {
	var h Hash
	p := r.Bytes(len(h))
	if r.err == nil && len(p) != len(h) {
		// Also reached when the wire.Reader failed (p is nil); either way
		// the frame is rejected.
		r.err = fmt.Errorf("%w: hash of %d bytes, want %d", ErrMalformed, len(p), len(h))
	}
	copy(h[:], p)
	return h
}

func (r *reader) vector() []float64 {
	p := r.Bytes(8 * MaxParams)
	if len(p)%8 != 0 {
		if r.err == nil {
			r.err = fmt.Errorf("%w: vector of %d bytes, not a multiple of 8", ErrMalformed, len(p))
		}
		return nil
	}
	if len(p) == 0 {
		return nil
	}
	v := make([]float64, len(p)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(p[8*i:]))
	}
	return v
}

// DigestOf names an update as its receivers hold it: the hash of its
// base version, its sample count and its delta. The coordinator lists the
// digests of the updates it accepted (AggregateRequest.Digests), so an
// aggregator holding another copy from the same learner — one that sent
// different updates to different receivers — notices instead of
// aggregating it.
func DigestOf(u *LocalUpdate) Hash {
	h := sha256.New()
	h.Write([]byte(updateDomain))
	h.Write(u.Base[:])
	h.Write(binary.AppendUvarint(nil, u.Samples))
	d := VersionOf(Hash{}, u.Delta)
	h.Write(d[:])
	var out Hash
	h.Sum(out[:0])
	return out
}

const updateDomain = "dais/learn/update/v1"

func appendHashes(b []byte, hs []Hash) []byte {
	b = binary.AppendUvarint(b, uint64(len(hs)))
	for _, h := range hs {
		b = wire.AppendBytes(b, h[:])
	}
	return b
}

func hashesSize(hs []Hash) int {
	return wire.UvarintSize(uint64(len(hs))) + len(hs)*hashSize
}

func (r *reader) hashes() []Hash {
	n := r.Uvarint()
	if n > MaxLearners {
		if r.err == nil {
			r.err = fmt.Errorf("%w: %d hashes > %d", wire.ErrTooLarge, n, MaxLearners)
		}
		return nil
	}
	var hs []Hash
	for i := uint64(0); i < n && r.err == nil; i++ {
		hs = append(hs, r.hash())
	}
	return hs
}

func (r *reader) nodes() []protocol.NodeID {
	n := r.Uvarint()
	if n > MaxLearners {
		if r.err == nil {
			r.err = fmt.Errorf("%w: %d learners > %d", wire.ErrTooLarge, n, MaxLearners)
		}
		return nil
	}
	var ids []protocol.NodeID
	if n > 0 {
		// Each ID takes at least a byte, so a short frame fails on reading
		// before this grows past the frame's size.
		ids = make([]protocol.NodeID, 0, min(n, 1024))
	}
	for i := uint64(0); i < n; i++ {
		id := r.Uvarint()
		if id > math.MaxUint32 {
			if r.err == nil {
				r.err = fmt.Errorf("%w: node ID %d", wire.ErrTooLarge, id)
			}
			return nil
		}
		ids = append(ids, protocol.NodeID(id))
	}
	return ids
}

func (r *reader) done() error {
	if r.err != nil {
		return r.err
	}
	return r.Done()
}

func newReader(body []byte) *reader { return &reader{Reader: wire.NewReader(body)} }

func decodeModel(body []byte) (wire.Msg, error) {
	r := newReader(body)
	m := &Model{Round: r.Uvarint()}
	m.Version = r.hash()
	m.Parent = r.hash()
	m.Params = r.vector()
	if err := r.done(); err != nil {
		return nil, err
	}
	return m, nil
}

func decodeUpdate(body []byte) (wire.Msg, error) {
	r := newReader(body)
	u := &LocalUpdate{Round: r.Uvarint()}
	u.Base = r.hash()
	u.Samples = r.Uvarint()
	u.Delta = r.vector()
	if err := r.done(); err != nil {
		return nil, err
	}
	return u, nil
}

func decodeScoreRequest(body []byte) (wire.Msg, error) {
	r := newReader(body)
	q := &ScoreRequest{Round: r.Uvarint()}
	q.Version = r.hash()
	q.Learners = r.nodes()
	q.Digests = r.hashes()
	if err := r.done(); err != nil {
		return nil, err
	}
	if len(q.Digests) != 0 && len(q.Digests) != len(q.Learners) {
		return nil, fmt.Errorf("%w: %d digests for %d learners", ErrMalformed, len(q.Digests), len(q.Learners))
	}
	return q, nil
}

func decodeScores(body []byte) (wire.Msg, error) {
	r := newReader(body)
	s := &Scores{Round: r.Uvarint()}
	s.Version = r.hash()
	s.Learners = r.nodes()
	s.Scores = r.vector()
	if err := r.done(); err != nil {
		return nil, err
	}
	if len(s.Learners) != len(s.Scores) {
		return nil, fmt.Errorf("%w: %d learners but %d scores", ErrMalformed, len(s.Learners), len(s.Scores))
	}
	return s, nil
}
