package chain

import (
	"bytes"
	"testing"
)

// FuzzDecodeTx: no input makes DecodeTx panic, and whatever decodes is well
// formed and re-encodes to exactly the input (one encoding per transaction).
func FuzzDecodeTx(f *testing.F) {
	for _, tx := range sampleTxs() {
		f.Add(tx.Encoded())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			return
		}
		if !bytes.Equal(tx.Encoded(), b) {
			t.Fatalf("decoded %x re-encodes to %x", b, tx.Encoded())
		}
		if err := tx.wellFormed(); err != nil {
			t.Fatalf("decoded a malformed tx: %v", err)
		}
		if tx.Body() == nil {
			t.Fatal("decoded a tx without a payload")
		}
		_ = tx.verify() // may fail; must not panic
	})
}

// FuzzDecodeBlock: the same for blocks; and CheckBlock never panics on any
// input, nor changes the committed state or the mempool.
func FuzzDecodeBlock(f *testing.F) {
	txs := sampleTxs()
	f.Add(NewBlock(Header{}, nil).Encoded())
	f.Add(NewBlock(Header{Height: 1, Time: 5, Proposer: 2}, txs[:3]).Encoded())
	f.Add(NewBlock(Header{Height: 1 << 40, Prev: Hash{1}}, txs).Encoded())
	n := newNet(f, 3, 1, nil)
	l := n.ledgers[0]
	if err := n.submit(n.sign(0, NewTransfer(0, fee, n.addrs[1], 5))); err != nil {
		f.Fatal(err)
	}
	good, _ := l.MakeBlock(1, Hash{}, 2, 1)
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := DecodeBlock(b)
		if err == nil && !bytes.Equal(blk.Encoded(), b) {
			t.Fatalf("decoded %x re-encodes to %x", b, blk.Encoded())
		}
		before := snap(l)
		_, _ = l.CheckBlock(1, Hash{}, b)
		l.views = map[Hash]*view{} // a block that passes is kept; forget it
		before.views = 0
		if after := snap(l); after != before {
			t.Fatal("CheckBlock changed the ledger")
		}
	})
}
