package market

import (
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/verify"
)

// Measurements. Nodes emit them; a runner or recorder reads them. Every
// committee event is emitted once, by the committee leader.

// The measures the Observable events feed.
var (
	Completion = &metrics.Measure{Name: "unit_completion", Unit: "ms", Kind: metrics.Distribution, Better: metrics.Lower,
		Help: "time from a unit's post (its job's; a session unit's release) to its being verified"}
	VerifiedUnits = &metrics.Measure{Name: "verified_units", Kind: metrics.Counter, Better: metrics.Higher,
		Help: "work units verified"}
	ComputedFLOPs = &metrics.Measure{Name: "computed", Unit: "flops", Kind: metrics.Counter,
		Help: "arithmetic GPUs ran: providers' units and validators' replays"}
	Frauds = &metrics.Measure{Name: "frauds_proven", Kind: metrics.Counter,
		Help: "offences proven: lazy work caught by quorum, replay or dispute, and false approvals"}
)

// Measures lists the measures above, for a recorder.
var Measures = []*metrics.Measure{Completion, VerifiedUnits, ComputedFLOPs, Frauds}

// Computed is emitted by a provider or validator when its GPU finishes a
// unit (or a replay, or a referee's step): the compute that was really
// spent, which verification overhead is measured against.
type Computed struct {
	Job        JobID
	Unit       uint32
	FLOPs      float64
	DurationNs int64
	EnergyJ    float64
	// Replay is true for a validator's re-execution.
	Replay bool
}

func (Computed) Kind() string { return "market.computed" }
func (e Computed) Observe(_ metrics.Stamped, o metrics.Observer) {
	o.Add(ComputedFLOPs, e.FLOPs)
}

// JobPosted is emitted by a requester when it posts a job.
type JobPosted struct {
	Seq    uint64
	Type   Kind
	Units  uint32
	FLOPs  uint64 // per unit
	Budget uint64
}

func (JobPosted) Kind() string { return "market.posted" }

// JobFinished is emitted by a requester when its job reaches a final status.
type JobFinished struct {
	Seq      uint64
	Job      JobID
	Status   Status
	Verified uint32
	Refund   uint64
	// Latency is from the post to this status.
	Latency protocol.Duration
}

func (JobFinished) Kind() string { return "market.finished" }

// JobOpened is emitted by the committee when a job's units become
// schedulable: at its post's commit (per-block matching), or when the post
// reaches the committee (continuous matching; Height 0).
type JobOpened struct {
	Job       JobID
	Requester protocol.NodeID
	Seq       uint64
	Units     uint32
	Height    uint64
	// Wait is from the post to now.
	Wait protocol.Duration
}

func (JobOpened) Kind() string { return "market.opened" }

// JobCommitted is emitted by the committee when a job's post (its escrow)
// commits on chain.
type JobCommitted struct {
	Job       JobID
	Requester protocol.NodeID
	Seq       uint64
	Height    uint64
	// Wait is from the post to its commit.
	Wait protocol.Duration
}

func (JobCommitted) Kind() string { return "market.committed" }

// Assigned is emitted when a unit replica goes to a provider.
type Assigned struct {
	Job      JobID
	Unit     uint32
	Provider protocol.NodeID
	// Queued is how long the replica waited in the committee's queue
	// (from when the unit, or the replica asked for later, was queued).
	Queued protocol.Duration
	// Posted is when the unit was posted: its job's post, or its release
	// in a session.
	Posted protocol.Time
}

func (Assigned) Kind() string { return "market.assigned" }

// Verified is emitted when a unit's result is accepted.
type Verified struct {
	Job  JobID
	Unit uint32
	// Payees are the replicas whose result was accepted: they share the
	// unit's fee and each is credited its FLOPs of verified work. A
	// replica that agrees after the quorum is emitted as LateAgreement.
	Payees []protocol.NodeID
	Result Hash
	Steps  uint32
	FLOPs  uint64
	// Latency is from the unit's post (its job's, or its release in a
	// session) to now.
	Latency protocol.Duration
	// Checked is true when a validator re-executed the unit.
	Checked bool
}

