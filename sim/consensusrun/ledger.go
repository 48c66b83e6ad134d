package consensusrun

import (
	"fmt"
	"slices"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/rewards"
)

// LedgerParams put the real ledger under the engine: every node gets its
// own chain.Ledger replica from one genesis (every node's account, keyed
// by chain.KeyFor(Seed, id), with Balance, and the validators' Stakes
// bonded), and clients (chain.Client) submit signed transfers, which the
// engines hand to the ledger's mempool (consensus.TxSink).
//
// Routing: a client sends each transfer to Fanout validators of the set
// (BFT) or miners (longest chain), drawn per transfer from its own stream.
// A BFT validator relays a transaction it takes from a client to every
// other validator; a longest-chain node floods it to its peers. A client
// that is itself a BFT validator, or any client when miners do not relay
// (NakamotoParams.NoRelay), sends to all of them.
type LedgerParams struct {
	// TxRate is transfers per simulated second, all clients together:
	// each client sends TxRate/len(Clients) per second, at Poisson times.
	TxRate float64
	// Clients are the nodes that submit transfers; nil means every node,
	// an empty list none.
	Clients []protocol.NodeID
	// Fanout: see above. 0 means 2.
	Fanout int
	// Balance is every account's genesis balance in base units; 0 means
	// 1,000 tokens.
	Balance uint64
	// Emission is the block reward schedule; nil means one token a block
	// (rewards.Fixed).
	Emission rewards.Schedule
	// Chain are the ledger's rules; nil means chain.DefaultParams().
	Chain *chain.Params
	// ModeledVerification makes ledgers skip ed25519 verification of
	// transactions (chain.Config): clients still sign for real.
	ModeledVerification bool
	// Wrap, if not nil, gives node id an App built around its ledger (tests
	// break ledgers with it). The conservation check reads the wrapper's
	// Supply method if it has one, else the ledger's.
	Wrap func(id protocol.NodeID, l *chain.Ledger) consensus.App
}

func (lp *LedgerParams) validate(nodes int) error {
	switch {
	case !(lp.TxRate >= 0):
		return fmt.Errorf("%w: tx rate %g", ErrParams, lp.TxRate)
	case lp.Fanout < 0:
		return fmt.Errorf("%w: fanout %d", ErrParams, lp.Fanout)
	}
	for _, id := range lp.Clients {
		if int(id) >= nodes {
			return fmt.Errorf("%w: client %d of %d nodes", ErrParams, id, nodes)
		}
	}
	if lp.Chain != nil {
		if err := lp.Chain.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrParams, err)
		}
	}
	return nil
}

// Measures recorded with a ledger.
var (
	TxsCommitted = &metrics.Measure{Name: "txs_committed", Kind: metrics.Counter, Better: metrics.Higher,
		Help: "user transactions in finalized blocks, each height counted once"}
	Mempool = &metrics.Measure{Name: "mempool", Unit: "txs", Kind: metrics.Distribution,
		Help: "transactions left in an honest validator's (or miner's) mempool after each block it commits"}
)

// LedgerResult is what the ledger saw. Amounts are base units.
type LedgerResult struct {
	// Submitted counts transfers clients sent; Committed the user
	// transactions in finalized blocks, each height counted once.
	Submitted, Committed uint64
	// Rejected counts refusals by reason (chain.Reason), over every node's
	// mempool: a transaction refused by ten validators counts ten times.
	Rejected map[string]uint64
	// Throttled counts client turns skipped with too much in flight;
	// Resyncs times a client gave transfers up for lost, Abandoned how many.
	Throttled, Resyncs, Abandoned uint64
	// Fees, Minted and Burned are totals over the finalized blocks.
	Fees, Minted, Burned uint64
	// Supply is an honest validator's ledger at the end of the run.
	Supply chain.Supply
	// Height is that ledger's committed height.
	Height uint64
	// Verified and Modeled count transaction signature checks done and
	// skipped, over every replica.
	Verified, Modeled uint64
}

// ledgers is the ledger side of a run.
type ledgers struct {
	lp      LedgerParams
	seed    uint64
	params  chain.Params
	replica []*chain.Ledger
	apps    []consensus.App
	addrs   []chain.Address
	clients map[protocol.NodeID]bool
	perRate float64
	// takers are the nodes clients send to; direct says whether a client
	// on a node must send to all of them (no one relays for it).
	takers []protocol.NodeID
	direct func(protocol.NodeID) bool

	res     LedgerResult
	applied uint64 // highest height counted in res
}

