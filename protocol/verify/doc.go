// Package verify decides whether a work unit's result is right: by
// redundancy (k replicas, a quorum of matching hashes, and BOINC-style
// adaptive replication that replicates trusted hosts less), by spot-check
// replay (a validator re-executes a sampled unit), or by a bisection
// dispute game (Verde-style) over committed per-step checkpoint hashes that
// ends with a referee re-executing one step. Proven fraud becomes slashing
// Evidence that the ledger's judge (Judge) checks.
//
// Everything here is a pure state machine or function; the marketplace
// committee (protocol/market) drives it from its messages:
//
//	q := verify.NewQuorum(2, 2, 3)          // k = 2, quorum 2, at most 3 replicas
//	q.Add(p1, h1); q.Add(p2, h2)
//	d := q.Decide()                          // Winner, Dissent, or More replicas
//	g := verify.NewDispute(steps)            // on two different results
//	for !g.Done() { m := g.Query(); g.Answer(a.At(m), b.At(m)) }
//	step := g.Step()                         // the referee re-executes step → step+1
//
// A result is a hash. An honest provider's result for a unit is
// Checkpoint(job, unit, steps): a pure function of the unit, so any
// validator re-derives it, at the cost of re-running the unit's FLOPs on
// its own GPU (that cost is the verification overhead the marketplace
// counts).
package verify
