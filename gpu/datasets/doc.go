// Package datasets holds labelled data in memory (Dataset) and the ways a
// federated-learning scenario spreads it over data providers: IID,
// Dirichlet(α) non-IID and one class per provider. Every partition is a
// disjoint cover of the rows and is a pure function of its seed.
//
//	train, _, _ := optdigits.Load()
//	parts, _ := datasets.Dirichlet(train, optdigits.Classes, 20, 0.5, seed)
//	local := train.Subset(parts[i]) // provider i's rows
//
// Subpackages embed particular data sets (optdigits). Like the rest of
// gpu's subpackages, this is driver-side code: protocol never imports it.
package datasets
