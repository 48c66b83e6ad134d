package learnrun

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/learn"
)

// Summary turns a finished run into the figures, curves and plots that
// reports read. Meta.Scenario is "learnrun"; the caller sets the
// scenario's name, hash and text, Version and GoVersion. Host carries the
// wall time; the host timings of training, scoring and aggregation stay
// in Result, since metrics.json holds only what the seed determines.
func Summary(res *Result) *metrics.Run {
	p := res.Params
	rounds := len(res.Accuracy) - 1
	end := res.RoundEnd[len(res.RoundEnd)-1]
	run := &metrics.Run{
		Schema: metrics.SchemaVersion,
		Meta: metrics.Meta{
			Scenario: "learnrun", Params: params(p), Seed: p.Seed, Repetitions: 1, SimEndNs: int64(end),
		},
		Host: &metrics.Host{WallS: res.Wall.Seconds(), Events: res.Events, EventsPerS: float64(res.Events) / max(res.Wall.Seconds(), 1e-9)},
	}
	roundMs := math.NaN()
	if rounds > 0 {
		roundMs = protocol.Duration(end-res.RoundEnd[0]).Milliseconds() / float64(rounds)
	}
	fig := func(key string, v float64, unit, help string, better metrics.Better, head bool) {
		run.Figures = append(run.Figures, metrics.Figure{Key: key, Value: v, Unit: unit, Help: help, Better: better, Headline: head})
	}
	fig("learners", float64(len(res.Learners)), "", "learner identities (providers and Sybils)", "", false)
	fig("attackers", float64(len(res.Attackers)), "", "learner identities that attack", "", false)
	fig("rounds", float64(rounds), "", "federated rounds run", "", false)
	fig("accuracy_final", res.Final(), "", "share of the 1,797 optdigits test rows the final model classifies correctly", metrics.Higher, true)
	if res.Clean != nil {
		fig("accuracy_clean_final", res.Clean.Final(), "", "final test accuracy of the attack-free run with the same seed", metrics.Higher, false)
		fig("accuracy_drop", res.AccuracyDrop(), "", "clean run's final test accuracy minus this run's", metrics.Lower, true)
	}
	if d := p.DP; d != nil && res.NoDP != nil {
		fig("dp_clip", d.Clip, "", "DP-FedAvg: every update clipped to this L2 norm, then averaged with equal weights", "", false)
		fig("dp_noise_multiplier", d.Sigma, "", "DP-FedAvg: Gaussian noise of sd σ·clip/n added to each coordinate of the mean of n updates", "", false)
		fig("dp_delta", d.Delta, "", "δ of the (ε, δ) guarantee", "", false)
		fig("dp_epsilon", learn.DP{Clip: d.Clip, Sigma: res.dpSigma()}.Epsilon(rounds, d.Delta), "",
			"user-level ε of the committed models after the rounds run (one learner's update replaced; Rényi DP of the Gaussian mechanism, no amplification by sampling: an upper bound; scores and payouts not covered; under secure aggregation, for the noise left by the round with the most dropouts)", metrics.Lower, true)
		fig("accuracy_no_dp_final", res.NoDP.Final(), "", "final test accuracy of the same run (same seed) aggregated with plain FedAvg, no clip and no noise", metrics.Higher, false)
		fig("dp_accuracy_cost", res.NoDP.Final()-res.Final(), "", "final test accuracy without differential privacy minus with it: what the privacy costs", metrics.Lower, true)
	}
	if !math.IsNaN(res.Centralized) {
		fig("accuracy_centralized", res.Centralized, "", "test accuracy of the same model trained centrally on every provider row (the baseline)", metrics.Higher, false)
	}
	src, dst := p.Attack.classes()
	fig("attack_success_rate", res.FinalAttackSuccess(), "",
		fmt.Sprintf("share of the class-%d test rows the final model classifies as %d", src, dst), metrics.Lower, false)
	fig("attack_success_rate_mean", res.MeanAttackSuccess(), "",
		fmt.Sprintf("share of the class-%d test rows classified as %d, averaged over the second half of the rounds", src, dst), metrics.Lower, p.Attack.Kind == LabelFlip)
	fig("attacker_node_share", res.AttackerNodeShare(), "", "attackers' share of the learner identities", "", false)
	fig("attacker_token_share", res.AttackerTokenShare(), "",
		"attackers' share of the training reward paid: each round's pot split in proportion to positive median validator scores", metrics.Lower, true)
	if res.Budget > 0 { // the job was on the coordinator's ledger (not in a live report)
		tok := func(base uint64) float64 { return float64(base) / float64(chain.Token) }
		fig("training_budget_tokens", tok(res.Budget), "tokens", "the training job's budget, escrowed on the coordinator's ledger when it was posted", "", false)
		fig("training_paid_tokens", tok(res.ChainPaid), "tokens", "escrow the ledger paid learners, each round's pot split by positive median validator score", "", false)
		fig("training_refunded_tokens", tok(res.Refunded), "tokens", "escrow returned to the requester after the last round (rounding, unscored or unpaid pots)", "", false)
		fig("versions_on_chain", float64(len(res.ChainVersions)), "", "model versions the ledger holds for the job (rounds 0…R, a skipped round's unchanged)", "", false)
	}
	fig("updates_accepted", float64(res.Accepted), "", "updates aggregated, all rounds", "", false)
	fig("updates_rejected", float64(sumRejected(res)), "", "updates refused or filtered, all rounds", metrics.Lower, false)
	fig("rounds_skipped", float64(res.Skipped), "", "rounds that left the model unchanged (too few usable updates)", metrics.Lower, false)
	if p.Aggregators > 0 {
		fig("aggregators", float64(p.Aggregators), "", "members of the aggregator committee; a version commits with more than two thirds of them", "", false)
		fig("lying_aggregators", float64(p.Attack.LyingAggregators), "", "committee members reporting the round's step reversed", "", false)
		fig("rounds_no_quorum", float64(res.NoQuorum), "", "rounds whose committee reached no quorum (model unchanged)", metrics.Lower, false)
		fig("aggregator_dissents", float64(res.Dissents), "", "aggregator candidates that differed from the committed version, were malformed or missing", metrics.Lower, false)
	}
	fig("round_time_ms", roundMs, "ms", "mean simulated time per round: announce, train, send, score, aggregate", metrics.Lower, true)
	fig("uplink_bytes", float64(res.BytesSent), "bytes", "bytes all nodes put on their uplinks, as encoded on the wire", "", false)

	x := make(metrics.Floats, rounds+1)
	for i := range x {
		x[i] = float64(i)
	}
	acc := metrics.Curve{Key: "accuracy_by_round", XUnit: "round", YUnit: "share",
		Help:  "test accuracy of the model after each round (round 0: the initial model)",
		Lines: []metrics.Line{{Name: "federated", X: x, Y: res.Accuracy}}}
	if res.Clean != nil {
		acc.Lines = append(acc.Lines, metrics.Line{Name: "clean run", X: x, Y: res.Clean.Accuracy})
	}
	if res.NoDP != nil {
		acc.Lines = append(acc.Lines, metrics.Line{Name: "without DP", X: x, Y: res.NoDP.Accuracy})
	}
	if !math.IsNaN(res.Centralized) {
		acc.Lines = append(acc.Lines, metrics.Line{Name: "centralized", X: metrics.Floats{0, float64(rounds)},
			Y: metrics.Floats{res.Centralized, res.Centralized}})
	}
	asr := metrics.Curve{Key: "attack_success_by_round", XUnit: "round", YUnit: "share",
		Help:  fmt.Sprintf("share of the class-%d test rows classified as %d after each round", src, dst),
		Lines: []metrics.Line{{Name: "attack success", X: x, Y: res.AttackSuccess}}}
	run.Curves = []metrics.Curve{acc, asr}
	untargeted := p.Attack.Kind == SignFlip || p.Attack.Kind == Scaling || p.Attack.Kind == LittleIsEnough
	if untargeted && res.Clean != nil {
		gap := make(metrics.Floats, len(res.Accuracy))
		for i := range gap {
			gap[i] = res.Clean.Accuracy[i] - res.Accuracy[i]
		}
		run.Curves = append(run.Curves, metrics.Curve{Key: "accuracy_gap_by_round", XUnit: "round", YUnit: "share",
			Help:  "test accuracy of the clean run (same seed, no attackers) minus this run's, after each round: what an untargeted attack costs",
			Lines: []metrics.Line{{Name: "clean − attacked", X: x, Y: gap}}})
	}
	run.Groups = []metrics.Group{{Key: "attacker_shares", Unit: "share", Labels: []string{"learner identities", "training reward"},
		Help: "attackers' share of the learner identities and of the training reward paid",
		Sets: []metrics.BarSet{{Name: "attackers", Values: metrics.Floats{res.AttackerNodeShare(), res.AttackerTokenShare()}}}}}
	run.Plots = []metrics.Plot{
		{Kind: metrics.PlotLines, Data: []string{acc.Key},
			Title:  "Test accuracy by round",
			XLabel: "federated round (index)", YLabel: "test accuracy (fraction)",
			Caption: "Accuracy of each committed model on the 1,797 optdigits test rows; with repetitions, the band around each line is its 95% confidence interval. " +
				"Look at the gap to the clean run (same seed, no attackers) and to the centralized baseline: that gap is what the attack and the non-IID split cost."},
		{Kind: metrics.PlotBars, Data: []string{"attacker_shares"},
			Title:  "Attackers' share of nodes and of the training reward",
			XLabel: "what is shared (name)", YLabel: "attackers' share (fraction)",
			Caption: "Rewards follow validator scores on held-out data. " +
				"Look for the reward bar below the identities bar: scoring pays attackers less than their numbers."},
	}
	// The attack's own measure of success, after the accuracy plot.
	var attack []metrics.Plot
	switch {
	case p.Attack.Kind == LabelFlip:
		attack = append(attack, metrics.Plot{Kind: metrics.PlotLines, Data: []string{asr.Key},
			Title:  "Label-flip success by round",
			XLabel: "federated round (index)", YLabel: fmt.Sprintf("class-%d rows read as %d (fraction)", src, dst),
			Caption: "The targeted attack's measure: how many of the test rows of the attacked class the model reads as the attackers' class. " +
				"Look for a line that stays up: the poison got into the model. A line that swings from round to round is the honest majority undoing the poison each round."})
	case untargeted && res.Clean != nil:
		attack = append(attack, metrics.Plot{Kind: metrics.PlotLines, Data: []string{"accuracy_gap_by_round"},
			Title:  "Accuracy the attack costs, by round",
			XLabel: "federated round (index)", YLabel: "accuracy gap to the clean run (fraction)",
			Caption: "An untargeted attack (" + string(p.Attack.Kind) + ") succeeds by lowering accuracy on every class, so its measure is the gap to the clean run with the same seed. " +
				"Look for the gap closing as rounds go: the aggregation rule is absorbing the poison; a gap that grows means the rule is losing."})
	}
	if len(res.Attackers) == 0 { // nothing to share: the bars would be empty
		run.Plots = run.Plots[:1]
	}
	run.Plots = append(run.Plots[:1], append(attack, run.Plots[1:]...)...)
	secureFigures(run, res)
	if res.Surrogate != nil {
		labelSurrogate(run, res.Surrogate)
	}
	return run
}

