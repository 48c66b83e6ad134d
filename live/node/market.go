package node

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/wire"
)

// The compute marketplace on a live network (Network.Market).
//
// Every node plays the roles the MarketSpec gives it, as Apps beside its
// consensus engine (apps.go): the committee leader runs market.Committee,
// providers market.Provider, validators market.Validator, requesters
// market.Requester — the state machines the simulator runs
// (sim/marketrun), over the node's p2p host (direct streams; the market
// publishes nothing). What differs from the simulator:
//
//   - Units run real computation: a provider's unit and a validator's
//     replay carry a MatMul sized from the unit's FLOPs (marketwork.go),
//     the runtime runs it and measures it, and the result hash a provider
//     commits is the hash of its output (LiveResult), so replicas agree,
//     and a spot check passes, only if the outputs are bit for bit equal.
//   - With Settlement "chain" (the default; marketchain.go) the market's transactions
//     go into the network's BFT chain: requesters sign their job posts,
//     the committee acts on the blocks the validators commit and store,
//     and a restarted committee rebuilds its open jobs from the stored
//     chain. With "committee" (as the simulator's modeled chain) the
//     market's ledger is the committee leader's own chain.Ledger: the
//     leader proposes a market block every BlockInterval and commits it
//     CommitDelay later, which models the committee's agreement. It is
//     not the BFT chain the validators commit beside it, nothing of it is
//     stored, and a restarted leader starts a fresh market (jobs in
//     flight are lost, and providers that kept running do not rejoin it).
//     Escrow, payouts and token conservation are checked on the ledger
//     the committee settles on (Status.Market).
//   - A role starts once the node has committed its first BFT height and
//     is connected to the committee leader, so that its first messages
//     (a provider's Join) reach a running leader.
//   - Bisection is refused: its checkpoints are modeled hashes, which a
//     referee's real replay could not be compared with.

// MarketSpec is the marketplace section of a network description. Node
// IDs are the network's; a node plays at most one of committee, provider
// and validator, and may also be a requester.
type MarketSpec struct {
	// Committee is the committee leader's node.
	Committee protocol.NodeID `json:"committee" yaml:"committee"`
	// Providers run units; Validators re-execute them (spot_check);
	// Requesters post jobs.
	Providers  []protocol.NodeID `json:"providers" yaml:"providers"`
	Validators []protocol.NodeID `json:"validators,omitempty" yaml:"validators,omitempty"`
	Requesters []protocol.NodeID `json:"requesters" yaml:"requesters"`
	// Verification is none, redundancy (the default) or spot_check.
	Verification string `json:"verification,omitempty" yaml:"verification,omitempty"`
	// Replicas per unit under redundancy (default 2, all must agree).
	Replicas int `json:"replicas,omitempty" yaml:"replicas,omitempty"`
	// SpotCheck is the probability a result is re-executed (spot_check;
	// default 1).
	SpotCheck float64 `json:"spot_check,omitempty" yaml:"spot_check,omitempty"`
	// Scheduler is fifo (default), fastest, fair_share or lottery.
	Scheduler string `json:"scheduler,omitempty" yaml:"scheduler,omitempty"`

	// Jobs is how many jobs each requester posts (default 1), one every
	// Every (default 1s), the first Every after its role starts.
	Jobs  int      `json:"jobs,omitempty" yaml:"jobs,omitempty"`
	Every Duration `json:"every,omitempty" yaml:"every,omitempty"`
	// Kind is the jobs' kind: compute (default), inference or training.
	Kind string `json:"kind,omitempty" yaml:"kind,omitempty"`
	// Units per job (default 2) and FLOPs per unit (default 2e7).
	Units     uint32  `json:"units,omitempty" yaml:"units,omitempty"`
	UnitFLOPs float64 `json:"unit_flops,omitempty" yaml:"unit_flops,omitempty"`
	// Budget per job in base units (default 10 tokens), held in escrow
	// until the job settles.
	Budget uint64 `json:"budget,omitempty" yaml:"budget,omitempty"`
	// Deadline after which a job's unverified units are refunded (0:
	// none).
	Deadline Duration `json:"deadline,omitempty" yaml:"deadline,omitempty"`

	// BlockInterval is the market ledger's block interval (default
	// 500ms); CommitDelay models the committee's agreement on a block
	// (default a fifth of the interval).
	BlockInterval Duration `json:"block_interval,omitempty" yaml:"block_interval,omitempty"`
	CommitDelay   Duration `json:"commit_delay,omitempty" yaml:"commit_delay,omitempty"`
	// Class is the GPU class (gpu catalog name) providers and validators
	// declare to the scheduler (default cpu).
	Class string `json:"class,omitempty" yaml:"class,omitempty"`
	// Stake of providers and validators on the market ledger (default
	// 100 tokens); every market node's balance is the network's Balance.
	Stake uint64 `json:"stake,omitempty" yaml:"stake,omitempty"`
	// MaxWorkFLOPs caps one unit's real work (default
	// DefaultMaxWorkFLOPs).
	MaxWorkFLOPs float64 `json:"max_work_flops,omitempty" yaml:"max_work_flops,omitempty"`
	// Settlement is where the market's transactions go: chain (the
	// default: the network's BFT chain, stored by every node;
	// marketchain.go) or committee (the leader's own ledger, in memory,
	// as the simulator's modeled chain).
	Settlement string `json:"settlement,omitempty" yaml:"settlement,omitempty"`
}

