package marketrun

import (
	"fmt"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/mux"
	"github.com/dais-sim/dais/protocol/wire"
	"github.com/dais-sim/dais/scenarios/marketplace"
)

// Settlement on the BFT chain (settlement: chain), with the pieces the
// live node uses (live/node/marketchain.go), from protocol/market:
//
//   - ChainValidators run protocol/consensus/bft over their own ledger
//     replicas: the committee's node (0), whose ledger is the committee's
//     market.Chain, and ChainValidators − 1 nodes appended after every
//     other, on its link, spread over the regions.
//   - The ledgers apply the committee's rules (market.ChainRules); they
//     charge gas (chain.DefaultParams' price) and pay each block's reward
//     to its proposer. Signatures are modeled (ModeledVerification), as
//     sim/consensusrun models them.
//   - Requesters sign their jobs' JobPost transactions and send them to
//     every validator (market.ChainRequester); the committee signs its
//     result roots, settlements and slashes as the settler, and payouts
//     from the pool and the treasury (market.Signer), and acts on each
//     block the moment its node commits it (market.ChainFeed).
//
// What the modeled chain has and this one lacks: governance proposals
// (each is signed by its proposer's own account) and streamed jobs
// (marketplace.Params.Validate refuses both).

// settlerBalance is the settler's genesis balance: the gas of its result
// roots, settlements and slashes.
const settlerBalance = 1_000 * chain.Token

// onChain is the BFT chain of a run with settlement: chain.
type onChain struct {
	ids     []protocol.NodeID // the validators: the committee's node, then the appended ones
	ledgers []*chain.Ledger   // by index in ids
	set     *consensus.ValidatorSet
	params  chain.Params
	tap     *blockTap // the committee's node's ledger
	signer  *market.Signer
	feed    *market.ChainFeed
}

// addChainValidators appends the validators besides the committee's
// node, with no market role, on its link, spread over the regions in the
// latency matrix's order from the committee's own (a validator set spans
// the world).
func addChainValidators(p *marketplace.Params, nodes []marketplace.Node) ([]marketplace.Node, []protocol.NodeID) {
	ids := []protocol.NodeID{Committee}
	regions := len(p.Matrix.Regions)
	for k := range p.ChainValidators - 1 {
		ids = append(ids, protocol.NodeID(len(nodes)))
		n := nodes[Committee]
		n.Group, n.Sybil = -1, -1
		n.Region = (n.Region + 1 + k) % regions
		nodes = append(nodes, n)
	}
	return nodes, ids
}

// newOnChain makes the validators' ledgers from cfg, the committee's
// modeled configuration, and points cfg at the chain: the settler, the
// pool and the treasury are the accounts of keys the committee holds,
// the settler funded at genesis.
func newOnChain(p *marketplace.Params, cfg *market.Config, ids []protocol.NodeID) (*onChain, error) {
	oc := &onChain{ids: ids, params: cfg.Ledger.Params}
	oc.params.MinGasPrice = chain.DefaultParams().MinGasPrice
	keys := make([]chain.PubKey, 3)
	oc.signer = &market.Signer{Self: Committee, Validators: ids, Params: oc.params}
	for i := range keys {
		k := chain.KeyFor(p.Seed, protocol.NodeID(0xffff_fff0+uint32(i)))
		keys[i] = chain.PubKeyOf(k)
		oc.signer.AddKey(k, 0)
	}
	cfg.Settler, cfg.Pool, cfg.Treasury = keys[0], keys[1], keys[2]
	spec := cfg.Policy.Emission
	sched, err := spec.Schedule()
	if err != nil {
		return nil, fmt.Errorf("%w: emission: %w", marketplace.ErrParams, err)
	}
	var cands []consensus.Validator
	for _, id := range ids {
		cands = append(cands, consensus.Candidate(p.Seed, id, 1))
	}
	if oc.set, err = consensus.NewValidatorSet(cands, len(ids)); err != nil {
		return nil, err
	}
	genesis := append(cfg.Ledger.Genesis[:len(cfg.Ledger.Genesis):len(cfg.Ledger.Genesis)],
		chain.Account{Address: keys[0].Address(), Balance: settlerBalance})
	for range ids {
		lc := chain.Config{Genesis: genesis, Params: oc.params, KeySeed: p.Seed, ModeledVerification: true,
			Emission: func(h uint64) uint64 { return uint64(sched.Emission(h)) }}
		var l *chain.Ledger
		market.ChainRules(&lc, keys[0].Address(), cfg.Policy, func() *chain.Ledger { return l })
		if l, err = chain.NewLedger(lc); err != nil {
			return nil, fmt.Errorf("%w: the chain's genesis: %w", marketplace.ErrParams, err)
		}
		oc.ledgers = append(oc.ledgers, l)
	}
	oc.tap = &blockTap{Ledger: oc.ledgers[0]}
	oc.signer.State, oc.signer.Mempool = oc.ledgers[0], true
	cfg.Chain = market.SignerChain{Signer: oc.signer, State: oc.ledgers[0]}
	cfg.FeeReserve = chain.Token / 10
	return oc, nil
}

