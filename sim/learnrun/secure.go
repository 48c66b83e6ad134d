package learnrun

import (
	"fmt"
	"math"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/secagg"
	"github.com/dais-sim/dais/protocol/wire"
)

// Secure configures secure aggregation (Params.Secure; see
// learn.SecureConfig): the coordinator sees only each round's sum.
type Secure struct {
	// Threshold is t as a share of a round's learners.
	Threshold float64
	// Dropout is the share of a round's learners that drop out after
	// sharing, each drawn per round from the seed.
	Dropout  float64
	FracBits int
	// StepTimeout bounds the key, share and unmasking phases.
	StepTimeout protocol.Duration
	// ClearRule, if not "", also runs the same run in clear aggregated by
	// this rule (Result.Clear): privacy bought against robustness lost.
	ClearRule string
	// Cost is what each operation is charged on a node's processor
	// (zero: secagg.DefaultCost, measured).
	Cost secagg.Cost
}

// SecureStats is what secure aggregation did over a run.
type SecureStats struct {
	// Rounds run securely, Unmasked those whose sum was recovered, Failed
	// those that failed to unmask (by phase).
	Rounds, Unmasked int
	Failed           map[string]int
	// Dropped counts learners that dropped out after sharing (shared but
	// sent no masked update, or no unmasking shares), over all rounds;
	// Survived those of them in rounds that still unmasked.
	Dropped, Survived int
	// Threshold is the last round's t; Selected its learners.
	Threshold, Selected int
	// CoordinatorNs and LearnerNs are the modeled processor time the
	// protocol cost the coordinator and all learners, over the run.
	CoordinatorNs, LearnerNs int64
	// Work is the operations they performed.
	CoordinatorWork, LearnerWork secagg.Work
	// NoiseShare is, over the rounds that unmasked, the smallest share of
	// a round's keyed learners whose inputs are in its sum: with DP, each
	// brings its part of the noise, so the sum carries σ·√NoiseShare of
	// the noise planned (1 when none dropped out).
	NoiseShare float64
}

func (p *Params) validateSecure() error {
	s := p.Secure
	if s == nil {
		return nil
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: secure aggregation: %s", ErrParams, fmt.Sprintf(format, a...))
	}
	switch {
	case p.Rule != learn.RuleFedAvg:
		return bad("%s compares individual updates, which secure aggregation hides: want %s", p.Rule, learn.RuleFedAvg)
	case p.Filter || p.MarginalScores || p.Aggregators > 0:
		return bad("the score filter, marginal scores and an aggregator committee need individual updates")
	case p.Surrogate != nil:
		return bad("surrogate mode models no masking")
	case !(s.Threshold > 0.5 && s.Threshold <= 1):
		return bad("threshold %v, want (0.5, 1]", s.Threshold)
	case !(s.Dropout >= 0 && s.Dropout <= 1):
		return bad("dropout %v, want [0, 1]", s.Dropout)
	case s.FracBits < 8 || s.FracBits > 40:
		return bad("%d fractional bits, want 8…40", s.FracBits)
	case s.StepTimeout <= 0:
		return bad("step timeout %v", s.StepTimeout)
	}
	if s.ClearRule != "" {
		if _, err := learn.NamedRule(s.ClearRule, p.Tolerate); err != nil {
			return bad("clear rule: %v", err)
		}
	}
	return nil
}

func (s *Secure) cost() secagg.Cost {
	if s.Cost == (secagg.Cost{}) {
		return secagg.DefaultCost
	}
	return s.Cost
}

// secureCoordinator is the coordinator's learn.SecureConfig, nil when off.
func (p *Params) secureCoordinator() *learn.SecureConfig {
	if p.Secure == nil {
		return nil
	}
	return &learn.SecureConfig{Threshold: p.Secure.Threshold, FracBits: p.Secure.FracBits, StepTimeout: p.Secure.StepTimeout}
}