// DefaultMarket is a marketplace for a network of n ≥ 2 nodes: node 0
// leads the committee and posts one job of two units, the others provide,
// and every unit runs on two providers (one if n = 2) whose outputs must
// agree.
func DefaultMarket(n int) *MarketSpec {
	s := &MarketSpec{Committee: 0, Requesters: []protocol.NodeID{0}, Verification: "redundancy"}
	for i := 1; i < n; i++ {
		s.Providers = append(s.Providers, protocol.NodeID(i))
	}
	s.Replicas = max(min(2, len(s.Providers)), 1)
	return s
}

// WithDefaults returns the spec with its zero fields filled in: what
// the nodes run.
func (s MarketSpec) WithDefaults() MarketSpec {
	if s.Verification == "" {
		s.Verification = "redundancy"
	}
	if s.Replicas == 0 {
		s.Replicas = 2
	}
	if s.SpotCheck == 0 {
		s.SpotCheck = 1
	}
	if s.Scheduler == "" {
		s.Scheduler = "fifo"
	}
	if s.Jobs == 0 {
		s.Jobs = 1
	}
	if s.Every == 0 {
		s.Every = Duration(time.Second)
	}
	if s.Kind == "" {
		s.Kind = "compute"
	}
	if s.Units == 0 {
		s.Units = 2
	}
	if s.UnitFLOPs == 0 {
		s.UnitFLOPs = 2e7
	}
	if s.Budget == 0 {
		s.Budget = 10 * chain.Token
	}
	if s.BlockInterval == 0 {
		s.BlockInterval = Duration(500 * time.Millisecond)
	}
	if s.CommitDelay == 0 {
		s.CommitDelay = s.BlockInterval / 5
	}
	if s.Class == "" {
		s.Class = "cpu"
	}
	if s.Stake == 0 {
		s.Stake = 100 * chain.Token
	}
	if s.MaxWorkFLOPs == 0 {
		s.MaxWorkFLOPs = DefaultMaxWorkFLOPs
	}
	if s.Settlement == "" {
		s.Settlement = SettleChain
	}
	return s
}

