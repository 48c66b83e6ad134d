// Package marketrun runs the compute marketplace (protocol/market) over a
// simulated network: a committee leader holding the ledger, providers
// with heterogeneous GPUs, validators, requesters posting jobs by an
// arrival process, and adversaries (lazy providers, free riders, Sybil
// identities, colluding validators) as node decorators. Run builds the
// world from marketplace.Params (scenarios/marketplace, shared with live
// mode), runs it and returns what the marketplace's Meter measured;
// marketplace.Summary turns that into a metrics.Run:
//
//	res, err := marketrun.Run(&p)
//	run := marketplace.Summary(res)
//	res.DetectionRate, res.Overhead, res.SybilGain, res.Classes
//
// Node IDs: 0 is the committee; then the population groups in order;
// then the extra identities of Sybil attackers. A Sybil attacker with k
// identities is k provider nodes that each get 1/k of one GPU's
// throughput and power (peak FLOPs, bandwidth, TDP and idle power
// divided by k; memory kept): the same GPU split k ways, which the
// simulator's per-node FIFO GPU models as k slower GPUs. That equals a
// shared queue when every identity is busy and gives the attacker less
// when some are idle, so it does not understate what splitting can win
// under saturation, where the gain is measured.
//
// Each node's access link is its group's class (Params.Links,
// Group.Bandwidth; the committee's Params.CommitteeLink), or one drawn by
// share; online time is counted exactly from the World's Online hook.
// MMcParams and ErlangC set up the queueing check continuous matching is
// held to (TestMMcMatchesErlangC).
//
// Token conservation is checked after every block (the ledger's Supply
// check, market.Config.CheckSupply); at the end the run closes every job
// and Result.EscrowLeft must be 0.
package marketrun