func sumRejected(res *Result) int {
	n := 0
	for _, v := range res.Rejected {
		n += v
	}
	return n
}

func params(p *Params) map[string]string {
	m := map[string]string{
		"model":          p.Model,
		"rounds":         fmt.Sprint(p.Rounds),
		"epochs":         fmt.Sprint(p.Epochs),
		"batch_size":     fmt.Sprint(p.BatchSize),
		"learning_rate":  fmt.Sprint(p.LearningRate),
		"providers":      fmt.Sprint(p.Providers),
		"partition":      schemeName(p),
		"rule":           p.Rule,
		"tolerate":       fmt.Sprint(p.Tolerate),
		"validators":     fmt.Sprint(p.Validators),
		"per_round":      fmt.Sprint(p.PerRound),
		"attack":         string(p.Attack.Kind),
		"attacker_share": fmt.Sprint(p.Attack.Share),
		"round_timeout":  time.Duration(p.RoundTimeout).String(),
		"gpus":           strings.Join(p.GPUs, ", "),
	}
	if p.Attack.ColludingValidators > 0 {
		m["colluding_validators"] = fmt.Sprint(p.Attack.ColludingValidators)
	}
	if s := p.Secure; s != nil {
		m["secure_aggregation"] = fmt.Sprintf("threshold %v, dropout %v, clear rule %q", s.Threshold, s.Dropout, s.ClearRule)
	}
	if p.Aggregators > 0 {
		m["aggregators"] = fmt.Sprint(p.Aggregators)
		m["lying_aggregators"] = fmt.Sprint(p.Attack.LyingAggregators)
	}
	return m
}

func schemeName(p *Params) string {
	if p.Partition.Kind == "dirichlet" {
		return fmt.Sprintf("dirichlet(%g)", p.Partition.Alpha)
	}
	return p.Partition.Kind
}
