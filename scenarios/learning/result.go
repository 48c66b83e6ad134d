package learning

import (
	"math"
	"slices"
	"time"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/learn"
)

// Result is what a run measured.
type Result struct {
	Params *Params
	// Accuracy[r] is the share of the 1,797 test rows the model after
	// round r classifies correctly (r = 0: the initial model);
	// AttackSuccess[r] the share of the Source class's test rows it
	// classifies as the Target class.
	Accuracy, AttackSuccess []float64
	// RoundEnd[r] is when round r committed, in simulated time.
	RoundEnd []protocol.Time
	// Skipped counts rounds that left the model unchanged; NoQuorum those
	// of them whose aggregator committee reached no quorum. Dissents
	// counts aggregator candidates that differed from the committed
	// version (learn.Dissent).
	Skipped, NoQuorum, Dissents int
	// Learners are every learner identity, Attackers those that attack
	// (providers, or Sybil identities), both ascending.
	Learners, Attackers []protocol.NodeID
	// Payout is each node's training reward in base units, by NodeID;
	// Paid the total paid to learners.
	Payout []uint64
	Paid   uint64
	// Budget is the training job's escrow on the coordinator's ledger;
	// ChainPaid is what the ledger paid learners out of it and Refunded
	// what returned to the requester after the last round (Budget =
	// ChainPaid + Refunded, and ChainPaid = Paid). Versions are the model
	// versions committed, round 0 first; ChainVersions those the ledger
	// holds for the job, read back after the run.
	Budget, ChainPaid, Refunded uint64
	Versions, ChainVersions     []learn.Hash
	// Updates collected and Accepted into aggregates, over all rounds;
	// Rejected by reason (learn.Reject*).
	Updates, Accepted int
	Rejected          map[string]int
	// OutOfBound counts updates whose median score was −Inf (out of the
	// validators' norm bound, or breaking the model), over all rounds;
	// HonestOutOfBound those of learners that do not attack.
	OutOfBound, HonestOutOfBound int
	// TrainFailed counts training jobs that returned an error (a provider
	// with no rows under a skewed partition).
	TrainFailed int
	// Clean is the attack-free run with the same seed (Params.Clean).
	Clean *Result
	// NoDP is the same run without differential privacy (Params.DP).
	NoDP *Result
	// Secure is what secure aggregation did (Params.Secure), and Clear
	// the same run in clear with Secure.ClearRule.
	Secure *SecureStats
	Clear  *Result
	// Surrogate, in surrogate mode, is the curve Accuracy and
	// AttackSuccess come from; nil when they were measured.
	Surrogate *SurrogateFit
	// Centralized is the baseline's test accuracy (Params.Baseline), else
	// NaN.
	Centralized float64

	// Host time: the whole run, and the real work inside it.
	Wall, TrainWall, ScoreWall, AggregateWall time.Duration
	TrainJobs, TrainSteps, Aggregations       int64
	// Engine and network counts.
	Events, Sent, Dropped, BytesSent uint64
	TraceHash                        uint64
	// LearnerBytesSent and CoordinatorBytesSent split BytesSent: what the
	// learners put on their uplinks, and the coordinator.
	LearnerBytesSent, CoordinatorBytesSent uint64
}

// Final is the test accuracy after the last round.
func (r *Result) Final() float64 { return r.Accuracy[len(r.Accuracy)-1] }

// FinalAttackSuccess is the attack success rate after the last round.
func (r *Result) FinalAttackSuccess() float64 { return r.AttackSuccess[len(r.AttackSuccess)-1] }

// MeanAttackSuccess is the attack success rate averaged over the second
// half of the rounds (rounds ⌈R/2⌉…R). A targeted attack fought by the
// honest majority often swings from round to round (poisoned, repaired,
// poisoned), so the last round alone says more about parity than about
// the attack.
func (r *Result) MeanAttackSuccess() float64 {
	rounds := len(r.AttackSuccess) - 1
	h := r.AttackSuccess[max((rounds+1)/2, 1):]
	var s float64
	for _, x := range h {
		s += x
	}
	return s / float64(len(h))
}

// AccuracyDrop is the clean run's final accuracy minus this run's, or NaN
// without a clean run.
func (r *Result) AccuracyDrop() float64 {
	if r.Clean == nil {
		return math.NaN()
	}
	return r.Clean.Final() - r.Final()
}

// AttackerNodeShare is the attackers' share of the learner identities.
func (r *Result) AttackerNodeShare() float64 {
	return float64(len(r.Attackers)) / float64(len(r.Learners))
}

// AttackerTokenShare is the attackers' share of the training reward paid
// (share ∝ positive validator score, learn.Payouts), or NaN if nothing
// was paid.
func (r *Result) AttackerTokenShare() float64 {
	if r.Paid == 0 {
		return math.NaN()
	}
	var a uint64
	for _, id := range r.Attackers {
		a += r.Payout[id]
	}
	return float64(a) / float64(r.Paid)
}

// AddRound records a committed round: its test accuracy and attack
// success, when it ended, and the commit's counts.
func (r *Result) AddRound(c learn.Committed, acc, asr float64, at protocol.Time) {
	r.Accuracy = append(r.Accuracy, acc)
	r.AttackSuccess = append(r.AttackSuccess, asr)
	r.RoundEnd = append(r.RoundEnd, at)
	r.Versions = append(r.Versions, c.Version)
	r.Updates += c.Updates
	r.Accepted += c.Accepted
	if c.Skipped {
		r.Skipped++
	}
	if c.NoQuorum {
		r.NoQuorum++
	}
	if r.Params != nil && r.Params.Progress != nil {
		r.Params.Progress()
	}
}

// Tally counts a learn event other than a commit: payouts and
// out-of-bound scores (learn.Scored), rejections, dissents and failed
// training jobs. Other events are ignored.
func (r *Result) Tally(ev metrics.Event) {
	switch ev := ev.(type) {
	case learn.Scored:
		if int(ev.Learner) < len(r.Payout) {
			r.Payout[ev.Learner] += ev.Payout
		}
		r.Paid += ev.Payout
		if math.IsInf(ev.Score, -1) {
			r.OutOfBound++
			if _, attacker := slices.BinarySearch(r.Attackers, ev.Learner); !attacker {
				r.HonestOutOfBound++
			}
		}
	case learn.OnChain:
		r.ChainPaid += ev.Paid
		r.Refunded += ev.Refunded
	case learn.Rejected:
		r.Rejected[ev.Reason]++
	case learn.Dissent:
		r.Dissents++
	case learn.SecureRound:
		r.tallySecure(ev)
	case learn.Trained:
		if ev.Err != "" {
			r.TrainFailed++
		}
	}
}