// Validate checks the spec against the network it is part of; problems
// are ErrConfig naming the key.
func (s *MarketSpec) Validate(n *Network) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: market."+format, append([]any{ErrConfig}, a...)...)
	}
	d := s.WithDefaults()
	role := map[protocol.NodeID]string{}
	claim := func(key string, ids []protocol.NodeID, r string) error {
		for i, id := range ids {
			if int(id) >= len(n.Nodes) {
				return bad("%s[%d]: node %d is not in the network (nodes 0…%d)", key, i, id, len(n.Nodes)-1)
			}
			if o, ok := role[id]; ok {
				return bad("%s[%d]: node %d is already the market's %s; a node plays one of committee, provider and validator", key, i, id, o)
			}
			role[id] = r
		}
		return nil
	}
	if err := claim("committee", []protocol.NodeID{s.Committee}, "committee"); err != nil {
		return err
	}
	if err := claim("providers", s.Providers, "provider"); err != nil {
		return err
	}
	if err := claim("validators", s.Validators, "validator"); err != nil {
		return err
	}
	for i, id := range s.Requesters {
		if int(id) >= len(n.Nodes) {
			return bad("requesters[%d]: node %d is not in the network (nodes 0…%d)", i, id, len(n.Nodes)-1)
		}
		if slices.Contains(s.Requesters[:i], id) {
			return bad("requesters[%d]: node %d is listed twice", i, id)
		}
	}
	scheme, err := market.ParseScheme(d.Verification)
	if err != nil {
		return bad("verification: %v", err)
	}
	switch {
	case len(s.Providers) == 0:
		return bad("providers: none; the marketplace needs at least one")
	case len(s.Requesters) == 0 && d.Settlement != SettleChain:
		return bad("requesters: none; nobody would post a job (with settlement: chain, jobs may come through the user API)")
	case scheme == market.Bisection:
		return bad("verification: bisection does not run live (its checkpoints are modeled hashes); use none, redundancy or spot_check")
	case scheme == market.Redundancy && (d.Replicas < 1 || d.Replicas > len(s.Providers)):
		return bad("replicas: %d replicas need as many providers; there are %d", d.Replicas, len(s.Providers))
	case scheme == market.SpotCheck && len(s.Validators) == 0:
		return bad("validators: spot_check needs at least one validator")
	case !(d.SpotCheck > 0 && d.SpotCheck <= 1):
		return bad("spot_check: %g, want in (0, 1]", s.SpotCheck)
	case d.Jobs < 1 || d.Jobs > 10000:
		return bad("jobs: %d, want 1…10000", s.Jobs)
	case d.Units > 4096:
		return bad("units: %d, want 1…4096", s.Units)
	case !(d.UnitFLOPs >= 1 && d.UnitFLOPs <= 1e18):
		return bad("unit_flops: %g, want 1…1e18", s.UnitFLOPs)
	case !(d.MaxWorkFLOPs > 0 && d.MaxWorkFLOPs <= 1e13):
		return bad("max_work_flops: %g, want in (0, 1e13]", s.MaxWorkFLOPs)
	case d.CommitDelay >= d.BlockInterval:
		return bad("commit_delay: %v, want below block_interval (%v)", time.Duration(d.CommitDelay), time.Duration(d.BlockInterval))
	case d.Budget < uint64(d.Units):
		return bad("budget: %d base units cannot pay %d units", d.Budget, d.Units)
	case d.Settlement != SettleCommittee && d.Settlement != SettleChain:
		return bad("settlement: %q, want %s or %s", s.Settlement, SettleCommittee, SettleChain)
	}
	if _, err := market.ParsePolicy(d.Scheduler); err != nil {
		return bad("scheduler: %v", err)
	}
	if _, err := market.ParseKind(d.Kind); err != nil {
		return bad("kind: %v", err)
	}
	cat, err := n.GPUCatalog()
	if err != nil {
		return err
	}
	if _, ok := cat.Lookup(d.Class); !ok {
		return bad("class: %q is not in the gpu catalog", d.Class)
	}
	if d.Budget > n.balance() {
		return bad("budget: %d base units, above a requester's balance of %d", d.Budget, n.balance())
	}
	return nil
}

// MarketStatus is a node's part in the marketplace, in its /status.
// Lists keep their first maxMarketList entries.
type MarketStatus struct {
	Roles []string `json:"roles"`
	// Started is true once the node's roles have started.
	Started bool `json:"started"`

	// Requester: jobs posted, and those that reached a final status
	// (Jobs: each one's outcome and time from post to settlement).
	Posted   uint64      `json:"jobs_posted,omitempty"`
	Finished uint64      `json:"jobs_finished,omitempty"`
	Jobs     []MarketJob `json:"jobs,omitempty"`

	// Provider or validator: units (or replays) computed, and the
	// measured time spent computing.
	Computed uint64  `json:"units_computed,omitempty"`
	Replays  uint64  `json:"replays,omitempty"`
	ComputeS float64 `json:"compute_s,omitempty"`

	// Committee: the market ledger's height, jobs opened, units verified,
	// jobs settled, what open jobs hold in escrow, the verified units and
	// the settlements, every market node's account, and the first token
	// conservation failure (empty: none, checked after every block).
	Height      uint64             `json:"height,omitempty"`
	Opened      uint64             `json:"jobs_opened,omitempty"`
	Verified    uint64             `json:"units_verified,omitempty"`
	Settled     uint64             `json:"jobs_settled,omitempty"`
	Frauds      uint64             `json:"frauds,omitempty"`
	Escrow      uint64             `json:"escrow,omitempty"`
	OpenJobs    int                `json:"open_jobs,omitempty"`
	Units       []MarketUnit       `json:"units,omitempty"`
	Settlements []MarketSettlement `json:"settlements,omitempty"`
	Accounts    []MarketAccount    `json:"accounts,omitempty"`
	SupplyError string             `json:"supply_error,omitempty"`
}

// MarketJob is a requester's job that reached a final status.
type MarketJob struct {
	Seq      uint64 `json:"seq"`
	Job      string `json:"job"` // hex
	Status   string `json:"status"`
	Verified uint32 `json:"verified"`
	Refund   uint64 `json:"refund"`
	// LatencyS is from the post to the final status (the settlement).
	LatencyS float64 `json:"latency_s"`
}

