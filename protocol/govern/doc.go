// Package govern is on-chain governance of protocol parameters: proposals
// that change named parameters (a Registry with bounds) from a future
// height, stake-weighted votes (linear or quadratic) with Cosmos x/gov's
// tally rules (quorum, threshold, veto; deposits refunded or burned), and
// the parameter set in force at any height. The ledger drives a Governor
// block by block and moves the deposits:
//
//	g, _ := govern.New(reg, govern.DefaultConfig())
//	p, err := g.Submit(h, govern.Submission{Proposer: a, Changes: cs, Deposit: d})
//	err = g.Vote(h, p.ID, voter, govern.Yes)
//	closed, _ := g.EndBlock(h, electorate) // refund or burn each closed deposit
//	params := g.ParamsAt(h + 1)
//
// Comparisons are exact integer cross-multiplications; nothing reads a
// clock or iterates a map into an output. A Governor is used from one
// goroutine.
package govern
