// Package consensus holds the consensus engines dais compares: a BFT
// proof-of-stake engine in the Tendermint family (package bft) and a
// longest-chain engine (package nakamoto). Both are pure state machines
// (protocol.Node) that order opaque blocks for an App, the way CometBFT
// orders blocks for an ABCI application: the engine never looks inside a
// block, and the App (protocol/chain's ledger) never sees votes.
//
// A driver builds one engine node per participant, each with its own App,
// and feeds it inputs; every node emits Committed when a block becomes final
// there:
//
//	set, _ := consensus.NewValidatorSet(candidates, 100)
//	v := bft.NewValidator(bft.Config{Set: set, Key: key, App: app, Timeouts: bft.DefaultTimeouts()})
//	world.Add(v)                       // or prototest.Env, or live mode
//
// This package holds what both engines share: the App boundary (with the
// optional abilities TxSink, for an App that takes transactions from the
// network, and Reporter, for one that measures its commits), the
// validator set, signing keys and the catch-up request message (BlockReq).
package consensus
