package market

import (
	"fmt"
	"math"
	"slices"

	"github.com/google/btree"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/govern"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/verify"
	"github.com/dais-sim/dais/protocol/wire"
)

// Scheme is a verification scheme.
type Scheme uint8

// Verification schemes.
const (
	// NoVerification accepts the first result.
	NoVerification Scheme = iota + 1
	// Redundancy runs Replicas copies of each unit on distinct providers
	// and accepts the result Quorum of them agree on (BOINC), asking for
	// one more replica on a split, up to MaxReplicas; with TrustAfter > 0,
	// a unit whose first replica goes to a trusted host is replicated only
	// with probability TrustSample (adaptive replication).
	Redundancy
	// SpotCheck accepts a result unless, with probability SpotCheck, a
	// panel of Panel validators re-executes the unit and disagrees.
	SpotCheck
	// Bisection runs two replicas; when their results differ, the two
	// parties play the bisection game over their checkpoints and a
	// validator re-executes the one disputed step.
	Bisection
	numSchemes
)

var schemeNames = [...]string{"", "none", "redundancy", "spot_check", "bisection"}

func (s Scheme) String() string { return name(schemeNames[:], s, "Scheme") }

// ParseScheme reads a scheme's name.
func ParseScheme(s string) (Scheme, error) {
	return parseName[Scheme](schemeNames[:], s, "verification")
}

// Verification configures how results are checked.
type Verification struct {
	Scheme Scheme
	// Replicas (k), Quorum and MaxReplicas: Redundancy (defaults 2, k,
	// k+1).
	Replicas, Quorum, MaxReplicas int
	// TrustAfter agreeing results make a host trusted; a trusted host's
	// unit is replicated with probability TrustSample (Redundancy; 0
	// disables adaptive replication).
	TrustAfter  int
	TrustSample float64
	// SpotCheck is the probability a result is re-executed (SpotCheck);
	// governable as verify.spot_check_probability.
	SpotCheck float64
	// Panel is how many validators re-execute each checked unit or
	// disputed step (default 1); with 2, a colluding validator's approval
	// is contradicted by the other and a third breaks the tie.
	Panel int
	// NoJail keeps a provider proven to cheat in the schedule (it is
	// slashed either way).
	NoJail bool
}

func (v *Verification) defaults() {
	if v.Replicas == 0 {
		v.Replicas = 2
	}
	if v.Quorum == 0 {
		v.Quorum = v.Replicas
	}
	if v.MaxReplicas == 0 {
		v.MaxReplicas = v.Replicas + 1
	}
	if v.Panel == 0 {
		v.Panel = 1
	}
}

// ProposalPlan is a governance proposal the run submits, and how the
// electorate votes on it: the stakers in address order, by cumulative
// share of stake, vote yes, no, no-with-veto and abstain in those shares;
// the rest do not vote.
type ProposalPlan struct {
	// Height is the block the proposal goes into.
	Height     uint64
	Proposer   protocol.NodeID
	Changes    []govern.Change
	Activation uint64 // 0: the earliest allowed
	Yes, No    float64
	Veto       float64
	Abstain    float64
}

// Matching is when the committee's scheduler may give out a job's units.
type Matching uint8

// Matchings.
const (
	// PerBlock schedules from the on-chain queue: a job's units wait for
	// the block that commits its post, and every result is its provider's
	// ResultCommit transaction.
	PerBlock Matching = iota
	// Continuous is off-chain matching with on-chain settlement: a job's
	// units are schedulable as soon as its post reaches the committee
	// (the ledger admitted the escrow to the mempool, so it commits in the
	// next block) and a free provider gets work at once; the escrow, the
	// block's results (one ResultRoot: the Merkle root of their
	// commitments) and the settlements go on chain in batches, block by
	// block. A settlement waits for its job's post to commit.
	Continuous
	numMatchings
)

var matchingNames = [...]string{"per_block", "continuous"}

func (m Matching) String() string { return name(matchingNames[:], m, "Matching") }

// ParseMatching reads a matching's name.
func ParseMatching(s string) (Matching, error) {
	return parseName[Matching](matchingNames[:], s, "matching")
}