// secureLearner is a learner's learn.SecureLearner, nil when off; with
// DP the learners clip and add the noise.
func (p *Params) secureLearner() *learn.SecureLearner {
	if p.Secure == nil {
		return nil
	}
	s := &learn.SecureLearner{FracBits: p.Secure.FracBits}
	if d := p.DP; d != nil {
		s.Clip, s.Sigma = d.Clip, d.Sigma
	}
	return s
}

// dropAfterSharing makes a learner drop out of the rounds drawn for it
// (Secure.Dropout): it shares its seeds, then sends neither its masked
// update nor unmasking shares, as a device gone offline would.
func (st *state) dropAfterSharing(n protocol.Node, id protocol.NodeID) protocol.Node {
	share := st.p.Secure.Dropout
	if share == 0 {
		return n
	}
	return protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		n.Handle(dropEnv{Env: env, drops: func(round uint64) bool {
			return protocol.Stream(st.p.Seed, "secagg-dropout", round<<32|uint64(id)).Float64() < share
		}}, in)
	})
}

type dropEnv struct {
	protocol.Env
	drops func(round uint64) bool
}

func (e dropEnv) Send(to protocol.NodeID, m wire.Msg) {
	switch m := m.(type) {
	case *secagg.Masked:
		if e.drops(m.Round) {
			return
		}
	case *secagg.Unmask:
		if e.drops(m.Round) {
			return
		}
	}
	e.Env.Send(to, m)
}

func (r *Result) secure() *SecureStats {
	if r.Secure == nil {
		r.Secure = &SecureStats{Failed: map[string]int{}}
	}
	return r.Secure
}

// secureWork charges a node's processor for its secure-aggregation work.
func (st *state) secureWork(s metrics.Stamped, ev learn.SecureWork) {
	ss := st.res.secure()
	d := st.p.Secure.cost().Of(ev.Work)
	st.charge(protocol.NodeID(s.Node), d)
	if protocol.NodeID(s.Node) == coordinator {
		ss.CoordinatorNs += int64(d)
		ss.CoordinatorWork.Add(ev.Work)
	} else {
		ss.LearnerNs += int64(d)
		ss.LearnerWork.Add(ev.Work)
	}
}

// tallySecure counts a securely aggregated round (simulated or live).
func (r *Result) tallySecure(ev learn.SecureRound) {
	ss := r.secure()
	ss.Rounds++
	ss.Threshold, ss.Selected = ev.Threshold, ev.Selected
	// A learner that shared and then sent no masked update, or no
	// unmasking shares, dropped out after sharing.
	var dropped int
	switch ev.Failed {
	case secagg.PhaseKeys, secagg.PhaseShares: // none had shared
	case secagg.PhaseMasked:
		dropped = ev.Shared - ev.Masked
	default:
		dropped = ev.Shared - ev.Unmasked
	}
	ss.Dropped += dropped
	if ev.Failed == "" {
		if share := float64(ev.Masked) / float64(max(ev.Keys, 1)); ss.Unmasked == 0 || share < ss.NoiseShare {
			ss.NoiseShare = share
		}
		ss.Unmasked++
		ss.Survived += dropped
	} else {
		ss.Failed[ev.Failed]++
	}
}

