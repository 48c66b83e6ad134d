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
// A model version is the SHA-256 of its parent's version and its
// parameters (VersionOf), so versions form a chain and a learner checks
// what it trains from. Payouts splits each round's pot in proportion to
// positive validator scores.
//
// Every rule here is deterministic: ties break by update order (the
// coordinator orders updates by learner ID, whatever order they arrived
// in), and the only randomness (learner selection, differential-privacy
// noise) comes from an injected stream.
package learn
