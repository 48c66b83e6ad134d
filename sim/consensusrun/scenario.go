package consensusrun

import (
	"fmt"
	"slices"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim"
)

// FromScenario turns a checked scenario with a protocol.consensus section
// into run parameters for repetition rep (0-based; later repetitions use
// seeds derived from the scenario's). Nodes of groups with the validator
// role are numbered first, in group order, then the rest, which follow as
// full nodes; network.partitions[].nodes use these numbers.
func FromScenario(sc *scenarios.Scenario, rep int) (*Params, error) {
	c := sc.Protocol.Consensus
	if c == nil {
		return nil, fmt.Errorf("%w: the scenario has no protocol.consensus section", ErrParams)
	}
	seed := sc.Run.Seed
	if rep > 0 {
		seed = protocol.DeriveSeed(sc.Run.Seed, "repetition", uint64(rep))
	}
	m := sc.Matrix()
	p := &Params{
		Seed: seed, Matrix: m, Loss: float64(sc.Network.Loss),
		BlockSize: int(c.BlockSize), Until: sc.Run.Duration.D(), Record: true,
		StepNs:         int64(sc.Outputs.Step.D()),
		FollowerDegree: sc.Protocol.Gossip.Degree,
		Catalog:        sc.GPUCatalog(),
		CPU:            sim.CPU{SendNs: int64(c.Processing.Send), RecvNs: int64(c.Processing.Receive)},
		CommitNs:       c.Processing.Commit.D(),
		SignedRoundNs:  c.Processing.SignedRound.D(),
		TimerLate:      c.Processing.TimerLate.D(),
	}
	if j := sc.Network.Jitter; j != nil {
		p.Jitter = j.Dist()
	}
	isValidator := func(g scenarios.Group) bool { return slices.Contains(g.Roles, "validator") }
	groupNodes := map[string][]protocol.NodeID{}
	for pass := 0; pass < 2; pass++ {
		for _, g := range sc.Population.Groups {
			if isValidator(g) != (pass == 0) {
				continue
			}
			regions := sc.RegionIndexes(g)
			for k := 0; k < g.Count; k++ {
				id := protocol.NodeID(len(p.Placement))
				r := protocol.Stream(seed, "placement", uint64(id))
				pl := Placement{Region: regions[r.IntN(len(regions))], GPU: g.GPU}
				pl.Link = sc.Link(g, r.Float64())
				p.Placement = append(p.Placement, pl)
				groupNodes[g.Name] = append(groupNodes[g.Name], id)
				if pass == 0 {
					p.Validators++
					p.Stakes = append(p.Stakes, uint64(g.Stake))
				} else {
					p.Followers++
				}
			}
		}
	}
	if p.Validators == 0 {
		return nil, fmt.Errorf("%w: protocol.consensus needs population groups with the validator role", ErrParams)
	}
	switch c.Engine {
	case "bft":
		p.Engine = BFT
		t := c.Timeouts
		p.BFT = BFTParams{
			Timeouts: bft.Timeouts{Propose: t.Propose.D(), ProposeDelta: t.ProposeDelta.D(), Prevote: t.Prevote.D(),
				PrevoteDelta: t.PrevoteDelta.D(), Precommit: t.Precommit.D(), PrecommitDelta: t.PrecommitDelta.D(), Commit: t.Commit.D()},
			MaxValidators: c.MaxValidators,
		}
		if c.Signatures == "modeled" {
			p.BFT.Sigs = consensus.SigModeled
		}
		for i, s := range p.Stakes {
			if s == 0 {
				return nil, fmt.Errorf("%w: validator %d has no stake: BFT validators vote by stake (population.groups[].stake)", ErrParams, i)
			}
		}
	case "longest_chain":
		p.Engine = Nakamoto
		lc := c.LongestChain
		p.Nakamoto = NakamotoParams{Interval: lc.Interval.D(), Confirmations: lc.Confirmations,
			Stake: lc.Mining == "stake", Degree: sc.Protocol.Gossip.Degree}
		if p.Nakamoto.Stake {
			for i, s := range p.Stakes {
				if s == 0 {
					return nil, fmt.Errorf("%w: miner %d has no stake for a stake lottery", ErrParams, i)
				}
			}
		}
	}
	if lc := c.Ledger; lc.Enabled {
		lp, err := ledgerFromScenario(sc, lc, groupNodes)
		if err != nil {
			return nil, err
		}
		p.Ledger = lp
	}
	for i, a := range sc.Adversaries {
		kind := AttackKind(a.Kind)
		switch kind {
		case Equivocation, Colluding, SilentValidator, DelayedVotes:
		default:
			return nil, fmt.Errorf("%w: adversaries[%d]: %s is not simulated in consensus runs (equivocation, colluding_validators, silent_validator and delayed_votes are)", ErrParams, i, a.Kind)
		}
		if a.Start > 0 {
			return nil, fmt.Errorf("%w: adversaries[%d]: consensus attackers act from the start; start must be 0s", ErrParams, i)
		}
		n := a.Count
		if a.Count == 0 && a.Share > 0 {
			n = int(float64(a.Share)*float64(p.Validators) + 0.5)
		}
		p.Adversaries = append(p.Adversaries, Adversary{Kind: kind, Count: n, Delay: a.Delay.D()})
	}
	p.Partitions = sc.NetPartitions(groupNodes)
	return p, p.validate()
}

