package node

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/nakamoto"
	"github.com/dais-sim/dais/protocol/wire"
)

// Consensus engines a network runs (Network.Engine).
const (
	EngineBFT          = "bft"
	EngineLongestChain = "longest_chain"
)

// Mining modes of a longest-chain network (LongestChainSpec.Mining).
const (
	MiningStake = "stake"
	MiningPoW   = "pow"
)

// Defaults of a longest-chain network.
const (
	DefaultInterval      = 2 * time.Second
	DefaultConfirmations = 6
	// DefaultMinerGPU is a miner's GPU class in pow mining when none is
	// given: every miner then has the same hash power.
	DefaultMinerGPU = "h100"
)

// Metric names a longest-chain node serves besides the common ones.
const (
	MetricTipHeight   = "dais_nakamoto_tip_height"
	MetricMined       = "dais_nakamoto_blocks_mined_total"
	MetricReorgs      = "dais_nakamoto_reorgs_total"
	MetricReorgDepth  = "dais_nakamoto_reorg_depth_max"
	MetricDeepForks   = "dais_nakamoto_deep_forks_total"
	MetricMiningShare = "dais_nakamoto_mining_share"
)

// LongestChainSpec is how a longest-chain network (Network.Engine
// longest_chain) mines and finalizes; it runs protocol/consensus/nakamoto,
// the engine sim/consensusrun simulates, with the ledger as its App.
//
// Mining is modeled, as in the simulator, not done: no node burns CPU on
// hashes. Each validator is a miner whose share s of the network's weight
// (its stake, or its GPU class's dense FP16 rate) makes it find blocks at
// Poisson times of rate s/Interval, drawn from its own seeded stream and
// waited out on the node's wall clock (protocol.Env timers), so the
// network finds a block every Interval on average. Followers mine nothing.
// A block is final at a node once Confirmations blocks sit on it there:
// that is when it is committed to the ledger and stored.
type LongestChainSpec struct {
	// Interval is the network's target block interval; 0 means
	// DefaultInterval.
	Interval Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	// Confirmations before a block is final; 0 means DefaultConfirmations.
	Confirmations int `json:"confirmations,omitempty" yaml:"confirmations,omitempty"`
	// Mining is stake (a lottery weighted by the validators' stakes; the
	// default) or pow (hash power from each miner's GPU class).
	Mining string `json:"mining,omitempty" yaml:"mining,omitempty"`
	// GPUs are the miners' GPU classes for pow mining: one for every
	// miner, or one per validator in ID order; empty means
	// DefaultMinerGPU for all. Names resolve in the network's GPUCatalog.
	GPUs []string `json:"gpus,omitempty" yaml:"gpus,omitempty"`
}

// LongestChain reports whether the network runs longest-chain consensus.
func (n *Network) LongestChain() bool { return n.Engine == EngineLongestChain }

// LongestChainSpecOrDefault is the network's longest-chain spec with the
// defaults filled in.
func (n *Network) LongestChainSpecOrDefault() LongestChainSpec {
	var s LongestChainSpec
	if n.LongestChainSpec != nil {
		s = *n.LongestChainSpec
	}
	if s.Interval == 0 {
		s.Interval = Duration(DefaultInterval)
	}
	if s.Confirmations == 0 {
		s.Confirmations = DefaultConfirmations
	}
	if s.Mining == "" {
		s.Mining = MiningStake
	}
	return s
}

// validateEngine checks the engine and, for longest chain, its spec.
func (n *Network) validateEngine() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	switch n.Engine {
	case "", EngineBFT:
		if n.LongestChainSpec != nil {
			return bad("longest_chain is set but the engine is %s: give engine: longest_chain, or drop longest_chain", EngineBFT)
		}
		return nil
	case EngineLongestChain:
	default:
		return bad("engine %q: want %s or %s", n.Engine, EngineBFT, EngineLongestChain)
	}
	s := n.LongestChainSpecOrDefault()
	switch {
	case time.Duration(s.Interval) < time.Millisecond:
		return bad("longest_chain.interval %v: want ≥ 1ms", time.Duration(s.Interval))
	case s.Confirmations < 0 || s.Confirmations > 1000:
		return bad("longest_chain.confirmations %d: want 1 to 1000", s.Confirmations)
	case s.Mining != MiningStake && s.Mining != MiningPoW:
		return bad("longest_chain.mining %q: want %s or %s", s.Mining, MiningStake, MiningPoW)
	case s.Mining == MiningStake && len(s.GPUs) > 0:
		return bad("longest_chain.gpus: GPU classes weigh pow mining; a stake lottery weighs stake")
	case len(s.GPUs) > 1 && len(s.GPUs) != len(n.Validators()):
		return bad("longest_chain.gpus: %d classes for %d miners: give one for all, or one per validator", len(s.GPUs), len(n.Validators()))
	case n.Market != nil || n.Learning != nil:
		// The marketplace and the federated job pay on the chain and time
		// their work by its commits; they are built and tested on BFT.
		return bad("the marketplace and the federated job run on a BFT chain; longest_chain runs the ledger with transfers only")
	}
	_, err := n.miningShares()
	return err
}

