// Package nakamoto is the longest-chain consensus engine: nodes find blocks
// at random times in proportion to their hash power (proof of work) or
// stake (a lottery), flood them over a peer graph, follow the chain with
// the most work, and commit a block to the App once Confirmations blocks
// sit on top of it, so that App.Commit is never rolled back.
//
// A Node is a protocol.Node; a driver adds one per participant:
//
//	n := nakamoto.New(nakamoto.Config{App: app, Peers: peers,
//		Interval: 10 * protocol.Second, Share: 0.01, Confirmations: 6})
//	world.Add(n)
//
// Mining is modeled, not done: a node with share s of the total finds
// blocks at rate s/Interval, so the network finds one every Interval on
// average. Difficulty does not adjust (the shares are fixed for a run), so
// every block carries the same work and "most cumulative work" is "highest
// block"; ties go to the block seen first.
//
// A block whose parent a node lacks is held (up to MaxOrphans) while the
// parent is fetched, and judged by the App only once the parent is
// accepted, since an App such as the ledger checks a block by replaying it
// on its parent's state. Messages that are not the engine's go to the App
// (consensus.TxSink: the ledger's mempool), and a transaction it adds is
// flooded on like a block.
package nakamoto
