package marketplace

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/govern"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// Role is what a population group's nodes do.
type Role string

// Roles (the scenario's population roles).
const (
	Provider  Role = "provider"
	Validator Role = "validator"
	Requester Role = "requester"
)

// Group is a population group: like nodes with one role.
type Group struct {
	Name string
	// GPU is a class name, resolved through Params.Catalog.
	GPU   string
	Count int
	// Regions are the matrix's region names the nodes spread over,
	// uniformly from each node's placement stream; empty means all.
	Regions []string
	Role    Role
	// Stake and Balance each node holds at genesis, base units.
	Stake, Balance uint64
	// Slots is how many units a provider accepts at once (0: 2).
	Slots int
	// Bandwidth names the link class (Params.Links) of every node of the
	// group; "" draws each node's class by share.
	Bandwidth string
}

// LinkClass is a kind of access link, given to nodes by share unless a
// group names it.
type LinkClass struct {
	Name  string
	Share float64
	Link  netspec.Link
}

// Adversary kinds.
const (
	Lazy      = "lazy"
	FreeRider = "free_rider"
	Sybil     = "sybil"
	Colluding = "colluding_validators"
	// DefaultLazy is a lazy provider's share of units it fakes when
	// the scenario names none.
	DefaultLazy = 0.5
)

// Adversary turns some nodes of a group into attackers.
type Adversary struct {
	Kind string
	// Group the attackers are drawn from ("" means any provider, or any
	// validator for colluding_validators), by a seeded permutation.
	Group string
	Count int
	Share float64 // of the group, when Count is 0
	// Fraction of units a lazy provider fakes (default 0.5); Stale makes
	// fakes copies of its last real result.
	Fraction float64
	Stale    bool
	// Identities is a Sybil attacker's k (default 2).
	Identities int
	// Start is when lazy providers begin faking.
	Start protocol.Duration
}

// Params describe one run.
type Params struct {
	Seed uint64
	// Matrix is the region latency matrix (zero: netspec.DefaultMatrix).
	Matrix netspec.Matrix
	// Link is every node's access link (zero: unlimited) when Links is
	// empty. With Links, each node of a group gets the group's named class
	// or one drawn by share from its placement stream (the committee's
	// node too, as a node without a group).
	Link  netspec.Link
	Links []LinkClass
	// CommitteeLink names the committee's class in Links ("": drawn by
	// share).
	CommitteeLink string
	Jitter        dist.Dist
	Loss          float64
	Groups        []Group
	// Model turns a unit and a class into a duration, for the engine and
	// the scheduler alike (zero: gpu.DefaultModel).
	Model gpu.Model
	// Catalog resolves the groups' GPU names; nil means the built-in
	// catalog. FromScenario sets the scenario's, with its measured
	// hardware profiles.
	Catalog *gpu.Catalog

	// Arrivals is the whole workload's arrival process, split evenly
	// among the requesters; Jobs the job types.
	Arrivals    market.Arrivals
	Jobs        []market.JobType
	CancelShare float64
	CancelAfter protocol.Duration

	Scheduler         market.Policy
	LotteryByCapacity bool
	Verify            market.Verification
	// Policy is the tokenomics (nil: rewards.DefaultPolicy with 2-second
	// blocks' emission as is).
	Policy *rewards.Policy
	// Gov configures governance (zero VotingPeriod: 20 blocks of voting,
	// 5 of delay, a 10-token deposit, govern's default tally);
	// Proposals are submitted at their heights.
	Gov       govern.Config
	Proposals []market.ProposalPlan

	Adversaries []Adversary

	// Matching: per block (the default) or continuous (market.Matching).
	Matching market.Matching
	// Settlement is SettleModeled (the default: the committee keeps the
	// ledger, blocks final CommitDelay after they are proposed) or
	// SettleChain: ChainValidators (0: 4) run the BFT engine over the
	// ledger and the market settles on what they commit.
	Settlement      string
	ChainValidators int
	// BlockInterval (0: 2 s) and CommitDelay (0: 300 ms, about the p50
	// BFT finality sim/consensusrun measures for 100 validators);
	// NoCommitDelay commits every block the instant it is proposed.
	BlockInterval, CommitDelay protocol.Duration
	NoCommitDelay              bool
	// DisputeBlocks is the ledger's dispute window (chain.Params; 0:
	// chain.DefaultDisputeBlocks).
	DisputeBlocks uint64
	// TimerLate delays every node's timers (the simulator's sim.Config.TimerLateNs) and
	// CPU charges each message to its sender's and receiver's processor
	// (sim.Config.CPU): a live runtime's costs, which dais calibrate
	// measures; zero: none.
	TimerLate protocol.Duration
	CPU       netspec.CPU
	// RewardEvery: the reward period in blocks (see market.Config).
	RewardEvery uint64
	// TimeoutFactor, TimeoutSlack: see market.Config.
	TimeoutFactor float64
	TimeoutSlack  protocol.Duration
	// Until is when requesters stop posting; the run goes on for Drain
	// (0: 2 minutes) so that posted jobs finish, and cancels whatever is
	// still open three blocks before the end so every escrow settles.
	Until, Drain protocol.Duration

	// Electricity prices by region name, USD per kWh; DefaultPrice for the
	// others (0: 0.15). TokenUSD values a token for profit (0: 1).
	Electricity  map[string]float64
	DefaultPrice float64
	TokenUSD     float64

	// Encryption, if set, seals every unit's input and result end to end
	// (see Encryption).
	Encryption *Encryption

	// Churn applies to a ChurnShare of the providers.
	Churn      *netspec.Churn
	ChurnShare float64

	// StepNs is the time-series step (0: 10 s).
	StepNs int64
	Trace  bool
	// Sink, if not nil, also receives every event.
	Sink metrics.Sink
	// Progress, if not nil, is called about 100 times with the simulated
	// time and the events so far.
	Progress func(simNs int64, events uint64)
}

