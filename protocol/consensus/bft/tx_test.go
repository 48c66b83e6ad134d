package bft_test

import (
	"slices"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/prototest"
)

// ledgerEnv records, at each Committed, the height the ledger had then.
type ledgerEnv struct {
	*prototest.Env
	l        *chain.Ledger
	atCommit []uint64
}

func (e *ledgerEnv) Emit(ev metrics.Event) {
	if _, ok := ev.(consensus.Committed); ok {
		e.atCommit = append(e.atCommit, e.l.Height())
	}
	e.Env.Emit(ev)
}

func newLedgerValidator(t *testing.T, set *consensus.ValidatorSet, me protocol.NodeID) (*bft.Validator, *chain.Ledger, *ledgerEnv) {
	t.Helper()
	l, err := chain.NewLedger(chain.Config{Genesis: chain.GenesisFor(seed, 10, 1000*chain.Token, 0), Params: chain.DefaultParams(), KeySeed: seed})
	if err != nil {
		t.Fatal(err)
	}
	v := bft.NewValidator(bft.Config{Set: set, Signer: consensus.Signer{Key: consensus.DeriveKey(seed, me)},
		App: l, Timeouts: bft.DefaultTimeouts(), Rebroadcast: protocol.Hour, CatchUp: protocol.Hour})
	env := &ledgerEnv{Env: prototest.NewEnv(me, 1), l: l}
	// Timers fire through the wrapper, so that it sees every event.
	env.Node = protocol.NodeFunc(func(_ protocol.Env, in protocol.Input) { v.Handle(env, in) })
	return v, l, env
}

func transfer(from, to protocol.NodeID, nonce uint64) *chain.Tx {
	return chain.Sign(chain.KeyFor(seed, from), chain.NewTransfer(nonce, 10_000, chain.AddressOf(chain.KeyFor(seed, to)), 5))
}

// TestTransactionsReachTheApp: a validator hands messages that are not
// consensus messages to its App's mempool, relays a transaction it added
// from a client to every other validator, and neither relays one from a
// validator (who relayed it to everyone itself) nor a copy, nor one the App
// refused, whose refusal it emits for the App.
func TestTransactionsReachTheApp(t *testing.T) {
	set := newSet(t, 1, 1, 1, 1)
	v, l, env := newLedgerValidator(t, set, 0)
	v.Handle(env, protocol.Start{})
	env.TakeSent()
	env.TakeEvents()
	client := transfer(7, 8, 0)
	v.Handle(env, protocol.Recv{From: 7, Msg: client})
	v.Handle(env, protocol.Recv{From: 8, Msg: client})
	v.Handle(env, protocol.Recv{From: 2, Msg: transfer(8, 7, 0)})
	bad := transfer(9, 7, 0)
	sig := append([]byte(nil), bad.Sig...)
	sig[3] ^= 1
	forged := &chain.Tx{Type: bad.Type, Sender: bad.Sender, Nonce: bad.Nonce, Fee: bad.Fee, Payload: bad.Payload, Sig: sig}
	v.Handle(env, protocol.Recv{From: 9, Msg: forged})
	var to []protocol.NodeID
	for _, s := range env.TakeSent() {
		if s.Msg != client {
			t.Fatalf("sent %T, want only the client's transaction relayed", s.Msg)
		}
		to = append(to, s.To)
	}
	slices.Sort(to)
	if len(to) != 3 || to[0] != 1 || to[1] != 2 || to[2] != 3 {
		t.Fatalf("relayed to %v, want validators 1, 2 and 3", to)
	}
	if txs, _ := l.PoolSize(); txs != 2 {
		t.Fatalf("%d txs in the mempool, want 2", txs)
	}
	evs := env.TakeEvents()
	if len(evs) != 1 || evs[0].Event != (chain.Rejected{Type: chain.TxTransfer, Reason: "bad_signature"}) {
		t.Fatalf("events %+v, want the forged transaction's refusal", evs)
	}
}

// TestCommittedFollowsTheApp: a lone validator decides each height by
// itself. Committed is emitted once the App has applied the block (a sink
// reading the ledger sees it), then the ledger's own report of the block.
func TestCommittedFollowsTheApp(t *testing.T) {
	v, l, env := newLedgerValidator(t, newSet(t, 1), 0)
	v.Handle(env, protocol.Start{}) // height 1, empty
	v.Handle(env, protocol.Recv{From: 5, Msg: transfer(5, 6, 0)})
	env.Advance(protocol.Second) // the commit timeout: height 2
	var kinds []string
	var applied []chain.Applied
	for _, e := range env.TakeEvents() {
		kinds = append(kinds, e.Event.Kind())
		if a, ok := e.Event.(chain.Applied); ok {
			applied = append(applied, a)
		}
	}
	want := []string{"consensus.committed", "chain.applied", "bft.height_done"}
	if len(kinds) != 6 || kinds[0] != want[0] || kinds[1] != want[1] || kinds[2] != want[2] || kinds[3] != want[0] || kinds[4] != want[1] {
		t.Fatalf("events %v, want %v twice", kinds, want)
	}
	if len(env.atCommit) != 2 || env.atCommit[0] != 1 || env.atCommit[1] != 2 {
		t.Fatalf("ledger heights at Committed %v, want 1 and 2: the block applied first", env.atCommit)
	}
	if applied[1].Height != 2 || applied[1].User != 1 || applied[1].Fees != 10_000 || applied[1].StateRoot != l.StateRoot() {
		t.Fatalf("report of height 2: %+v", applied[1])
	}
}
