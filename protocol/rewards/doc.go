// Package rewards is the tokenomics: emission schedules, the split of each
// block's (or epoch's) reward pot among compute providers, data providers,
// validators and the treasury, fee splits, staking yield and slashing
// fractions. It is pure policy and math on integer base units (Tokens);
// the ledger and the marketplace call it and move the tokens:
//
//	sched, _ := policy.Emission.Schedule()      // chain.Config{Emission: rewards.Func(sched)}
//	d, _ := rewards.NewDistributor(policy)       // one per node, beside its ledger
//	split := policy.Fees.Split(fee)              // per job: burn, provider, pot
//	out, _ := d.Distribute(rewards.Period{Height: h, Emission: sched.Emission(h), Fees: pot, Work: …})
//	env.Emit(out.Event())                        // once per run, not per replica
//
// Every amount is rounded down and every split hands out its rounding
// with the largest-remainder method (Allocate), so the pieces of a pot sum
// to the pot exactly and no schedule mints past its bound. Nothing here
// reads a clock, a random stream or map order; a Distributor is used from
// one goroutine.
package rewards
