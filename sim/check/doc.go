// Package check holds the invariants a run is checked against while it
// runs. A Checker is a metrics.Sink: the driver hands it every stamped
// event (usually by chaining it with its other sinks), and it watches the
// consensus.Committed events of honest nodes:
//
//	c := check.New(check.Options{Honest: isHonest, Seed: seed, Conservation: supplyOK})
//	world := sim.New(sim.Config{Sink: c, …})
//	… run …
//	for _, v := range c.Failures() { … }
//
// It checks (a) safety: no two different blocks final at one height on
// honest nodes; (b) every honest node's finalized chain is a prefix of the
// others': each commit extends the node's previous one (height + 1, parent
// = previous hash) and agrees with what other honest nodes finalized at
// that height; (c) whatever the Conservation hook checks (the ledger's
// token supply), after every commit; and (d) that every honest ledger
// replica reports the same state root after each height (chain.Applied). By DESIGN.md a broken invariant panics
// with the seed and the event; Options.Record keeps the run going and
// records violations instead, for tests that show an attack succeeding.
package check