// MarketUnit is a unit the committee verified.
type MarketUnit struct {
	Job    string            `json:"job"`
	Unit   uint32            `json:"unit"`
	Result string            `json:"result"` // hex
	Payees []protocol.NodeID `json:"payees"`
	// LatencyS is from the job's post to the unit's verification;
	// OpenWaitS the part of it from the post to the job's opening (the
	// post's commit on the market ledger).
	LatencyS  float64 `json:"latency_s"`
	OpenWaitS float64 `json:"open_wait_s"`
	Checked   bool    `json:"checked,omitempty"`
}

// MarketSettlement is a job's settlement (market.JobClosed): Budget =
// Providers + Pot + Burned + Refund.
type MarketSettlement struct {
	Job       string          `json:"job"`
	Requester protocol.NodeID `json:"requester"`
	Status    string          `json:"status"`
	Units     uint32          `json:"units"`
	Verified  uint32          `json:"verified"`
	Budget    uint64          `json:"budget"`
	Providers uint64          `json:"providers"`
	Pot       uint64          `json:"pot"`
	Burned    uint64          `json:"burned"`
	Refund    uint64          `json:"refund"`
	Height    uint64          `json:"height"`
}

// MarketAccount is a market node's account on the market ledger: its
// genesis balance, what it holds now, and what the committee paid it
// (Paid: fees, reward payouts and staking yield; Fees: the fee shares).
type MarketAccount struct {
	ID      protocol.NodeID `json:"id"`
	Genesis uint64          `json:"genesis"`
	Balance uint64          `json:"balance"`
	Stake   uint64          `json:"stake"`
	Paid    uint64          `json:"paid"`
	Fees    uint64          `json:"fees"`
}

const maxMarketList = 256

// Metric names of the marketplace.
const (
	MetricMarketPosted     = "dais_market_jobs_posted_total"
	MetricMarketFinished   = "dais_market_jobs_finished_total"
	MetricMarketJobSeconds = "dais_market_job_seconds"
	MetricMarketOpened     = "dais_market_jobs_opened_total"
	MetricMarketSettled    = "dais_market_jobs_settled_total"
	MetricMarketVerified   = "dais_market_units_verified_total"
	MetricMarketComputed   = "dais_market_units_computed_total"
	MetricMarketComputeS   = "dais_market_compute_seconds_total"
	MetricMarketEscrow     = "dais_market_escrow_base_units"
	MetricMarketPaid       = "dais_market_paid_base_units_total"
	MetricMarketHeight     = "dais_market_height"
)

func init() { registerService(buildMarket) }

