// Package learnrun runs federated learning (protocol/learn) over a
// simulated network with real training: a coordinator, validators scoring
// updates on held-out rows, and providers training the gpu/models MLP on
// their partition of optdigits, optionally with attackers (protocol/attack)
// among them. The job's parameters, data and math, and its figures, are
// scenarios/learning's, shared with live mode: Run builds the world around
// a learning.Federation and returns test accuracy per round, the attack
// success rate, the attackers' share of the reward and host timings (a
// learning.Result); learning.Summary turns that into a metrics.Run;
// AttackTable sweeps rules × attacks × shares.
//
//	p := learning.DefaultParams()
//	p.Rule, p.Attack = "median", learning.Attack{Kind: learning.SignFlip, Share: 0.3}
//	res, err := learnrun.Run(&p)  // res.Final(), res.AttackerTokenShare()
//
// Every gradient is real: each learner's training is a models.TrainJob run
// in event order, so a run costs about a millisecond of host CPU per
// learner per round (model build included) plus the SGD steps.
//
// The training job is posted on the coordinator's ledger (learn.ChainConfig):
// Params.Budget (protocol.learning.budget; default Pot × Rounds) is
// escrowed by a requester account, each round's payouts are paid from
// it by validator score and each round's model version committed, and
// the rest is refunded after the last round. Result.Budget = ChainPaid +
// Refunded to the base unit, ChainPaid = Paid, and ChainVersions (read
// back from the ledger) equal Versions; learning.Summary reports
// training_budget_tokens, training_paid_tokens, training_refunded_tokens
// and versions_on_chain.
//
// Params.Aggregators adds an aggregator committee (learn.Aggregator) and
// Attack.LyingAggregators liars in it (attack.LieAggregate).
//
// Params.Surrogate switches to surrogate mode for runs with more learners
// than optdigits has rows (10⁵): the protocol runs in full with modeled
// training, scoring and aggregation jobs and shared update vectors of the
// real model's size, while test accuracy comes from a curve
// acc(k) = a − b·exp(−c·k) fitted (FitCurve) to a real run of the same
// model, partition and rule, scaled for attacks by the measured attack
// table (attack_table.json, embedded: TestAttackTable writes it with
// -tablejson). learning.Summary labels every such figure surrogate.
package learnrun
