// Package bft is a Tendermint-style BFT proof-of-stake engine: Algorithm 1
// of Buchman, Kwon and Milosevic, "The latest gossip on BFT consensus"
// (2018), with votes weighted by stake, CometBFT's stake-weighted proposer
// rotation, CometBFT's default timeouts and its commit timeout between
// heights. A block is final at a node once validators holding more than
// two thirds of the stake precommit it; with at most a third faulty, no two
// correct nodes finalize different blocks at one height.
//
// Two node types, both protocol.Node:
//
//	v := bft.NewValidator(bft.Config{Set: set, Signer: consensus.Signer{Key: key},
//		App: app, Timeouts: bft.DefaultTimeouts(), Followers: push})
//	f := bft.NewFollower(bft.FollowerConfig{Set: set, App: app, Peers: peers})
//
// A Validator proposes, prevotes and precommits, sending each message
// straight to every other validator; when it decides it commits the block
// to its App, emits consensus.Committed, the App's own report of the block
// (consensus.Reporter) and HeightDone, and pushes the Commit (the block with its +2/3 precommits) to a few
// followers. A Follower checks a Commit's precommits, applies the block
// and floods the Commit on to its peers. Either, when it learns it is
// behind (a message for a later height), asks the sender for the commits
// it lacks with a consensus.BlockReq. A validator whose height, round and
// step have not moved for Config.Rebroadcast sends its current messages
// again, so that a partition that lost them does not leave everyone
// waiting after it heals.
//
// Transactions are the App's: a validator hands every message that is not
// a consensus message to its App (consensus.TxSink: the ledger's mempool)
// and relays one the App adds from a client (a node outside the validator
// set) to every other validator. Clients therefore send a transaction to
// one or a few validators. Followers take no transactions.
//
// Everything goes by Send, not Publish. Votes take one hop over the
// validators' full mesh. Commits are flooded by the followers themselves,
// deduplicated by height: in the simulator Publish floods one overlay
// shared by every topic and deduplicates per publication, so 100
// validators publishing each height's commit would flood the block 100
// times, where followers that forward the first commit they get for a
// height forward one.
package bft
