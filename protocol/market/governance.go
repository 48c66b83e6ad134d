package market

import (
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/govern"
	"github.com/dais-sim/dais/protocol/rewards"
)

// Governance runs on the chain's own transactions: a proposal is a
// chain.Proposal whose body is a govern.Body, a vote a chain.Vote; when
// they commit, the committee feeds them to its govern.Governor, which
// tallies (quorum, threshold, veto) at the end of voting and schedules
// the changes of a passed proposal for its activation height. The
// parameters in force at each height then set the emission (the ledger's
// schedule), the reward split, fees, slash fractions and the spot-check
// probability. Deposits are recorded but not locked: the ledger's
// Proposal transaction carries none.

type govRecord struct {
	plan    *ProposalPlan
	chainID uint64
	govID   uint64
	voteAt  uint64 // the block the votes go into
	sent    bool
}

// proposeGovernance submits the proposals planned for block h and the
// votes due in it.
func (c *Committee) proposeGovernance(env protocol.Env, h uint64) {
	if c.govProposals == nil && len(c.cfg.Proposals) > 0 {
		c.govProposals = make([]govRecord, len(c.cfg.Proposals))
		for i := range c.cfg.Proposals {
			c.govProposals[i].plan = &c.cfg.Proposals[i]
		}
	}
	for i := range c.govProposals {
		r := &c.govProposals[i]
		pl := r.plan
		if !r.sent && pl.Height <= h && int(pl.Proposer) < len(c.cfg.Keys) {
			r.sent = true
			body := govern.Body{Activation: pl.Activation, Changes: pl.Changes}.Encode()
			c.submit(env, c.cfg.Keys[pl.Proposer], chain.NewProposal(0, 0, body), &pending{done: func(env protocol.Env, hp uint64) {
				c.chainProposals++
				r.chainID = c.chainProposals
				p, err := c.gov.Submit(hp, govern.Submission{Proposer: c.acct(pl.Proposer), Changes: pl.Changes,
					Activation: pl.Activation, Deposit: c.cfg.Gov.MinDeposit})
				if err != nil {
					env.Emit(Rejected{Type: "proposal", Reason: err.Error()})
					return
				}
				r.govID, r.voteAt = p.ID, hp+1
				env.Emit(p.SubmittedEvent())
			}})
		}
		if r.govID != 0 && r.voteAt == h {
			c.vote(env, r)
		}
	}
}

// vote casts the plan's ballots: stakers in address order, by cumulative
// share of the electorate's stake.
func (c *Committee) vote(env protocol.Env, r *govRecord) {
	stakes := c.ledger.Stakes()
	var total float64
	for _, a := range stakes {
		total += float64(a.Stake)
	}
	pl := r.plan
	var cum float64
	for _, a := range stakes {
		x := cum / total
		cum += float64(a.Stake)
		var o govern.Option
		switch {
		case x < pl.Yes:
			o = govern.Yes
		case x < pl.Yes+pl.No:
			o = govern.No
		case x < pl.Yes+pl.No+pl.Veto:
			o = govern.NoWithVeto
		case x < pl.Yes+pl.No+pl.Veto+pl.Abstain:
			o = govern.Abstain
		default:
			continue
		}
		id, ok := c.nodeOf[a.Address]
		if !ok {
			continue
		}
		choice := map[govern.Option]chain.Choice{govern.Yes: chain.VoteYes, govern.No: chain.VoteNo,
			govern.NoWithVeto: chain.VoteNo, govern.Abstain: chain.VoteAbstain}[o]
		c.submit(env, c.cfg.Keys[id], chain.NewVote(0, 0, r.chainID, choice), &pending{done: func(env protocol.Env, hv uint64) {
			if err := c.gov.Vote(hv, r.govID, c.acct(id), o); err != nil {
				env.Emit(Rejected{Type: "vote", Reason: err.Error()})
			}
		}})
	}
}

// endGovernance closes the proposals whose voting ended with block h and
// puts the parameters of block h+1 in force.
func (c *Committee) endGovernance(env protocol.Env, h uint64) {
	var electorate []govern.Voter
	if c.govOpen() {
		// Only a tally reads the electorate: every staker, walked and
		// sorted, which a block without one need not pay for.
		for _, a := range c.ledger.Stakes() {
			electorate = append(electorate, govern.Voter{Account: c.account(a.Address), Stake: rewards.Tokens(a.Stake)})
		}
	}
	closed, err := c.gov.EndBlock(h, electorate)
	if err != nil {
		panic("market: governance tally: " + err.Error())
	}
	for _, p := range closed {
		env.Emit(p.ClosedEvent(h))
	}
	for _, a := range c.gov.Activations(h + 1) {
		env.Emit(a)
	}
	if err := c.dist.SetPolicy(c.policy(h + 1)); err != nil {
		panic("market: governed policy: " + err.Error())
	}
}

// govOpen reports whether a proposal the committee submitted is still
// open for votes.
func (c *Committee) govOpen() bool {
	for _, r := range c.govProposals {
		if r.govID == 0 {
			continue
		}
		if p, ok := c.gov.Proposal(r.govID); ok && p.Status == govern.Open {
			return true
		}
	}
	return false
}