// buildMarket makes this node's marketplace roles.
func buildMarket(ctx ServiceContext) (*Service, error) {
	spec := ctx.Network.Market
	if spec == nil {
		return nil, nil
	}
	if err := spec.Validate(ctx.Network); err != nil {
		return nil, err
	}
	s := spec.WithDefaults()
	id, netw := ctx.ID, ctx.Network
	cat, err := ctx.Network.GPUCatalog()
	if err != nil {
		return nil, err
	}
	class, _ := cat.Lookup(s.Class)
	st := &marketState{log: ctx.Log}
	st.jobSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricMarketJobSeconds,
		Help:    "Time from a job's post to its final status (settled), at its requester.",
		Buckets: []float64{.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120}})
	ready := func() bool {
		return ctx.Height() >= 1 && (id == s.Committee || ctx.Connected(s.Committee))
	}
	var apps []App
	add := func(role string, n protocol.Node, kinds ...wire.Kind) {
		st.status.Roles = append(st.status.Roles, role)
		apps = append(apps, App{Name: "market." + role, Node: &observed{inner: n, st: st}, Kinds: kinds, Ready: ready,
			Observe: func(_ protocol.Env, ev metrics.Event) { st.record(ev) }})
	}
	onChain := s.onChain()
	var signer *market.Signer
	if onChain && (id == s.Committee || slices.Contains(s.Requesters, id)) {
		keys := []ed25519.PrivateKey{ctx.AccountKey}
		if id == s.Committee {
			keys = append(keys, derivedKey(ctx.AccountKey, "pool"), derivedKey(ctx.AccountKey, "treasury"))
		}
		signer = newChainSigner(ctx, keys...)
	}
	switch {
	case id == s.Committee:
		var c *market.Committee
		if onChain {
			c, err = newChainCommittee(netw, s, market.SignerChain{Signer: signer, State: ctx.Ledger}, ctx.AccountKey)
		} else {
			c, err = newLiveCommittee(netw, s)
		}
		if err != nil {
			return nil, err
		}
		st.committee = c
		st.nodes = marketNodes(s)
		for _, m := range st.nodes {
			st.genesis = append(st.genesis, c.Ledger().Account(c.Address(m)).Balance)
		}
		var n protocol.Node = c
		if onChain {
			cc := newChainFeed(ctx, c)
			for _, p := range s.Providers {
				cc.Joins = append(cc.Joins, protocol.Recv{From: p, Msg: &market.Join{Role: market.RoleProvider, Class: class, Slots: 1}})
			}
			for _, v := range s.Validators {
				cc.Joins = append(cc.Joins, protocol.Recv{From: v, Msg: &market.Join{Role: market.RoleValidator, Class: class, Slots: 1}})
			}
			n = cc
		}
		add("committee", n, wire.KindJobPost, wire.KindJobCancel, wire.KindJoin, wire.KindLeave,
			wire.KindResult, wire.KindVerdict, wire.KindDisputeReveal)
	case slices.Contains(s.Providers, id):
		add("provider", newRealWork(&market.Provider{Committee: s.Committee, Class: class, Slots: 1}, s.MaxWorkFLOPs),
			wire.KindAssign, wire.KindDisputeQuery)
	case slices.Contains(s.Validators, id):
		add("validator", newRealWork(&market.Validator{Committee: s.Committee, Class: class}, s.MaxWorkFLOPs), wire.KindReplay)
	}
	if slices.Contains(s.Requesters, id) {
		kind, _ := market.ParseKind(s.Kind)
		var n protocol.Node = &poster{jobs: s.Jobs, every: protocol.Duration(s.Every), inner: &market.Requester{
			Committee: s.Committee, Arrivals: market.Arrivals{Process: market.Constant, Rate: 1}, Until: 1,
			Types: []market.JobType{{Name: s.Kind, Kind: kind, Share: 1, FLOPs: dist.Fixed{V: s.UnitFLOPs},
				Units: s.Units, Steps: 1, Precision: gpu.FP32, Deadline: protocol.Duration(s.Deadline), Budget: s.Budget}}}}
		if onChain {
			n = newChainRequester(ctx, n, signer, s.Committee)
		}
		add("requester", n, wire.KindJobStatus)
	}
	if len(apps) == 0 {
		return nil, nil
	}
	return &Service{Name: "market", Apps: apps, Sends: kindRange(wire.KindJobPost, wire.KindDisputeReveal), Collectors: []prometheus.Collector{st.jobSeconds, &marketCollector{st: st}},
		Status: func(out *Status) { out.Market = st.snapshot() }, JobView: st.jobView}, nil
}