// Settlement modes (Params.Settlement).
const (
	SettleModeled = "modeled"
	SettleChain   = "chain"
)

// ErrParams reports invalid Params.
var ErrParams = errors.New("marketplace: invalid parameters")

func (p *Params) Defaults() {
	if len(p.Matrix.Regions) == 0 {
		p.Matrix = netspec.DefaultMatrix()
	}
	if p.DisputeBlocks == 0 {
		p.DisputeBlocks = chain.DefaultDisputeBlocks
	}
	if p.BlockInterval == 0 {
		p.BlockInterval = 2 * protocol.Second
	}
	if p.NoCommitDelay {
		p.CommitDelay = 0
	} else if p.CommitDelay == 0 {
		p.CommitDelay = 300 * protocol.Millisecond
	}
	if p.Drain == 0 {
		p.Drain = 2 * protocol.Minute
	}
	if p.Settlement == "" {
		p.Settlement = SettleModeled
	}
	if p.Settlement == SettleChain && p.ChainValidators == 0 {
		p.ChainValidators = 4
	}
	if p.DefaultPrice == 0 {
		p.DefaultPrice = 0.15
	}
	if p.TokenUSD == 0 {
		p.TokenUSD = 1
	}
	if p.StepNs == 0 {
		p.StepNs = int64(10 * protocol.Second)
	}
	if p.Scheduler == 0 {
		p.Scheduler = market.FIFO
	}
	if p.Verify.Scheme == 0 {
		p.Verify.Scheme = market.NoVerification
	}
	if p.Gov.VotingPeriod == 0 {
		p.Gov = govern.DefaultConfig()
		p.Gov.VotingPeriod, p.Gov.MinDelay = 20, 5
	}
}