// Config sets up a Committee.
type Config struct {
	// Ledger is the chain's configuration (genesis, params, key seed).
	// The committee sets Settler, ProposerAddress (the reward pool),
	// Emission (the rewards schedule under governance), VerifyEvidence
	// (verify.Judge), SlashFraction (the policy's per offence) and
	// ModeledVerification.
	Ledger chain.Config
	// Keys are every node's public key by NodeID: the committee builds
	// the transactions their messages stand for.
	Keys []chain.PubKey
	// Settler, Pool and Treasury are the committee's accounts: it signs
	// settlements and slashes as Settler; block rewards and job fees' pot
	// shares go to Pool, which it splits every block; the treasury's share
	// funds staking yield.
	Settler, Pool, Treasury chain.PubKey

	Policy            rewards.Policy
	Matching          Matching
	Scheduler         Policy
	LotteryByCapacity bool
	Verify            Verification
	// Gov is the governance configuration; Proposals are submitted at
	// their heights.
	Gov       govern.Config
	Proposals []ProposalPlan

	// BlockInterval is the time between blocks; CommitDelay (shorter)
	// models the committee's BFT agreement on each: a block proposed at t
	// is final at t + CommitDelay.
	BlockInterval, CommitDelay protocol.Duration
	// An assignment times out after TimeoutFactor × its expected time
	// plus TimeoutSlack; a dispute party or validator after
	// ResponseTimeout plus its expected work.
	TimeoutFactor   float64
	TimeoutSlack    protocol.Duration
	ResponseTimeout protocol.Duration
	// RewardEvery splits the reward pool every that many blocks (0 means
	// 1): the reward period over which verified work is counted (and
	// per-identity participation paid, under that payout).
	RewardEvery uint64
	// Window is how many queued units no free provider can take the
	// scheduler passes over looking for one it can (0 means 512).
	Window int
	Model  gpu.Model
	// CloseAt cancels every open job at that time (0: never): a run's end,
	// so that every escrow is settled.
	CloseAt protocol.Time
	// CheckSupply checks token conservation after every block and panics
	// when it breaks.
	CheckSupply bool

	// Chain, if not nil, is the chain the committee settles on, which it
	// does not run (a live network's BFT chain; see Chain): Ledger above
	// is then unused, and BlockInterval is only how often the committee
	// does its housekeeping. Nil is the modeled chain: the committee's own
	// ledger, a block every BlockInterval, final CommitDelay later.
	Chain Chain
	// FeeReserve is what, with Chain, the pool and the treasury keep of
	// their balances to pay their own payouts' fees (a chain run by others
	// charges gas).
	FeeReserve uint64
}

// Chain is a chain, run by others, that the committee settles on. The
// committee submits its transactions (result roots, settlements, slashes,
// payouts) through Submit, and acts on what the chain commits: the driver
// calls Committed with every block, in height order, once the chain has
// committed it. A job is the JobPost transaction its requester signed
// and sent to the chain, with a PostJob message (EncodePost) as its spec:
// it opens when its post commits, and PostJob messages sent to the
// committee are ignored. Results are committed in batches by their root
// (ResultRoot), whatever the matching. The chain must apply the
// committee's rules (ChainRules).
//
// A driver that restarts the committee replays the committed blocks
// through Committed with replay set before it starts it: that rebuilds
// the open jobs (posted, not settled), whose units then run again.
type Chain interface {
	// Ledger is the chain's committed state, read-only to the committee.
	Ledger() *chain.Ledger
	// Submit signs tx as the holder of tx.Sender (the committee's
	// Settler, Pool or Treasury), with that account's next nonce and the
	// chain's fee, and sends it to the chain's mempool. It returns the
	// hash of the transaction as signed, or why it was refused.
	Submit(env protocol.Env, tx chain.Tx) (chain.Hash, error)
}

// ChainRules configures lc, the ledger of a chain the committee settles
// on (Config.Chain), with the committee's rules: settler is the only
// account that may settle escrow and commit result roots, slashes are
// judged by verify.Judge against ledger's committed results, and burn the
// policy's fraction for their offence. ledger returns the ledger lc makes
// (the judge reads it). Every node of the chain must use the same rules.
func ChainRules(lc *chain.Config, settler chain.Address, policy rewards.Policy, ledger func() *chain.Ledger) {
	lc.Settler = settler
	lc.VerifyEvidence = judge(ledger)
	lc.SlashFraction = func(_ uint64, ev []byte) chain.PPM {
		e, err := verify.DecodeEvidence(ev)
		if err != nil {
			return lc.Params.SlashFraction
		}
		return chain.PPM(policy.Slash[e.Offence]) * 100
	}
}