func (Verified) Kind() string { return "market.verified" }
func (e Verified) Observe(_ metrics.Stamped, o metrics.Observer) {
	o.Sample(Completion, e.Latency.Milliseconds())
	o.Add(VerifiedUnits, 1)
}

// LateAgreement is emitted when a replica beyond a decided quorum agrees
// with the accepted result: it joins the unit's payees.
type LateAgreement struct {
	Job      JobID
	Unit     uint32
	Provider protocol.NodeID
	FLOPs    uint64
}

func (LateAgreement) Kind() string { return "market.late_agreement" }

// Rescinded is emitted when a verified unit is taken back because one of
// its payees was proven to cheat on another unit: it is not paid and runs
// again.
type Rescinded struct {
	Job    JobID
	Unit   uint32
	Payees []protocol.NodeID
	FLOPs  uint64
}

func (Rescinded) Kind() string { return "market.rescinded" }

// FraudProven is emitted when verification proves an offence.
type FraudProven struct {
	Offender protocol.NodeID
	Offence  rewards.Offence
	How      verify.Scheme
	Job      JobID
	Unit     uint32
}

func (FraudProven) Kind() string { return "market.fraud" }
func (e FraudProven) Observe(_ metrics.Stamped, o metrics.Observer) {
	o.Add(Frauds, 1)
}

// TimedOut is emitted when an assignment outlives its timeout and goes
// back to the queue.
type TimedOut struct {
	Job      JobID
	Unit     uint32
	Provider protocol.NodeID
}

func (TimedOut) Kind() string { return "market.timed_out" }

// JobClosed is emitted when a job's settlement commits. Budget = Providers
// + Pot + Burned + Refund exactly.
type JobClosed struct {
	Job       JobID
	Requester protocol.NodeID
	Status    Status
	Units     uint32
	Verified  uint32
	Budget    uint64
	Providers uint64 // fee shares paid to providers
	Pot       uint64 // paid to the reward pool
	Burned    uint64
	Refund    uint64
	Height    uint64
	// Wait is from when the job ended (done, expired, cancelled) to this
	// settlement's commit.
	Wait protocol.Duration
}

func (JobClosed) Kind() string { return "market.closed" }

// Block is emitted when a block commits: the supply after it, and what
// was escrowed.
type Block struct {
	Height         uint64
	Txs            int
	Bytes          int    // the block's encoding
	Minted, Burned uint64 // in this block
	// Supply is minted − burned since genesis; Escrow is what open jobs
	// hold.
	Supply, Escrow uint64
	// Emission is what the schedule in force minted in this block.
	Emission uint64
}

func (Block) Kind() string { return "market.block" }

// Rejected is emitted when a transaction the committee built did not
// apply (a post over the requester's balance); Reason is chain.Reason's.
type Rejected struct {
	Type   string
	Reason string
}

func (Rejected) Kind() string { return "market.rejected" }

// CommitteeLoad is emitted by the committee when the run stops: what
// running the marketplace cost it, and so who carries it.
type CommitteeLoad struct {
	MsgsIn, MsgsOut uint64
	Decisions       uint64 // assignments made
	Txs             uint64 // transactions built
	Blocks          uint64
	// Enqueued counts replicas that entered the queue; QueueArea is the
	// number waiting integrated over time, replica-seconds (÷ the run's
	// length: the mean queue length, L of Little's law).
	Enqueued  uint64
	QueueArea float64
	// Batches of results committed by their root (continuous matching),
	// and the results they held.
	Batches, BatchedResults uint64
	// ResultsCommitted counts results whose commitment (own transaction
	// or batch root) went on chain; ResultCommitWait sums the seconds from
	// each result's arrival to that commit.
	ResultsCommitted uint64
	ResultCommitWait float64
}

func (CommitteeLoad) Kind() string { return "market.committee_load" }

var (
	_ metrics.Observable = Computed{}
	_ metrics.Observable = Verified{}
	_ metrics.Observable = FraudProven{}
)
