package chain

import (
	"errors"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/prototest"
)

// TestReceiveTx: the engines' way in to the mempool. A valid transaction
// is added; a second copy is not added and not reported (relaying delivers
// copies), even shortly after it committed; a forged one is refused and
// reported with its reason; anything else is not the ledger's.
func TestReceiveTx(t *testing.T) {
	n := newNet(t, 3, 1, nil)
	l := n.ledgers[0]
	tx := n.sign(0, NewTransfer(0, fee, n.addrs[1], 5))
	if added, ev := l.ReceiveTx(tx); !added || ev != nil {
		t.Fatalf("valid tx: added %v, event %v", added, ev)
	}
	if added, ev := l.ReceiveTx(tx); added || ev != nil {
		t.Fatalf("second copy: added %v, event %v; want neither", added, ev)
	}
	good := n.sign(1, NewTransfer(0, fee, n.addrs[0], 5))
	sig := append([]byte(nil), good.Sig...)
	sig[0] ^= 1
	forged := &Tx{Type: good.Type, Sender: good.Sender, Nonce: good.Nonce, Fee: good.Fee, Payload: good.Payload, Sig: sig}
	added, ev := l.ReceiveTx(forged)
	if want := (Rejected{Type: TxTransfer, Reason: "bad_signature"}); added || ev != want {
		t.Fatalf("forged tx: added %v, event %#v; want %#v", added, ev, want)
	}
	if added, ev := l.ReceiveTx(&consensus.BlockReq{Height: 1}); added || ev != nil {
		t.Fatalf("a BlockReq: added %v, event %v", added, ev)
	}
	if txs, _ := l.PoolSize(); txs != 1 {
		t.Fatalf("%d txs in the mempool, want 1", txs)
	}
	n.step(2)
	if got := l.CommitEvent().(Applied); got.User != 1 || got.Pending != 0 || got.StateRoot != l.StateRoot() {
		t.Fatalf("CommitEvent %+v: want 1 user tx, an empty mempool and the committed root", got)
	}
	// A copy arriving after the block committed is still a copy; another
	// transaction with the spent nonce is refused. Two blocks later the
	// copy is forgotten and refused like any stale transaction.
	if added, ev := l.ReceiveTx(tx); added || ev != nil {
		t.Fatalf("late copy: added %v, event %v; want neither", added, ev)
	}
	reuse := n.sign(0, NewTransfer(0, fee, n.addrs[2], 7))
	if added, ev := l.ReceiveTx(reuse); added || ev != (Rejected{Type: TxTransfer, Reason: "nonce"}) {
		t.Fatalf("reused nonce: added %v, event %v", added, ev)
	}
	n.step(2)
	if _, ev := l.ReceiveTx(tx); ev != nil {
		t.Fatalf("copy one block later: event %v, want none", ev)
	}
	n.step(2)
	if _, ev := l.ReceiveTx(tx); ev != (Rejected{Type: TxTransfer, Reason: "nonce"}) {
		t.Fatalf("copy two blocks later: event %v, want a nonce refusal", ev)
	}
}

// clientNet is a ledger and a client for node 0 that sends to nodes 1–3.
func clientNet(t *testing.T, cfg ClientConfig) (*net, *Client, *prototest.Env) {
	n := newNet(t, 5, 1, nil)
	cfg.Key, cfg.Recipients, cfg.Params, cfg.Ledger = n.keys[0], n.addrs, testParams(), n.ledgers[0]
	cfg.Targets = []protocol.NodeID{0, 1, 2, 3}
	c := NewClient(cfg)
	env := prototest.NewEnv(0, 7)
	env.Node = c
	c.Handle(env, protocol.Start{})
	return n, c, env
}

