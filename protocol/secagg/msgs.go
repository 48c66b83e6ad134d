package secagg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// ID names a client: its node.
type ID = protocol.NodeID

// Limits on decoded messages.
const (
	// MaxClients bounds the client lists of a round.
	MaxClients = 1 << 16
	// MaxDim bounds an input vector (as learn.MaxParams does).
	MaxDim = 1 << 22
)

// ErrMalformed means a message whose fields do not fit together.
var ErrMalformed = errors.New("secagg: malformed message")

func init() {
	reg := func(k wire.Kind, name string, dec func(*reader) wire.Msg) {
		wire.Register(k, name, func(body []byte) (wire.Msg, error) {
			r := &reader{Reader: wire.NewReader(body)}
			m := dec(r)
			if r.err != nil {
				return nil, r.err
			}
			if err := r.Done(); err != nil {
				return nil, err
			}
			return m, nil
		})
	}
	reg(wire.KindSecAggKeys, "secagg.Keys", decodeKeys)
	reg(wire.KindSecAggKeyList, "secagg.KeyList", decodeKeyList)
	reg(wire.KindSecAggShares, "secagg.Shares", decodeShares)
	reg(wire.KindSecAggSharesFor, "secagg.SharesFor", decodeSharesFor)
	reg(wire.KindSecAggMasked, "secagg.Masked", decodeMasked)
	reg(wire.KindSecAggSurvivors, "secagg.Survivors", decodeSurvivors)
	reg(wire.KindSecAggUnmask, "secagg.Unmask", decodeUnmask)
}

// Keys is a client's two public keys for a round (Bonawitz et al.'s
// AdvertiseKeys): C to encrypt the shares peers deal it, S for the
// pairwise masks.
type Keys struct {
	Round uint64
	C, S  Key
}

// KeyList is the coordinator's list of the clients that advertised keys
// (U1), ascending, with their keys, and the threshold t of the round.
type KeyList struct {
	Round     uint64
	Threshold uint32
	Clients   []ID
	C, S      []Key
}

// Shares is what a client deals: Sealed[i] is the encrypted pair of
// shares (of its mask key's seed and of its self mask's seed) for
// To[i]; To is every other client of the KeyList, ascending.
type Shares struct {
	Round  uint64
	To     []ID
	Sealed [][]byte
}

// SharesFor is what the coordinator forwards to one client: the sealed
// shares dealt to it, by dealer (U2 less the client), ascending.
type SharesFor struct {
	Round  uint64
	From   []ID
	Sealed [][]byte
}

// Masked is a client's masked input: its vector plus its self mask plus
// its pairwise masks, in Z_2⁶⁴.
type Masked struct {
	Round uint64
	Y     []uint64
}

// Survivors names the clients whose masked inputs the coordinator holds
// (U3), ascending: it asks for the shares that unmask their sum.
type Survivors struct {
	Round   uint64
	Clients []ID
}

// Unmask is a client's answer to Survivors: Shares[i] is its share of
// Owners[i]'s self-mask seed if Owners[i] survived, else of its mask
// key's seed; Owners is U2, ascending. A client sends one, and never
// both shares of one owner.
type Unmask struct {
	Round  uint64
	Owners []ID
	Shares []Share
}

// Kind implements wire.Msg.
func (*Keys) Kind() wire.Kind      { return wire.KindSecAggKeys }
func (*KeyList) Kind() wire.Kind   { return wire.KindSecAggKeyList }
func (*Shares) Kind() wire.Kind    { return wire.KindSecAggShares }
func (*SharesFor) Kind() wire.Kind { return wire.KindSecAggSharesFor }
func (*Masked) Kind() wire.Kind    { return wire.KindSecAggMasked }
func (*Survivors) Kind() wire.Kind { return wire.KindSecAggSurvivors }
func (*Unmask) Kind() wire.Kind    { return wire.KindSecAggUnmask }

