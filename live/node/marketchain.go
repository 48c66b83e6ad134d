package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/wire"
)

// Settlement on the BFT chain (MarketSpec.Settlement "chain"), with
// protocol/market's pieces for it, as the simulator's is
// (sim/marketrun, settlement: chain).
//
// The market's transactions go into the node's BFT chain, and the
// committee acts on what the validators committed (market.Chain):
//
//   - A requester signs its job's JobPost (escrowing the budget) with its
//     own account key and sends it to the validators, with its PostJob
//     message as the post's spec; the job opens at the committee when the
//     block that holds the post commits (market.ChainRequester).
//   - The committee commits the results it takes in batches by their
//     Merkle root (ResultRoot), settles jobs (Settle), slashes (Slash) as
//     the settler — the committee node's own account, under its secret
//     key — and splits the fee pot (Payout) from the pool's and the
//     treasury's accounts, whose keys it derives from that same secret
//     key. Every validator applies the committee's rules to them
//     (market.ChainRules on the ledger buildProtocol makes).
//   - The committee reads each block from its node's store once stored
//     (market.ChainFeed), so it acts on exactly what the node committed;
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
func (s *MarketSpec) onChain() bool { return s != nil && s.WithDefaults().Settlement == SettleChain }

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

// newChainSigner is the node's market.Signer for keys: it adds to the
// node's mempool, sends to the network's validators, and keeps each
// account's next nonce in the store.
func newChainSigner(ctx ServiceContext, keys ...ed25519.PrivateKey) *market.Signer {
	nonceKey := func(a chain.Address) string { return "market/nonce/" + hex.EncodeToString(a[:]) }
	s := &market.Signer{Self: ctx.ID, Validators: ctx.Network.Validators(), State: ctx.Ledger, Mempool: true,
		Params: chain.DefaultParams(), // the node's ledger's (buildProtocol)
		Persist: func(a chain.Address, next uint64) {
			if err := ctx.Store.PutMeta(nonceKey(a), binary.BigEndian.AppendUint64(nil, next)); err != nil {
				ctx.Log.Error("market: recording the next nonce", "err", err)
			}
		},
		Renumbered: func(a chain.Address, committed, next uint64) {
			ctx.Log.Warn("market: transactions pending without progress; renumbering from the committed nonce", "account", a, "committed", committed, "next", next)
		}}
	for _, k := range keys {
		var next uint64
		if b, err := ctx.Store.Meta(nonceKey(chain.PubKeyOf(k).Address())); err == nil && len(b) == 8 {
			next = binary.BigEndian.Uint64(b)
		}
		s.AddKey(k, next)
	}
	return s
}

// storeBlocks is the node's store as the committee's market.BlockSource.
type storeBlocks struct{ st *store.Store }

func (b storeBlocks) Height() uint64 { return b.st.Height() }

// Range reads the blocks first and hands them over after the store's
// read transaction ends: fn may write to the store (a signer records its
// next nonce), which waits for every reader.
func (b storeBlocks) Range(from, to uint64, fn func(uint64, *chain.Block) error) error {
	var blocks []*chain.Block
	err := b.st.Range(from, to, func(h uint64, rec []byte) error {
		blk, err := storedBlock(h, rec)
		if err == nil {
			blocks = append(blocks, blk)
		}
		return err
	})
	for i, blk := range blocks {
		if err := fn(from+uint64(i), blk); err != nil {
			return err
		}
	}
	return err
}

// newChainFeed runs the committee c on the blocks ctx's node stores (see
// the top of this file).
func newChainFeed(ctx ServiceContext, c *market.Committee) *market.ChainFeed {
	return &market.ChainFeed{Committee: c, Blocks: storeBlocks{ctx.Store},
		Rebuilt: func(heights uint64, open int) {
			ctx.Log.Info("market: rebuilt the committee from the stored chain", "heights", heights, "open_jobs", open)
		},
		Failed: func(err error) { ctx.Log.Error("market: reading the stored chain", "err", err) }}
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

// newChainRequester posts inner's jobs on the chain as ctx's node's
// account.
func newChainRequester(ctx ServiceContext, inner protocol.Node, signer *market.Signer, committee protocol.NodeID) *market.ChainRequester {
	return &market.ChainRequester{Inner: inner, Signer: signer, Pub: chain.PubKeyOf(ctx.AccountKey), Committee: committee,
		Posted: func(seq uint64, job chain.JobID, nonce uint64, err error) {
			if err != nil {
				ctx.Log.Warn("market: the job post was refused", "seq", seq, "err", err)
				return
			}
			ctx.Log.Info("market: job posted on the chain", "seq", seq, "job", hex.EncodeToString(job[:4]), "nonce", nonce)
		}}
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
