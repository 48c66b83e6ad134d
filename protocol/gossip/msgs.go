package gossip

import (
	"encoding/binary"
	"fmt"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// HeaderBytes is the size of a block header as BIP 130 announcements carry
// it (Bitcoin's 80 bytes).
const HeaderBytes = 80

// ShortIDBytes is the size of a compact block's short transaction ID (BIP
// 152).
const ShortIDBytes = 6

// Ref names a block and carries what every message about it needs: its
// origin and height (which name it), when it was made and its payload size.
type Ref struct {
	Origin  protocol.NodeID
	Height  uint64
	Created protocol.Time
	Size    int
}

func (r Ref) key() blockKey { return blockKey{r.Origin, r.Height} }

func init() {
	wire.Register(wire.KindInv, "gossip.Inv", decodeInv)
	wire.Register(wire.KindGetData, "gossip.GetData", decodeGetData)
	wire.Register(wire.KindCompactBlock, "gossip.CompactBlock", decodeCompact)
	wire.Register(wire.KindGetBlockTxn, "gossip.GetBlockTxn", decodeGetTxn)
	wire.Register(wire.KindBlockTxn, "gossip.BlockTxn", decodeTxn)
}

// WireSize is the encoded size of m about block r: what the network
// charges for it. Drivers that never build the wire messages (sim/blockprop)
// charge this; the messages' own WireSize agree with it.
func (c *Config) WireSize(r Ref, m Msg) int {
	id := wire.UvarintSize(uint64(r.Origin)) + wire.UvarintSize(r.Height)
	ref := id + wire.UvarintSize(uint64(r.Created)) + wire.UvarintSize(uint64(r.Size))
	switch m.Kind {
	case MsgBlock:
		return blockWireSize(r.Origin, r.Height, r.Created, m.Hops, r.Size)
	case MsgInv:
		return wire.HeaderSize(wire.KindInv) + ref + wire.BytesSize(c.headerBytes())
	case MsgGetData:
		return wire.HeaderSize(wire.KindGetData) + id
	case MsgCompact:
		return wire.HeaderSize(wire.KindCompactBlock) + ref + wire.UvarintSize(uint64(m.Hops)) +
			wire.BytesSize(ShortIDBytes*c.Txs(r.Size))
	case MsgGetTxn:
		return wire.HeaderSize(wire.KindGetBlockTxn) + id + wire.BytesSize(int(m.Count))
	case MsgTxn:
		return wire.HeaderSize(wire.KindBlockTxn) + id + wire.BytesSize(int(m.Count)*c.TxSize)
	}
	panic(fmt.Sprintf("gossip: no wire size for %v", m.Kind))
}

func (c *Config) headerBytes() int {
	if c.Headers {
		return HeaderBytes
	}
	return 0
}

// Message builds the wire message for m about block r; payload is the
// block's content for a Block (nil stands for zeros).
func (c *Config) Message(r Ref, m Msg, payload []byte) wire.Msg {
	switch m.Kind {
	case MsgBlock:
		if payload == nil {
			payload = make([]byte, r.Size)
		}
		return &Block{Origin: r.Origin, Height: r.Height, Created: r.Created, Hops: m.Hops, Payload: payload}
	case MsgInv:
		return &Inv{Ref: r, Header: make([]byte, c.headerBytes())}
	case MsgGetData:
		return &GetData{Origin: r.Origin, Height: r.Height}
	case MsgCompact:
		return &CompactBlock{Ref: r, Hops: m.Hops, ShortIDs: make([]byte, ShortIDBytes*c.Txs(r.Size))}
	case MsgGetTxn:
		return &GetBlockTxn{Origin: r.Origin, Height: r.Height, Indexes: make([]byte, m.Count)}
	case MsgTxn:
		return &BlockTxn{Origin: r.Origin, Height: r.Height, Txs: make([]byte, int(m.Count)*c.TxSize)}
	}
	panic(fmt.Sprintf("gossip: no message for %v", m.Kind))
}

// Parse returns what a wire message says to the relay logic: the block it
// is about (Size and Created are zero for requests, which name the block
// only) and the message. ok is false for messages the relay does not know.
func (c *Config) Parse(w wire.Msg) (r Ref, m Msg, ok bool) {
	switch w := w.(type) {
	case *Block:
		return Ref{Origin: w.Origin, Height: w.Height, Created: w.Created, Size: len(w.Payload)}, Msg{Kind: MsgBlock, Hops: w.Hops}, true
	case *Inv:
		return w.Ref, Msg{Kind: MsgInv}, true
	case *GetData:
		return Ref{Origin: w.Origin, Height: w.Height}, Msg{Kind: MsgGetData}, true
	case *CompactBlock:
		return w.Ref, Msg{Kind: MsgCompact, Hops: w.Hops}, true
	case *GetBlockTxn:
		return Ref{Origin: w.Origin, Height: w.Height}, Msg{Kind: MsgGetTxn, Count: uint32(len(w.Indexes))}, true
	case *BlockTxn:
		n := 0
		if c.TxSize > 0 {
			n = len(w.Txs) / c.TxSize
		}
		return Ref{Origin: w.Origin, Height: w.Height}, Msg{Kind: MsgTxn, Count: uint32(n)}, true
	}
	return Ref{}, Msg{}, false
}

func blockWireSize(origin protocol.NodeID, height uint64, created protocol.Time, hops uint32, payload int) int {
	return wire.HeaderSize(wire.KindBlockAnnounce) +
		wire.UvarintSize(uint64(origin)) + wire.UvarintSize(height) +
		wire.UvarintSize(uint64(created)) + wire.UvarintSize(uint64(hops)) +
		wire.BytesSize(payload)
}

// Inv announces a block: an inventory entry, or the block's header (Header
// holds HeaderBytes then, else nothing).
type Inv struct {
	Ref
	Header []byte
}

// GetData requests a block, or under Compact its sketch.
type GetData struct {
	Origin protocol.NodeID
	Height uint64
}

// CompactBlock is a BIP 152 compact block: the block's header fields and
// one short ID per transaction.
type CompactBlock struct {
	Ref
	Hops     uint32
	ShortIDs []byte
}

// GetBlockTxn requests the transactions a compact block left missing, one
// byte per differentially encoded index.
type GetBlockTxn struct {
	Origin  protocol.NodeID
	Height  uint64
	Indexes []byte
}

// BlockTxn carries the transactions a GetBlockTxn asked for.
type BlockTxn struct {
	Origin protocol.NodeID
	Height uint64
	Txs    []byte
}

func (*Inv) Kind() wire.Kind          { return wire.KindInv }
func (*GetData) Kind() wire.Kind      { return wire.KindGetData }
func (*CompactBlock) Kind() wire.Kind { return wire.KindCompactBlock }
func (*GetBlockTxn) Kind() wire.Kind  { return wire.KindGetBlockTxn }
func (*BlockTxn) Kind() wire.Kind     { return wire.KindBlockTxn }

func appendID(p []byte, origin protocol.NodeID, height uint64) []byte {
	p = binary.AppendUvarint(p, uint64(origin))
	return binary.AppendUvarint(p, height)
}

func appendRef(p []byte, r Ref) []byte {
	p = appendID(p, r.Origin, r.Height)
	p = binary.AppendUvarint(p, uint64(r.Created))
	return binary.AppendUvarint(p, uint64(r.Size))
}

func idSize(origin protocol.NodeID, height uint64) int {
	return wire.UvarintSize(uint64(origin)) + wire.UvarintSize(height)
}

func refSize(r Ref) int {
	return idSize(r.Origin, r.Height) + wire.UvarintSize(uint64(r.Created)) + wire.UvarintSize(uint64(r.Size))
}

func (m *Inv) AppendBody(p []byte) []byte { return wire.AppendBytes(appendRef(p, m.Ref), m.Header) }
func (m *Inv) WireSize() int {
	return wire.HeaderSize(wire.KindInv) + refSize(m.Ref) + wire.BytesSize(len(m.Header))
}

func (m *GetData) AppendBody(p []byte) []byte { return appendID(p, m.Origin, m.Height) }
func (m *GetData) WireSize() int {
	return wire.HeaderSize(wire.KindGetData) + idSize(m.Origin, m.Height)
}

func (m *CompactBlock) AppendBody(p []byte) []byte {
	p = binary.AppendUvarint(appendRef(p, m.Ref), uint64(m.Hops))
	return wire.AppendBytes(p, m.ShortIDs)
}
func (m *CompactBlock) WireSize() int {
	return wire.HeaderSize(wire.KindCompactBlock) + refSize(m.Ref) + wire.UvarintSize(uint64(m.Hops)) + wire.BytesSize(len(m.ShortIDs))
}

func (m *GetBlockTxn) AppendBody(p []byte) []byte {
	return wire.AppendBytes(appendID(p, m.Origin, m.Height), m.Indexes)
}
func (m *GetBlockTxn) WireSize() int {
	return wire.HeaderSize(wire.KindGetBlockTxn) + idSize(m.Origin, m.Height) + wire.BytesSize(len(m.Indexes))
}

func (m *BlockTxn) AppendBody(p []byte) []byte {
	return wire.AppendBytes(appendID(p, m.Origin, m.Height), m.Txs)
}
func (m *BlockTxn) WireSize() int {
	return wire.HeaderSize(wire.KindBlockTxn) + idSize(m.Origin, m.Height) + wire.BytesSize(len(m.Txs))
}

// readID reads a block's origin and height.
func readID(r *wire.Reader) (protocol.NodeID, uint64, bool) {
	origin, height := r.Uvarint(), r.Uvarint()
	return protocol.NodeID(origin), height, origin <= 0xffffffff
}

func readRef(r *wire.Reader) (Ref, bool) {
	origin, height, ok := readID(r)
	created, size := r.Uvarint(), r.Uvarint()
	return Ref{Origin: origin, Height: height, Created: protocol.Time(created), Size: int(size)},
		ok && created <= 1<<63-1 && size <= MaxPayload
}

// bytesOrNil reads a byte string; an empty one decodes as nil, so that a
// message round-trips to itself.
func bytesOrNil(r *wire.Reader, max int) []byte {
	if b := r.Bytes(max); len(b) > 0 {
		return b
	}
	return nil
}

func outOfRange(what string) error {
	return fmt.Errorf("%w: %s field out of range", wire.ErrTooLarge, what)
}

func decodeInv(body []byte) (wire.Msg, error) {
	r := wire.NewReader(body)
	ref, ok := readRef(r)
	m := &Inv{Ref: ref, Header: bytesOrNil(r, HeaderBytes)}
	if err := r.Done(); err != nil {
		return nil, err
	}
	if !ok {
		return nil, outOfRange("inv")
	}
	return m, nil
}

func decodeGetData(body []byte) (wire.Msg, error) {
	r := wire.NewReader(body)
	origin, height, ok := readID(r)
	if err := r.Done(); err != nil {
		return nil, err
	}
	if !ok {
		return nil, outOfRange("getdata")
	}
	return &GetData{Origin: origin, Height: height}, nil
}

func decodeCompact(body []byte) (wire.Msg, error) {
	r := wire.NewReader(body)
	ref, ok := readRef(r)
	hops := r.Uvarint()
	m := &CompactBlock{Ref: ref, Hops: uint32(hops), ShortIDs: bytesOrNil(r, MaxPayload)}
	if err := r.Done(); err != nil {
		return nil, err
	}
	if !ok || hops > 0xffffffff {
		return nil, outOfRange("cmpctblock")
	}
	return m, nil
}

// decodeIDBytes reads a block's origin and height and a byte string: the
// body of a GetBlockTxn or a BlockTxn.
func decodeIDBytes(body []byte, what string) (protocol.NodeID, uint64, []byte, error) {
	r := wire.NewReader(body)
	origin, height, ok := readID(r)
	b := bytesOrNil(r, MaxPayload)
	if err := r.Done(); err != nil {
		return 0, 0, nil, err
	}
	if !ok {
		return 0, 0, nil, outOfRange(what)
	}
	return origin, height, b, nil
}

func decodeGetTxn(body []byte) (wire.Msg, error) {
	origin, height, b, err := decodeIDBytes(body, "getblocktxn")
	if err != nil {
		return nil, err
	}
	return &GetBlockTxn{Origin: origin, Height: height, Indexes: b}, nil
}

func decodeTxn(body []byte) (wire.Msg, error) {
	origin, height, b, err := decodeIDBytes(body, "blocktxn")
	if err != nil {
		return nil, err
	}
	return &BlockTxn{Origin: origin, Height: height, Txs: b}, nil
}