// keySize is a key on the wire: a length byte and 32 bytes.
const keySize = 1 + len(Key{})

func (m *Keys) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, m.Round)
	return wire.AppendBytes(wire.AppendBytes(b, m.C[:]), m.S[:])
}
func (m *Keys) WireSize() int {
	return wire.HeaderSize(m.Kind()) + wire.UvarintSize(m.Round) + 2*keySize
}
func decodeKeys(r *reader) wire.Msg {
	m := &Keys{Round: r.Uvarint()}
	r.key(&m.C)
	r.key(&m.S)
	return m
}

func (m *KeyList) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, m.Round)
	b = binary.AppendUvarint(b, uint64(m.Threshold))
	b = appendIDs(b, m.Clients)
	for i := range m.Clients {
		b = wire.AppendBytes(wire.AppendBytes(b, m.C[i][:]), m.S[i][:])
	}
	return b
}
func (m *KeyList) WireSize() int {
	return wire.HeaderSize(m.Kind()) + wire.UvarintSize(m.Round) + wire.UvarintSize(uint64(m.Threshold)) +
		idsSize(m.Clients) + 2*keySize*len(m.Clients)
}
func decodeKeyList(r *reader) wire.Msg {
	m := &KeyList{Round: r.Uvarint()}
	m.Threshold = uint32(r.bounded(MaxClients))
	m.Clients = r.ids()
	if r.err == nil && len(m.Clients) > 0 {
		m.C, m.S = make([]Key, len(m.Clients)), make([]Key, len(m.Clients))
		for i := range m.Clients {
			r.key(&m.C[i])
			r.key(&m.S[i])
		}
	}
	return m
}

func appendSealed(b []byte, ids []ID, sealed [][]byte) []byte {
	b = appendIDs(b, ids)
	for _, s := range sealed {
		b = wire.AppendBytes(b, s)
	}
	return b
}
func sealedSize(ids []ID) int { return idsSize(ids) + wire.BytesSize(sealedShareSize)*len(ids) }

func (r *reader) sealed() ([]ID, [][]byte) {
	ids := r.ids()
	if r.err != nil || len(ids) == 0 {
		return ids, nil
	}
	out := make([][]byte, len(ids))
	for i := range out {
		p := r.fixed(sealedShareSize)
		if p == nil {
			r.fail(fmt.Errorf("%w: a sealed share cut short", ErrMalformed))
			return nil, nil
		}
		out[i] = slices.Clone(p)
	}
	return ids, out
}

func (m *Shares) AppendBody(b []byte) []byte {
	return appendSealed(binary.AppendUvarint(b, m.Round), m.To, m.Sealed)
}
func (m *Shares) WireSize() int {
	return wire.HeaderSize(m.Kind()) + wire.UvarintSize(m.Round) + sealedSize(m.To)
}
func decodeShares(r *reader) wire.Msg {
	m := &Shares{Round: r.Uvarint()}
	m.To, m.Sealed = r.sealed()
	return m
}

func (m *SharesFor) AppendBody(b []byte) []byte {
	return appendSealed(binary.AppendUvarint(b, m.Round), m.From, m.Sealed)
}
func (m *SharesFor) WireSize() int {
	return wire.HeaderSize(m.Kind()) + wire.UvarintSize(m.Round) + sealedSize(m.From)
}
func decodeSharesFor(r *reader) wire.Msg {
	m := &SharesFor{Round: r.Uvarint()}
	m.From, m.Sealed = r.sealed()
	return m
}

