package govern

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/dais-sim/dais/protocol/rewards"
)

// MaxChanges bounds the changes one proposal carries.
const MaxChanges = 16

// Config sets up a Governor.
type Config struct {
	// VotingPeriod is how many blocks a proposal takes votes: submitted in
	// block h, votes count in blocks h … h+VotingPeriod−1 (as in
	// chain.ProposalRecord), and the tally is taken at the end of block
	// h+VotingPeriod−1.
	VotingPeriod uint64
	// MinDelay is the fewest blocks between the end of voting and
	// activation: a change activates at a height ≥ h + VotingPeriod +
	// MinDelay, so that nodes see a result before it takes effect.
	MinDelay uint64
	// MinDeposit is the smallest deposit that opens a proposal.
	MinDeposit rewards.Tokens
	// Tally decides proposals.
	Tally TallyParams
}

// DefaultConfig returns a 1,000-block voting period (chain.DefaultParams'),
// a 100-block activation delay, a 10-token minimum deposit (Cosmos x/gov's
// default min_deposit is 10,000,000 of a 6-decimal denomination: 10 whole
// tokens), and DefaultTallyParams.
func DefaultConfig() Config {
	return Config{VotingPeriod: 1000, MinDelay: 100, MinDeposit: 10 * rewards.Token, Tally: DefaultTallyParams()}
}

// Validate reports the first field out of range.
func (c Config) Validate() error {
	if c.VotingPeriod == 0 {
		return fmt.Errorf("%w: voting period of 0 blocks", ErrConfig)
	}
	return c.Tally.Validate()
}

// Submission is what a proposer asks for.
type Submission struct {
	Proposer rewards.Account
	// Changes set parameters; at least one, at most MaxChanges, each key
	// once. They take effect together.
	Changes []Change
	// Activation is the height from which the changes apply; 0 asks for
	// the earliest allowed, the end of voting plus MinDelay.
	Activation uint64
	// Deposit is locked by the ledger while the proposal is open and
	// refunded or burned as the outcome says.
	Deposit rewards.Tokens
}

// Proposal is a proposal as recorded.
type Proposal struct {
	ID       uint64 // 1, 2, … in submission order
	Proposer rewards.Account
	Changes  []Change // by key
	Deposit  rewards.Tokens
	// Votes count in blocks Submitted … VotingEnd−1.
	Submitted, VotingEnd uint64
	Activation           uint64
	Status               Status
	// Tally and DepositBurned are set when voting ends.
	Tally         Tally
	DepositBurned bool
}

type proposal struct {
	Proposal
	ballots map[rewards.Account]Option
}

// scheduled is a passed change waiting for (or past) its activation.
type scheduled struct {
	at, id uint64
	Change
}

// Governor keeps proposals, votes and the parameter changes that passed.
// It is a state machine driven by the ledger, block by block, from one
// goroutine:
//
//	id, err := g.Submit(h, sub)         // a proposal transaction in block h
//	err = g.Vote(h, id, voter, Yes)     // a vote transaction in block h
//	closed, err := g.EndBlock(h, stake) // after block h's transactions
//	params := g.ParamsAt(h + 1)         // the rules of the next block
type Governor struct {
	reg       *Registry
	cfg       Config
	proposals []*proposal // by ID − 1
	open      []uint64    // IDs of open proposals, ascending
	sched     []scheduled // by (at, id), then key
}

// New returns a governor over a registry's parameters.
func New(reg *Registry, cfg Config) (*Governor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Governor{reg: reg, cfg: cfg}, nil
}

// Registry returns the governor's registry.
func (g *Governor) Registry() *Registry { return g.reg }

// Config returns the governor's configuration.
func (g *Governor) Config() Config { return g.cfg }