// TestClientSendsValidTransfers: at 2/s for 100 s a client sends about
// 200 transfers (Poisson: ± 4σ), each to the same Fanout distinct targets
// other than itself, paying other accounts, with consecutive nonces the
// ledger accepts and commits.
func TestClientSendsValidTransfers(t *testing.T) {
	n, c, env := clientNet(t, ClientConfig{Rate: 2, Fanout: 2, MaxPending: 1000})
	l := n.ledgers[0]
	sent := 0
	var first []protocol.NodeID
	for range 100 {
		env.Advance(protocol.Second)
		var last *Tx
		var to []protocol.NodeID
		flush := func() {
			if len(to) != 2 || to[0] == to[1] {
				t.Fatalf("tx sent to %v, want 2 distinct targets", to)
			}
			if first == nil {
				first = to
			}
			if to[0] != first[0] || to[1] != first[1] {
				t.Fatalf("tx sent to %v, the first to %v: want the same targets", to, first)
			}
			if err := l.AddTx(last); err != nil {
				t.Fatalf("transfer %d refused: %v", last.Nonce, err)
			}
			sent++
		}
		for _, s := range env.TakeSent() {
			tx := s.Msg.(*Tx)
			if s.To == 0 || s.To > 3 {
				t.Fatalf("sent to node %d: not a target, or the client itself", s.To)
			}
			if tx.Body().(Transfer).To == c.Address() || tx.From() != c.Address() {
				t.Fatalf("transfer %+v pays its own sender", tx.Body())
			}
			if last != nil && tx != last {
				flush()
				to = nil
			}
			last = tx
			to = append(to, s.To)
		}
		if last != nil {
			flush()
		}
		n.step(1)
	}
	if sent < 200-4*14 || sent > 200+4*14 {
		t.Fatalf("%d transfers in 100 s at 2/s", sent)
	}
	if got := l.Account(c.Address()).Nonce; got != uint64(sent) {
		t.Fatalf("committed nonce %d after %d transfers", got, sent)
	}
	var submitted int
	for _, e := range env.TakeEvents() {
		if _, ok := e.Event.(Submitted); ok {
			submitted++
		}
	}
	if submitted != sent {
		t.Fatalf("%d Submitted events for %d transfers", submitted, sent)
	}
}

// TestClientThrottlesAndResyncs: when nothing commits, a client stops at
// MaxPending transfers in flight; when the committed nonce has not moved
// for Resync, it takes them for lost and starts again from it.
func TestClientThrottlesAndResyncs(t *testing.T) {
	_, _, env := clientNet(t, ClientConfig{Rate: 5, Fanout: 1, MaxPending: 3, Resync: 10 * protocol.Second})
	var nonces []uint64
	var throttled, resynced int
	for range 15 {
		env.Advance(protocol.Second)
		for _, s := range env.TakeSent() {
			nonces = append(nonces, s.Msg.(*Tx).Nonce)
		}
		for _, e := range env.TakeEvents() {
			switch ev := e.Event.(type) {
			case Throttled:
				throttled++
			case Resynced:
				resynced++
				if ev.Nonce != 0 || ev.Abandoned != 3 {
					t.Errorf("resynced %+v, want nonce 0 and 3 abandoned", ev)
				}
			}
		}
	}
	if len(nonces) != 6 || nonces[2] != 2 || nonces[3] != 0 || nonces[5] != 2 {
		t.Fatalf("nonces sent %v, want 0 1 2, then after the resync 0 1 2", nonces)
	}
	if throttled == 0 || resynced != 1 {
		t.Fatalf("%d turns throttled, %d resyncs; want some and 1", throttled, resynced)
	}
}