// validator is validator i's node: the committee's node runs the
// committee beside its validator.
func (oc *onChain) validator(p *marketplace.Params, i int, committee *market.Committee) protocol.Node {
	t := bft.DefaultTimeouts()
	t.Commit = p.BlockInterval
	var app consensus.App = oc.ledgers[i]
	if i == 0 {
		app = oc.tap
	}
	v := bft.NewValidator(bft.Config{Set: oc.set, Signer: consensus.Signer{Mode: consensus.SigModeled}, App: app, Timeouts: t})
	if i != 0 {
		return v
	}
	oc.feed = &market.ChainFeed{Committee: committee, Blocks: oc.tap}
	m := mux.New(v, []mux.App{{Name: "committee", Node: oc.feed, Kinds: mux.KindRange(wire.KindJobPost, wire.KindRelease)}}, mux.Options{})
	return &committeeNode{m: m, oc: oc}
}

// requester wraps a requester's node: its posts go to the chain.
func (oc *onChain) requester(p *marketplace.Params, id protocol.NodeID, inner protocol.Node) protocol.Node {
	k := chain.KeyFor(p.Seed, id)
	// Its wallet reads the committee's node's committed state, as a light
	// client would query a validator (modeled as instant).
	s := &market.Signer{Self: id, Validators: oc.ids, Params: oc.params, State: oc.ledgers[0]}
	s.AddKey(k, 0)
	return &market.ChainRequester{Inner: inner, Signer: s, Pub: chain.PubKeyOf(k), Committee: Committee}
}

// check holds the replicas to one chain: every ledger's supply is
// conserved, and each at the committee's height has its tip and state
// root (a validator may end a block behind or ahead).
func (oc *onChain) check() error {
	for i, l := range oc.ledgers {
		if err := l.Supply().Check(); err != nil {
			return fmt.Errorf("validator %d at height %d: %w", oc.ids[i], l.Height(), err)
		}
	}
	ref := oc.ledgers[0]
	for i, l := range oc.ledgers[1:] {
		if l.Height() == ref.Height() && (l.Tip() != ref.Tip() || l.StateRoot() != ref.StateRoot()) {
			return fmt.Errorf("validator %d disagrees with the committee's at height %d", oc.ids[i+1], l.Height())
		}
	}
	return nil
}

// committeeNode is the committee's node: its validator and the committee
// in a mux, the committee fed each block as the validator commits it.
type committeeNode struct {
	m  *mux.Mux
	oc *onChain
}

func (n *committeeNode) Handle(env protocol.Env, in protocol.Input) {
	n.m.Handle(env, in)
	if n.oc.tap.fresh() {
		if e := n.m.AppEnv(env, "committee"); e != nil {
			n.oc.feed.Feed(e)
		}
	}
}

// blockTap is the committee's node's ledger as its consensus App, which
// keeps each block it commits until the committee has read it
// (market.BlockSource).
type blockTap struct {
	*chain.Ledger
	queue []tapped
}

type tapped struct {
	h uint64
	b *chain.Block
}

// Commit implements consensus.App.
func (t *blockTap) Commit(height uint64, block []byte, hash chain.Hash, now protocol.Time) {
	t.Ledger.Commit(height, block, hash, now)
	b, err := chain.DecodeBlock(block)
	if err != nil {
		panic(fmt.Sprintf("marketrun: a committed block does not decode: %v", err))
	}
	t.queue = append(t.queue, tapped{height, b})
}

func (t *blockTap) fresh() bool { return len(t.queue) > 0 }

// Range implements market.BlockSource, forgetting what it hands over.
func (t *blockTap) Range(from, to uint64, fn func(uint64, *chain.Block) error) error {
	for len(t.queue) > 0 && t.queue[0].h <= to {
		q := t.queue[0]
		t.queue = t.queue[1:]
		if q.h < from {
			continue
		}
		if err := fn(q.h, q.b); err != nil {
			return err
		}
	}
	return nil
}