func newLedgers(p *Params, total int) (*ledgers, error) {
	lp := *p.Ledger
	if lp.Fanout == 0 {
		lp.Fanout = 2
	}
	if lp.Balance == 0 {
		lp.Balance = 1000 * chain.Token
	}
	if lp.Emission == nil {
		lp.Emission = rewards.Fixed{PerBlock: rewards.Token}
	}
	l := &ledgers{lp: lp, seed: p.Seed, params: chain.DefaultParams(), clients: map[protocol.NodeID]bool{},
		res: LedgerResult{Rejected: map[string]uint64{}}}
	if lp.Chain != nil {
		l.params = *lp.Chain
	}
	genesis := chain.GenesisFor(p.Seed, total, lp.Balance, 0)
	for i := range genesis {
		if i < p.Validators {
			genesis[i].Stake = 1_000_000
			if p.Stakes != nil {
				genesis[i].Stake = p.Stakes[i]
			}
		}
		l.addrs = append(l.addrs, genesis[i].Address)
	}
	for i := 0; i < total; i++ {
		led, err := chain.NewLedger(chain.Config{Genesis: genesis, Params: l.params, Emission: rewards.Func(lp.Emission),
			KeySeed: p.Seed, ModeledVerification: lp.ModeledVerification})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrParams, err)
		}
		var app consensus.App = led
		if lp.Wrap != nil {
			app = lp.Wrap(protocol.NodeID(i), led)
		}
		l.replica = append(l.replica, led)
		l.apps = append(l.apps, app)
	}
	clients := lp.Clients
	if clients == nil {
		for i := 0; i < total; i++ {
			clients = append(clients, protocol.NodeID(i))
		}
	}
	for _, id := range clients {
		l.clients[id] = true
	}
	if len(l.clients) > 0 {
		l.perRate = lp.TxRate / float64(len(l.clients))
	}
	return l, nil
}

func (l *ledgers) app(id protocol.NodeID) consensus.App { return l.apps[id] }

// client wraps node id's engine in its client, if it is one.
func (l *ledgers) client(id protocol.NodeID, n protocol.Node) protocol.Node {
	if !l.clients[id] || l.perRate <= 0 {
		return n
	}
	fanout := l.lp.Fanout
	if l.direct != nil && l.direct(id) {
		fanout = 0
	}
	return chain.NewClient(chain.ClientConfig{Key: chain.KeyFor(l.seed, id), Rate: l.perRate, Targets: l.takers,
		Fanout: fanout, Recipients: l.addrs, Params: l.params, Ledger: l.replica[id], Inner: n})
}

// supplier is an App that reports where its tokens are.
type supplier interface{ Supply() chain.Supply }

// conservation is the checker's hook: after every honest commit, the
// node's ledger must hold exactly what was minted less what was burned.
// It costs O(accounts) per commit and node.
func (l *ledgers) conservation(also func(protocol.NodeID, uint64) error) func(protocol.NodeID, uint64) error {
	return func(node protocol.NodeID, height uint64) error {
		if also != nil {
			if err := also(node, height); err != nil {
				return err
			}
		}
		var s supplier = l.replica[node]
		if w, ok := l.apps[node].(supplier); ok {
			s = w
		}
		return s.Supply().Check()
	}
}

// record takes the ledger's events; it reports whether s was one.
func (l *ledgers) record(r *run, s metrics.Stamped) bool {
	switch ev := s.Event.(type) {
	case chain.Applied:
		r.chk.Record(s)
		id := int(s.Node)
		if id >= r.p.Validators || r.byz[id] {
			return true
		}
		r.rec.At(s.AtNs).Sample(Mempool, float64(ev.Pending))
		if ev.Height == l.applied+1 {
			l.applied++
			l.res.Committed += uint64(ev.User)
			l.res.Fees += ev.Fees
			l.res.Minted += ev.Minted
			l.res.Burned += ev.Burned
			r.rec.At(s.AtNs).Add(TxsCommitted, float64(ev.User))
		}
	case chain.Submitted:
		l.res.Submitted++
	case chain.Rejected:
		l.res.Rejected[ev.Reason]++
	case chain.Throttled:
		l.res.Throttled++
	case chain.Resynced:
		l.res.Resyncs++
		l.res.Abandoned += ev.Abandoned
	default:
		return false
	}
	return true
}

func (l *ledgers) finish(honest int) *LedgerResult {
	res := l.res
	for _, led := range l.replica {
		v := led.Verifications()
		res.Verified += v.Real
		res.Modeled += v.Modeled
	}
	if honest >= 0 {
		res.Supply = l.replica[honest].Supply()
		res.Height = l.replica[honest].Height()
	}
	return &res
}

