// Package datavalue measures what data providers' data sets are worth to a
// model: near-duplicate detection over rows (MinHash with LSH banding, so a
// copy of registered rows adds nothing), the value of each provider's rows
// by the validation gain of training on them — leave-one-out, exact
// Shapley for a few providers, truncated Monte Carlo Shapley with a sample
// budget for many — a bounty multiplier for the classes the model is worst
// at, and Spearman's rank correlation for checking rewards against value.
//
// The utility (training a model on a coalition's rows and measuring it) is
// the caller's: protocol code trains nothing. A driver passes a Utility,
// and the estimators call it through a Cache keyed by coalition bitmask:
//
//	ix, _ := datavalue.NewIndex(datavalue.DefaultDedup(seed))
//	matches := ix.Add(rows)                 // per row: the earlier row it copies, or −1
//	u := datavalue.NewCache(trainAndScore)  // trainAndScore(c Coalition) float64
//	loo := datavalue.LeaveOneOut(n, u)
//	est, _ := datavalue.MonteCarlo{Permutations: 50, Tolerance: 0.01}.Estimate(n, u, rng)
//	score := datavalue.Score(est.Values[i], datavalue.RowBounty(labels, datavalue.Bounty(classErr, 1)))
//
// Everything is deterministic given the rows, the utility and the seeded
// stream: maps are looked up, never ranged over.
package datavalue