// judge is verify.Judge against the committed results of the ledger that
// ledger returns.
func judge(ledger func() *chain.Ledger) func(chain.Address, []byte) error {
	return verify.Judge(func(j chain.JobID, u uint32, a chain.Address) (verify.Hash, error) {
		cm, err := ledger().FindCommitment(j, u, a)
		return cm.Result, err
	}, func(root verify.Hash) (uint32, error) {
		r, err := ledger().FindResultRoot(root)
		return r.Count, err
	})
}

// EncodePost is the spec of the JobPost transaction a requester sends
// to a chain the committee settles on: its PostJob message.
func EncodePost(m *PostJob) []byte { return wire.Encode(m) }

// DecodePost reads a JobPost's spec written by EncodePost.
func DecodePost(spec []byte) (*PostJob, bool) {
	m, err := wire.Decode(spec)
	if err != nil {
		return nil, false
	}
	p, ok := m.(*PostJob)
	return p, ok
}

// Validate reports a configuration the committee cannot run.
func (c *Config) Validate() error {
	switch {
	case c.BlockInterval <= 0 || c.CommitDelay < 0 || c.CommitDelay >= c.BlockInterval:
		return fmt.Errorf("market: block interval %v and commit delay %v: want 0 ≤ delay < interval", c.BlockInterval, c.CommitDelay)
	case c.Matching >= numMatchings:
		return fmt.Errorf("market: matching %d", c.Matching)
	case c.Scheduler < FIFO || c.Scheduler >= numPolicies:
		return fmt.Errorf("market: scheduler %d", c.Scheduler)
	case c.Verify.Scheme < NoVerification || c.Verify.Scheme >= numSchemes:
		return fmt.Errorf("market: verification scheme %d", c.Verify.Scheme)
	case c.Verify.SpotCheck < 0 || c.Verify.SpotCheck > 1 || c.Verify.TrustSample < 0 || c.Verify.TrustSample > 1:
		return fmt.Errorf("market: probabilities outside [0, 1]")
	case len(c.Keys) == 0:
		return fmt.Errorf("market: no node keys")
	}
	v := c.Verify
	v.defaults()
	if v.Quorum < 1 || v.Quorum > v.Replicas || v.Replicas > v.MaxReplicas || v.Panel < 1 {
		return fmt.Errorf("market: quorum %d of %d replicas (at most %d), panel %d", v.Quorum, v.Replicas, v.MaxReplicas, v.Panel)
	}
	return c.Policy.Validate()
}

// Committee runs the marketplace: it is the validator committee's
// leader, modeled as one node. It holds the ledger and proposes every
// block (agreement among the committee is CommitDelay); it schedules the
// on-chain queue of work units onto providers, coordinates verification,
// turns market events into transactions (job posts, result commitments,
// settlements, slashes, payouts, governance), splits each block's reward
// pool with rewards.Distributor and runs governance with govern.Governor.
// Every committee member would run this same deterministic code on the
// same chain and reach the same decisions; one node doing it is the
// model.
type Committee struct {
	cfg    Config
	ledger *chain.Ledger
	chain  Chain // nil: the modeled chain (ledger is the committee's)
	dist   *rewards.Distributor
	gov    *govern.Governor
	base   rewards.Policy
	trust  verify.Trust

	addrs    []chain.Address   // by NodeID
	accts    []rewards.Account // rewards.NodeAccount by NodeID, made on first use
	acctNode map[rewards.Account]protocol.NodeID
	nodeOf   map[chain.Address]protocol.NodeID
	settler  chain.Address
	pool     chain.Address
	treasury chain.Address
	nonces   map[chain.Address]uint64

	members []*member // by NodeID; nil for nodes that never joined
	provs   []*member // providers in ID order
	vals    []*member // validators in ID order
	nfree   int       // providers with a free slot (refresh)
	free    []*member // the same, in ID order, under Lottery
	// byKey holds the free providers again, one ordered set per class
	// (index: member.cls), by the policy's key and then ID, for the
	// policies whose key does not depend on the unit (FIFO, FairShare):
	// match then weighs the first eligible provider of each class, not
	// every free one. Under Fastest the sets are per shape (fastest).
	// Nil under Lottery.
	byKey      []*btree.BTreeG[*member]
	idle       []*btree.BTreeG[*member] // Fastest: per shape, those free by now, by ID
	shapes     []shape                  // Fastest: byKey's and idle's sets
	classes    []gpu.Class
	jobs       map[JobID]*job
	sessions   map[sessionKey]*job       // open sessions by their requester\'s number
	early      map[sessionKey][]*Release // releases that arrived before their session
	open       []*job                    // open jobs in posting order (closed ones pruned)
	closedOpen int                       // jobs on open that are closed (pruneOpen)
	// queue holds a unit once per replica it waits for, in order; entries
	// before qhead are gone and holes (nil) are skipped (unqueue).
	queue   []qent
	qhead   int
	holes   int
	waiting int           // replicas waiting in the queue (count)
	waitAt  protocol.Time // when waiting last changed
	batch   []*replica    // results since the last block (continuous)
	cands   []Candidate   // match's scratch
	who     []*member
	// durByClass caches durUnit's duration by member class (unitNs).
	durUnit    *unit
	durByClass []int64
	checks     map[uint64]*check
	checkList  []*check // live checks in ID order (pruned at ticks)
	disputes   []*dispute
	nextChk    uint64
	inflight   []*pending
	slashes    []*slashReq
	releases   []release // settlements for the next block

	building struct {
		height uint64
		raw    []byte
		hash   chain.Hash
		ok     bool
	}
	closedAll bool

	// Rewards accumulated since the last payout.
	work      []rewards.VerifiedWork
	workAt    []int32 // by NodeID: the provider's entry in work, −1 if none
	unpaid    uint64  // minted since the last payout
	poolBusy  bool    // a pool payout is in flight
	treasBusy bool

	// Governance.
	govProposals []govRecord
	polCache     struct {
		height uint64
		ok     bool
		pol    rewards.Policy
	}
	parCache struct {
		height uint64
		ok     bool
		ps     govern.Params
	}
	schedCache     map[int64]rewards.Schedule
	chainProposals uint64

	stats CommitteeLoad
}

