// Package market is the compute marketplace: requesters post jobs with a
// budget held in escrow, jobs are split into work units sized by FLOPs and
// memory, a scheduler assigns units to providers' GPUs, results are
// verified (protocol/verify), committed on chain as hashes and paid from
// the escrow, and every block's reward pool is split by verified work
// (protocol/rewards) under parameters that governance changes at a height
// (protocol/govern).
//
// Four node types, all pure state machines over protocol.Env:
//
//	Requester  posts jobs (PostJob) by an arrival process; may Cancel
//	Provider   runs Assign-ed units on its GPU, answers with a Result hash
//	Validator  re-executes units or one step of them (Replay → Verdict)
//	Committee  the validator committee's leader: ledger, scheduler,
//	           verification, settlement, rewards and governance
//
// Who runs the marketplace. The validator committee does: its leader
// proposes every block of the chain.Ledger it holds (agreement among the
// committee is modeled as a fixed commit delay, the BFT finality measured
// by sim/consensusrun), and runs the scheduler. Config.Matching says from
// what: PerBlock schedules from the on-chain queue — a job's units become
// schedulable only when its JobPost commits, every result is its
// provider's ResultCommit, and every member would make the same
// assignments from the same chain. Continuous is off-chain matching with
// on-chain settlement: a job's units are schedulable as soon as its post
// is admitted to the mempool (its escrow is then certain to apply in the
// next block), a free provider gets work at once, and the block's results
// go on chain in one ResultRoot (the Merkle root of their commitments; a
// slash's evidence carries a result's path to it), settlements once their
// escrow has committed. Providers pull in effect — they announce free
// slots with Join and every Result, and get work only then — but the
// choice among them is the committee's policy (FIFO, Fastest, FairShare,
// Lottery). The committee's load is measured (CommitteeLoad: messages,
// decisions, transactions, blocks, its queue's length over time);
// validators carry the verification compute.
//
// Data: a unit may have input and output bytes (Spec.InputBytes,
// OutputBytes). A provider fetches a unit's input from the requester
// (Fetch, Data) before running it, one fetch at a time, and sends the
// output back before its Result, so data-heavy units are bound by the
// nodes' links. A session (Spec.Stream) is a job escrowed once whose
// units arrive one by one (Release), each of its own size: a stream of
// requests to a service.
//
// Messages stand for transactions: PostJob for the requester's signed
// JobPost, Result for the provider's signed ResultCommit. The leader
// includes them with the sender's next nonce, signatures modeled
// (chain.Config.ModeledVerification), and builds its own: one Settle per
// block for the jobs that ended (escrow to providers, the reward pool, a
// burn, the rest refunded), Payout (the pool's split every RewardEvery
// blocks, staking yield from the treasury every epoch), Slash (with
// verify.Evidence that the ledger's judge checks, once the offender's
// commitment is final), Proposal and Vote. Transactions carry no gas
// fee: requesters pay job fees, split by rewards.FeePolicy. Conservation
// is the ledger's Supply check after every block (Config.CheckSupply),
// and each job's settlement pays out exactly its budget (JobClosed).
//
// Verification (Config.Verify): none; redundancy with a quorum and
// adaptive replication; spot checks by panels of validators drawn at
// random; or bisection disputes refereed by a validator. A provider
// proven to cheat is slashed, jailed, and its verified units in jobs not
// yet settled are rescinded and rerun; invalid work is never paid. A
// validator outvoted in a panel is slashed for false approval and
// jailed.
//
// Driving it:
//
//	c, _ := market.NewCommittee(cfg)          // node 0, say
//	world.Add(c)
//	world.Add(&market.Provider{Committee: 0, Class: h100})
//	world.Add(&market.Validator{Committee: 0, Class: a100})
//	world.Add(&market.Requester{Committee: 0, Arrivals: a, Types: ts})
//
// sim/marketrun builds such a world from parameters and measures it.
package market