func (p *Params) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrParams}, a...)...)
	}
	if err := p.Matrix.Validate(); err != nil {
		return err
	}
	if p.Model != (gpu.Model{}) {
		if err := p.Model.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrParams, err)
		}
	}
	var prov, val, req int
	if c := p.CommitteeLink; c != "" && !slices.ContainsFunc(p.Links, func(l LinkClass) bool { return l.Name == c }) {
		return bad("committee: unknown link class %q", c)
	}
	for _, g := range p.Groups {
		if g.Bandwidth != "" && !slices.ContainsFunc(p.Links, func(l LinkClass) bool { return l.Name == g.Bandwidth }) {
			return bad("group %s: unknown link class %q", g.Name, g.Bandwidth)
		}
		if _, ok := p.Catalog.Lookup(g.GPU); !ok {
			return bad("group %s: unknown GPU class %q", g.Name, g.GPU)
		}
		for _, r := range g.Regions {
			if p.Matrix.Index(r) < 0 {
				return bad("group %s: unknown region %q", g.Name, r)
			}
		}
		if g.Count < 0 {
			return bad("group %s: %d nodes", g.Name, g.Count)
		}
		switch g.Role {
		case Provider:
			prov += g.Count
		case Validator:
			val += g.Count
		case Requester:
			req += g.Count
		default:
			return bad("group %s: role %q (provider, validator, requester)", g.Name, g.Role)
		}
	}
	switch {
	case prov == 0 || req == 0:
		return bad("%d providers and %d requesters: need at least one of each", prov, req)
	case val == 0 && (p.Verify.Scheme == market.SpotCheck || p.Verify.Scheme == market.Bisection):
		return bad("%s verification needs validators", p.Verify.Scheme)
	case p.Until <= 0:
		return bad("until must be > 0")
	case len(p.Jobs) == 0:
		return bad("no job types")
	case !(p.Loss >= 0 && p.Loss < 1):
		return bad("loss %g outside [0, 1)", p.Loss)
	case p.CancelShare < 0 || p.CancelShare > 1:
		return bad("cancel share %g outside [0, 1]", p.CancelShare)
	case p.Drain <= 4*p.BlockInterval:
		return bad("drain %v shorter than four blocks", p.Drain)
	case p.Matching > market.Continuous:
		return bad("matching %v", p.Matching)
	case p.Settlement != "" && p.Settlement != SettleModeled && p.Settlement != SettleChain:
		return bad("settlement %q (modeled, chain)", p.Settlement)
	case p.Settlement == SettleChain && p.ChainValidators < 1:
		return bad("settlement chain with %d validators", p.ChainValidators)
	case p.Settlement == SettleChain && p.Matching == market.Continuous:
		return bad("settlement chain: matching continuous is not supported on the BFT chain: a job opens when the block holding its post commits, and its results settle in batches, one Merkle root per block; use matching: per_block")
	case p.Settlement == SettleChain && len(p.Proposals) > 0:
		return bad("settlement chain: governance proposals are not supported on the BFT chain yet (each would be signed by its proposer's own account); use settlement: modeled")
	case p.Settlement == SettleChain && slices.ContainsFunc(p.Jobs, func(t market.JobType) bool { return t.Stream }):
		return bad("settlement chain: streamed jobs are not supported on the BFT chain yet; use settlement: modeled")
	}
	if err := p.Arrivals.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrParams, err)
	}
	for _, t := range p.Jobs {
		if t.FLOPs == nil {
			return bad("job type %s: no FLOPs distribution", t.Name)
		}
		if err := dist.Validate(t.FLOPs); err != nil {
			return bad("job type %s: %v", t.Name, err)
		}
		if t.Kind < market.Inference || t.Kind > market.Training || !(t.Share >= 0) || math.IsInf(t.Share, 0) {
			return bad("job type %s: kind %v, share %g", t.Name, t.Kind, t.Share)
		}
	}
	for _, a := range p.Adversaries {
		switch a.Kind {
		case Lazy, FreeRider, Sybil, Colluding:
		default:
			return bad("adversary kind %q (lazy, free_rider, sybil, colluding_validators)", a.Kind)
		}
		if a.Count < 0 || a.Share < 0 || a.Share > 1 || a.Fraction < 0 || a.Fraction > 1 || a.Identities < 0 {
			return bad("adversary %s: count %d, share %g, fraction %g, identities %d", a.Kind, a.Count, a.Share, a.Fraction, a.Identities)
		}
	}
	return nil
}

// Change builds a governance change from its written value, against the
// default registry ("rewards.emission_per_block", "0.5").
func Change(key, text string) (govern.Change, error) {
	reg, err := govern.DefaultRegistry(rewards.DefaultPolicy())
	if err != nil {
		return govern.Change{}, err
	}
	return reg.Change(key, text)
}

// AccessLink is the access link of a node of a group naming class (""), the
// class drawn by share with a draw from u, or Params.Link without classes.
func (p *Params) AccessLink(class string, u func() float64) netspec.Link {
	if len(p.Links) == 0 {
		return p.Link
	}
	x := u()
	pick := p.Links[len(p.Links)-1]
	for _, c := range p.Links {
		if class != "" {
			if c.Name == class {
				return c.Link
			}
			continue
		}
		if x < c.Share {
			return c.Link
		}
		x -= c.Share
	}
	return pick.Link
}