// NewCommittee builds the committee and its ledger.
func NewCommittee(cfg Config) (*Committee, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Verify.defaults()
	if cfg.TimeoutFactor <= 0 {
		cfg.TimeoutFactor = 3
	}
	if cfg.TimeoutSlack <= 0 {
		cfg.TimeoutSlack = 5 * protocol.Second
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = 10 * protocol.Second
	}
	if cfg.Window <= 0 {
		cfg.Window = 512
	}
	if cfg.Model == (gpu.Model{}) {
		cfg.Model = gpu.DefaultModel
	}
	if cfg.Gov.VotingPeriod == 0 {
		cfg.Gov = govern.DefaultConfig()
	}
	c := &Committee{cfg: cfg, base: cfg.Policy, jobs: map[JobID]*job{}, checks: map[uint64]*check{},
		sessions: map[sessionKey]*job{}, early: map[sessionKey][]*Release{},
		nonces: map[chain.Address]uint64{}, nodeOf: map[chain.Address]protocol.NodeID{}, schedCache: map[int64]rewards.Schedule{},
		settler: cfg.Settler.Address(), pool: cfg.Pool.Address(), treasury: cfg.Treasury.Address(),
		trust: verify.Trust{After: cfg.Verify.TrustAfter, Sample: cfg.Verify.TrustSample}}
	if keyed(cfg.Scheduler) {
		c.byKey = []*btree.BTreeG[*member]{}
	}
	c.addrs = make([]chain.Address, len(cfg.Keys))
	for i, k := range cfg.Keys {
		c.addrs[i] = k.Address()
		c.nodeOf[c.addrs[i]] = protocol.NodeID(i)
	}
	c.members = make([]*member, len(cfg.Keys))

	reg, err := registry(cfg.Policy, cfg.Verify.SpotCheck)
	if err != nil {
		return nil, err
	}
	if c.gov, err = govern.New(reg, cfg.Gov); err != nil {
		return nil, err
	}
	if c.dist, err = rewards.NewDistributor(cfg.Policy); err != nil {
		return nil, err
	}
	lc := cfg.Ledger
	lc.Settler = c.settler
	lc.ProposerAddress = func(protocol.NodeID) chain.Address { return c.pool }
	lc.Emission = func(h uint64) uint64 { return uint64(c.schedule(h).Emission(h)) }
	lc.VerifyEvidence = judge(func() *chain.Ledger { return c.ledger })
	lc.SlashFraction = c.slashFraction
	lc.ModeledVerification = true
	// Market transactions carry no gas fee: what requesters pay is the
	// job fee (rewards.FeePolicy), split at settlement.
	lc.Params.MinGasPrice = 0
	if cfg.Chain != nil {
		c.chain, c.ledger = cfg.Chain, cfg.Chain.Ledger()
		return c, nil
	}
	if c.ledger, err = chain.NewLedger(lc); err != nil {
		return nil, err
	}
	return c, nil
}