// TxPerSec is committed transactions per simulated second.
func (r *LedgerResult) TxPerSec(until protocol.Duration) float64 {
	return float64(r.Committed) / until.Seconds()
}

// RejectedTotal is every refusal, whatever its reason.
func (r *LedgerResult) RejectedTotal() uint64 {
	var n uint64
	for _, c := range r.Rejected {
		n += c
	}
	return n
}

// ledgerSummary adds the ledger's figures to a run's summary.
func ledgerSummary(run *metrics.Run, res *Result) {
	lr, lp, until := res.Ledger, res.Params.Ledger, res.Params.Until
	sigs := "transaction signatures real ed25519, verified by every node that takes or checks a transaction"
	if lp.ModeledVerification {
		sigs = "transaction signatures made but modeled: checks counted, not computed"
	}
	tok := func(x uint64) float64 { return rewards.Tokens(x).Float() }
	fig := func(key string, v float64, unit, help string, better metrics.Better, headline bool) {
		run.Figures = append(run.Figures, metrics.Figure{Key: key, Value: v, Unit: unit, Help: help, Better: better, Headline: headline})
	}
	fig("tx_per_s", lr.TxPerSec(until), "1/s", "user transactions finalized per simulated second ("+sigs+")", metrics.Higher, true)
	fig("txs_submitted", float64(lr.Submitted), "", "transfers clients signed and sent", "", false)
	fig("txs_rejected", float64(lr.RejectedTotal()), "", "refusals by a node's mempool (a transaction refused by n nodes counts n times; copies from relaying are not refusals)", metrics.Lower, false)
	fig("client_throttled", float64(lr.Throttled), "", "client turns skipped because a client had as many transfers in flight as mempools take from one sender (the offered rate was not sent)", metrics.Lower, false)
	fig("client_resyncs", float64(lr.Resyncs), "", "times a client gave its pending transfers up for lost and renumbered from the committed nonce", metrics.Lower, false)
	fig("fees_tokens", tok(lr.Fees), "tokens", "fees paid in finalized blocks", "", false)
	fig("minted_tokens", tok(lr.Minted), "tokens", "block rewards minted in finalized blocks", "", false)
	fig("burned_tokens", tok(lr.Burned), "tokens", "fees burned (and slashes) in finalized blocks", "", false)
	fig("supply_tokens", tok(lr.Supply.Minted-lr.Supply.Burned), "tokens", "tokens in existence at the end (genesis + minted − burned), at an honest validator", "", false)
	fig("tx_signatures_verified", float64(lr.Verified), "", "transaction signature checks computed, over every replica ("+sigs+")", "", false)
	fig("tx_signatures_modeled", float64(lr.Modeled), "", "transaction signature checks modeled instead of computed, over every replica", "", false)
	if run.Column(TxsCommitted.Key()) != nil {
		run.Plots = append(run.Plots, metrics.Plot{Kind: metrics.PlotSeries, Data: []string{TxsCommitted.Key()}, Rate: true,
			Title: "Transactions finalized", XLabel: "simulated time (s)", YLabel: "transactions per second (1/s)",
			Caption: "User transactions in the blocks finalized in each step. It follows the offered rate while the chain keeps up; dips are heights that took extra rounds or a partition."})
	}
	if d := run.Dist(Mempool.Key()); d != nil && d.Count > 0 {
		run.Plots = append(run.Plots, metrics.Plot{Kind: metrics.PlotCDF, Data: []string{Mempool.Key()},
			Title: "Mempool after each block", XLabel: "pending transactions (count)", YLabel: "commits (fraction)",
			Caption: "Transactions left waiting at an honest validator after each block it committed. A mempool that grows through the run means blocks are full or proposals are missing transactions."})
	}
	if len(lr.Rejected) > 0 {
		reasons := make([]string, 0, len(lr.Rejected))
		for k := range lr.Rejected {
			reasons = append(reasons, k)
		}
		slices.Sort(reasons)
		vals := make(metrics.Floats, len(reasons))
		for i, k := range reasons {
			vals[i] = float64(lr.Rejected[k])
		}
		run.Groups = append(run.Groups, metrics.Group{Key: "tx_rejections_by_reason", Labels: reasons,
			Help: "mempool refusals by reason, over every node", Sets: []metrics.BarSet{{Name: "refusals", Values: vals}}})
	}
}
