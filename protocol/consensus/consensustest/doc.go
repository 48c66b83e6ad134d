// Package consensustest gives consensus engines a small App to order, so
// that they can be tested and benchmarked without the ledger: a block is
// its height, parent, proposer and time followed by padding, and its hash
// is SHA-256 of those bytes.
//
//	app := consensustest.NewApp(1024)       // 1 KiB of padding per block
//	node := bft.NewValidator(bft.Config{App: app, …})
//	… run …
//	app.Height(), app.Hashes()               // what was committed, in order
package consensustest