// miningShares are each node's share of the network's mining weight, by
// ID: a validator's stake or its GPU class's FP16 TFLOPS over the sum;
// 0 for followers.
func (n *Network) miningShares() ([]float64, error) {
	s := n.LongestChainSpecOrDefault()
	weights := make([]float64, len(n.Nodes))
	var sum float64
	for i, id := range n.Validators() {
		w := float64(n.Nodes[id].StakeOf())
		if s.Mining == MiningPoW {
			name := DefaultMinerGPU
			switch len(s.GPUs) {
			case 1:
				name = s.GPUs[0]
			case len(n.Validators()):
				name = s.GPUs[i]
			}
			cat, err := n.GPUCatalog()
			if err != nil {
				return nil, err
			}
			c, ok := cat.Lookup(name)
			if !ok {
				return nil, fmt.Errorf("%w: longest_chain.gpus: unknown GPU class %q", ErrConfig, name)
			}
			w = c.FP16TFLOPS
		}
		weights[id] = w
		sum += w
	}
	if !(sum > 0) {
		return nil, fmt.Errorf("%w: longest_chain: the miners have no mining weight", ErrConfig)
	}
	for i := range weights {
		weights[i] /= sum
	}
	return weights, nil
}

// LongestChainStatus is a longest-chain node's view of its chain, in
// /status. Status.Height and Status.Tip are the last block final here
// (Confirmations deep); TipHeight and TipHash the best block it follows.
type LongestChainStatus struct {
	Mining        string  `json:"mining"`
	Share         float64 `json:"share"` // of the network's mining weight
	IntervalS     float64 `json:"interval_s"`
	Confirmations int     `json:"confirmations"`
	TipHeight     uint64  `json:"tip_height"`
	TipHash       string  `json:"tip_hash"`
	// Mined counts blocks this node found since it started; Reorgs the
	// times its tip moved to a branch that did not extend it (MaxReorg
	// blocks left its main chain at most); DeepForks heavier branches it
	// refused because they fork below its final height.
	Mined     uint64 `json:"mined"`
	Reorgs    uint64 `json:"reorgs"`
	MaxReorg  uint64 `json:"max_reorg"`
	DeepForks uint64 `json:"deep_forks"`
	// FinalityMs is the last final block's time to depth: from its mining
	// (the miner's clock) to its commit here.
	FinalityMs float64 `json:"finality_ms"`
	// SupplyChecked counts the inputs after which the ledger's
	// conservation (minted − burned = balances + stake + unbonding +
	// escrow) was checked, one per input that committed blocks;
	// SupplyError is the first failure.
	SupplyChecked uint64 `json:"supply_checked"`
	SupplyError   string `json:"supply_error,omitempty"`
}

func init() {
	registerEvent[nakamoto.Mined]()
	registerEvent[nakamoto.Reorg]()
	registerEvent[nakamoto.DeepFork]()
}

// buildLongest makes the node's longest-chain engine over app, and the
// longest that will make it durable (wrap).
func (n *Node) buildLongest(app consensus.App) (*nakamoto.Node, error) {
	netw := n.net
	shares, err := netw.miningShares()
	if err != nil {
		return nil, err
	}
	s := netw.LongestChainSpecOrDefault()
	all := make([]protocol.NodeID, len(netw.Nodes))
	for i := range all {
		all[i] = protocol.NodeID(i)
	}
	// Every node announces to every other: a testnet is at most
	// MaxNodes, and flooding (relay on) reaches a node that a miner is not
	// connected to yet through the others.
	engine := nakamoto.New(nakamoto.Config{App: app, Peers: others(all, n.cfg.ID),
		Interval: protocol.Duration(s.Interval), Share: shares[n.cfg.ID], Confirmations: s.Confirmations})
	n.lc = newLongest(engine, s, shares[n.cfg.ID])
	return engine, nil
}

