package testnet

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dais-sim/dais/gpu/datasets"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/scenarios/learning"
)

// FromScenario turns a scenario into testnet options, as the simulator
// reads it. Consensus (protocol.consensus, engine bft or longest_chain,
// as sim/consensusrun reads it; longestFromScenario): the validator-role
// groups' nodes first, with their stakes, then the rest as followers; the seed, name and timeouts. A scenario
// without protocol.consensus but with a marketplace (a workload) or a
// federated job (protocol.learning) runs on a BFT chain of every node, as
// validators of equal stake (node.DefaultStake) with the default timeouts:
// the chain carries the learning payouts, and the simulator models no
// chain under those runs. The marketplace and the federated job map onto
// node.MarketSpec and node.LearningSpec (marketFromScenario,
// learningFromScenario).
//
// What a loopback testnet of honest processes cannot do is an ErrOptions
// naming the file, line and key (bisection, several job types, burst or
// trace arrivals, more nodes than a testnet runs, …); what it leaves out
// but can run without (the network model, adversaries, a clean run) is a
// note, which the caller shows.
func FromScenario(sc *scenarios.Scenario) (o Options, notes []string, err error) {
	bad := func(key, format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s: %s", ErrOptions, where(sc, key), key, fmt.Sprintf(format, a...))
	}
	c := sc.Protocol.Consensus
	apps := sc.Workload != nil || sc.Protocol.Learning != nil
	switch {
	case c == nil && !apps:
		return o, nil, bad("protocol.consensus", "a live testnet runs BFT consensus: the scenario needs protocol.consensus with engine: bft (or a workload or protocol.learning to run on a default BFT chain)")
	case c != nil && c.Engine != node.EngineBFT && c.Engine != node.EngineLongestChain:
		return o, nil, bad("protocol.consensus.engine", "%s: a live testnet runs bft or longest_chain", c.Engine)
	}
	o = Options{Name: sc.Run.Name, Seed: sc.Run.Seed, Scenario: sc.File}
	// groupIDs[i] are group i's nodes.
	groupIDs := make([][]protocol.NodeID, len(sc.Population.Groups))
	for pass := range 2 {
		for i, g := range sc.Population.Groups {
			validator := c == nil || slices.Contains(g.Roles, "validator")
			if validator != (pass == 0) {
				continue
			}
			for range g.Count {
				groupIDs[i] = append(groupIDs[i], protocol.NodeID(o.Nodes))
				o.Nodes++
				if pass == 0 {
					o.Validators++
					if c != nil {
						o.Stakes = append(o.Stakes, uint64(g.Stake))
					}
				}
			}
		}
	}
	if o.Validators == 0 {
		return o, nil, bad("population.groups", "no population group has the validator role")
	}
	if o.Nodes > MaxNodes {
		return o, nil, bad("population", "%d nodes; a local testnet runs at most %d (use dais run to simulate it)", o.Nodes, MaxNodes)
	}
	if c != nil {
		d := func(v scenarios.Duration) node.Duration { return node.Duration(time.Duration(v.D())) }
		t := c.Timeouts
		o.Timeouts = node.Timeouts{Propose: d(t.Propose), ProposeDelta: d(t.ProposeDelta), Prevote: d(t.Prevote),
			PrevoteDelta: d(t.PrevoteDelta), Precommit: d(t.Precommit), PrecommitDelta: d(t.PrecommitDelta), Commit: d(t.Commit)}
		if c.MaxValidators > 0 && c.MaxValidators < o.Validators {
			notes = append(notes, fmt.Sprintf("protocol.consensus.max_validators (%d) is not applied: all %d validator-role nodes validate", c.MaxValidators, o.Validators))
		}
		if c.Signatures == "modeled" {
			notes = append(notes, "protocol.consensus.signatures: modeled is a simulator shortcut; live nodes sign and verify for real")
		}
		if c.Engine == node.EngineLongestChain {
			n, err := longestFromScenario(sc, &o, groupIDs, bad)
			if err != nil {
				return o, nil, err
			}
			notes = append(notes, n...)
		}
	} else {
		notes = append(notes, fmt.Sprintf("the scenario has no protocol.consensus: all %d nodes run BFT as validators of equal stake with the default timeouts", o.Nodes))
	}
	notes = append(notes, "network (latency, bandwidth, loss, partitions, churn) is not applied: the nodes talk over 127.0.0.1")
	if len(sc.Adversaries) > 0 {
		notes = append(notes, fmt.Sprintf("adversaries (%d) are not applied: every node is honest, so the report's attack figures are those of an attack-free run", len(sc.Adversaries)))
	}
	if sc.Workload != nil {
		m, n, err := marketFromScenario(sc, groupIDs, bad)
		if err != nil {
			return o, nil, err
		}
		o.Market, notes = m, append(notes, n...)
	}
	if sc.Protocol.Learning != nil {
		l, n, err := learningFromScenario(sc, groupIDs, o.Nodes, bad)
		if err != nil {
			return o, nil, err
		}
		o.Learning, notes = l, append(notes, n...)
	}
	return o, notes, nil
}

