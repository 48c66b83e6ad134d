// Package learn holds federated learning as protocol code: rounds, model
// versions, validator scoring and the rules that aggregate learners'
// updates. Updates are flat parameter vectors ([]float64); the models
// that produce them live in gpu/models, which protocol code never
// imports: the driver injects a TrainFunc (and a ScoreFunc) that builds
// the gpu.Job of one learner's training (one validator's scoring).
//
// Three roles take part in a round:
//
//	Coordinator ──Model{r, version, parent, params}──▶ Learners, Validators
//	Learner: env.Submit(Train(self, r, params)) … JobDone ──LocalUpdate──▶ Coordinator, Validators
//	Coordinator ──ScoreRequest{learners}──▶ Validators ──Scores──▶ Coordinator
//	Coordinator: median score per learner → Scored{payout}; Rule → Committed{version}
//
// With an aggregator committee (CoordinatorConfig.Aggregators), a fourth
// role aggregates in the coordinator's place:
//
//	Coordinator ──AggregateRequest{accepted learners}──▶ Aggregators (each has the updates)
//	Aggregator: env.Submit(AggregateJob(rule, params, updates)) … JobDone ──Candidate{version, params}──▶ Coordinator
//	Coordinator: Quorum (> 2/3) of identical versions → Committed{version, votes}; others → Dissent
//
// With f lying members and f < A/3 the honest version commits; with
// A/3 ≤ f ≤ 2A/3 no version has a quorum and the round commits nothing
// (Committed.NoQuorum); with f > 2A/3 the liars' version commits and the
// honest members' candidates are the recorded dissent.
//
// A model version is the SHA-256 of its parent's version and its
// parameters (VersionOf), so versions form a chain and a learner checks
// what it trains from. Payouts splits each round's pot in proportion to
// positive validator scores; a validator with a norm bound
// (ValidatorConfig.NormBound) scores an update more than τ times the
// round's median norm −Inf, so that boosting an update earns nothing.
//
// With CoordinatorConfig.Chain the training job is on a chain.Ledger the
// coordinator holds, as the market committee holds one (one proposer,
// modeled signatures; blocks commit at once): a requester's JobPost
// escrows the budget at Start; each round a Settle pays the learners
// their Payouts out of the escrow (pot = budget / rounds unless Pot is
// set) and a ResultCommit records the round's version as work unit r of
// the job, so the ledger holds the chain of versions (ChainVersions);
// the last round's Settle closes the job and refunds the rest. Every
// block is checked for conservation (chain.Supply), and OnChain reports
// each round's record. Without Chain, payouts are Scored events only.
//
// Every rule here is deterministic: ties break by update order (the
// coordinator orders updates by learner ID, whatever order they arrived
// in), and the only randomness (learner selection, differential-privacy
// noise) comes from an injected stream or seed.
//
// Secure aggregation (CoordinatorConfig.Secure, LearnerConfig.Secure;
// secure.go, protocol/secagg): learners mask their weighted updates and
// the coordinator unmasks only each round's sum, so it applies the sum's
// weighted mean instead of a Rule, validators score nothing and the pot
// is split equally among the learners in the sum. FedAvg and DP-FedAvg
// with the noise added by the learners work on sums; rules that compare
// updates (Krum, median, trimmed mean, FoolsGold) do not.
//
// Differential privacy: DP is DP-FedAvg's rule (clip each update, average
// with equal weights, add Gaussian noise of sd σ·clip/n, drawn from a
// stream seeded by the rule's seed and the round's updates so committee
// members agree), and Epsilon the user-level (ε, δ) it gives after a
// number of rounds (Rényi DP of the Gaussian mechanism, composed, without
// amplification by sampling).
package learn
