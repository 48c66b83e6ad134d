package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/wire"
)

// Settlement on the BFT chain (MarketSpec.Settlement "chain").
//
// The market's transactions go into the node's BFT chain, and the
// committee acts on what the validators committed (market.Chain):
//
//   - A requester signs its job's JobPost (escrowing the budget) with its
//     own account key and sends it to the validators, with its PostJob
//     message as the post's spec; the job opens at the committee when the
//     block that holds the post commits (chainRequester).
//   - The committee commits the results it takes in batches by their
//     Merkle root (ResultRoot), settles jobs (Settle), slashes (Slash) as
//     the settler — the committee node's own account, under its secret
//     key — and splits the fee pot (Payout) from the pool's and the
//     treasury's accounts, whose keys it derives from that same secret
//     key. Every validator applies the committee's rules to them
//     (market.ChainRules on the ledger buildProtocol makes).
//   - The committee reads each block from its node's store once stored
//     (chainCommittee), so it acts on exactly what the node committed;
//     after a restart it reads the whole stored chain first (replay), which
//     rebuilds the jobs posted and not settled, whose units then run
//     again. The committee's members are the spec's providers and
//     validators, whose Joins it takes as given when it starts: a
//     restarted committee does not wait for them to notice it restarted.
//
// What is lost in a crash is the committee's work in memory: results of
// units not yet settled are computed again. A settlement the crashed
// committee had sent that commits after its restart closes the job at the
// committee, but its requester is not told (its status stays open).

// Settlement modes of MarketSpec.Settlement.
const (
	SettleCommittee = "committee"
	SettleChain     = "chain"
)

// marketFeeReserve is what the pool and the treasury keep for their
// payouts' gas (a payout of a few dozen credits costs a few thousand base
// units).
const marketFeeReserve = chain.Token / 10

// onChain reports whether the market settles on the BFT chain.
func (s *MarketSpec) onChain() bool { return s != nil && s.Settlement == SettleChain }

// marketChainRules fills in lc, the node's ledger's configuration, for a
// market that settles on the chain: providers and validators of the
// market stake the market's stake at genesis (the scheduler's lottery
// and slashing read it), and the ledger applies the committee's rules.
// The same at every node: it reads only the network.
func marketChainRules(netw *Network, lc *chain.Config, ledger func() *chain.Ledger) {
	s := netw.Market
	if !s.onChain() {
		return
	}
	d := s.WithDefaults()
	for i := range lc.Genesis {
		id := protocol.NodeID(i)
		if lc.Genesis[i].Stake == 0 && (slices.Contains(s.Providers, id) || slices.Contains(s.Validators, id)) {
			lc.Genesis[i].Stake = d.Stake
		}
	}
	market.ChainRules(lc, netw.AccountOf(s.Committee), rewards.DefaultPolicy(), ledger)
}

// signsMarketTxs reports whether node id signs market transactions from
// its account (the committee, requesters), so that a load client signing
// from the same account would take their nonces.
func signsMarketTxs(netw *Network, id protocol.NodeID) bool {
	s := netw.Market
	return s.onChain() && (s.Committee == id || slices.Contains(s.Requesters, id))
}

// derivedKey is an account key the committee derives from its node's
// secret account key: the pool's and the treasury's, which only the
// committee spends from.
func derivedKey(account ed25519.PrivateKey, label string) ed25519.PrivateKey {
	h := sha256.Sum256(append([]byte("dais/market/"+label+"\x00"), account.Seed()...))
	return ed25519.NewKeyFromSeed(h[:])
}

// nonceStall is how long a signer waits for its committed nonce to move
// before it renumbers from it (its transactions in flight were lost: a
// crash before they left the node).
const nonceStall = 30 * protocol.Second

// chainSigner signs a node's market transactions, adds them to its
// mempool and sends them to every validator, as a wallet would. It keeps
// each account's next nonce in the store, so a restarted node does not
// sign a second transaction with the nonce of one still in flight. Node
// goroutine only.
type chainSigner struct {
	ledger     *chain.Ledger
	store      *store.Store
	log        *slog.Logger
	self       protocol.NodeID
	validators []protocol.NodeID
	keys       map[chain.PubKey]ed25519.PrivateKey
	next       map[chain.Address]uint64
	seen       map[chain.Address]uint64 // the committed nonce last seen
	since      map[chain.Address]protocol.Time
}