// A ring vector is a byte string of 8 bytes per value, little-endian.
func (m *Masked) AppendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, m.Round)
	b = binary.AppendUvarint(b, uint64(8*len(m.Y)))
	for _, y := range m.Y {
		b = binary.LittleEndian.AppendUint64(b, y)
	}
	return b
}
func (m *Masked) WireSize() int {
	return wire.HeaderSize(m.Kind()) + wire.UvarintSize(m.Round) + wire.BytesSize(8*len(m.Y))
}
func decodeMasked(r *reader) wire.Msg {
	m := &Masked{Round: r.Uvarint()}
	p := r.Bytes(8 * MaxDim)
	if r.err == nil && len(p)%8 != 0 {
		r.fail(fmt.Errorf("%w: vector of %d bytes", ErrMalformed, len(p)))
	}
	if r.err == nil && len(p) > 0 {
		m.Y = make([]uint64, len(p)/8)
		for i := range m.Y {
			m.Y[i] = binary.LittleEndian.Uint64(p[8*i:])
		}
	}
	return m
}

func (m *Survivors) AppendBody(b []byte) []byte {
	return appendIDs(binary.AppendUvarint(b, m.Round), m.Clients)
}
func (m *Survivors) WireSize() int {
	return wire.HeaderSize(m.Kind()) + wire.UvarintSize(m.Round) + idsSize(m.Clients)
}
func decodeSurvivors(r *reader) wire.Msg {
	m := &Survivors{Round: r.Uvarint()}
	m.Clients = r.ids()
	return m
}

func (m *Unmask) AppendBody(b []byte) []byte {
	b = appendIDs(binary.AppendUvarint(b, m.Round), m.Owners)
	for _, s := range m.Shares {
		b = wire.AppendBytes(b, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, s[0]), s[1]))
	}
	return b
}
func (m *Unmask) WireSize() int {
	return wire.HeaderSize(m.Kind()) + wire.UvarintSize(m.Round) + idsSize(m.Owners) + wire.BytesSize(16)*len(m.Shares)
}
func decodeUnmask(r *reader) wire.Msg {
	m := &Unmask{Round: r.Uvarint()}
	m.Owners = r.ids()
	if r.err == nil && len(m.Owners) > 0 {
		m.Shares = make([]Share, len(m.Owners))
		for i := range m.Shares {
			p := r.fixed(16)
			if p == nil {
				r.fail(fmt.Errorf("%w: a share cut short", ErrMalformed))
				return m
			}
			m.Shares[i] = Share{binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[8:])}
			if m.Shares[i][0] >= prime || m.Shares[i][1] >= prime {
				r.fail(fmt.Errorf("%w: a share outside the field", ErrMalformed))
				return m
			}
		}
	}
	return m
}

// A list of IDs is a count, then each ID as a uvarint.
func appendIDs(b []byte, ids []ID) []byte {
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(id))
	}
	return b
}

func idsSize(ids []ID) int {
	n := wire.UvarintSize(uint64(len(ids)))
	for _, id := range ids {
		n += wire.UvarintSize(uint64(id))
	}
	return n
}

type reader struct {
	*wire.Reader
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) bounded(max uint64) uint64 {
	v := r.Uvarint()
	if v > max {
		r.fail(fmt.Errorf("%w: %d > %d", wire.ErrTooLarge, v, max))
		return 0
	}
	return v
}

// fixed reads a byte string of exactly n bytes, or nil.
func (r *reader) fixed(n int) []byte {
	p := r.Bytes(n)
	if len(p) != n {
		return nil
	}
	return p
}

func (r *reader) key(k *Key) {
	if p := r.fixed(len(Key{})); p != nil {
		copy(k[:], p)
	} else {
		r.fail(fmt.Errorf("%w: a key cut short", ErrMalformed))
	}
}

func (r *reader) ids() []ID {
	n := r.bounded(MaxClients)
	if r.err != nil || n == 0 {
		return nil
	}
	ids := make([]ID, 0, min(n, 1024))
	for i := uint64(0); i < n; i++ {
		id := r.Uvarint()
		if id > math.MaxUint32 {
			r.fail(fmt.Errorf("%w: node ID %d", wire.ErrTooLarge, id))
			return nil
		}
		ids = append(ids, ID(id))
	}
	return ids
}