// marketNodes are the nodes with a market role, ascending.
func marketNodes(s MarketSpec) []protocol.NodeID {
	ids := append(append(append([]protocol.NodeID{s.Committee}, s.Providers...), s.Validators...), s.Requesters...)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// newLiveCommittee builds the committee as sim/marketrun does, on a
// genesis of the market's nodes: each its network balance, providers and
// validators their stake.
func newLiveCommittee(netw *Network, s MarketSpec) (*market.Committee, error) {
	keys := make([]chain.PubKey, len(netw.Nodes))
	for i := range netw.Nodes {
		keys[i] = netw.AccountKeyOf(protocol.NodeID(i))
	}
	var genesis []chain.Account
	for _, id := range marketNodes(s) {
		a := chain.Account{Address: keys[id].Address(), Balance: netw.balance()}
		if slices.Contains(s.Providers, id) || slices.Contains(s.Validators, id) {
			a.Stake = s.Stake
		}
		genesis = append(genesis, a)
	}
	// The committee's own accounts (settlements, the reward pool, the
	// treasury) are names in the leader's ledger, never keys that sign
	// anything on the wire, so the seed may name them.
	special := func(i uint32) chain.PubKey {
		return chain.PubKeyOf(chain.KeyFor(netw.Seed, protocol.NodeID(0xffff_fff0+i)))
	}
	c, err := market.NewCommittee(market.Config{
		Ledger:  chain.Config{Genesis: genesis, Params: chain.DefaultParams(), KeySeed: netw.Seed},
		Keys:    keys,
		Settler: special(0), Pool: special(1), Treasury: special(2),
		Policy: rewards.DefaultPolicy(), Scheduler: schedulerOf(s), Verify: verificationOf(s),
		BlockInterval: protocol.Duration(s.BlockInterval), CommitDelay: protocol.Duration(s.CommitDelay),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: market: %w", ErrConfig, err)
	}
	return c, nil
}

// newChainCommittee builds the committee of a market that settles on the
// node's BFT chain: the settler is the committee node's account, the pool
// and the treasury accounts whose keys it derives from its secret key.
func newChainCommittee(netw *Network, s MarketSpec, onChain market.Chain, account ed25519.PrivateKey) (*market.Committee, error) {
	keys := make([]chain.PubKey, len(netw.Nodes))
	for i := range netw.Nodes {
		keys[i] = netw.AccountKeyOf(protocol.NodeID(i))
	}
	c, err := market.NewCommittee(market.Config{
		Keys:    keys,
		Settler: chain.PubKeyOf(account), Pool: chain.PubKeyOf(derivedKey(account, "pool")),
		Treasury: chain.PubKeyOf(derivedKey(account, "treasury")),
		Policy:   rewards.DefaultPolicy(), Scheduler: schedulerOf(s), Verify: verificationOf(s),
		BlockInterval: protocol.Duration(s.BlockInterval), CommitDelay: protocol.Duration(s.CommitDelay),
		Chain: onChain, FeeReserve: marketFeeReserve,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: market: %w", ErrConfig, err)
	}
	return c, nil
}

// schedulerOf and verificationOf are the committee's scheduler and
// verification for a spec (with defaults) that Validate passed.
func schedulerOf(s MarketSpec) market.Policy {
	p, _ := market.ParsePolicy(s.Scheduler)
	return p
}

func verificationOf(s MarketSpec) market.Verification {
	scheme, _ := market.ParseScheme(s.Verification)
	v := market.Verification{Scheme: scheme}
	switch scheme {
	case market.Redundancy:
		v.Replicas, v.Quorum, v.MaxReplicas = s.Replicas, s.Replicas, s.Replicas
	case market.SpotCheck:
		v.SpotCheck = s.SpotCheck
	}
	return v
}

// poster makes a market.Requester (built with Until in the past, so that
// it sets no arrival timers of its own) post exactly jobs jobs, one every
// every, the first every after its Start.
type poster struct {
	inner *market.Requester
	jobs  int
	every protocol.Duration
	left  int
}

// postTag marks the poster's timers; the Requester's own tags are 0
// (arrivals) and cancelTag (bit 63).
const postTag = 1 << 62

func (p *poster) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		p.left = p.jobs
		p.inner.Handle(env, in)
		env.SetTimer(p.every, postTag)
		return
	case protocol.TimerFired:
		if in.Tag == postTag {
			if p.left > 0 {
				p.left--
				p.inner.Handle(env, protocol.TimerFired{ID: in.ID, Tag: 0}) // post one job
			}
			if p.left > 0 {
				env.SetTimer(p.every, postTag)
			}
			return
		}
	}
	p.inner.Handle(env, in)
}

// observed marks the market's roles started, and publishes the
// committee's state after every input (the App's Observe records the
// roles' events).
type observed struct {
	inner protocol.Node
	st    *marketState
}

func (o *observed) Handle(env protocol.Env, in protocol.Input) {
	if _, ok := in.(protocol.Start); ok {
		o.st.mu.Lock()
		o.st.status.Started = true
		o.st.mu.Unlock()
	}
	o.inner.Handle(env, in)
	if c := o.st.committee; c != nil {
		o.st.publishCommittee(c)
	}
}

// marketState is a node's market status: updated on the node goroutine,
// read under mu by /status and /metrics.
type marketState struct {
	log        *slog.Logger
	committee  *market.Committee // node goroutine only
	nodes      []protocol.NodeID // the market nodes (committee)
	genesis    []uint64          // their genesis balances
	jobSeconds prometheus.Histogram

	mu        sync.Mutex
	status    MarketStatus
	finished  map[string]uint64 // by status
	settled   map[string]uint64
	paid      map[string]uint64 // by class
	paidTo    map[protocol.NodeID][2]uint64
	supplyBad bool
	openWait  map[market.JobID]protocol.Duration // open jobs' post → opening
	// jobs is what the committee verified and settled of each job, for
	// the user API (status lists keep their first maxMarketList entries
	// of all jobs): the last maxAPIJobs jobs, the oldest forgotten first.
	jobs     map[market.JobID]*jobView
	jobOrder []market.JobID
}

// jobView is a job as its committee saw it.
type jobView struct {
	units     []MarketUnit
	settled   *MarketSettlement
	assigned  []uint64 // bit u: unit u went to a provider at least once
	nAssigned uint32
}

// maxAPIJobs bounds the jobs a committee's node answers for with its own
// verified results (older ones: as the chain has them).
const maxAPIJobs = 4096

// view returns the jobView of id, made on first sight (under mu).
func (s *marketState) view(id market.JobID) *jobView {
	if v, ok := s.jobs[id]; ok {
		return v
	}
	if s.jobs == nil {
		s.jobs = map[market.JobID]*jobView{}
	}
	if len(s.jobOrder) == maxAPIJobs {
		delete(s.jobs, s.jobOrder[0])
		s.jobOrder = slices.Delete(s.jobOrder, 0, 1)
	}
	v := &jobView{}
	s.jobs[id] = v
	s.jobOrder = append(s.jobOrder, id)
	return v
}

// jobView is the committee's view of job id, copied: the units it
// verified, its settlement, and how many units it assigned.
func (s *marketState) jobView(id chain.JobID) (units []MarketUnit, settled *MarketSettlement, assigned uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.jobs[id]
	if !ok {
		return nil, nil, 0
	}
	assigned = v.nAssigned
	units = slices.Clone(v.units)
	for i := range units {
		units[i].Payees = slices.Clone(units[i].Payees)
	}
	if v.settled != nil {
		c := *v.settled
		settled = &c
	}
	return units, settled, assigned
}

func (s *marketState) record(ev metrics.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.status
	switch e := ev.(type) {
	case market.JobPosted:
		st.Posted++
	case market.JobFinished:
		st.Finished++
		if s.finished == nil {
			s.finished = map[string]uint64{}
		}
		s.finished[e.Status.String()]++
		lat := time.Duration(e.Latency).Seconds()
		s.jobSeconds.Observe(lat)
		if len(st.Jobs) < maxMarketList {
			st.Jobs = append(st.Jobs, MarketJob{Seq: e.Seq, Job: hex.EncodeToString(e.Job[:]), Status: e.Status.String(),
				Verified: e.Verified, Refund: e.Refund, LatencyS: lat})
		}
		s.log.Info("market job finished", "seq", e.Seq, "job", hex.EncodeToString(e.Job[:4]), "status", e.Status,
			"verified", e.Verified, "latency", time.Duration(e.Latency).Round(time.Millisecond))
	case market.Computed:
		if e.Replay {
			st.Replays++
		} else {
			st.Computed++
		}
		st.ComputeS += time.Duration(e.DurationNs).Seconds()
	case market.JobOpened:
		st.Opened++
		if s.openWait == nil {
			s.openWait = map[market.JobID]protocol.Duration{}
		}
		s.openWait[e.Job] = e.Wait
	case market.Assigned:
		v := s.view(e.Job)
		w := int(e.Unit / 64)
		if w >= len(v.assigned) {
			v.assigned = append(v.assigned, make([]uint64, w+1-len(v.assigned))...)
		}
		if bit := uint64(1) << (e.Unit % 64); v.assigned[w]&bit == 0 {
			v.assigned[w] |= bit
			v.nAssigned++
		}
	case market.Verified:
		st.Verified++
		u := MarketUnit{Job: hex.EncodeToString(e.Job[:]), Unit: e.Unit, Result: hex.EncodeToString(e.Result[:]),
			Payees: slices.Clone(e.Payees), LatencyS: time.Duration(e.Latency).Seconds(),
			OpenWaitS: time.Duration(s.openWait[e.Job]).Seconds(), Checked: e.Checked}
		if len(st.Units) < maxMarketList {
			st.Units = append(st.Units, u)
		}
		v := s.view(e.Job)
		v.units = append(v.units, u)
	case market.FraudProven:
		st.Frauds++
	case market.JobClosed:
		st.Settled++
		delete(s.openWait, e.Job)
		if s.settled == nil {
			s.settled = map[string]uint64{}
		}
		s.settled[e.Status.String()]++
		m := MarketSettlement{Job: hex.EncodeToString(e.Job[:]), Requester: e.Requester,
			Status: e.Status.String(), Units: e.Units, Verified: e.Verified, Budget: e.Budget, Providers: e.Providers,
			Pot: e.Pot, Burned: e.Burned, Refund: e.Refund, Height: e.Height}
		if len(st.Settlements) < maxMarketList {
			st.Settlements = append(st.Settlements, m)
		}
		s.view(e.Job).settled = &m
		s.log.Info("market job settled", "job", hex.EncodeToString(e.Job[:4]), "status", e.Status, "verified", e.Verified,
			"budget", e.Budget, "providers", e.Providers, "refund", e.Refund, "height", e.Height)
	case rewards.Paid:
		if s.paid == nil {
			s.paid, s.paidTo = map[string]uint64{}, map[protocol.NodeID][2]uint64{}
		}
		s.paid[e.Class] += uint64(e.Amount)
		if id, ok := rewards.NodeOf(e.To); ok {
			p := s.paidTo[id]
			p[0] += uint64(e.Amount)
			if e.Class == rewards.PaidFee {
				p[1] += uint64(e.Amount)
			}
			s.paidTo[id] = p
		}
	}
}

// publishCommittee copies what /status shows of the committee's ledger.
func (s *marketState) publishCommittee(c *market.Committee) {
	l := c.Ledger()
	sup := l.Supply()
	escrow, open := c.Escrowed()
	accts := make([]MarketAccount, len(s.nodes))
	for i, id := range s.nodes {
		a := l.Account(c.Address(id))
		accts[i] = MarketAccount{ID: id, Genesis: s.genesis[i], Balance: a.Balance, Stake: a.Stake}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.status
	for i := range accts {
		p := s.paidTo[accts[i].ID]
		accts[i].Paid, accts[i].Fees = p[0], p[1]
	}
	st.Height, st.Escrow, st.OpenJobs, st.Accounts = l.Height(), escrow, open, accts
	if err := sup.Check(); err != nil && !s.supplyBad {
		s.supplyBad = true
		st.SupplyError = fmt.Sprintf("after market block %d: %v", l.Height(), err)
		s.log.Error("market: token conservation broken", "err", err)
	}
}

func (s *marketState) snapshot() *MarketStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Roles = slices.Clone(st.Roles)
	st.Jobs = slices.Clone(st.Jobs)
	st.Units = slices.Clone(st.Units)
	for i := range st.Units {
		st.Units[i].Payees = slices.Clone(st.Units[i].Payees)
	}
	st.Settlements = slices.Clone(st.Settlements)
	st.Accounts = slices.Clone(st.Accounts)
	return &st
}

// marketCollector serves the market's counters at scrape time.
type marketCollector struct{ st *marketState }

var (
	mPostedDesc   = prometheus.NewDesc(MetricMarketPosted, "Jobs this node posted (requester).", nil, nil)
	mFinishedDesc = prometheus.NewDesc(MetricMarketFinished, "Jobs of this node's that reached a final status, by status (requester).", []string{"status"}, nil)
	mOpenedDesc   = prometheus.NewDesc(MetricMarketOpened, "Job posts committed on the market ledger (committee).", nil, nil)
	mSettledDesc  = prometheus.NewDesc(MetricMarketSettled, "Jobs settled on the market ledger, by status (committee).", []string{"status"}, nil)
	mVerifiedDesc = prometheus.NewDesc(MetricMarketVerified, "Work units whose result was accepted (committee).", nil, nil)
	mComputedDesc = prometheus.NewDesc(MetricMarketComputed, "Units this node computed, by what for: unit (provider) or replay (validator).", []string{"what"}, nil)
	mComputeDesc  = prometheus.NewDesc(MetricMarketComputeS, "Measured time this node spent computing units and replays.", nil, nil)
	mEscrowDesc   = prometheus.NewDesc(MetricMarketEscrow, "Base units open jobs hold in escrow on the market ledger (committee).", nil, nil)
	mPaidDesc     = prometheus.NewDesc(MetricMarketPaid, "Base units the committee paid out, by class (fee, staking, and the reward split's).", []string{"class"}, nil)
	mHeightDesc   = prometheus.NewDesc(MetricMarketHeight, "Height of the market ledger (committee).", nil, nil)
)

func (c *marketCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mPostedDesc, mFinishedDesc, mOpenedDesc, mSettledDesc, mVerifiedDesc,
		mComputedDesc, mComputeDesc, mEscrowDesc, mPaidDesc, mHeightDesc} {
		ch <- d
	}
}

func (c *marketCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.st
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.status
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	byLabel := func(d *prometheus.Desc, m map[string]uint64) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			counter(d, float64(m[k]), k)
		}
	}
	counter(mPostedDesc, float64(st.Posted))
	byLabel(mFinishedDesc, s.finished)
	counter(mComputedDesc, float64(st.Computed), "unit")
	counter(mComputedDesc, float64(st.Replays), "replay")
	counter(mComputeDesc, st.ComputeS)
	if s.committee != nil {
		counter(mOpenedDesc, float64(st.Opened))
		byLabel(mSettledDesc, s.settled)
		counter(mVerifiedDesc, float64(st.Verified))
		ch <- prometheus.MustNewConstMetric(mEscrowDesc, prometheus.GaugeValue, float64(st.Escrow))
		byLabel(mPaidDesc, s.paid)
		ch <- prometheus.MustNewConstMetric(mHeightDesc, prometheus.GaugeValue, float64(st.Height))
	}
}
