// Package learnrun runs federated learning (protocol/learn) over a
// simulated network with real training: a coordinator, validators scoring
// updates on held-out rows, and providers training the gpu/models MLP on
// their partition of optdigits, optionally with attackers (protocol/attack)
// among them. Run returns test accuracy per round, the attack success
// rate, the attackers' share of the reward and host timings; Summary turns
// that into a metrics.Run; AttackTable sweeps rules × attacks × shares.
//
//	p := learnrun.DefaultParams()
//	p.Rule, p.Attack = "median", learnrun.Attack{Kind: learnrun.SignFlip, Share: 0.3}
//	res, err := learnrun.Run(&p)  // res.Final(), res.AttackerTokenShare()
//
// Every gradient is real: each learner's training is a models.TrainJob run
// in event order, so a run costs about a millisecond of host CPU per
// learner per round (model build included) plus the SGD steps. There is
// no surrogate learning curve for 10⁵-node runs yet.
package learnrun
