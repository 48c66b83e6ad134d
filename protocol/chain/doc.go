// Package chain is the ledger: ed25519 accounts with balances, stake and
// nonces; signed transactions (transfer, stake, unstake, job post with
// escrow, result commitment, reward, slash, proposal, vote, escrow
// settlement and multi-recipient payout: escrow.go); blocks; a
// fee-ordered mempool; and a Ledger that implements consensus.App, so a
// consensus engine drives it and never looks inside a block:
//
//	l, _ := chain.NewLedger(chain.Config{Genesis: accounts, Params: chain.DefaultParams()})
//	l.AddTx(chain.Sign(key, chain.NewTransfer(nonce, fee, to, amount))) // from a runner or a Tx message
//	block, hash := l.MakeBlock(h, l.Tip(), self, now)                  // proposer
//	hash, err := l.CheckBlock(h, parent, block)                         // every validator, before voting
//	l.Commit(h, block, hash, now); env.Emit(l.LastApplied())           // when final
//
// The consensus engines do the last three themselves, and also hand the
// ledger the transactions they receive (it is a consensus.TxSink) and emit
// its Applied after each commit (a consensus.Reporter). A Client is a node
// that submits signed transfers at a Poisson rate, for load.
//
// Tokens are uint64 base units (10⁻⁹ token): unsigned so a negative balance
// cannot be represented, every debit checked before it is made, and minting
// checked so that every token in existence (and so every holding) fits.
// Conservation (minted − burned = balances + stake + unbonding + escrow) is
// Supply().Check(). Transactions and blocks are canonical CBOR (codec.go),
// and are wire messages of kinds wire.KindTx and wire.KindBlock.
//
// Like every package under protocol/, chain is deterministic: no clock, no
// global randomness, no map order in any output. A Ledger is used from one
// goroutine.
package chain