// where is the file position of a key, for errors.
func where(sc *scenarios.Scenario, key string) string {
	if p := sc.At(key); p.Line > 0 || p.Override != "" {
		return p.String()
	}
	if sc.File != "" {
		return sc.File
	}
	return sc.Run.Name
}

type badFunc func(key, format string, a ...any) error

// marketFromScenario maps the workload, protocol.market and
// protocol.verification onto a MarketSpec. Each group's nodes take the
// first of their roles the market knows (requester, validator, provider;
// data_owner counts as provider), as sim/marketrun reads them; the first
// requester also leads the committee (in the simulator the committee is a
// node of its own). Jobs arrive evenly, rate/requesters apart, until
// run.duration.
func marketFromScenario(sc *scenarios.Scenario, groupIDs [][]protocol.NodeID, bad badFunc) (*node.MarketSpec, []string, error) {
	w, pm, v := sc.Workload, sc.Protocol.Market, sc.Protocol.Verification
	s := &node.MarketSpec{Scheduler: pm.Scheduler, Verification: v.Scheme,
		BlockInterval: node.Duration(pm.BlockInterval.D()), CommitDelay: node.Duration(pm.CommitDelay.D())}
	var notes []string
	var classes []string
	for i, g := range sc.Population.Groups {
		key := fmt.Sprintf("population.groups[%d].roles", i)
		role := ""
		for _, r := range g.Roles {
			if r == "requester" || r == "validator" || r == "provider" || r == "data_owner" {
				role = r
				break
			}
		}
		switch role {
		case "requester":
			s.Requesters = append(s.Requesters, groupIDs[i]...)
		case "validator":
			s.Validators = append(s.Validators, groupIDs[i]...)
		case "provider", "data_owner":
			s.Providers = append(s.Providers, groupIDs[i]...)
			if s.Stake == 0 && g.Stake > 0 {
				s.Stake = uint64(g.Stake)
			}
		default:
			return nil, nil, bad(key, "group %s has no market role (provider, validator, requester)", g.Name)
		}
		if role != "requester" && !slices.Contains(classes, g.GPU) {
			classes = append(classes, g.GPU)
		}
	}
	for _, g := range sc.Population.Groups {
		if g.Balance > 0 {
			notes = append(notes, fmt.Sprintf("population balances are not applied: every account starts with %d tokens (node.DefaultBalance)", node.DefaultBalance/chain.Token))
			break
		}
	}
	for _, ids := range [][]protocol.NodeID{s.Requesters, s.Validators, s.Providers} {
		slices.Sort(ids)
	}
	if len(s.Requesters) == 0 || len(s.Providers) == 0 {
		return nil, nil, bad("population.groups", "the marketplace needs requester and provider groups; it has %d requesters, %d providers", len(s.Requesters), len(s.Providers))
	}
	s.Committee = s.Requesters[0]
	if len(classes) > 0 {
		s.Class = classes[0]
	}
	if len(classes) > 1 {
		notes = append(notes, fmt.Sprintf("providers and validators all declare GPU class %s (the first group's); live units run on this host's CPU whatever the class", s.Class))
	}

	switch scheme, _ := market.ParseScheme(v.Scheme); scheme {
	case market.Bisection:
		return nil, nil, bad("protocol.verification.scheme", "bisection does not run live (its checkpoints are modeled hashes); use none, redundancy or spot_check")
	case market.Redundancy:
		s.Replicas = v.Replicas
		if v.Quorum != 0 && v.Quorum != v.Replicas {
			return nil, nil, bad("protocol.verification.quorum", "%d of %d: live redundancy needs every replica to agree (quorum 0 or %d)", v.Quorum, v.Replicas, v.Replicas)
		}
		if v.TrustAfter > 0 {
			notes = append(notes, "protocol.verification.trust_after is not applied: live redundancy replicates every unit")
		}
	case market.SpotCheck:
		s.SpotCheck = float64(v.SpotCheck)
		if v.Panel > 1 {
			notes = append(notes, fmt.Sprintf("protocol.verification.panel (%d) is not applied: one validator re-executes each checked unit", v.Panel))
		}
	}
	if pm.LotteryBy == "capacity" {
		notes = append(notes, "protocol.market.lottery_by: capacity is not applied (lottery by stake)")
	}
	// What the simulator's marketplace models and a live one does not run.
	switch {
	case pm.CommitDelay == 0:
		return nil, nil, bad("protocol.market.commit_delay", "0s: a live committee takes 0 for its default (block_interval ÷ 5); give the delay")
	case pm.Matching == "continuous":
		return nil, nil, bad("protocol.market.matching", "continuous matching runs in the simulator only; a live committee matches per block")
	}
	for i, j := range w.Jobs {
		switch {
		case j.InputBytes != nil || j.OutputBytes != nil:
			return nil, nil, bad(fmt.Sprintf("workload.jobs[%d].input_bytes", i), "live units move no input or output data (the simulator models it)")
		case j.Stream:
			return nil, nil, bad(fmt.Sprintf("workload.jobs[%d].stream", i), "sessions run in the simulator only; a live requester posts whole jobs")
		}
	}
	if w.Drain.D() != 2*protocol.Minute { // not the default
		notes = append(notes, "workload.drain is not applied: a testnet's market runs until the report")
	}

	if len(w.Jobs) != 1 {
		return nil, nil, bad("workload.jobs", "%d job types: a live marketplace posts one", len(w.Jobs))
	}
	j := w.Jobs[0]
	s.Kind, s.Units, s.Deadline = j.Kind, uint32(j.Units), node.Duration(j.Deadline.D())
	f := j.FLOPs.Dist()
	s.UnitFLOPs = f.Mean()
	if _, fixed := f.(dist.Fixed); !fixed {
		notes = append(notes, fmt.Sprintf("workload.jobs[0].flops: every unit states the distribution's mean, %.3g FLOPs, and computes at most max_work_flops (%.3g) of real work", s.UnitFLOPs, node.DefaultMaxWorkFLOPs))
	}
	s.Budget = uint64(j.Budget)
	if j.PricePerPFLOP > 0 {
		s.Budget = uint64(math.Ceil(float64(j.PricePerPFLOP) * s.UnitFLOPs * float64(j.Units) / 1e15))
	}
	if s.Budget == 0 {
		return nil, nil, bad("workload.jobs[0].budget", "no budget: give budget or price_per_pflop")
	}

	a := w.Arrivals
	if a.Process != "poisson" && a.Process != "constant" {
		return nil, nil, bad("workload.arrivals.process", "%s: a live requester posts at a steady rate (poisson or constant)", a.Process)
	}
	rate := a.Rate.PerSecond()
	if !(rate > 0) {
		return nil, nil, bad("workload.arrivals.rate", "%v: want > 0", rate)
	}
	n := float64(len(s.Requesters))
	s.Every = node.Duration(time.Duration(float64(time.Second) * n / rate))
	jobs := math.Round(sc.Run.Duration.D().Seconds() * rate / n)
	if jobs > 10000 {
		return nil, nil, bad("workload.arrivals.rate", "%.0f jobs per requester over run.duration; a live requester posts at most 10000", jobs)
	}
	s.Jobs = max(int(jobs), 1)
	if a.Process == "poisson" {
		notes = append(notes, fmt.Sprintf("workload.arrivals: each requester posts its %d jobs evenly, one every %v, not at poisson times", s.Jobs, time.Duration(s.Every)))
	}
	if len(sc.Economics.Electricity) > 0 {
		notes = append(notes, "economics.electricity is not applied: the report prices energy at the simulator's default")
	}
	if len(sc.Protocol.Governance.Proposals) > 0 {
		notes = append(notes, "protocol.governance.proposals are not applied: the live market runs no governance")
	}
	if w.Encryption != nil {
		notes = append(notes, "workload.encryption is not applied: the live market's units are not sealed (protocol/seal is not wired into it)")
	}
	return s, notes, nil
}

