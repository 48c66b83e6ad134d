package wire

// Every message kind in dais, in one list so numbers are never reused.
// A package registers the decoder for its kinds in its init function.
// Ranges: 1–9 gossip, 10–29 chain, 30–59 consensus, 60–89 market, verify
// and rewards, 90–119 learning, 120–139 governance, 140–149 envelopes a
// live transport adds and removes (no node sees them). Tests use 60000 and up.
const (
	KindBlockAnnounce Kind = 1 // protocol/gossip.Block
	KindInv           Kind = 2 // protocol/gossip.Inv: a block announced by inventory or header
	KindGetData       Kind = 3 // protocol/gossip.GetData: a block (or its compact form) requested
	KindCompactBlock  Kind = 4 // protocol/gossip.CompactBlock: BIP 152 cmpctblock
	KindGetBlockTxn   Kind = 5 // protocol/gossip.GetBlockTxn: missing transactions requested
	KindBlockTxn      Kind = 6 // protocol/gossip.BlockTxn: the missing transactions

	// protocol/chain
	KindTx    Kind = 10 // a signed transaction
	KindBlock Kind = 11 // a chain block (header and transactions)

	// protocol/consensus
	KindProposal Kind = 30 // BFT proposal: height, round, block
	KindVote     Kind = 31 // BFT prevote or precommit
	KindCommit   Kind = 32 // a committed block with its precommits (for non-validators)
	KindPowBlock Kind = 33 // longest-chain block announcement
	KindBlockReq Kind = 34 // request for a block by hash (catch-up)

	// protocol/market
	KindJobPost       Kind = 60 // a requester posts a job (stands for its signed JobPost transaction)
	KindJobStatus     Kind = 61 // the committee tells a requester its job's chain ID or outcome
	KindJobCancel     Kind = 62 // a requester cancels a job
	KindJoin          Kind = 63 // a provider or validator offers its hardware
	KindLeave         Kind = 64 // a provider leaves gracefully
	KindAssign        Kind = 65 // the committee assigns a work unit to a provider
	KindResult        Kind = 66 // a provider's result hash (stands for its signed ResultCommit)
	KindReplay        Kind = 67 // the committee asks a validator to re-execute a unit or one step
	KindVerdict       Kind = 68 // a validator's re-executed hash
	KindDisputeQuery  Kind = 69 // bisection: the committee asks a party for one checkpoint
	KindDisputeReveal Kind = 70 // bisection: a party's checkpoint with its Merkle proof
	KindFetch         Kind = 71 // a provider asks a unit's source for its input
	KindData          Kind = 72 // a unit's input or output (modeled bytes)
	KindRelease       Kind = 73 // a requester releases the next unit of a session

	// protocol/learn
	KindModel            Kind = 90 // a model version announced for a round: params and hashes
	KindUpdate           Kind = 91 // a learner's parameter delta for a round
	KindScoreRequest     Kind = 92 // the coordinator asks validators to score a round's updates
	KindScores           Kind = 93 // a validator's scores of a round's updates
	KindAggregateRequest Kind = 94 // the coordinator asks the aggregator committee for a round's aggregate
	KindCandidate        Kind = 95 // an aggregator's candidate model and its version hash

	// live/node
	KindSigned Kind = 140 // a service message (market, learning) signed by its author's account key
	// protocol/secagg (secure aggregation, Bonawitz et al. 2017)
	KindSecAggKeys      Kind = 110 // a client's public keys for a round
	KindSecAggKeyList   Kind = 111 // the clients that advertised keys, and the threshold
	KindSecAggShares    Kind = 112 // a client's sealed shares, one per peer
	KindSecAggSharesFor Kind = 113 // the sealed shares dealt to one client
	KindSecAggMasked    Kind = 114 // a client's masked input
	KindSecAggSurvivors Kind = 115 // the clients whose masked inputs arrived
	KindSecAggUnmask    Kind = 116 // a client's shares that unmask the sum
)
