package runner

// Quick are overrides that keep the slow shipped scenarios to a few
// seconds each (shorter runs, fewer rounds and learners) while every code
// path of the scenario (runner, adversaries, partitions, ledger) and every
// plot of its report still runs: for tests that run every shipped
// scenario. A scenario not listed is quick already.
var Quick = map[string][]string{
	"bft-ledger":                   {"run.duration=6s"},
	"bft-validators":               {"run.duration=80s"},
	"federated-100k":               {"population.groups[0].count=300", "population.groups[1].count=300", "population.groups[2].count=400", "population.nodes=1000", "protocol.learning.per_round=100", "protocol.learning.rounds=2", "protocol.learning.surrogate.fit_rounds=3", "protocol.learning.surrogate.fit_providers=4"},
	"federated-poisoning":          {"protocol.learning.rounds=2"},
	"federated-secure-aggregation": {"protocol.learning.rounds=2"},
	"data-economy": {"protocol.learning.rounds=2", "population.groups[2].count=3", "population.groups[3].count=1", "population.groups[6].count=2",
		"protocol.learning.economy.valuation.exact=0", "protocol.learning.economy.valuation.permutations=4", "protocol.learning.economy.valuation.truth=false"},
	"heterogeneous-fleet": {"run.duration=1m"},
	"longest-chain":       {"run.duration=4m"},
	"lazy-providers":      {"run.duration=2m"},
	"relay-100k-day":      {"population.nodes=2000", "run.duration=1h"},
	"relay-comparison":    {"population.nodes=600", "run.duration=3000s"},
}