// longest makes a longest-chain node durable and measures it, as durable
// does for BFT:
//
//   - It takes each block from the engine (nakamoto.Node.Block) as its
//     Committed event passes, before a commit of many heights at once (a
//     node catching up) prunes the lowest from the engine's memory, and
//     after the input appends them to the store, fsynced, before the
//     input's sends leave. A final block is never
//     rolled back (the engine refuses branches that fork below it), so
//     the store only grows; a different block at a stored height would
//     fail the node (store.ErrConflict) rather than fork its chain.
//   - On Start it first restores the stored blocks into the engine
//     (nakamoto.Node.Restore: each checked by the ledger and final at
//     once), silently, then starts the engine, which mines on the stored
//     tip. The blocks found while the node was down come from its peers:
//     the first block it hears of has an unknown parent, and the engine
//     asks for ancestors until it reaches its own chain.
//   - It answers from the store a BlockReq for a block the engine has
//     pruned from memory, so a node that was down for long still catches
//     up (the engine holds up to MaxOrphans blocks while it does).
//   - After every input that committed, it checks the ledger's token
//     conservation (Status.LongestChain.SupplyError).
type longest struct {
	engine *nakamoto.Node
	spec   LongestChainSpec
	share  float64

	inner protocol.Node
	app   *chainApp
	store *store.Store
	self  protocol.NodeID
	hooks durableHooks
	env   lcEnv

	started, replaying, failed bool
	// byHash are the stored heights by block hash.
	byHash map[consensus.Hash]uint64
	// final are the blocks committed during this input, for persist.
	final []finalBlock

	mined, reorgs, maxReorg, deepForks uint64
	finality                           time.Duration
	supplyChecked                      uint64
	supplyErr                          string

	tipHeight, mining, maxReorgG prometheus.Gauge
	minedC, reorgC, deepC        prometheus.Counter
}

func newLongest(engine *nakamoto.Node, s LongestChainSpec, share float64) *longest {
	d := &longest{engine: engine, spec: s, share: share, byHash: map[consensus.Hash]uint64{},
		tipHeight: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricTipHeight, Help: "Height of the best block this node follows (final or not)."}),
		mining:    prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricMiningShare, Help: "This node's share of the network's mining weight (stake or GPU hash power)."}),
		maxReorgG: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricReorgDepth, Help: "Deepest reorganization this node has seen since it started (blocks)."}),
		minedC:    prometheus.NewCounter(prometheus.CounterOpts{Name: MetricMined, Help: "Blocks this node found since it started."}),
		reorgC:    prometheus.NewCounter(prometheus.CounterOpts{Name: MetricReorgs, Help: "Times this node's tip moved to a branch that did not extend it."}),
		deepC:     prometheus.NewCounter(prometheus.CounterOpts{Name: MetricDeepForks, Help: "Heavier branches refused because they fork below this node's final height."}),
	}
	d.mining.Set(share)
	d.env.d = d
	return d
}

// wrap makes inner (the node's engine inside its wrappers) durable.
func (d *longest) wrap(inner protocol.Node, app *chainApp, st *store.Store, self protocol.NodeID, hooks durableHooks) protocol.Node {
	d.inner, d.app, d.store, d.self, d.hooks = inner, app, st, self, hooks
	return d
}

// register adds the longest-chain metrics to the node's registry.
func (d *longest) register(reg *prometheus.Registry) {
	reg.MustRegister(d.tipHeight, d.mining, d.maxReorgG, d.minedC, d.reorgC, d.deepC)
}

// Handle implements protocol.Node.
func (d *longest) Handle(env protocol.Env, in protocol.Input) {
	if d.failed {
		return
	}
	d.env.Env, d.env.answered = env, false
	if _, ok := in.(protocol.Start); ok && !d.started {
		d.started = true
		d.start()
	} else {
		d.inner.Handle(&d.env, in)
		if r, ok := in.(protocol.Recv); ok {
			if req, ok := r.Msg.(*consensus.BlockReq); ok {
				d.serve(r.From, req)
			}
		}
		d.persist()
	}
	d.env.Env = nil
	h, _ := d.engine.Tip()
	d.tipHeight.Set(float64(h))
	d.hooks.after()
}

// start restores the stored chain into the engine, then starts it.
func (d *longest) start() {
	top := d.store.Height()
	begin := time.Now()
	d.replaying = true
	err := replayStore(d.store, d.app, "longest-chain block", func(b *nakamoto.Block) uint64 { return b.Height }, func(b *nakamoto.Block) error {
		if err := d.engine.Restore(&d.env, b); err != nil {
			return err
		}
		_, hash := d.engine.Committed()
		d.byHash[hash] = b.Height
		return nil
	})
	d.app.committed = d.app.committed[:0]
	d.replaying = false
	if err != nil {
		d.fail(fmt.Errorf("node: replaying the store: %w", err))
		return
	}
	d.inner.Handle(&d.env, protocol.Start{})
	d.persist()
	d.hooks.started(top, time.Since(begin))
}