// ledgerFromScenario maps protocol.consensus.ledger; groupNodes are the
// node IDs of each population group.
func ledgerFromScenario(sc *scenarios.Scenario, lc scenarios.Ledger, groupNodes map[string][]protocol.NodeID) (*LedgerParams, error) {
	spec := rewards.EmissionSpec{Kind: rewards.KindFixed, Initial: rewards.Tokens(lc.EmissionPerBlock)}
	if lc.HalvingBlocks > 0 {
		spec.Kind, spec.HalvingBlocks = rewards.KindHalving, uint64(lc.HalvingBlocks)
	}
	sched, err := spec.Schedule()
	if err != nil {
		return nil, fmt.Errorf("%w: protocol.consensus.ledger: %w", ErrParams, err)
	}
	lp := &LedgerParams{TxRate: lc.TxRate.PerSecond(), Fanout: lc.Fanout, Balance: uint64(lc.Balance),
		Emission: sched, ModeledVerification: lc.ModeledVerification}
	if lc.Clients == "requester" {
		lp.Clients = []protocol.NodeID{}
		for _, g := range sc.Population.Groups {
			if slices.Contains(g.Roles, "requester") {
				lp.Clients = append(lp.Clients, groupNodes[g.Name]...)
			}
		}
		if len(lp.Clients) == 0 && lp.TxRate > 0 {
			return nil, fmt.Errorf("%w: protocol.consensus.ledger.clients is requester, but no population group has the requester role (give one the role, or set clients: all)", ErrParams)
		}
	}
	return lp, nil
}

