package market

import (
	"crypto/ed25519"
	"fmt"
	"math"
	"slices"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/wire"
)

// The pieces a driver puts around a Committee that settles on a chain
// (Config.Chain), the same in live mode (live/node) and in the simulator
// (sim/marketrun): a Signer that holds the accounts' keys and nonces, a
// ChainRequester that turns a Requester's job posts into JobPost
// transactions, and a ChainFeed that hands the committee every block the
// node committed.

// Signer signs a node's transactions and sends them to the chain's
// validators, as a wallet would: each account's next nonce, and the fee
// the chain charges (Params: gas × MinGasPrice).
type Signer struct {
	// Self is the signer's node; Validators are the nodes it sends each
	// transaction to (itself excepted).
	Self       protocol.NodeID
	Validators []protocol.NodeID
	// Params are the chain's rules, for the fee.
	Params chain.Params
	// State, if not nil, is the chain's committed state as the signer
	// sees it (its node's replica, or a validator's it queries): committed
	// nonces are read from it, so that a signer whose transactions were
	// lost (a crash before they left the node) renumbers from the
	// committed nonce after Stall without progress.
	State *chain.Ledger
	// Mempool adds each transaction to State's mempool before it is sent
	// (State is the node's own replica), which refuses what the chain
	// would. Without it, a signer with a State refuses a JobPost its
	// committed balance, less what its transactions in flight spend,
	// cannot pay, as a wallet would.
	Mempool bool
	// Stall: see State. 0 means 30 s.
	Stall protocol.Duration
	// Persist, if not nil, records an account's next nonce, so that a
	// restarted node does not sign a second transaction with the nonce
	// of one still in flight (NewSigner's next restores it).
	Persist func(a chain.Address, next uint64)
	// Renumbered, if not nil, is told when an account renumbers.
	Renumbered func(a chain.Address, committed, next uint64)

	keys     map[chain.PubKey]ed25519.PrivateKey
	next     map[chain.Address]uint64
	seen     map[chain.Address]uint64 // the committed nonce last seen
	since    map[chain.Address]protocol.Time
	inflight map[chain.Address][]spend // without Mempool
}

// spend is what a transaction in flight takes from its sender's balance.
type spend struct{ nonce, cost uint64 }

// AddKey lets s sign for key's account, whose next nonce is next (0 for
// an account that never signed, or the one Persist recorded).
func (s *Signer) AddKey(key ed25519.PrivateKey, next uint64) {
	if s.keys == nil {
		s.keys, s.next = map[chain.PubKey]ed25519.PrivateKey{}, map[chain.Address]uint64{}
		s.seen, s.since = map[chain.Address]uint64{}, map[chain.Address]protocol.Time{}
		s.inflight = map[chain.Address][]spend{}
	}
	pub := chain.PubKeyOf(key)
	s.keys[pub] = key
	s.next[pub.Address()] = next
}

// Submit signs tx as tx.Sender with its next nonce and the chain's fee,
// and sends it to the validators; it returns the transaction as signed.
func (s *Signer) Submit(env protocol.Env, tx chain.Tx) (*chain.Tx, error) {
	key, ok := s.keys[tx.Sender]
	if !ok {
		return nil, ErrNoKey{Account: tx.Sender.Address()}
	}
	a := tx.Sender.Address()
	var committed uint64
	if s.State != nil {
		now := env.Now()
		committed = s.State.Account(a).Nonce
		if c, ok := s.seen[a]; !ok || c != committed || s.next[a] <= committed {
			s.seen[a], s.since[a] = committed, now
		}
		stall := s.Stall
		if stall <= 0 {
			stall = 30 * protocol.Second
		}
		if s.next[a] > committed && now.Sub(s.since[a]) > stall {
			if s.Renumbered != nil {
				s.Renumbered(a, committed, s.next[a])
			}
			s.next[a], s.since[a] = committed, now
		}
		s.next[a] = max(s.next[a], committed)
	}
	tx.Nonce = s.next[a]
	tx.Fee = math.MaxUint64
	probe := chain.Sign(key, tx)
	tx.Fee = s.Params.Gas.Gas(tx.Type, len(probe.Encoded())) * s.Params.MinGasPrice
	signed := chain.Sign(key, tx)
	switch {
	case s.State != nil && s.Mempool:
		if err := s.State.AddTx(signed); err != nil {
			return nil, err
		}
	case s.State != nil:
		if err := s.afford(a, committed, signed); err != nil {
			return nil, err
		}
	}
	s.next[a] = signed.Nonce + 1
	if s.Persist != nil {
		s.Persist(a, s.next[a])
	}
	for _, v := range s.Validators {
		if v != s.Self {
			env.Send(v, signed)
		}
	}
	return signed, nil
}

