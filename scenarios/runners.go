package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// The runners a scenario can run on; Runner says which.
const (
	RunnerLearning  = "learning"
	RunnerMarket    = "market"
	RunnerConsensus = "consensus"
	RunnerGossip    = "gossip"
)

// Runner is the runner sc runs on: federated learning (protocol.learning),
// the marketplace (a workload), consensus (protocol.consensus) or block
// gossip.
func (sc *Scenario) Runner() string {
	switch {
	case sc.Protocol.Learning != nil:
		return RunnerLearning
	case sc.Workload != nil:
		return RunnerMarket
	case sc.Protocol.Consensus != nil:
		return RunnerConsensus
	}
	return RunnerGossip
}

// runnerAttacks are the adversary kinds each runner simulates.
var runnerAttacks = map[string][]string{
	RunnerConsensus: {"equivocation", "colluding_validators", "silent_validator", "delayed_votes"},
	RunnerMarket:    {"lazy", "free_rider", "sybil", "colluding_validators"},
	RunnerLearning:  {"label_flip", "sign_flip", "scaling", "little_is_enough", "free_rider", "sybil", "colluding_validators", "lying_aggregator"},
}

// validateRunner checks what the runner the scenario picks can run: the
// sections it combines, the keys it would ignore, and adversaries it can
// draw. These are the refusals the runners made at run time, here so that
// dais validate makes them too, with the file, line and key.
func (d *decoder) validateRunner(sc *Scenario) {
	kind := sc.Runner()
	l, w, c := sc.Protocol.Learning, sc.Workload, sc.Protocol.Consensus
	switch {
	case l != nil && w != nil:
		d.check("workload", "protocol.learning runs federated learning on its own: drop the workload (the marketplace), or protocol.learning")
	case l != nil && c != nil:
		d.check("protocol.consensus", "protocol.learning runs federated learning on its own, with no chain simulated under it: drop protocol.consensus, or protocol.learning")
	case w != nil && c != nil:
		d.check("protocol.consensus", "a scenario runs either a workload (the marketplace, whose committee's agreement protocol.market.commit_delay models) or protocol.consensus, not both")
	}
	// Keys a runner would ignore: a run that silently left them out would
	// measure something else than the file says.
	n := sc.Network
	for _, k := range []struct {
		runner, key string
		set         bool
	}{
		{RunnerLearning, "network.bandwidth", d.has("network.bandwidth")},
		{RunnerLearning, "network.jitter", n.Jitter != nil},
		{RunnerLearning, "network.loss", n.Loss > 0},
		{RunnerLearning, "network.partitions", len(n.Partitions) > 0},
		{RunnerLearning, "network.churn", n.Churn != nil},
		{RunnerMarket, "network.partitions", len(n.Partitions) > 0},
		{RunnerConsensus, "network.churn", n.Churn != nil},
	} {
		if k.runner == kind && k.set {
			d.check(k.key, "not simulated in a %s run: remove it (%s)", runnerName[kind], runnerNetwork[kind])
		}
	}
	for i, p := range sc.Network.Partitions {
		if kind == RunnerGossip || kind == RunnerConsensus {
			if p.From >= sc.Run.Duration {
				d.check(fmt.Sprintf("network.partitions[%d].from", i), "%v is not before the run ends (run.duration %v): the partition would never start", p.From, sc.Run.Duration)
			}
		}
	}
	d.validateElectricity(sc)
	if len(sc.Adversaries) > 0 && kind == RunnerGossip {
		d.check("adversaries", "adversaries need protocol.consensus (consensus attacks), a workload (marketplace attacks) or protocol.learning (poisoning); block gossip has none")
		return
	}
	for i, a := range sc.Adversaries {
		if !slices.Contains(runnerAttacks[kind], a.Kind) {
			d.check(fmt.Sprintf("adversaries[%d].kind", i), "%s is not simulated in a %s run; it takes %s", a.Kind, runnerName[kind], strings.Join(runnerAttacks[kind], ", "))
		}
	}
	switch kind {
	case RunnerConsensus:
		d.validateConsensus(sc, c)
	case RunnerLearning:
		d.validateLearning(sc, l)
	case RunnerMarket:
		d.validateMarket(sc, w)
	}
}

var runnerName = map[string]string{RunnerLearning: "learning", RunnerMarket: "marketplace", RunnerConsensus: "consensus", RunnerGossip: "gossip"}

var runnerNetwork = map[string]string{
	RunnerLearning:  "the latency matrix shapes a learning run's network",
	RunnerMarket:    "latency, bandwidth, jitter, loss and churn shape a marketplace run's network",
	RunnerConsensus: "latency, bandwidth, jitter, loss and partitions shape a consensus run's network",
}

func (d *decoder) validateElectricity(sc *Scenario) {
	regions := sc.matrix.Regions
	seen := map[string]bool{}
	for i, e := range sc.Economics.Electricity {
		path := fmt.Sprintf("economics.electricity[%d].region", i)
		switch {
		case len(regions) > 0 && !slices.Contains(regions, e.Region):
			d.check(path, "unknown region %q%s: no node would pay this price; the regions are %s", e.Region, suggest(e.Region, regions), strings.Join(regions, ", "))
		case seen[e.Region]:
			d.check(path, "region %q is priced twice", e.Region)
		}
		seen[e.Region] = true
	}
}

// roleNodes counts the nodes of the groups for which has is true.
func roleNodes(sc *Scenario, has func(Group) bool) int {
	n := 0
	for _, g := range sc.Population.Groups {
		if has(g) {
			n += g.Count
		}
	}
	return n
}

func hasRole(role string) func(Group) bool {
	return func(g Group) bool { return slices.Contains(g.Roles, role) }
}

