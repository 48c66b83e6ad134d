package govern

import (
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol/rewards"
)

// The measures govern's events feed, in report order.
var (
	Proposals = &metrics.Measure{Name: "proposals", Kind: metrics.Counter,
		Help: "governance proposals submitted"}
	ProposalsPassed = &metrics.Measure{Name: "proposals_passed", Kind: metrics.Counter,
		Help: "proposals that passed and were scheduled"}
	ProposalsRejected = &metrics.Measure{Name: "proposals_rejected", Kind: metrics.Counter,
		Help: "proposals that met quorum without a Yes majority of non-abstaining power"}
	ProposalsVetoed = &metrics.Measure{Name: "proposals_vetoed", Kind: metrics.Counter,
		Help: "proposals rejected by no-with-veto above the veto threshold"}
	ProposalsNoQuorum = &metrics.Measure{Name: "proposals_no_quorum", Kind: metrics.Counter,
		Help: "proposals on which too little voting power voted"}
	ProposalsFailed = &metrics.Measure{Name: "proposals_failed", Kind: metrics.Counter,
		Help: "proposals that passed but whose changes could not be applied"}
	Turnout = &metrics.Measure{Name: "turnout", Unit: "percent", Kind: metrics.Distribution, Better: metrics.Higher,
		Help: "share of the electorate's voting power that voted on a proposal, at its close"}
	DepositsBurned = &metrics.Measure{Name: "deposits_burned", Unit: "tokens", Kind: metrics.Counter,
		Help: "proposal deposits burned after a veto or a missed quorum"}
	ParamChanges = &metrics.Measure{Name: "param_changes", Kind: metrics.Counter,
		Help: "parameter changes that took effect"}
)

// Measures lists the measures above, for a recorder.
var Measures = []*metrics.Measure{
	Proposals, ProposalsPassed, ProposalsRejected, ProposalsVetoed, ProposalsNoQuorum, ProposalsFailed,
	Turnout, DepositsBurned, ParamChanges,
}

// Like every replicated state, the governor is the same at every node: a
// run should emit these events from one node, or the recorder counts each
// proposal once per replica.

// Submitted is emitted when a proposal opens.
type Submitted struct {
	ID                               uint64
	Proposer                         rewards.Account
	Changes                          []Change
	Deposit                          rewards.Tokens
	Submitted, VotingEnd, Activation uint64
}

// Kind implements metrics.Event.
func (Submitted) Kind() string { return "govern.submitted" }

// Observe implements metrics.Observable.
func (Submitted) Observe(_ metrics.Stamped, o metrics.Observer) { o.Add(Proposals, 1) }

// SubmittedEvent describes p's opening.
func (p Proposal) SubmittedEvent() Submitted {
	return Submitted{ID: p.ID, Proposer: p.Proposer, Changes: p.Changes, Deposit: p.Deposit,
		Submitted: p.Submitted, VotingEnd: p.VotingEnd, Activation: p.Activation}
}

// Closed is emitted when voting on a proposal ends: its outcome and tally.
type Closed struct {
	ID            uint64
	Height        uint64
	Status        Status
	Tally         Tally
	Deposit       rewards.Tokens
	DepositBurned bool
	Activation    uint64
}

// Kind implements metrics.Event.
func (Closed) Kind() string { return "govern.closed" }

// Observe implements metrics.Observable.
func (e Closed) Observe(_ metrics.Stamped, o metrics.Observer) {
	switch e.Status {
	case Passed:
		o.Add(ProposalsPassed, 1)
	case Rejected:
		o.Add(ProposalsRejected, 1)
	case Vetoed:
		o.Add(ProposalsVetoed, 1)
	case NoQuorum:
		o.Add(ProposalsNoQuorum, 1)
	case Failed:
		o.Add(ProposalsFailed, 1)
	}
	if e.Tally.Total > 0 {
		o.Sample(Turnout, 100*float64(e.Tally.Voted)/float64(e.Tally.Total))
	}
	if e.DepositBurned {
		o.Add(DepositsBurned, e.Deposit.Float())
	}
}

// ClosedEvent describes p's close after block height.
func (p Proposal) ClosedEvent(height uint64) Closed {
	return Closed{ID: p.ID, Height: height, Status: p.Status, Tally: p.Tally, Deposit: p.Deposit,
		DepositBurned: p.DepositBurned, Activation: p.Activation}
}

// Activated is one parameter change taking effect at Height.
type Activated struct {
	Height   uint64
	Proposal uint64
	Key      string
	Old, New int64
}

// Kind implements metrics.Event.
func (Activated) Kind() string { return "govern.activated" }

// Observe implements metrics.Observable.
func (Activated) Observe(_ metrics.Stamped, o metrics.Observer) { o.Add(ParamChanges, 1) }

var (
	_ metrics.Observable = Submitted{}
	_ metrics.Observable = Closed{}
	_ metrics.Observable = Activated{}
)
