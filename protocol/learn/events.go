package learn

import (
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
)

// The measures learn's events feed, in report order.
var (
	RoundsCommitted = &metrics.Measure{Name: "learn_rounds", Kind: metrics.Counter,
		Help: "federated rounds that closed with a new model version committed"}
	UpdatesAccepted = &metrics.Measure{Name: "learn_updates_accepted", Kind: metrics.Counter,
		Help: "learners' updates the coordinator aggregated"}
	UpdatesRejected = &metrics.Measure{Name: "learn_updates_rejected", Kind: metrics.Counter,
		Help: "learners' updates the coordinator refused: late, for another version, malformed or filtered by score"}
	TrainingPayout = &metrics.Measure{Name: "learn_payout", Unit: "base_units", Kind: metrics.PerNode,
		Help: "training reward credited to a learner: its round pot share, in proportion to its positive validator score"}

	Dissents = &metrics.Measure{Name: "learn_dissents", Kind: metrics.Counter,
		Help: "aggregator candidates that differed from the committed version, were malformed or missing"}
	RoundsNoQuorum = &metrics.Measure{Name: "learn_rounds_no_quorum", Kind: metrics.Counter,
		Help: "rounds whose aggregator committee reached no quorum, leaving the model unchanged"}
)

// Measures lists the measures above, for a recorder.
var Measures = []*metrics.Measure{RoundsCommitted, UpdatesAccepted, UpdatesRejected, TrainingPayout, Dissents, RoundsNoQuorum}

// RoundStarted is emitted by the coordinator when it announces a round.
type RoundStarted struct {
	Round   uint64
	Version Hash
	// Selected is how many learners were asked to train.
	Selected int
}

// Kind implements metrics.Event.
func (RoundStarted) Kind() string { return "learn.round_started" }

// Trained is emitted by a learner when its local training ends.
type Trained struct {
	Round      uint64
	DurationNs int64
	// Err is the job's error; the learner sends no update then.
	Err string
}

// Kind implements metrics.Event.
func (Trained) Kind() string { return "learn.trained" }

// Rejected is emitted by the coordinator for an update it will not
// aggregate.
type Rejected struct {
	Round   uint64
	Learner protocol.NodeID
	Reason  string
}

// Reasons an update is rejected.
const (
	RejectLate        = "late"        // its round has closed
	RejectEquivocated = "equivocated" // an aggregator's copy differs from the one the coordinator scored
	RejectVersion     = "version"     // trained from another model
	RejectUnknown     = "unselected"  // the sender was not asked to train
	RejectDuplicate   = "duplicate"   // a second update from one learner
	RejectMalformed   = "malformed"   // wrong length or a non-finite value
	RejectScore       = "score"       // filtered by its validator score
)

// Kind implements metrics.Event.
func (Rejected) Kind() string { return "learn.rejected" }

// Observe implements metrics.Observable.
func (Rejected) Observe(_ metrics.Stamped, o metrics.Observer) { o.Add(UpdatesRejected, 1) }

// Scored is emitted by the coordinator for each update it collected in a
// round, once validators have scored it: what the rewards module pays
// from. Payout is the learner's share of the round's Pot by Payouts.
type Scored struct {
	Round   uint64
	Learner protocol.NodeID
	// Score is the median of the validators' scores (NaN if none scored
	// it); Validators is how many did.
	Score      float64
	Validators int
	// Accepted is whether the update went into the aggregate.
	Accepted bool
	Payout   uint64
	Pot      uint64
}

// Kind implements metrics.Event.
func (Scored) Kind() string { return "learn.scored" }

// Observe implements metrics.Observable.
func (s Scored) Observe(_ metrics.Stamped, o metrics.Observer) {
	o.AddTo(TrainingPayout, uint32(s.Learner), float64(s.Payout))
}

// Committed is emitted by the coordinator when a round closes with a new
// model version. Params is the new model, shared with the coordinator:
// a driver may read it during Record (to measure accuracy) but must not
// keep or modify it.
type Committed struct {
	Round           uint64
	Version, Parent Hash
	// Updates is how many updates were collected, Accepted how many were
	// aggregated.
	Updates, Accepted int
	// Skipped is true when the rule could not aggregate (too few updates)
	// and the model stayed the same: Version equals Parent's child with
	// unchanged parameters.
	Skipped bool
	Params  []float64
	// Final is true for the last round of the run.
	Final bool
	// With an aggregator committee: Votes is how many members reported
	// the committed version; NoQuorum is true when no version had a
	// quorum, so the model stayed the same (Skipped is true too).
	Votes    int
	NoQuorum bool
}

// Kind implements metrics.Event.
func (Committed) Kind() string { return "learn.committed" }

// Observe implements metrics.Observable.
func (c Committed) Observe(_ metrics.Stamped, o metrics.Observer) {
	o.Add(RoundsCommitted, 1)
	o.Add(UpdatesAccepted, float64(c.Accepted))
	if c.NoQuorum {
		o.Add(RoundsNoQuorum, 1)
	}
}

// Dissent is emitted by the coordinator for an aggregator whose candidate
// did not become the round's committed version: it reported another
// version (outvoted, or late), one that does not hash to its parameters,
// or nothing; or no version had a quorum. Honest aggregators that missed
// an update, and lying ones, both show up here: the record is what an
// accountability process would start from.
type Dissent struct {
	Round      uint64
	Aggregator protocol.NodeID
	// Version is what it reported (zero when malformed or missing);
	// Committed is what the round committed (its base without a quorum).
	Version, Committed Hash
	Reason             string
}

// Reasons a candidate dissents.
const (
	DissentOutvoted  = "outvoted"  // another version had a quorum
	DissentLate      = "late"      // arrived after the round was decided, and differs
	DissentNoQuorum  = "no-quorum" // no version had a quorum
	DissentMalformed = "malformed" // its parameters do not hash to its version, or do not fit
	DissentMissing   = "missing"   // it reported nothing before the timeout (no quorum)
)

// Kind implements metrics.Event.
func (Dissent) Kind() string { return "learn.dissent" }

// Observe implements metrics.Observable.
func (Dissent) Observe(_ metrics.Stamped, o metrics.Observer) { o.Add(Dissents, 1) }