// attackers is how many nodes adversary a takes from a pool of n, as the
// runners round a share.
func attackers(a Adversary, n int) int {
	if a.Count > 0 {
		return a.Count
	}
	return int(math.Round(float64(a.Share) * float64(n)))
}

func (d *decoder) validateConsensus(sc *Scenario, c *Consensus) {
	validators := roleNodes(sc, hasRole("validator"))
	if validators == 0 {
		d.check("protocol.consensus", "%s consensus needs population groups with the validator role; no group has it (roles: [validator])", c.Engine)
		return
	}
	stakeVotes := c.Engine == "bft" || c.LongestChain.Mining == "stake"
	for i, g := range sc.Population.Groups {
		if stakeVotes && hasRole("validator")(g) && g.Stake == 0 {
			what := "BFT validators vote by stake"
			if c.Engine != "bft" {
				what = "a stake lottery picks miners by stake"
			}
			d.check(fmt.Sprintf("population.groups[%d].stake", i), "group %s has the validator role and no stake: %s", g.Name, what)
		}
	}
	if lc := c.Ledger; lc.Enabled && lc.Clients == "requester" && lc.TxRate > 0 && roleNodes(sc, hasRole("requester")) == 0 {
		d.check("protocol.consensus.ledger.clients", "requester, but no population group has the requester role: give one the role, or set clients: all")
	}
	total := 0
	for i, a := range sc.Adversaries {
		path := fmt.Sprintf("adversaries[%d]", i)
		if c.Engine != "bft" {
			d.check(path+".kind", "%s is a BFT attack; longest-chain runs take no adversaries", a.Kind)
			continue
		}
		if a.Start > 0 {
			d.check(path+".start", "consensus attackers act from the start: give 0s")
		}
		if a.Group != "" {
			d.check(path+".group", "consensus attackers are drawn from all the validators; a group is not used")
		}
		n := attackers(a, validators)
		total += n
		if n > validators || total > validators {
			d.check(countPath(path, a), "%d attackers, but the run has %d validators to draw them from", total, validators)
		}
	}
}

// countPath is the key that set an adversary's number: count or share.
func countPath(path string, a Adversary) string {
	if a.Count > 0 {
		return path + ".count"
	}
	return path + ".share"
}

func (d *decoder) validateLearning(sc *Scenario, l *Learning) {
	learners := roleNodes(sc, func(g Group) bool { return hasRole("provider")(g) || hasRole("data_owner")(g) })
	if learners == 0 {
		d.check("protocol.learning", "federated learning needs population nodes with the provider or data_owner role (they are the learners); no group has either")
		return
	}
	poisoners := 0
	for i, a := range sc.Adversaries {
		path := fmt.Sprintf("adversaries[%d]", i)
		if a.Start > 0 {
			d.check(path+".start", "learning attackers act from the first round: give 0s")
		}
		switch a.Kind {
		case "colluding_validators":
			if n := attackers(a, l.Validators); n > l.Validators {
				d.check(countPath(path, a), "%d colluding validators, but protocol.learning.validators is %d", n, l.Validators)
			}
		case "lying_aggregator":
			if n := attackers(a, l.Aggregators); n > l.Aggregators {
				d.check(countPath(path, a), "%d lying aggregators, but protocol.learning.aggregators is %d", n, l.Aggregators)
			}
		default:
			if !slices.Contains(runnerAttacks[RunnerLearning], a.Kind) {
				continue
			}
			if poisoners++; poisoners > 1 {
				d.check(path+".kind", "one learning attack per run (besides colluding_validators and lying_aggregator)")
			}
			if a.Kind == "sybil" && l.Surrogate != nil {
				d.check(path+".kind", "surrogate mode has no model of Sybil identities")
			}
			if a.Kind != "sybil" && a.Count > learners {
				d.check(path+".count", "%d attackers, but the run has %d learners to draw them from", a.Count, learners)
			}
		}
	}
}

func (d *decoder) validateMarket(sc *Scenario, w *Workload) {
	// A group's first role is its role in the marketplace (data_owner
	// provides).
	role := func(g Group) string {
		if len(g.Roles) == 0 || g.Roles[0] == "data_owner" {
			return "provider"
		}
		return g.Roles[0]
	}
	var biggest float64
	var bigClass string
	for _, g := range sc.Population.Groups {
		if c, ok := sc.gpus.Lookup(g.GPU); ok && role(g) == "provider" && c.MemoryGB > biggest {
			biggest, bigClass = c.MemoryGB, c.Name
		}
	}
	for i, j := range w.Jobs {
		if bigClass != "" && float64(j.Memory) > biggest*1e9 {
			d.check(fmt.Sprintf("workload.jobs[%d].memory", i), "a %s unit needs %gGB of device memory; the largest GPU among the providers (%s) has %gGB, so no provider could take it",
				j.Name, float64(j.Memory)/1e9, bigClass, biggest)
		}
	}
	taken := map[string]int{} // attackers drawn from each group, all adversaries together
	for i, a := range sc.Adversaries {
		path := fmt.Sprintf("adversaries[%d]", i)
		want := "provider"
		if a.Kind == "colluding_validators" {
			want = "validator"
		}
		pool := 0
		for _, g := range sc.Population.Groups {
			if (a.Group == "" || a.Group == g.Name) && role(g) == want {
				pool += g.Count
			}
		}
		n := attackers(a, pool)
		key := a.Group + "/" + want
		taken[key] += n
		if taken[key] > pool {
			where := "the run has"
			if a.Group != "" {
				where = "group " + a.Group + " has"
			}
			d.check(countPath(path, a), "%d %s attackers, but %s %d %ss to draw them from", taken[key], a.Kind, where, pool, want)
		}
	}
}
