package chain_test

import (
	"fmt"

	"github.com/dais-sim/dais/protocol/chain"
)

// A proposer makes a block from its mempool, a validator checks it, and
// both commit it: a consensus engine makes exactly these calls.
func Example() {
	const seed = 1
	cfg := chain.Config{Genesis: chain.GenesisFor(seed, 2, 100*chain.Token, 0), Params: chain.DefaultParams(), KeySeed: seed}
	proposer, _ := chain.NewLedger(cfg)
	validator, _ := chain.NewLedger(cfg)

	alice, bob := chain.KeyFor(seed, 0), chain.AddressOf(chain.KeyFor(seed, 1))
	tx := chain.Sign(alice, chain.NewTransfer(0, 10_000, bob, 5*chain.Token))
	fmt.Println("mempool:", proposer.AddTx(tx))

	block, hash := proposer.MakeBlock(1, proposer.Tip(), 1, 0)
	_, err := validator.CheckBlock(1, validator.Tip(), block)
	fmt.Println("check:", err)
	for _, l := range []*chain.Ledger{proposer, validator} {
		l.Commit(1, block, hash, 0)
	}

	a := validator.LastApplied()
	fmt.Printf("block 1: %d txs, %d fees, %d burned, %d minted\n", a.Txs, a.Fees, a.Burned, a.Minted)
	// Bob proposed: 100 tokens, +5 sent, +1 reward, +half the fee.
	fmt.Println("bob:", validator.Account(bob).Balance)
	fmt.Println("same state:", proposer.StateRoot() == validator.StateRoot())
	fmt.Println("conserved:", validator.CheckSupply())
	// Output:
	// mempool: <nil>
	// check: <nil>
	// block 1: 2 txs, 10000 fees, 5000 burned, 1000000000 minted
	// bob: 106000005000
	// same state: true
	// conserved: <nil>
}