func newChainSigner(ctx ServiceContext, keys ...ed25519.PrivateKey) *chainSigner {
	s := &chainSigner{ledger: ctx.Ledger, store: ctx.Store, log: ctx.Log, self: ctx.ID, validators: ctx.Network.Validators(),
		keys: map[chain.PubKey]ed25519.PrivateKey{}, next: map[chain.Address]uint64{}, seen: map[chain.Address]uint64{},
		since: map[chain.Address]protocol.Time{}}
	for _, k := range keys {
		pub := chain.PubKeyOf(k)
		s.keys[pub] = k
		if b, err := ctx.Store.Meta(s.nonceKey(pub.Address())); err == nil && len(b) == 8 {
			s.next[pub.Address()] = binary.BigEndian.Uint64(b)
		}
	}
	return s
}

func (s *chainSigner) nonceKey(a chain.Address) string {
	return "market/nonce/" + hex.EncodeToString(a[:])
}

// submit signs tx as tx.Sender with its next nonce and the fee the node's
// ledger charges, and hands it to the chain.
func (s *chainSigner) submit(env protocol.Env, tx chain.Tx) (*chain.Tx, error) {
	key, ok := s.keys[tx.Sender]
	if !ok {
		return nil, fmt.Errorf("node: market: this node holds no key of %s", tx.Sender.Address())
	}
	a := tx.Sender.Address()
	now, committed := env.Now(), s.ledger.Account(a).Nonce
	if c, ok := s.seen[a]; !ok || c != committed || s.next[a] <= committed {
		s.seen[a], s.since[a] = committed, now
	}
	if s.next[a] > committed && now.Sub(s.since[a]) > nonceStall {
		s.log.Warn("market: transactions pending without progress; renumbering from the committed nonce", "account", a, "committed", committed, "next", s.next[a])
		s.next[a], s.since[a] = committed, now
	}
	tx.Nonce = max(s.next[a], committed)
	params := chain.DefaultParams() // the node's ledger's (buildProtocol)
	tx.Fee = math.MaxUint64
	probe := chain.Sign(key, tx)
	tx.Fee = params.Gas.Gas(tx.Type, len(probe.Encoded())) * params.MinGasPrice
	signed := chain.Sign(key, tx)
	if err := s.ledger.AddTx(signed); err != nil {
		return nil, err
	}
	s.next[a] = signed.Nonce + 1
	if err := s.store.PutMeta(s.nonceKey(a), binary.BigEndian.AppendUint64(nil, s.next[a])); err != nil {
		s.log.Error("market: recording the next nonce", "err", err)
	}
	for _, v := range s.validators {
		if v != s.self {
			env.Send(v, signed)
		}
	}
	return signed, nil
}

// liveChain is the BFT chain as the committee's market.Chain.
type liveChain struct{ s *chainSigner }

func (c liveChain) Ledger() *chain.Ledger { return c.s.ledger }

func (c liveChain) Submit(env protocol.Env, tx chain.Tx) (chain.Hash, error) {
	signed, err := c.s.submit(env, tx)
	if err != nil {
		return chain.Hash{}, err
	}
	return signed.Hash(), nil
}

// chainCommittee feeds the committee every block its node stored, before
// each input it handles (the committee's housekeeping timer fires every
// BlockInterval), and on Start the whole stored chain as a replay.
type chainCommittee struct {
	c     *market.Committee
	store *store.Store
	log   *slog.Logger
	// joins are the Joins of the spec's providers and validators, as they
	// send them.
	joins []protocol.Recv
	seen  uint64 // the last height fed
}

func (w *chainCommittee) Handle(env protocol.Env, in protocol.Input) {
	if _, ok := in.(protocol.Start); !ok {
		w.feed(env, false)
		w.c.Handle(env, in)
		return
	}
	n := w.feed(mutedEnv{env}, true)
	if n > 0 {
		_, open := w.c.Escrowed()
		w.log.Info("market: rebuilt the committee from the stored chain", "heights", n, "open_jobs", open)
	}
	w.c.Handle(env, in)
	for _, j := range w.joins {
		w.c.Handle(env, j)
	}
}