// Submit opens a proposal in block height. It is rejected, and nothing
// recorded, when a change names an unknown parameter or leaves its bounds,
// when the changes would break the registry's rule across parameters in
// the set scheduled for their activation, when the activation is too
// early, or when the deposit is below the minimum.
func (g *Governor) Submit(height uint64, s Submission) (Proposal, error) {
	changes, err := g.checkChanges(s.Changes)
	if err != nil {
		return Proposal{}, err
	}
	if s.Deposit < g.cfg.MinDeposit {
		return Proposal{}, fmt.Errorf("%w: %s < %s", ErrDeposit, s.Deposit, g.cfg.MinDeposit)
	}
	end := height + g.cfg.VotingPeriod
	earliest := end + g.cfg.MinDelay
	if end < height || earliest < end {
		return Proposal{}, fmt.Errorf("%w: height %d leaves no room for voting", ErrActivation, height)
	}
	at := s.Activation
	if at == 0 {
		at = earliest
	}
	if at < earliest {
		return Proposal{}, fmt.Errorf("%w: activation %d, voting ends after block %d and the delay is %d blocks: at least %d",
			ErrActivation, at, end-1, g.cfg.MinDelay, earliest)
	}
	if err := g.checkSchedule(scheduledOf(at, uint64(len(g.proposals)+1), changes)); err != nil {
		return Proposal{}, err
	}
	p := &proposal{Proposal: Proposal{
		ID: uint64(len(g.proposals) + 1), Proposer: s.Proposer, Changes: changes, Deposit: s.Deposit,
		Submitted: height, VotingEnd: end, Activation: at, Status: Open,
	}, ballots: map[rewards.Account]Option{}}
	g.proposals = append(g.proposals, p)
	g.open = append(g.open, p.ID)
	return p.record(), nil
}

