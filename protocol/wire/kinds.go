package wire

// Every message kind in dais, in one list so numbers are never reused.
// A package registers the decoder for its kinds in its init function.
// Ranges: 1–9 gossip, 10–29 chain, 30–59 consensus, 60–89 market, verify
// and rewards, 90–119 learning, 120–139 governance. Tests use 60000 and up.
const (
	KindBlockAnnounce Kind = 1 // protocol/gossip.Block

	// protocol/chain
	KindTx    Kind = 10 // a signed transaction
	KindBlock Kind = 11 // a chain block (header and transactions)

	// protocol/consensus
	KindProposal Kind = 30 // BFT proposal: height, round, block
	KindVote     Kind = 31 // BFT prevote or precommit
	KindCommit   Kind = 32 // a committed block with its precommits (for non-validators)
	KindPowBlock Kind = 33 // longest-chain block announcement
	KindBlockReq Kind = 34 // request for a block by hash (catch-up)
)