// registry is govern's default registry with the spot-check probability
// defaulting to the run's.
func registry(base rewards.Policy, spot float64) (*govern.Registry, error) {
	def, err := govern.DefaultRegistry(base)
	if err != nil {
		return nil, err
	}
	ps := def.Params()
	for i := range ps {
		if ps[i].Key == govern.ParamSpotCheck {
			ps[i].Default = int64(math.Round(spot * 1e6))
		}
	}
	return govern.NewRegistry(func(p govern.Params) error {
		_, err := base.WithParams(p.Lookup)
		return err
	}, ps...)
}

// acct is a node's rewards account (rewards.NodeAccount, which formats a
// string: made once per node).
func (c *Committee) acct(id protocol.NodeID) rewards.Account {
	if c.accts == nil {
		c.accts = make([]rewards.Account, len(c.addrs))
	}
	if c.accts[id] == "" {
		c.accts[id] = rewards.NodeAccount(id)
	}
	return c.accts[id]
}

// nodeOfAcct is rewards.NodeOf for this committee's accounts, without
// formatting one to check it.
func (c *Committee) nodeOfAcct(a rewards.Account) (protocol.NodeID, bool) {
	if c.acctNode == nil {
		c.acctNode = map[rewards.Account]protocol.NodeID{}
	}
	if id, ok := c.acctNode[a]; ok {
		return id, true
	}
	id, ok := rewards.NodeOf(a)
	if ok {
		c.acctNode[a] = id
	}
	return id, ok
}

// Ledger returns the committee's ledger (for invariant checks and
// reports; a driver must not change it).
func (c *Committee) Ledger() *chain.Ledger { return c.ledger }

// Governor returns the committee's governor (read-only for drivers).
func (c *Committee) Governor() *govern.Governor { return c.gov }

// Address returns a node's ledger address.
func (c *Committee) Address(id protocol.NodeID) chain.Address { return c.addrs[id] }

// Accounts returns the reward pool's and the treasury's addresses.
func (c *Committee) Accounts() (pool, treasury chain.Address) { return c.pool, c.treasury }

// Escrowed returns what open jobs hold in escrow on the committed chain,
// and how many jobs are still open.
func (c *Committee) Escrowed() (escrow uint64, open int) {
	for _, j := range c.open {
		if j.state != jobClosed {
			open++
		}
	}
	return c.ledger.Supply().Escrow, open
}

// Timer tags.
const (
	tagBlock uint64 = iota + 1
	tagCommit
)

// Handle implements protocol.Node.
func (c *Committee) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		if !in.Rejoin {
			env.SetTimer(c.cfg.BlockInterval, tagBlock)
		}
	case protocol.TimerFired:
		switch in.Tag {
		case tagBlock:
			c.tick(env)
			env.SetTimer(c.cfg.BlockInterval, tagBlock)
		case tagCommit:
			c.commit(env)
		}
	case protocol.Recv:
		c.stats.MsgsIn++
		c.recv(env, in.From, in.Msg)
	case protocol.Stop:
		c.count(env.Now(), 0)
		env.Emit(c.stats)
	}
}

func (c *Committee) send(env protocol.Env, to protocol.NodeID, m wire.Msg) {
	c.stats.MsgsOut++
	env.Send(to, m)
}

func (c *Committee) recv(env protocol.Env, from protocol.NodeID, m wire.Msg) {
	if int(from) >= len(c.members) {
		return
	}
	switch m := m.(type) {
	case *PostJob:
		c.post(env, from, m)
	case *Release:
		if j, ok := c.sessions[sessionKey{from, m.Seq}]; ok {
			c.releaseUnit(env, j, m)
		} else if len(c.early) < 1<<16 {
			// It overtook its session's post on the way (jitter).
			k := sessionKey{from, m.Seq}
			c.early[k] = append(c.early[k], m)
		}
	case *Cancel:
		if j, ok := c.jobs[m.Job]; ok && j.requester == from && j.state == jobOpen {
			c.closeJob(env, j, Cancelled)
		}
	case *Join:
		c.join(env, from, m)
	case *Leave:
		c.leave(env, from)
	case *Result:
		c.result(env, from, m)
	case *Verdict:
		c.verdict(env, from, m)
	case *DisputeReveal:
		c.reveal(env, from, m)
	}
	c.match(env)
}