// feed hands the committee the blocks stored since the last call; it
// returns how many.
func (w *chainCommittee) feed(env protocol.Env, replay bool) uint64 {
	top := w.store.Height()
	if top <= w.seen {
		return 0
	}
	var blocks []*chain.Block
	err := w.store.Range(w.seen+1, top, func(h uint64, rec []byte) error {
		b, err := storedBlock(h, rec)
		blocks = append(blocks, b)
		return err
	})
	if err != nil {
		w.log.Error("market: reading the stored chain", "err", err)
		return 0
	}
	from := w.seen
	for i, b := range blocks {
		w.c.Committed(env, from+1+uint64(i), b, replay)
	}
	w.seen = top
	return top - from
}

// storedBlock decodes the block of a stored commit record.
func storedBlock(h uint64, rec []byte) (*chain.Block, error) {
	m, err := wire.Decode(bytes.Clone(rec))
	if err != nil {
		return nil, fmt.Errorf("height %d: %w", h, err)
	}
	c, ok := m.(*bft.Commit)
	if !ok {
		return nil, fmt.Errorf("height %d holds a %s", h, wire.Name(m.Kind()))
	}
	return chain.DecodeBlock(c.Block)
}

// mutedEnv drops what a replay would send or emit: it already happened.
type mutedEnv struct{ protocol.Env }

func (mutedEnv) Send(protocol.NodeID, wire.Msg) {}
func (mutedEnv) Publish(wire.Topic, wire.Msg)   {}
func (mutedEnv) Emit(metrics.Event)             {}
func (mutedEnv) SetTimer(protocol.Duration, uint64) protocol.TimerID {
	panic("node: market: a replayed block set a timer")
}

// chainRequester turns its requester's job posts into JobPost
// transactions it signs and sends to the chain; a post the node's mempool
// refuses comes back to the requester as refused.
type chainRequester struct {
	inner     protocol.Node
	signer    *chainSigner
	pub       chain.PubKey
	committee protocol.NodeID
	log       *slog.Logger
	refused   []uint64
}

func (r *chainRequester) Handle(env protocol.Env, in protocol.Input) {
	e := &postEnv{Env: env, r: r}
	r.inner.Handle(e, in)
	for len(r.refused) > 0 {
		seq := r.refused[0]
		r.refused = r.refused[1:]
		r.inner.Handle(e, protocol.Recv{From: r.committee, Msg: &market.JobStatus{Seq: seq, Status: market.Refused}})
	}
}

type postEnv struct {
	protocol.Env
	r *chainRequester
}

func (e *postEnv) Send(to protocol.NodeID, m wire.Msg) {
	p, ok := m.(*market.PostJob)
	if !ok || to != e.r.committee {
		e.Env.Send(to, m)
		return
	}
	tx := chain.NewJobPost(0, 0, p.Budget, market.EncodePost(p))
	tx.Sender = e.r.pub
	signed, err := e.r.signer.submit(e.Env, tx)
	if err != nil {
		e.r.log.Warn("market: the job post was refused", "seq", p.Seq, "err", err)
		e.r.refused = append(e.r.refused, p.Seq)
		return
	}
	id := chain.JobIDFor(signed.From(), signed.Nonce)
	e.r.log.Info("market: job posted on the chain", "seq", p.Seq, "job", hex.EncodeToString(id[:4]), "budget", p.Budget, "nonce", signed.Nonce)
}

// StoredLedger rebuilds netw's ledger from the chain a stopped node
// stored at storePath (its data dir's StoreFile), as the node rebuilds it
// when it starts: balances, escrow and supply as of its last stored
// height, for checks from outside the node.
func StoredLedger(netw *Network, storePath string) (*chain.Ledger, error) {
	ledger, _, err := newLedger(netw)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(storePath, store.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	err = st.Range(1, st.Height(), func(h uint64, rec []byte) (err error) {
		m, err := wire.Decode(bytes.Clone(rec))
		if err != nil {
			return fmt.Errorf("height %d: %w", h, err)
		}
		c, ok := m.(*bft.Commit)
		if !ok || c.Height != h {
			return fmt.Errorf("height %d holds a %s", h, wire.Name(m.Kind()))
		}
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("height %d does not apply: %v", h, r)
			}
		}()
		ledger.Commit(h, c.Block, c.BlockHash, 0)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: replaying %s: %w", storePath, err)
	}
	return ledger, nil
}