// afford refuses tx if a's committed balance, less what its
// transactions in flight (committed ≤ nonce < tx's) spend, cannot pay its
// fee and the budget it escrows; else it counts tx in flight in place of
// any it renumbered.
func (s *Signer) afford(a chain.Address, committed uint64, tx *chain.Tx) error {
	cost := tx.Fee
	if p, ok := tx.Body().(chain.JobPost); ok {
		cost += p.Budget
	}
	fl := s.inflight[a]
	for len(fl) > 0 && fl[0].nonce < committed {
		fl = fl[1:]
	}
	var owed uint64
	for _, f := range fl {
		if f.nonce < tx.Nonce { // the rest were given up for lost (Stall)
			owed += f.cost
		}
	}
	if bal := s.State.Account(a).Balance; bal < owed || bal-owed < cost {
		return fmt.Errorf("%w: %s holds %d, %d of it spoken for, and the %s costs %d", chain.ErrOverdraft, a, bal, owed, tx.Type, cost)
	}
	fl = slices.DeleteFunc(fl, func(f spend) bool { return f.nonce >= tx.Nonce })
	s.inflight[a] = append(fl, spend{tx.Nonce, cost})
	return nil
}

// ErrNoKey is Submit's error for an account the Signer holds no key of.
type ErrNoKey struct{ Account chain.Address }

func (e ErrNoKey) Error() string { return "market: this node holds no key of " + e.Account.String() }

// SignerChain is a Signer as the committee's Chain: ledger is the node's
// replica of the chain's committed state.
type SignerChain struct {
	Signer *Signer
	State  *chain.Ledger
}

// Ledger implements Chain.
func (c SignerChain) Ledger() *chain.Ledger { return c.State }

// Submit implements Chain.
func (c SignerChain) Submit(env protocol.Env, tx chain.Tx) (chain.Hash, error) {
	signed, err := c.Signer.Submit(env, tx)
	if err != nil {
		return chain.Hash{}, err
	}
	return signed.Hash(), nil
}

// ChainRequester runs a requester (a Requester, or a role around one) of
// a market that settles on a chain: each PostJob it sends the committee
// becomes a JobPost transaction, escrowing the budget, signed by Signer
// as Pub and sent to the validators, with the PostJob as its spec
// (EncodePost); a post the Signer refuses comes back to the requester as
// Refused.
type ChainRequester struct {
	Inner     protocol.Node
	Signer    *Signer
	Pub       chain.PubKey
	Committee protocol.NodeID
	// Posted, if not nil, is told of each post: its job, or why it was
	// refused.
	Posted  func(seq uint64, job chain.JobID, nonce uint64, err error)
	refused []uint64
}

// Handle implements protocol.Node.
func (r *ChainRequester) Handle(env protocol.Env, in protocol.Input) {
	e := &postEnv{Env: env, r: r}
	r.Inner.Handle(e, in)
	for len(r.refused) > 0 {
		seq := r.refused[0]
		r.refused = r.refused[1:]
		r.Inner.Handle(e, protocol.Recv{From: r.Committee, Msg: &JobStatus{Seq: seq, Status: Refused}})
	}
}