// tick proposes the next block, after the housekeeping that feeds it.
func (c *Committee) tick(env protocol.Env) {
	now := env.Now()
	if c.cfg.CloseAt > 0 && now >= c.cfg.CloseAt && !c.closedAll {
		c.closedAll = true
		for _, j := range c.open {
			if j.state == jobOpen {
				c.closeJob(env, j, Cancelled)
			}
		}
	}
	c.deadlines(env)
	c.timeouts(env)
	c.issueSlashes(env)
	c.proposeGovernance(env, c.ledger.Height()+1)
	c.match(env)
	c.flushResults(env)
	c.flushReleases(env)
	if c.chain != nil {
		return // the chain makes the blocks
	}
	if c.building.ok {
		panic("market: a block is still being agreed on at the next tick")
	}
	h := c.ledger.Height() + 1
	raw, hash := c.ledger.MakeBlock(h, c.ledger.Tip(), env.Self(), now)
	c.building.height, c.building.raw, c.building.hash, c.building.ok = h, raw, hash, true
	c.stats.Blocks++
	env.SetTimer(c.cfg.CommitDelay, tagCommit)
}

// commit finalizes the block proposed at the last tick and acts on what
// it carried.
func (c *Committee) commit(env protocol.Env) {
	b := &c.building
	if !b.ok {
		return
	}
	b.ok = false
	before := c.slashStakes()
	c.ledger.Commit(b.height, b.raw, b.hash, env.Now())
	h := b.height
	app := c.ledger.LastApplied()
	sup := c.ledger.Supply()
	if c.cfg.CheckSupply {
		if err := sup.Check(); err != nil {
			panic(fmt.Sprintf("market: after block %d at %v: %v", h, env.Now(), err))
		}
	}
	env.Emit(rewards.Supply{Height: h, Minted: rewards.Tokens(app.Minted), Burned: rewards.Tokens(app.Burned)})
	env.Emit(Block{Height: h, Txs: app.Txs, Bytes: app.Bytes, Minted: app.Minted, Burned: app.Burned,
		Supply: sup.Minted - sup.Burned, Escrow: sup.Escrow, Emission: app.Minted})
	c.unpaid += app.Minted
	c.resolve(env, h, before)
	c.endGovernance(env, h)
	c.payPool(env, h)
	c.stakingYield(env, h)
	c.issueSlashes(env)
	c.match(env)
}

// Committed acts on block b, which the chain the committee settles on
// (Config.Chain) committed at height h: the jobs it posted open, the
// committee's transactions in it complete, and the committee splits the
// reward pool and issues what waited for the block, as after a block of
// its own. With replay (a restarted committee reading the stored chain,
// before its Start) it only rebuilds the jobs: those posted open, those
// settled close, and nothing is sent or submitted.
func (c *Committee) Committed(env protocol.Env, h uint64, b *chain.Block, replay bool) {
	if c.chain == nil {
		panic("market: Committed on a committee that runs its own chain")
	}
	mine := map[chain.Hash]bool{}
	for _, p := range c.inflight {
		mine[p.hash] = true
	}
	inBlock := map[chain.Hash]bool{}
	for _, tx := range b.Txs {
		inBlock[tx.Hash()] = true
		switch body := tx.Body().(type) {
		case chain.JobPost:
			c.postCommitted(env, tx, body, h)
		case chain.Settle:
			// A settlement this committee did not send (it was sent
			// before a restart) closes the job all the same.
			if tx.From() == c.settler && !mine[tx.Hash()] {
				for _, r := range body.Jobs {
					if j, ok := c.jobs[r.Job]; ok && r.Close {
						c.forget(env, j)
					}
				}
			}
		}
	}
	if replay {
		return
	}
	before := map[chain.Address]uint64{}
	for _, p := range c.inflight {
		if s := p.slash; s != nil && inBlock[p.hash] {
			if _, ok := before[c.addrs[s.offender]]; !ok {
				before[c.addrs[s.offender]] = s.stakeAt
			}
		}
	}
	app := c.ledger.LastApplied()
	if app.Height != h {
		// Fed late, behind a later block (a driver that feeds at the
		// next input): what the block itself says. Its burn is not in
		// it, and the supply is the later block's.
		app = chain.Applied{Height: h, Txs: len(b.Txs), Bytes: len(b.Encoded())}
		for _, tx := range b.Txs {
			if r, ok := tx.Body().(chain.Reward); ok {
				app.Minted += r.Amount
			}
		}
	}
	sup := c.ledger.Supply()
	env.Emit(rewards.Supply{Height: h, Minted: rewards.Tokens(app.Minted), Burned: rewards.Tokens(app.Burned)})
	env.Emit(Block{Height: h, Txs: app.Txs, Bytes: app.Bytes, Minted: app.Minted, Burned: app.Burned,
		Supply: sup.Minted - sup.Burned, Escrow: sup.Escrow, Emission: app.Minted})
	// The block reward is the chain's proposer's, not the pool's: the
	// pool splits the pot shares of job fees only.
	c.resolveIn(env, h, before, func(p *pending) bool { return inBlock[p.hash] })
	c.endGovernance(env, h)
	c.payPool(env, h)
	c.stakingYield(env, h)
	c.issueSlashes(env)
	for _, p := range c.inflight {
		if s := p.slash; s != nil {
			s.stakeAt = c.ledger.Account(c.addrs[s.offender]).Stake
		}
	}
	c.match(env)
}