// finalBlock is a block committed during the current input.
type finalBlock struct {
	b    *nakamoto.Block
	hash consensus.Hash
}

// persist stores the blocks that became final during this input, then
// checks conservation.
func (d *longest) persist() {
	if len(d.app.committed) == 0 {
		return
	}
	final := d.final
	defer func() { d.final = d.final[:0] }()
	for i, h := range d.app.committed {
		if i >= len(final) || final[i].b.Height != h {
			d.fail(fmt.Errorf("node: the ledger committed height %d but the engine's block for it was not taken, so it cannot be stored", h))
			return
		}
		b, hash := final[i].b, final[i].hash
		begin := time.Now()
		if err := d.store.Append(h, wire.Encode(b)); err != nil {
			if errors.Is(err, store.ErrConflict) {
				err = fmt.Errorf("%w: the final block at this height differs from the stored one (a fork of the final chain)", err)
			}
			d.fail(fmt.Errorf("node: storing height %d: %w", h, err))
			return
		}
		d.byHash[hash] = h
		d.hooks.stored(h, time.Since(begin))
	}
	last := d.app.committed[len(d.app.committed)-1]
	d.app.committed = d.app.committed[:0]
	d.supplyChecked++
	if err := d.app.Supply().Check(); err != nil && d.supplyErr == "" {
		d.supplyErr = fmt.Sprintf("after height %d: %v", last, err)
	}
}

// serve answers from the store a BlockReq (by hash) the engine left
// unanswered.
func (d *longest) serve(from protocol.NodeID, req *consensus.BlockReq) {
	if d.env.answered || req.Hash.IsZero() || from == d.self {
		return
	}
	h, ok := d.byHash[req.Hash]
	if !ok {
		return
	}
	rec, err := d.store.Get(h)
	if err != nil {
		return
	}
	if m, err := wire.Decode(rec); err == nil {
		d.env.Env.Send(from, m)
	}
}

func (d *longest) fail(err error) {
	d.failed = true
	d.hooks.fail(err)
}

// status is the node's longest-chain view; it runs on the node goroutine.
func (d *longest) status() *LongestChainStatus {
	h, hash := d.engine.Tip()
	return &LongestChainStatus{Mining: d.spec.Mining, Share: d.share, IntervalS: time.Duration(d.spec.Interval).Seconds(),
		Confirmations: d.spec.Confirmations, TipHeight: h, TipHash: hex.EncodeToString(hash[:]),
		Mined: d.mined, Reorgs: d.reorgs, MaxReorg: d.maxReorg, DeepForks: d.deepForks,
		FinalityMs: float64(d.finality) / float64(time.Millisecond), SupplyChecked: d.supplyChecked, SupplyError: d.supplyErr}
}

// lcEnv is the Env longest gives the engine: the runtime's, silent while
// the store is restored, counting what the engine reports.
type lcEnv struct {
	protocol.Env
	d *longest
	// answered is set when the engine sends a block during this input (an
	// answer to a BlockReq, or a relay).
	answered bool
}

func (e *lcEnv) Send(to protocol.NodeID, m wire.Msg) {
	if e.d.replaying {
		return
	}
	if _, ok := m.(*nakamoto.Block); ok {
		e.answered = true
	}
	e.Env.Send(to, m)
}

func (e *lcEnv) Publish(t wire.Topic, m wire.Msg) {
	if e.d.replaying {
		return
	}
	e.Env.Publish(t, m)
}

func (e *lcEnv) Emit(ev metrics.Event) {
	if e.d.replaying {
		return
	}
	d := e.d
	switch ev := ev.(type) {
	case nakamoto.Mined:
		d.mined++
		d.minedC.Inc()
	case nakamoto.Reorg:
		d.reorgs++
		d.reorgC.Inc()
		d.maxReorg = max(d.maxReorg, ev.Depth)
		d.maxReorgG.Set(float64(d.maxReorg))
	case nakamoto.DeepFork:
		d.deepForks++
		d.deepC.Inc()
	case consensus.Committed:
		d.finality = time.Duration(ev.Latency)
		if b, ok := d.engine.Block(ev.Hash); ok {
			d.final = append(d.final, finalBlock{b, ev.Hash})
		}
	}
	e.Env.Emit(ev)
}