// learningFromScenario maps protocol.learning onto a LearningSpec. The
// learners are the provider and data_owner groups' nodes, as
// scenarios/learning reads them; node 0 coordinates, and the first
// protocol.learning.validators nodes also score (in the simulator the
// coordinator and the validators are nodes of their own). The pot is
// the simulator's.
func learningFromScenario(sc *scenarios.Scenario, groupIDs [][]protocol.NodeID, nodes int, bad badFunc) (*node.LearningSpec, []string, error) {
	l := sc.Protocol.Learning
	var notes []string
	s := &node.LearningSpec{Model: l.Model, Rounds: l.Rounds, LocalEpochs: l.LocalEpochs, Partition: l.Partition,
		Aggregation: l.Aggregation, Tolerate: float64(l.Tolerate), BatchSize: l.BatchSize, LearningRate: l.LearningRate,
		PerRound: l.PerRound, Filter: l.Filter, ValidationRows: l.ValidationRows}
	if l.Partition == datasets.SchemeDirichlet {
		s.Alpha = l.Alpha
	}
	for i, g := range sc.Population.Groups {
		if slices.Contains(g.Roles, "provider") || slices.Contains(g.Roles, "data_owner") {
			s.Learners = append(s.Learners, groupIDs[i]...)
		}
	}
	slices.Sort(s.Learners)
	if len(s.Learners) == 0 {
		return nil, nil, bad("population.groups", "protocol.learning needs nodes with the provider or data_owner role")
	}
	if l.Validators > nodes {
		return nil, nil, bad("protocol.learning.validators", "%d validators among %d nodes: a live validator is one of the testnet's nodes", l.Validators, nodes)
	}
	for i := range l.Validators {
		s.Validators = append(s.Validators, protocol.NodeID(i))
	}
	if l.Validators > 0 {
		s.Pot = learning.DefaultParams().Pot
	}
	switch {
	case l.Aggregators > 0:
		return nil, nil, bad("protocol.learning.aggregators", "%d: an aggregator committee does not run live (the coordinator aggregates)", l.Aggregators)
	case l.Surrogate != nil:
		return nil, nil, bad("protocol.learning.surrogate", "surrogate mode is a simulator shortcut; live learners train for real")
	}
	if l.Clean || l.Baseline {
		notes = append(notes, "protocol.learning.clean and baseline are not applied: the report has no clean run or centralized baseline")
	}
	if sa := l.SecureAggregation; sa != nil {
		s.SecureAggregation = &node.SecureAggregationSpec{Threshold: float64(sa.Threshold), FracBits: sa.FracBits,
			StepTimeout: node.Duration(sa.StepTimeout.D())}
		s.Pot = learning.DefaultParams().Pot // split equally among the learners in each sum: no validators needed
		if sa.Dropout > 0 {
			notes = append(notes, "protocol.learning.secure_aggregation.dropout is not applied: live learners drop out when they stop")
		}
		if sa.ClearRule != "none" {
			notes = append(notes, "protocol.learning.secure_aggregation.clear_rule is not applied: the report has no clear run")
		}
	}
	return s, notes, nil
}