type postEnv struct {
	protocol.Env
	r *ChainRequester
}

func (e *postEnv) Send(to protocol.NodeID, m wire.Msg) {
	p, ok := m.(*PostJob)
	if !ok || to != e.r.Committee {
		e.Env.Send(to, m)
		return
	}
	tx := chain.NewJobPost(0, 0, p.Budget, EncodePost(p))
	tx.Sender = e.r.Pub
	signed, err := e.r.Signer.Submit(e.Env, tx)
	if err != nil {
		e.r.refused = append(e.r.refused, p.Seq)
	}
	if e.r.Posted != nil {
		var id chain.JobID
		var nonce uint64
		if err == nil {
			id, nonce = chain.JobIDFor(signed.From(), signed.Nonce), signed.Nonce
		}
		e.r.Posted(p.Seq, id, nonce, err)
	}
}

// BlockSource is the chain as the committee's node committed it.
type BlockSource interface {
	// Height is the highest height committed.
	Height() uint64
	// Range calls fn with each block from height from to to, in order,
	// and stops at the first error. fn submits transactions, so it must
	// not run where the source's storage is locked. A source may forget
	// what it handed over.
	Range(from, to uint64, fn func(h uint64, b *chain.Block) error) error
}

// ChainFeed runs a Committee that settles on a chain: before each input
// it hands the committee the blocks its node committed since the last
// (Committee.Committed; the committee's housekeeping timer fires every
// BlockInterval), and on Start the whole chain so far as a replay, which
// rebuilds the jobs posted and not settled (a restarted node), then the
// Joins of members that joined before the restart.
type ChainFeed struct {
	Committee *Committee
	Blocks    BlockSource
	// Joins are handed to the committee after its Start: the members a
	// restarted committee takes as joined without waiting for them to
	// notice.
	Joins []protocol.Recv
	// Rebuilt, if not nil, is told how many heights a replay read and how
	// many jobs it left open; Failed of a block the source could not
	// read.
	Rebuilt func(heights uint64, open int)
	Failed  func(error)
	seen    uint64 // the last height fed
}

// Handle implements protocol.Node.
func (f *ChainFeed) Handle(env protocol.Env, in protocol.Input) {
	if _, ok := in.(protocol.Start); !ok {
		f.feed(env, false)
		f.Committee.Handle(env, in)
		return
	}
	if n := f.feed(mutedEnv{env}, true); n > 0 && f.Rebuilt != nil {
		_, open := f.Committee.Escrowed()
		f.Rebuilt(n, open)
	}
	f.Committee.Handle(env, in)
	for _, j := range f.Joins {
		f.Committee.Handle(env, j)
	}
}

// Feed hands the committee the blocks committed since it last saw one,
// between inputs: a driver that knows when its node commits a block
// calls it then, with the committee's Env (mux.Mux.AppEnv), so the
// committee acts on the block at once rather than at its next input.
func (f *ChainFeed) Feed(env protocol.Env) { f.feed(env, false) }

// feed hands the committee the blocks committed since the last call; it
// returns how many.
func (f *ChainFeed) feed(env protocol.Env, replay bool) uint64 {
	top := f.Blocks.Height()
	if top <= f.seen {
		return 0
	}
	from := f.seen
	err := f.Blocks.Range(from+1, top, func(h uint64, b *chain.Block) error {
		f.Committee.Committed(env, h, b, replay)
		f.seen = h
		return nil
	})
	if err != nil && f.Failed != nil {
		f.Failed(err)
	}
	return f.seen - from
}

// mutedEnv drops what a replay would send or emit: it already happened.
type mutedEnv struct{ protocol.Env }

func (mutedEnv) Send(protocol.NodeID, wire.Msg) {}
func (mutedEnv) Publish(wire.Topic, wire.Msg)   {}
func (mutedEnv) Emit(metrics.Event)             {}
func (mutedEnv) SetTimer(protocol.Duration, uint64) protocol.TimerID {
	panic("market: a replayed block set a timer")
}