// Summary turns a finished run into the figures, plots and meta that
// reports read (Meta's scenario fields, Version and GoVersion are the
// caller's).
func Summary(res *Result) *metrics.Run {
	p := res.Params
	run := res.Recorder.Summary(int64(p.Until))
	run.Meta = metrics.Meta{Scenario: "consensus", Seed: p.Seed, Repetitions: 1, SimEndNs: int64(p.Until)}
	head := map[string]bool{"finality_ms_p50": true, "finality_ms_p99": true, "block_interval_ms_p50": true, "txs_committed": true}
	for i := range run.Figures {
		run.Figures[i].Headline = head[run.Figures[i].Key]
	}
	sigs := "real ed25519"
	if p.BFT.Sigs == consensus.SigModeled {
		sigs = "modeled (placeholders; checks counted, not computed)"
	}
	fig := func(key string, v float64, unit, help string, better metrics.Better, headline bool) {
		run.Figures = append(run.Figures, metrics.Figure{Key: key, Value: v, Unit: unit, Help: help, Better: better, Headline: headline})
	}
	fig("validators", float64(p.Validators), "", "nodes with the validator role (BFT: those in the top-K set vote)", "", false)
	fig("followers", float64(p.Followers), "", "non-validator full nodes", "", false)
	fig("byzantine_validators", float64(len(res.Byzantine)), "", "validators run by an adversary", "", false)
	fig("heights_finalized", float64(res.Blocks()), "", "heights finalized during the run", metrics.Higher, true)
	fig("blocks_per_s", float64(res.Blocks())/p.Until.Seconds(), "1/s", "heights finalized per simulated second", metrics.Higher, false)
	fig("invariant_failures", float64(len(res.Failures)), "", "violations the checker saw: two blocks final at one height, a broken chain, tokens not conserved", metrics.Lower, true)
	fig("messages_per_block", res.PerBlock(res.Msgs), "", "messages every node sent, per finalized height", metrics.Lower, false)
	fig("bytes_per_block", res.PerBlock(res.Bytes), "bytes", "bytes every node sent, per finalized height", metrics.Lower, false)
	if p.Engine == BFT {
		fig("consensus_messages_per_block", res.PerBlock(res.ConsensusMsgs), "", "proposals and votes validators sent, per height", metrics.Lower, false)
		fig("timeouts", float64(res.Timeouts), "", "BFT timeouts that fired and moved a validator on", metrics.Lower, false)
		fig("equivocations_seen", float64(res.Equivocations), "", "conflicting signed messages a node received (evidence)", "", false)
		fig("signatures_verified", float64(res.SigsVerified), "", "signature checks computed ("+sigs+")", "", false)
		fig("signatures_skipped", float64(res.SigsSkipped), "", "signature checks modeled instead of computed", "", false)
		labels := make([]string, len(res.RoundsPerHeight))
		vals := make(metrics.Floats, len(res.RoundsPerHeight))
		for i, n := range res.RoundsPerHeight {
			labels[i], vals[i] = fmt.Sprint(i+1), float64(n)
		}
		if len(labels) > 0 {
			run.Groups = append(run.Groups, metrics.Group{Key: "heights_by_rounds", Labels: labels,
				Help: "how many heights took 1, 2, … rounds", Sets: []metrics.BarSet{{Name: "heights", Values: vals}}, Counts: true})
			run.Plots = append(run.Plots, metrics.Plot{Kind: metrics.PlotBars, Data: []string{"heights_by_rounds"},
				Title: "Rounds needed per height", XLabel: "rounds (count)", YLabel: "heights (count)",
				Caption: "Most heights should decide in round 1; heights needing more rounds show proposers that were slow, silent, partitioned or equivocating."})
		}
	} else {
		fig("blocks_mined", float64(res.Mined), "", "blocks mined, main chain and stale", "", false)
		fig("stale_rate", res.StaleRate, "", "share of mined blocks that ended off the main chain", metrics.Lower, true)
		fig("fork_rate", res.ForkRate, "", "share of main-chain heights that also had a stale block", metrics.Lower, false)
		fig("reorgs", float64(res.Reorgs), "", "tip switches seen by nodes", metrics.Lower, false)
		fig("max_reorg_depth", float64(res.MaxReorg), "blocks", "deepest tip switch", metrics.Lower, false)
	}
	if res.Ledger != nil {
		ledgerSummary(run, res)
	}
	for i, part := range p.Partitions {
		during := len(res.CommittedIn(part.From, part.Until))
		fig(fmt.Sprintf("partition_%d_heights_during", i+1), float64(during), "",
			fmt.Sprintf("heights finalized while partition %d (%v–%v) lasted", i+1, part.From, part.Until), "", true)
		resume := -1.0 // no commit after the heal within the run
		rounds := -1.0
		if after := res.CommittedIn(part.Until, protocol.Time(p.Until)); len(after) > 0 {
			resume = after[0].First.Sub(part.Until).Seconds()
			rounds = float64(after[0].Round + 1)
		}
		fig(fmt.Sprintf("partition_%d_resume_s", i+1), resume, "s",
			fmt.Sprintf("time from the heal of partition %d to the next finalized height (-1: none before the run ended)", i+1), metrics.Lower, true)
		fig(fmt.Sprintf("partition_%d_resume_rounds", i+1), rounds, "",
			fmt.Sprintf("rounds the first height after the heal of partition %d took", i+1), metrics.Lower, false)
	}
	cdf := []string{Finality.Key()}
	names := []string{"validators"}
	if p.Followers > 0 {
		cdf = append(cdf, FollowerFinality.Key())
		names = append(names, "followers")
	}
	plots := []metrics.Plot{{Kind: metrics.PlotCDF, Data: cdf, Names: names, LogX: true,
		Title:  "Time to finality",
		XLabel: "time from proposal to commit (ms, log scale)", YLabel: "commits (fraction)",
		Caption: "Each point is the share of (node, height) commits final by then; the log axis keeps the tail in view. Look at the tail: it grows with rounds lost to timeouts and partitions, and with followers far from the validators."},
		{Kind: metrics.PlotCDF, Data: []string{BlockInterval.Key()}, LogX: true,
			Title: "Block interval", XLabel: "time between consecutive commits (ms, log scale)", YLabel: "intervals (fraction)",
			Caption: "The interval is the commit timeout plus a round's latency; a long tail means heights that needed extra rounds, or a halt."},
	}
	if addHeightSeries(run, res) {
		var bands []metrics.Band
		for i, part := range p.Partitions {
			bands = append(bands, metrics.Band{FromNs: int64(part.From), UntilNs: int64(part.Until), Label: fmt.Sprintf("partition %d", i+1)})
		}
		caption := "Heights finalized by each moment of the run. A steady slope is a live chain; a flat stretch is a halt."
		if len(bands) > 0 {
			caption += " Shaded: the partitions. Look for the slope flattening while one lasts (no side holds the > 2/3 of stake a commit needs) and resuming after the heal."
		}
		plots = append([]metrics.Plot{{Kind: metrics.PlotSeries, Data: []string{"height"}, Bands: bands,
			Title: "Chain height over time", XLabel: "simulated time (s)", YLabel: "heights finalized (count)", Caption: caption}}, plots...)
	}
	run.Plots = append(plots, run.Plots...)
	return run
}

// addHeightSeries adds the column height (heights finalized by the end of
// each step) to the run's series, and says whether it did.
func addHeightSeries(run *metrics.Run, res *Result) bool {
	s := run.Series
	if s == nil || len(s.Columns) == 0 || s.StepNs <= 0 {
		return false
	}
	n := len(s.Columns[0].Values)
	perStep := make([]float64, n)
	for _, h := range res.Heights {
		if i := int(int64(h.First) / s.StepNs); i < n {
			perStep[i]++
		}
	}
	col := metrics.Column{Key: "height", Help: "heights finalized (by any honest validator or miner) by the end of the step", Values: make(metrics.Floats, n)}
	total := 0.0
	for i, c := range perStep {
		total += c
		col.Values[i] = total
	}
	s.Columns = append(s.Columns, col)
	return true
}