// postCommitted opens the job of a JobPost the chain committed at height
// h, if a member posted it with a PostJob as its spec (EncodePost).
func (c *Committee) postCommitted(env protocol.Env, tx *chain.Tx, body chain.JobPost, h uint64) {
	from, ok := c.nodeOf[tx.From()]
	if !ok {
		return
	}
	m, ok := DecodePost(body.Spec)
	id := chain.JobIDFor(tx.From(), tx.Nonce)
	if _, dup := c.jobs[id]; !ok || dup || m.Spec.Validate() != nil || body.Budget == 0 {
		return
	}
	if m.Posted == 0 {
		// A post from outside the market's roles (the user API) does
		// not know the network's clock: its job counts from its commit.
		m.Posted = env.Now()
	}
	j := &job{id: id, requester: from, seq: m.Seq, spec: m.Spec, budget: body.Budget, posted: m.Posted}
	c.jobs[id] = j
	c.open = append(c.open, j)
	c.makeUnits(j)
	j.onChain = true
	env.Emit(JobCommitted{Job: j.id, Requester: j.requester, Seq: j.seq, Height: h, Wait: env.Now().Sub(j.posted)})
	c.opened(env, j, h)
}

// forget closes a job whose settlement the chain committed before this
// committee started (replay): nothing of it is left to do.
func (c *Committee) forget(env protocol.Env, j *job) {
	if j.state == jobClosed {
		return
	}
	if j.state == jobOpen {
		c.stopUnits(env, j)
	}
	c.releases = slices.DeleteFunc(c.releases, func(r release) bool { return r.j == j })
	j.state, j.ended = jobClosed, env.Now()
	c.pruneOpen()
}

// pending is a transaction the committee built and the mempool holds.
// What its commit does: done, or (without a closure per transaction) mark
// a replica's or a batch's results committed, or record a slash.
type pending struct {
	sender chain.Address
	nonce  uint64
	typ    chain.TxType
	done   func(env protocol.Env, h uint64)
	hash   chain.Hash // the transaction as the chain signed it (Config.Chain)
	slash  *slashReq
	rep    *replica
	batch  *resultBatch
}

// modeledSig stands for a signature: the ledger runs with
// ModeledVerification, as consensus runs do with modeled signatures.
var modeledSig = make([]byte, 64)

// submit signs (as modeled) tx from the holder of pub with its next nonce
// and adds it to the mempool; done runs when it commits. It reports
// whether the ledger accepted it.
func (c *Committee) submit(env protocol.Env, pub chain.PubKey, tx chain.Tx, p *pending) bool {
	a := pub.Address()
	if c.chain != nil {
		tx.Sender = pub
		hash, err := c.chain.Submit(env, tx)
		if err != nil {
			env.Emit(Rejected{Type: tx.Type.String(), Reason: chain.Reason(err)})
			return false
		}
		c.stats.Txs++
		if p == nil {
			p = &pending{}
		}
		p.sender, p.typ, p.hash = a, tx.Type, hash
		c.inflight = append(c.inflight, p)
		return true
	}
	n, ok := c.nonces[a]
	if !ok {
		n = c.ledger.Account(a).Nonce
	}
	tx.Nonce, tx.Sender, tx.Sig = n, pub, modeledSig
	t := &tx
	if err := c.ledger.AddTx(t); err != nil {
		env.Emit(Rejected{Type: tx.Type.String(), Reason: chain.Reason(err)})
		return false
	}
	c.stats.Txs++
	c.nonces[a] = n + 1
	if p == nil {
		p = &pending{}
	}
	p.sender, p.nonce, p.typ = a, n, tx.Type
	c.inflight = append(c.inflight, p)
	return true
}

