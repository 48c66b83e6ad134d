// Package consensusrun runs a consensus engine over a simulated network:
// validators (BFT) or miners (longest chain) spread over the regions of a
// latency matrix, optionally non-validator full nodes that follow the chain
// by gossip, optionally attackers and partitions, with the invariant
// checker of sim/check watching every commit. Run builds the world from
// Params, runs it to Params.Until and returns what it measured:
//
//	res, err := consensusrun.Run(&consensusrun.Params{Engine: consensusrun.BFT,
//		Validators: 100, Until: protocol.Minute})
//	res.Finality.P50, res.RoundsPerHeight, res.Failures
//
// With Params.Ledger every node runs the real ledger (protocol/chain) as
// its App instead of an opaque test App: clients submit signed transfers,
// the checker holds every replica to conservation of tokens after each
// commit and all replicas to one state root per height, and the Result
// (and Summary) report transactions per second, mempools, fees and the
// tokens minted and burned (see LedgerParams).
//
// Node IDs: validators (or miners) are 0..Validators−1, followers come
// after. Each node's region is drawn from its own placement stream, so
// adding nodes does not move the others.
package consensusrun
