// Package economy pays every kind of contribution to a training network
// by its value, round by round: compute providers by the Yuma consensus
// of the validators' scores of their updates, data providers by the
// consensus on their data sets' measured value (protocol/datavalue),
// combined with human validators' label checks by a rule, and validators
// by the dividends their accuracy earns in each consensus
// (protocol/yuma). Each round's pot — the emission plus what requests to
// the model paid — is split into the three pools by shares
// (rewards.SplitPools) and settled on the accountant's own ledger, where
// each model version is committed with its parent and its access rule
// (chain.VersionCommit) and every request is a chain.Use.
//
//	a, _ := economy.New(cfg, now)
//	a.Genesis(now, v0)
//	out, _ := a.Round(now, economy.Round{Round: 1, Version: v1, Parent: v0, Compute: scores, Objective: values, Human: agreements, Requests: n})
//	// out.Payout: who got what; out.Compute etc.: the consensus behind it
//
// Human is the model of a human validator: accuracy, fatigue, latency and
// cost per check. Everything is integer tokens on the ledger and float64
// consensus math in a fixed order; no clock, no global randomness.
package economy