// secureFigures adds secure aggregation's figures to a summary.
func secureFigures(run *metrics.Run, res *Result) {
	ss := res.Secure
	if ss == nil {
		return
	}
	fig := func(key string, v float64, unit, help string, better metrics.Better, head bool) {
		run.Figures = append(run.Figures, metrics.Figure{Key: key, Value: v, Unit: unit, Help: help, Better: better, Headline: head})
	}
	rounds := max(ss.Rounds, 1)
	failed := ss.Rounds - ss.Unmasked
	fig("secagg_threshold", float64(ss.Threshold), "", "learners whose shares rebuild a seed (t of the round's n learners)", "", false)
	fig("secagg_rounds_unmasked", float64(ss.Unmasked), "", "rounds whose sum the coordinator unmasked", metrics.Higher, false)
	fig("secagg_rounds_failed", float64(failed), "", "rounds that failed to unmask (fewer than t learners reached a phase): the model stayed as it was", metrics.Lower, true)
	fig("secagg_dropouts", float64(ss.Dropped), "", "learners that dropped out after sharing, over all rounds", "", false)
	fig("secagg_dropouts_survived", float64(ss.Survived), "", "dropouts in rounds that still unmasked their sum", metrics.Higher, true)
	if ss.CoordinatorNs > 0 { // simulated: the time is modeled; live, it was spent
		fig("secagg_coordinator_cpu_ms_per_round", float64(ss.CoordinatorNs)/1e6/float64(rounds), "ms",
			"modeled processor time of the coordinator's part per round (rebuilding seeds, removing masks), from the measured unit costs", metrics.Lower, false)
		fig("secagg_learner_cpu_ms_per_round", float64(ss.LearnerNs)/1e6/float64(rounds*max(ss.Selected, 1)), "ms",
			"modeled processor time of one learner's part per round (keys, sharing, masking), from the measured unit costs", metrics.Lower, false)
	}
	fig("updates_seen_by_coordinator", 0, "", "individual updates the coordinator received in clear (secure aggregation: none, only the sums)", metrics.Lower, false)
	if c := res.Clear; c != nil {
		fig("clear_rule_accuracy_final", c.Final(), "",
			fmt.Sprintf("final test accuracy of the same run (same seed, same attack) aggregated in clear by %s", c.Params.Rule), metrics.Higher, false)
		fig("clear_rule_attack_success_rate_mean", c.MeanAttackSuccess(), "",
			fmt.Sprintf("attack success (second-half mean) of the same run aggregated in clear by %s", c.Params.Rule), metrics.Lower, false)
		fig("clear_updates_seen_by_coordinator", float64(c.Updates), "",
			fmt.Sprintf("individual updates the coordinator received in clear in the %s run: what secure aggregation hides", c.Params.Rule), "", false)
		fig("robustness_lost_accuracy", c.Final()-res.Final(), "",
			fmt.Sprintf("final accuracy of the clear %s run minus this run's: what secure aggregation's privacy costs against this attack", c.Params.Rule), metrics.Lower, true)
		fig("robustness_lost_attack_success", res.MeanAttackSuccess()-c.MeanAttackSuccess(), "",
			fmt.Sprintf("attack success of this run minus the clear %s run's (second-half means)", c.Params.Rule), metrics.Lower, false)
		if !math.IsNaN(c.Final()) {
			run.Curves[0].Lines = append(run.Curves[0].Lines, metrics.Line{Name: "clear " + c.Params.Rule, X: run.Curves[0].Lines[0].X, Y: c.Accuracy})
		}
	}
}

// clearRun is p in clear with Secure.ClearRule: the comparison run.
func clearRun(p *Params) *Params {
	c := *p
	c.Rule, c.Secure, c.Clean, c.Baseline, c.Sink = p.Secure.ClearRule, nil, false, false, nil
	if c.DP != nil && c.Rule != learn.RuleFedAvg {
		c.DP = nil // DP is DP-FedAvg's: a robust rule runs without it
	}
	return &c
}

// SecureCoordinator is the coordinator's secure-aggregation settings for
// a live job (nil when Params.Secure is not set).
func (f *Federation) SecureCoordinator() *learn.SecureConfig { return f.st.p.secureCoordinator() }

// SecureLearner is a learner's secure-aggregation settings for a live job
// (nil when Params.Secure is not set); the caller sets its Entropy.
func (f *Federation) SecureLearner() *learn.SecureLearner { return f.st.p.secureLearner() }

// dpSigma is the noise multiplier the run's guarantee can claim: Sigma,
// or under secure aggregation, where learners add the noise and those who
// drop out take their part with them, Sigma·√NoiseShare of the worst
// round.
func (r *Result) dpSigma() float64 {
	s := r.Params.DP.Sigma
	if ss := r.Secure; ss != nil && ss.Unmasked > 0 {
		s *= math.Sqrt(ss.NoiseShare)
	}
	return s
}
