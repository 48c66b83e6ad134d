package chain

import (
	"errors"
	"testing"
)

// Blocks take the senders' next transactions by fee, then arrival; a
// sender's transactions stay in nonce order.
func TestMempoolOrder(t *testing.T) {
	n := newNet(t, 5, 2, nil)
	var want []*Tx
	add := func(i int, f uint64) *Tx {
		tx := n.sign(i, NewTransfer(n.nonce(i), f, n.addrs[4], 1))
		mustAdd(t, n, tx)
		return tx
	}
	a0 := add(0, fee+3)
	a1 := add(0, fee+9)
	b := add(1, fee+5)
	c := add(2, fee+4)
	d := add(3, fee+4) // same fee as c, later
	want = []*Tx{b, c, d, a0, a1}
	blk := n.step(4)
	if len(blk.Txs) != 1+len(want) {
		t.Fatalf("block has %d txs, want %d", len(blk.Txs), 1+len(want))
	}
	for i, tx := range want {
		if blk.Txs[1+i].Hash() != tx.Hash() {
			t.Errorf("position %d: got fee %d from %s, want fee %d from %s", i, blk.Txs[1+i].Fee, blk.Txs[1+i].From(), tx.Fee, tx.From())
		}
	}
}

func TestMempoolEviction(t *testing.T) {
	n := newNet(t, 6, 1, func(c *Config) { c.Params.MempoolMaxTxs = 3 })
	l := n.ledgers[0]
	tx := func(i int, f uint64) *Tx { return n.sign(i, NewTransfer(n.nonce(i), f, n.addrs[5], 1)) }
	has := func(txs ...*Tx) {
		t.Helper()
		got := l.Pending()
		if len(got) != len(txs) {
			t.Fatalf("pool holds %d txs, want %d", len(got), len(txs))
		}
		for i := range txs {
			if got[i].Hash() != txs[i].Hash() {
				t.Fatalf("pool position %d: fee %d, want fee %d", i, got[i].Fee, txs[i].Fee)
			}
		}
	}
	a0 := tx(0, fee+9)
	mustAdd(t, n, a0)
	a1 := tx(0, fee+3)
	mustAdd(t, n, a1)
	b := tx(1, fee+5)
	mustAdd(t, n, b)
	// Full. An equal fee does not evict; nothing changes.
	before := snap(l)
	if err := l.AddTx(tx(2, fee+3)); !errors.Is(err, ErrMempoolFull) {
		t.Fatalf("equal fee: %v", err)
	}
	if snap(l) != before {
		t.Fatal("a rejected tx changed the pool")
	}
	// A higher fee evicts the lowest (a1).
	c := tx(2, fee+4)
	mustAdd(t, n, c)
	has(a0, b, c)
	d := tx(3, fee+20)
	mustAdd(t, n, d) // evicts c (fee+4)
	e := tx(4, fee+20)
	mustAdd(t, n, e) // evicts b (fee+5)
	has(a0, d, e)
	// a0 is now the lowest: its sender's next transaction would evict the
	// transaction it depends on.
	if err := l.AddTx(tx(0, fee+30)); !errors.Is(err, ErrMempoolFull) {
		t.Fatalf("self-eviction: %v", err)
	}
	has(a0, d, e)
}

func TestMempoolEvictsSuccessors(t *testing.T) {
	n := newNet(t, 4, 1, func(c *Config) { c.Params.MempoolMaxTxs = 3 })
	l := n.ledgers[0]
	tx := func(i int, f uint64) *Tx { return n.sign(i, NewTransfer(n.nonce(i), f, n.addrs[3], 1)) }
	mustAdd(t, n, tx(0, fee+3))
	mustAdd(t, n, tx(0, fee+30))
	b := tx(1, fee+5)
	mustAdd(t, n, b)
	c := tx(2, fee+4)
	mustAdd(t, n, c) // evicts node 0's first, and so its second
	got := l.Pending()
	if len(got) != 2 || got[0] != b || got[1] != c {
		t.Fatalf("pool %v, want b and c", got)
	}
	if _, bytes := l.PoolSize(); bytes != len(b.Encoded())+len(c.Encoded()) {
		t.Errorf("pool bytes %d, want %d", bytes, len(b.Encoded())+len(c.Encoded()))
	}
}

// After a block, transactions it made stale (a nonce used by a competing
// transaction) or invalid (a balance spent elsewhere) leave the mempool.
func TestMempoolRecheck(t *testing.T) {
	n := newNet(t, 3, 2, nil)
	l0, l1 := n.ledgers[0], n.ledgers[1]
	spendAll := n.sign(0, NewTransfer(0, fee, n.addrs[1], genesisBalance-2*fee-500))
	if err := l0.AddTx(spendAll); err != nil {
		t.Fatal(err)
	}
	for k := range 2 {
		if err := l1.AddTx(n.sign(0, NewTransfer(uint64(k), fee, n.addrs[2], 1000))); err != nil {
			t.Fatal(err)
		}
	}
	// A vote that will close while it waits.
	if err := l1.AddTx(n.sign(1, NewProposal(0, fee, []byte("p")))); err != nil {
		t.Fatal(err)
	}
	raw, hash := l0.MakeBlock(1, Hash{}, 2, 1)
	if _, err := l1.CheckBlock(1, Hash{}, raw); err != nil {
		t.Fatal(err)
	}
	l0.Commit(1, raw, hash, 1)
	l1.Commit(1, raw, hash, 1)
	if txs, bytes := l1.PoolSize(); txs != 1 || l1.pool.bySender[n.addrs[0]] != nil || bytes != len(l1.Pending()[0].Encoded()) {
		t.Errorf("pool after the block: %d txs, %d bytes; node 0's should be gone, the proposal kept", txs, bytes)
	}
}