// TestUnknownParentIsTheEnginesSentinel: a block on a parent the ledger
// never checked fails with consensus.ErrUnknownParent (the longest-chain
// engine then holds it), and the hash is returned all the same.
func TestUnknownParentIsTheEnginesSentinel(t *testing.T) {
	n := newNet(t, 3, 2, nil)
	a, b := n.ledgers[0], n.ledgers[1]
	raw1, h1 := a.MakeBlock(1, a.Tip(), 0, 1)
	raw2, h2 := a.MakeBlock(2, h1, 0, 2)
	got, err := b.CheckBlock(2, h1, raw2)
	if !errors.Is(err, consensus.ErrUnknownParent) || got != h2 {
		t.Fatalf("orphan: hash %x, err %v; want %x and ErrUnknownParent", got[:4], err, h2[:4])
	}
	if _, err := b.CheckBlock(1, b.Tip(), raw1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CheckBlock(2, h1, raw2); err != nil {
		t.Fatalf("after its parent: %v", err)
	}
}

// TestReceiveTxHoldsNoncesAhead: a transaction that overtook its
// predecessor is held (and reported added, so that it is relayed) until
// the gap fills, then joins the mempool; one far ahead, or forged, is
// refused. A gap filled by someone else's block promotes it too.
func TestReceiveTxHoldsNoncesAhead(t *testing.T) {
	n := newNet(t, 3, 3, nil)
	l := n.ledgers[0]
	tx := func(nonce uint64) *Tx { return n.sign(0, NewTransfer(nonce, fee, n.addrs[1], 5+nonce)) }
	t0, t1, t2 := tx(0), tx(1), tx(2)
	if added, ev := l.ReceiveTx(t2); !added || ev != nil || l.Held() != 1 {
		t.Fatalf("nonce 2 first: added %v, event %v, %d held; want it held", added, ev, l.Held())
	}
	if added, ev := l.ReceiveTx(t2); added || ev != nil {
		t.Fatalf("a copy of a held tx: added %v, event %v; want neither", added, ev)
	}
	if _, ev := l.ReceiveTx(tx(0 + uint64(testParams().MempoolMaxPerSender) + 1)); ev != (Rejected{Type: TxTransfer, Reason: "nonce"}) {
		t.Fatalf("far ahead: event %v, want a nonce refusal", ev)
	}
	forged := &Tx{Type: t1.Type, Sender: t1.Sender, Nonce: 5, Fee: t1.Fee, Payload: t1.Payload, Sig: t1.Sig}
	if _, ev := l.ReceiveTx(forged); ev != (Rejected{Type: TxTransfer, Reason: "bad_signature"}) {
		t.Fatalf("forged, ahead: event %v, want bad_signature", ev)
	}
	if added, _ := l.ReceiveTx(t1); !added || l.Held() != 2 {
		t.Fatalf("nonce 1: added %v, %d held; want it held too", added, l.Held())
	}
	if added, _ := l.ReceiveTx(t0); !added || l.Held() != 0 {
		t.Fatalf("nonce 0: added %v, %d still held; want all three in the mempool", added, l.Held())
	}
	if txs, _ := l.PoolSize(); txs != 3 {
		t.Fatalf("%d in the mempool, want 3", txs)
	}
	// Replica 1 holds nonces 1 and 2 until a block (made by replica 2,
	// which has only nonce 0) commits nonce 0.
	r, m := n.ledgers[1], n.ledgers[2]
	r.ReceiveTx(t2)
	r.ReceiveTx(t1)
	if err := m.AddTx(t0); err != nil || r.Held() != 2 {
		t.Fatalf("replica 1 holds %d, want 2 (%v)", r.Held(), err)
	}
	raw, hash := m.MakeBlock(1, m.Tip(), 2, 1)
	for _, x := range n.ledgers {
		x.Commit(1, raw, hash, 1)
	}
	for i, x := range n.ledgers[:2] {
		if txs, _ := x.PoolSize(); txs != 2 || x.Held() != 0 || x.Account(n.addrs[0]).Nonce != 1 {
			t.Fatalf("replica %d after the block: %d pending, %d held; want nonces 1 and 2 pending", i, txs, x.Held())
		}
	}
}

// TestClientResyncsOnlyAfterTheWait: with nothing ever committed, a
// client gives its transfers up only Resync after it sent the oldest of
// them, however long it was idle before (the wait starts when it sends,
// not when it last saw a commit).
func TestClientResyncsOnlyAfterTheWait(t *testing.T) {
	const resync = 10 * protocol.Second
	_, _, env := clientNet(t, ClientConfig{Rate: 0.5, Fanout: 1, MaxPending: 100, Resync: resync})
	sentAt := map[uint64]protocol.Time{}
	resyncs := 0
	for range 3000 {
		env.Advance(100 * protocol.Millisecond)
		for _, e := range env.TakeEvents() {
			if r, ok := e.Event.(Resynced); ok {
				resyncs++
				if at := sentAt[r.Nonce]; env.Now().Sub(at) < resync {
					t.Fatalf("at %v: gave up nonce %d, sent at %v, before the %v wait", env.Now(), r.Nonce, at, resync)
				}
			}
		}
		for _, s := range env.TakeSent() {
			sentAt[s.Msg.(*Tx).Nonce] = env.Now()
		}
	}
	if resyncs == 0 {
		t.Fatal("never resynced in 300 s without commits")
	}
}