// checkChanges checks each change against the registry and returns them
// sorted by key.
func (g *Governor) checkChanges(cs []Change) ([]Change, error) {
	if len(cs) == 0 {
		return nil, ErrNoChanges
	}
	if len(cs) > MaxChanges {
		return nil, fmt.Errorf("%w: %d changes, at most %d", ErrBody, len(cs), MaxChanges)
	}
	out := slices.Clone(cs)
	sortChanges(out)
	for i, c := range out {
		if i > 0 && out[i-1].Key == c.Key {
			return nil, fmt.Errorf("%w: %s", ErrDuplicateKey, c.Key)
		}
		if err := g.reg.CheckChange(c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sortChanges(cs []Change) {
	slices.SortStableFunc(cs, func(a, b Change) int { return cmp.Compare(a.Key, b.Key) })
}

func scheduledOf(at, id uint64, cs []Change) []scheduled {
	out := make([]scheduled, len(cs))
	for i, c := range cs {
		out[i] = scheduled{at: at, id: id, Change: c}
	}
	return out
}

func cmpScheduled(a, b scheduled) int {
	if c := cmp.Compare(a.at, b.at); c != 0 {
		return c
	}
	if c := cmp.Compare(a.id, b.id); c != 0 {
		return c
	}
	return cmp.Compare(a.Key, b.Key)
}

// checkSchedule reports whether adding extra to the scheduled changes
// keeps every parameter set in force from extra's activation on within
// the registry's rule.
func (g *Governor) checkSchedule(extra []scheduled) error {
	all := append(slices.Clone(g.sched), extra...)
	slices.SortFunc(all, cmpScheduled)
	ps := g.reg.Defaults()
	from := extra[0].at
	for i, s := range all {
		ps.set(s.Key, s.Value)
		if s.at < from || (i+1 < len(all) && all[i+1].at == s.at) {
			continue // only whole heights at or after the new changes matter
		}
		if err := g.reg.Check(ps); err != nil {
			return fmt.Errorf("from height %d: %w", s.at, err)
		}
	}
	return nil
}

// Vote records voter's ballot on proposal id in block height. A later
// vote by the same voter replaces the earlier one (as in Cosmos x/gov and
// chain's Vote transaction), so a voter can change its mind until voting
// ends. Whether the voter has stake is settled at the tally.
func (g *Governor) Vote(height, id uint64, voter rewards.Account, o Option) error {
	if o < Yes || o > NoWithVeto {
		return fmt.Errorf("%w: %d", ErrBadOption, o)
	}
	p, err := g.get(id)
	if err != nil {
		return err
	}
	if p.Status != Open || height < p.Submitted || height >= p.VotingEnd {
		return fmt.Errorf("%w: proposal %d takes votes in blocks %d … %d while open, not %d (%s)",
			ErrVotingClosed, id, p.Submitted, p.VotingEnd-1, height, p.Status)
	}
	p.ballots[voter] = o
	return nil
}

func (g *Governor) get(id uint64) (*proposal, error) {
	if id == 0 || id > uint64(len(g.proposals)) {
		return nil, fmt.Errorf("%w %d", ErrNoProposal, id)
	}
	return g.proposals[id-1], nil
}

// Proposal returns a proposal as recorded; the caller owns the result.
func (g *Governor) Proposal(id uint64) (Proposal, bool) {
	p, err := g.get(id)
	if err != nil {
		return Proposal{}, false
	}
	return p.record(), true
}

func (p *proposal) record() Proposal {
	r := p.Proposal
	r.Changes = slices.Clone(r.Changes)
	return r
}

// EndBlock closes, after block height, every open proposal whose last
// voting block is at most height: it tallies the ballots against the
// electorate (every account with bonded stake now, as Cosmos tallies with
// the stake at the end of voting), decides, and schedules the changes of
// those that pass. It returns the closed proposals in ID order. On an
// error (a malformed electorate) nothing changes.
//
// EndBlock must be called at every height: a proposal closed after its
// activation height fails rather than change the past.
func (g *Governor) EndBlock(height uint64, electorate []Voter) ([]Proposal, error) {
	var closing []*proposal
	for _, id := range g.open {
		if p := g.proposals[id-1]; p.VotingEnd <= height+1 {
			closing = append(closing, p)
		}
	}
	if len(closing) == 0 {
		return nil, nil
	}
	tallies := make([]Tally, len(closing))
	for i, p := range closing {
		ballots := make([]Ballot, 0, len(p.ballots))
		for v, o := range p.ballots {
			ballots = append(ballots, Ballot{Voter: v, Option: o})
		}
		slices.SortFunc(ballots, func(a, b Ballot) int { return cmp.Compare(a.Voter, b.Voter) })
		t, err := g.cfg.Tally.Count(electorate, ballots)
		if err != nil {
			return nil, err
		}
		tallies[i] = t
	}
	out := make([]Proposal, len(closing))
	for i, p := range closing {
		p.Tally = tallies[i]
		p.Status, p.DepositBurned = g.cfg.Tally.Decide(p.Tally)
		if p.Status == Passed {
			s := scheduledOf(p.Activation, p.ID, p.Changes)
			if p.Activation <= height || g.checkSchedule(s) != nil {
				p.Status = Failed
			} else {
				g.sched = append(g.sched, s...)
				slices.SortFunc(g.sched, cmpScheduled)
			}
		}
		p.ballots = nil
		out[i] = p.record()
	}
	g.open = slices.DeleteFunc(g.open, func(id uint64) bool { return g.proposals[id-1].Status != Open })
	return out, nil
}

// ParamsAt returns the parameter set in force at height: the registry's
// defaults with every passed change whose activation is at most height
// applied, by activation height and, for changes activating together, in
// proposal-ID order (so the later proposal wins a key both set). A
// change never applies before its activation height. Heights already
// past keep their answer: nothing can be scheduled at or before the
// height of the last EndBlock.
func (g *Governor) ParamsAt(height uint64) Params {
	ps := g.reg.Defaults()
	for _, s := range g.sched {
		if s.at > height {
			break
		}
		ps.set(s.Key, s.Value)
	}
	return ps
}

// Activations lists the changes that take effect at exactly height, in
// the order ParamsAt applies them, with the value each replaces.
func (g *Governor) Activations(height uint64) []Activated {
	var out []Activated
	ps := g.reg.Defaults()
	if height > 0 {
		ps = g.ParamsAt(height - 1)
	}
	for _, s := range g.sched {
		if s.at != height {
			continue
		}
		old := ps.Get(s.Key)
		ps.set(s.Key, s.Value)
		out = append(out, Activated{Height: height, Proposal: s.id, Key: s.Key, Old: old, New: s.Value})
	}
	return out
}
