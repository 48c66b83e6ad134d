package market

import (
	"errors"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/prototest"
)

// A wallet without a mempool (a simulated requester reading a
// validator's state) refuses a post its committed balance, less what its
// posts in flight escrow, cannot pay; it numbers its transactions in
// order, sends each to every validator but itself, and after a stall
// renumbers from the committed nonce.
func TestSignerWallet(t *testing.T) {
	key := chain.KeyFor(1, 5)
	pub := chain.PubKeyOf(key)
	state, err := chain.NewLedger(chain.Config{Params: chain.DefaultParams(),
		Genesis: []chain.Account{{Address: pub.Address(), Balance: 10 * chain.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Signer{Self: 5, Validators: []protocol.NodeID{0, 1, 5}, Params: chain.DefaultParams(), State: state}
	s.AddKey(key, 0)
	env := prototest.NewEnv(5, 1)
	post := func(budget uint64) (*chain.Tx, error) {
		tx := chain.NewJobPost(0, 0, budget, []byte("spec"))
		tx.Sender = pub
		return s.Submit(env, tx)
	}
	a, err := post(4 * chain.Token)
	if err != nil {
		t.Fatal(err)
	}
	if sent := env.TakeSent(); len(sent) != 2 || sent[0].To != 0 || sent[1].To != 1 {
		t.Errorf("sent to %+v, want validators 0 and 1", sent)
	}
	b, err := post(4 * chain.Token)
	if err != nil || b.Nonce != a.Nonce+1 {
		t.Fatalf("second post: nonce %v after %d, err %v", b, a.Nonce, err)
	}
	// The fee is the chain's for the signed size (the probe that sized it
	// carried the largest fee, at most 8 bytes more).
	p := chain.DefaultParams()
	if lo, hi := p.Gas.Gas(chain.TxJobPost, len(a.Encoded()))*p.MinGasPrice, p.Gas.Gas(chain.TxJobPost, len(a.Encoded())+8)*p.MinGasPrice; a.Fee < lo || a.Fee > hi {
		t.Errorf("fee %d, want the chain's %d to %d", a.Fee, lo, hi)
	}
	// 8 tokens and two fees are in flight: 2 more do not fit.
	if _, err := post(2 * chain.Token); !errors.Is(err, chain.ErrOverdraft) {
		t.Errorf("a post past the balance less what is in flight: %v, want an overdraft", err)
	}
	if _, err := post(chain.Token); err != nil {
		t.Errorf("a post that fits: %v", err)
	}
	// Nothing commits for longer than the stall: the next post takes the
	// committed nonce again, and what was in flight under it is freed.
	env.Advance(31 * protocol.Second)
	c, err := post(9 * chain.Token)
	if err != nil || c.Nonce != 0 {
		t.Errorf("after the stall: %v, err %v; want nonce 0", c, err)
	}
	if _, err := s.Submit(env, chain.Tx{Sender: chain.PubKeyOf(chain.KeyFor(1, 6))}); !errors.As(err, new(ErrNoKey)) {
		t.Errorf("a transaction of an account without a key: %v", err)
	}
}