// resolve runs the completion of every in-flight transaction the block
// committed: a sender's transaction with nonce n is committed once the
// sender's committed nonce passes n.
func (c *Committee) resolve(env protocol.Env, h uint64, stakeBefore map[chain.Address]uint64) {
	c.resolveIn(env, h, stakeBefore, func(p *pending) bool { return c.ledger.Account(p.sender).Nonce > p.nonce })
}

// resolveIn runs the completion of every in-flight transaction that
// committed reports committed, in submission order.
func (c *Committee) resolveIn(env protocol.Env, h uint64, stakeBefore map[chain.Address]uint64, committed func(*pending) bool) {
	keep := c.inflight[:0]
	var done []*pending
	for _, p := range c.inflight {
		if committed(p) {
			done = append(done, p)
		} else {
			keep = append(keep, p)
		}
	}
	for i := len(keep); i < len(c.inflight); i++ {
		c.inflight[i] = nil
	}
	c.inflight = keep
	for _, p := range done {
		if p.slash != nil {
			c.slashed(env, h, p.slash, stakeBefore)
		}
		if p.rep != nil {
			c.resultCommitted(env, p.rep)
		}
		if b := p.batch; b != nil {
			for _, r := range b.reps {
				c.resultCommitted(env, r)
			}
			b.reps = nil
		}
		if p.done != nil {
			p.done(env, h)
		}
	}
}

// resultCommitted marks a result on chain and counts the time it took.
func (c *Committee) resultCommitted(env protocol.Env, r *replica) {
	r.committed = true
	c.stats.ResultsCommitted++
	c.stats.ResultCommitWait += env.Now().Sub(r.doneAt).Seconds()
}

// policy returns the rewards policy in force at height h: the base
// policy with governance's parameters at h.
func (c *Committee) policy(h uint64) rewards.Policy {
	if pc := &c.polCache; pc.ok && c.unchanged(pc.height, h) {
		pc.height = h
		return pc.pol
	}
	p, err := c.base.WithParams(c.params(h).Lookup)
	if err != nil {
		// The registry refuses changes that make an invalid policy, so
		// this is a broken invariant.
		panic(fmt.Sprintf("market: governance parameters at height %d make no policy: %v", h, err))
	}
	c.polCache.height, c.polCache.ok, c.polCache.pol = h, true, p
	return p
}

// unchanged reports whether no governance change activates in (from, to]:
// the parameters at from still hold at to (looked up for a short gap only).
func (c *Committee) unchanged(from, to uint64) bool {
	if to < from || to-from > 64 {
		return false
	}
	for x := from + 1; x <= to; x++ {
		if len(c.gov.Activations(x)) > 0 {
			return false
		}
	}
	return true
}

// params are governance's parameters in force at height h (cached: they
// change only at activations, and every block reads them).
func (c *Committee) params(h uint64) govern.Params {
	if pc := &c.parCache; pc.ok && c.unchanged(pc.height, h) {
		pc.height = h
		return pc.ps
	}
	ps := c.gov.ParamsAt(h)
	c.parCache.height, c.parCache.ok, c.parCache.ps = h, true, ps
	return ps
}

// schedule is the emission schedule in force at height h.
func (c *Committee) schedule(h uint64) rewards.Schedule {
	e := c.params(h).Get(rewards.ParamEmissionPerBlock)
	s, ok := c.schedCache[e]
	if !ok {
		spec := c.base.Emission
		spec.Initial = rewards.Tokens(e)
		var err error
		if s, err = spec.Schedule(); err != nil {
			panic(fmt.Sprintf("market: emission of %d per block: %v", e, err))
		}
		c.schedCache[e] = s
	}
	return s
}

// slashFraction is the ledger's slash hook: the policy's fraction for the
// evidence's offence, at the block's height.
func (c *Committee) slashFraction(h uint64, ev []byte) chain.PPM {
	e, err := verify.DecodeEvidence(ev)
	if err != nil {
		return c.cfg.Ledger.Params.SlashFraction
	}
	return chain.PPM(c.policy(h).Slash[e.Offence]) * 100
}

// spotCheck is the spot-check probability in force.
func (c *Committee) spotCheck() float64 {
	return float64(c.params(c.ledger.Height()+1).Get(govern.ParamSpotCheck)) / 1e6
}
