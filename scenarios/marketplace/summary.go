package marketplace

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
)

// Summary turns a finished run into the figures, groups, curves, series
// and plots that reports read. Meta.Scenario is "marketrun"; the caller
// sets the scenario's name, hash and text, Version and GoVersion.
func Summary(res *Result) *metrics.Run {
	p := res.Params
	run := res.rec.Summary(int64(res.End))
	run.Meta = metrics.Meta{Scenario: "marketrun", Params: params(p), Seed: p.Seed, Repetitions: 1, SimEndNs: int64(res.End)}
	tok := func(x uint64) float64 { return float64(x) / float64(rewards.Token) }
	head := map[string]bool{"unit_completion_ms_p50": true, "unit_completion_ms_p99": true}
	for i := range run.Figures {
		run.Figures[i].Headline = head[run.Figures[i].Key]
	}
	f := func(key string, v float64, unit, help string, better metrics.Better, headline bool) metrics.Figure {
		return metrics.Figure{Key: key, Value: v, Unit: unit, Help: help, Better: better, Headline: headline}
	}
	var providers, validators, requesters int
	for _, n := range res.Nodes {
		switch n.Role {
		case Provider:
			providers++
		case Validator:
			validators++
		case Requester:
			requesters++
		}
	}
	detect := quantiles(durationsS(res.DetectTimes))
	figs := metrics.Figures{
		f("providers", float64(providers), "", "provider nodes (Sybil identities included)", "", false),
		f("validators", float64(validators), "", "validator nodes", "", false),
		f("requesters", float64(requesters), "", "requester nodes", "", false),
		f("jobs_posted", float64(res.Posted), "", "jobs requesters posted", "", false),
		f("jobs_done", float64(res.Jobs(market.Done)), "", "jobs whose every unit was resolved (verified or failed)", metrics.Higher, false),
		f("jobs_expired", float64(res.Jobs(market.Expired)), "", "jobs stopped by their deadline", metrics.Lower, false),
		f("jobs_cancelled", float64(res.Jobs(market.Cancelled)), "", "jobs cancelled by their requester or at the run's end", "", false),
		f("jobs_refused", float64(res.Refused), "", "job posts the ledger refused", metrics.Lower, false),
		f("throughput_units_per_s", res.Throughput, "units_per_s", "verified work units per second of the run", metrics.Higher, true),
		f("job_completion_ms_p50", res.JobLatency.P50, "ms", "median time from a done job's post to its settlement", metrics.Lower, false),
		f("job_completion_ms_p95", res.JobLatency.P95, "ms", "p95 time from a done job's post to its settlement", metrics.Lower, false),
		f("queue_wait_ms_mean", res.QueueWait.Mean, "ms", "mean time a unit replica waited in the committee's queue for a provider", metrics.Lower, false),
		f("queue_wait_ms_p50", res.QueueWait.P50, "ms", "median time a unit replica waited in the committee's queue for a provider", metrics.Lower, false),
		f("queue_wait_ms_p95", res.QueueWait.P95, "ms", "p95 time a unit replica waited in the committee's queue for a provider", metrics.Lower, false),
		f("queue_wait_ms_p99", res.QueueWait.P99, "ms", "p99 time a unit replica waited in the committee's queue for a provider", metrics.Lower, false),
		f("queue_length_mean", res.QueueLength, "", "replicas waiting in the committee's queue, averaged over the run (Little's law: queue_arrivals_per_s × queue_wait_ms_mean ÷ 1000)", metrics.Lower, false),
		f("queue_arrivals_per_s", res.QueueArrivals, "", "replicas entering the committee's queue per second of the run", "", false),
	}
	figs = append(figs, waitFigures("wait_post_start", "a unit's wait from its post (its job's; a session unit's release) to its first replica starting on a GPU", res.PostStart)...)
	figs = append(figs, waitFigures("wait_post_commit", "a job's wait from its post to its escrow committing on chain", res.PostCommit)...)
	figs = append(figs, waitFigures("wait_commit_start", "a unit's wait from its job's escrow committing to its first replica starting (negative: started first, under continuous matching)", res.CommitStart)...)
	figs = append(figs, waitFigures("settle", "a job's wait from its end (done, expired, cancelled) to its settlement committing", res.Settle)...)
	if p.Settlement == SettleChain {
		figs = append(figs, f("chain_validators", float64(p.ChainValidators), "", "BFT validators of the chain the market settles on", "", false))
		figs = append(figs, waitFigures("chain_finality", "a block's time from its proposal to its commit at the committee's validator (BFT)", res.Finality)...)
	}
	figs = append(figs, metrics.Figures{
		f("result_commit_ms_mean", 1000*res.Load.ResultCommitWait/float64(res.Load.ResultsCommitted), "ms", "mean time from a result's arrival to its commitment (own transaction, or its batch's root) on chain", metrics.Lower, false),
		f("result_batches", float64(res.Load.Batches), "", "batches of results committed by their Merkle root (continuous matching)", "", false),
		f("makespan_s", res.Makespan, "s", "time from the first job post to the last unit verified", metrics.Lower, false),
		f("chain_bytes", float64(res.ChainBytes), "bytes", "encoded size of the committed blocks", metrics.Lower, false),
		f("network_bytes", float64(res.BytesSent), "bytes", "bytes the network carried: every message's encoded size, unit input and output included", "", false),
		f("useful_flops", res.UsefulFLOPs, "flops", "arithmetic of one replica of every correctly verified unit", metrics.Higher, false),
		f("verification_flops", res.VerificationFLOPs, "flops", "arithmetic spent verifying: validators' re-execution and every further replica of verified units", "", false),
		f("verification_overhead", res.Overhead, "", "verification FLOPs ÷ useful FLOPs", metrics.Lower, true),
		f("faked_units", float64(res.FakedUnits), "", "results lazy providers and free riders faked (ground truth)", "", false),
		f("bad_results_accepted", float64(res.BadAccepted), "", "verified units whose accepted result was not the honest one", metrics.Lower, true),
		f("cheaters", float64(res.Lazy), "", "lazy providers and free riders that faked at least one result", "", false),
		f("cheaters_detected", float64(res.Detected), "", "of those, proven to cheat (slashed)", metrics.Higher, false),
		f("detection_rate", res.DetectionRate, "", "cheaters detected ÷ cheaters", metrics.Higher, true),
		f("time_to_detect_s_mean", detect.Mean, "s", "mean time from a cheater's first fake to its first proof", metrics.Lower, false),
		f("time_to_detect_s_max", detect.Max, "s", "longest time from a cheater's first fake to its first proof", metrics.Lower, false),
		f("frauds_lazy_work", float64(res.Frauds[rewards.LazyWork]), "", "lazy work proven (each caught result)", "", false),
		f("frauds_false_approval", float64(res.Frauds[rewards.FalseApproval]), "", "false approvals proven against validators", "", false),
		f("ring_approvals", float64(res.RingApprovals), "", "approvals colluding validators gave without re-executing (ground truth)", "", false),
		f("bad_results_checked", float64(res.BadChecked), "", "bad results a validator panel re-executed and approved (collusion)", metrics.Lower, false),
		f("colluders_caught", float64(res.ColludersCaught), "", "colluding validators proven to have given a false verdict", metrics.Higher, false),
		f("honest_validators_jailed", float64(res.HonestJailed), "", "honest validators outvoted by colluders in a panel and slashed (false positives)", metrics.Lower, false),
		f("sybil_gain", res.SybilGain, "", "earnings of a Sybil attacker's k identities on one GPU ÷ mean earnings of an honest provider of the same GPU class", metrics.Lower, true),
		f("earnings_per_capacity_jain", res.JainEarningsPerCapacity, "", "Jain's index of honest providers' earnings per online TFLOPS-hour (idle providers count)", metrics.Higher, false),
		f("energy_kwh", res.EnergyKWh, "kwh", "energy of providers and validators: TDP while busy, idle power while online and idle", "", false),
		f("energy_per_unit_kwh", res.EnergyPerUnitKWh, "kwh", "energy ÷ verified units", metrics.Lower, true),
		f("minted_tokens", tok(res.Minted), "tokens", "tokens the emission schedule minted during the run", "", false),
		f("burned_tokens", tok(res.Burned), "tokens", "tokens burned: fee burns and slashes", "", false),
		f("inflation_yearly", yearlyInflation(res), "", "net issuance (minted − burned) over the run ÷ the genesis supply, scaled linearly to a year of 365 days", "", false),
		f("escrowed_tokens", tok(res.Budgets), "tokens", "budgets of the jobs settled (all of them: every job is closed by the end)", "", false),
		f("paid_providers_tokens", tok(res.PaidProviders), "tokens", "escrow paid to providers as their share of job fees", "", false),
		f("fee_pot_tokens", tok(res.Pot), "tokens", "escrow paid into the reward pool", "", false),
		f("fee_burned_tokens", tok(res.FeesBurned), "tokens", "escrow burned as the fee burn", "", false),
		f("refunded_tokens", tok(res.Refunds), "tokens", "escrow returned to requesters", "", false),
		f("escrow_left_tokens", tok(res.EscrowLeft), "tokens", "escrow still held at the end (0: every token accounted for)", metrics.Lower, false),
		f("blocks", float64(len(res.Supply)), "", "blocks committed", "", false),
		f("committee_msgs_in", float64(res.Load.MsgsIn), "", "messages the committee leader received", "", false),
		f("committee_msgs_out", float64(res.Load.MsgsOut), "", "messages the committee leader sent", "", false),
		f("scheduler_decisions", float64(res.Load.Decisions), "", "assignments the scheduler made", "", false),
		f("transactions", float64(res.Load.Txs), "", "transactions the committee built (posts, commitments, settlements, payouts, slashes, governance)", "", false),
		f("assignment_timeouts", float64(res.Timeouts), "", "assignments that timed out and were requeued", metrics.Lower, false),
		f("messages_sent", float64(res.Sent), "", "messages handed to the network model", "", false),
		f("engine_events", float64(res.Events), "", "events the engine took off its queue", "", false),
	}...)
	figs = append(figs, res.sealing.figures()...)
	run.Figures = append(figs, run.Figures...)
	run.AddFairness("reward_per_work", "honest providers' work rewards (fee shares and compute rewards) per verified FLOP", res.RewardPerWork)
	for i := range run.Figures {
		if run.Figures[i].Key == "reward_per_work_jain" {
			run.Figures[i].Headline = true
		}
	}

	// Per class.
	var labels []string
	sets := map[string]*[]float64{}
	for _, k := range []string{"p50", "p95", "p99", "util", "earn", "elec", "profit", "rpw"} {
		v := []float64{}
		sets[k] = &v
	}
	for _, c := range res.Classes {
		labels = append(labels, c.Class)
		for k, v := range map[string]float64{"p50": c.P50, "p95": c.P95, "p99": c.P99, "util": c.Utilization,
			"earn": c.EarningsPerGPUHour, "elec": c.ElectricityUSDPerGPUHour, "profit": c.ProfitUSDPerGPUHour, "rpw": c.RewardPerPFLOP} {
			*sets[k] = append(*sets[k], v)
		}
	}
	group := func(key, unit, help string, names []string, ks ...string) metrics.Group {
		g := metrics.Group{Key: key, Unit: unit, Help: help, Labels: labels}
		for i, k := range ks {
			g.Sets = append(g.Sets, metrics.BarSet{Name: names[i], Values: *sets[k]})
		}
		return g
	}
	if len(labels) > 0 {
		run.Groups = append(run.Groups,
			group("unit_completion_ms_by_class", "ms", "unit completion time (job post → verified) by the GPU class of the accepted provider",
				[]string{"p50", "p95", "p99"}, "p50", "p95", "p99"),
			group("utilization_by_class", "", "busy GPU time ÷ online GPU time of honest providers", []string{"utilization"}, "util"),
			group("earnings_per_gpu_hour_by_class", "tokens", "tokens earned (fees, rewards, staking yield) per online GPU-hour", []string{"earnings"}, "earn"),
			group("electricity_usd_per_gpu_hour_by_class", "usd", "electricity per online GPU-hour at the nodes' regional prices", []string{"electricity"}, "elec"),
			group("profit_usd_per_gpu_hour_by_class", "usd", "earnings at the token price less electricity, per online GPU-hour", []string{"profit"}, "profit"),
			group("reward_per_pflop_by_class", "tokens", "work rewards per PFLOP of verified work", []string{"reward per PFLOP"}, "rpw"),
		)
	}

	// Supply curve and series.
	var hs, supply, emission []float64
	for _, s := range res.Supply {
		hs = append(hs, float64(s.Height))
		supply = append(supply, tok(s.Supply))
		emission = append(emission, tok(s.Emission))
	}
	run.Curves = append(run.Curves,
		metrics.Curve{Key: "supply_curve", XUnit: "height", YUnit: "tokens", Help: "token supply (minted − burned, genesis included) after each block",
			Lines: []metrics.Line{{Name: "supply", X: hs, Y: supply}}},
		metrics.Curve{Key: "emission_curve", XUnit: "height", YUnit: "tokens", Help: "tokens minted in each block: the schedule in force, as governance sets it",
			Lines: []metrics.Line{{Name: "emission", X: hs, Y: emission}}})
	addSeries(run, res)

	run.Plots = []metrics.Plot{
		{Kind: metrics.PlotCDF, Data: []string{market.Completion.Key()}, LogX: true,
			Title: "Work units: share verified by time since the job's post", XLabel: "time from post to verified (ms, log scale)", YLabel: "units verified (fraction)",
			Caption: "Each point is the share of verified units whose result was accepted by then. Look at the tail: slow GPUs, verification re-runs and requeued timeouts stretch it."},
		{Kind: metrics.PlotLines, Data: []string{"supply_curve"},
			Title: "Token supply by block", XLabel: "block height (blocks)", YLabel: "supply (tokens)",
			Caption: "Minted less burned after every block. Look for the slope changing where a governance proposal changes the emission rate; fee burns and slashes pull it down."},
	}
	if len(p.Proposals) > 0 {
		run.Plots = append(run.Plots, metrics.Plot{Kind: metrics.PlotLines, Data: []string{"emission_curve"},
			Title: "Emission per block", XLabel: "block height (blocks)", YLabel: "minted per block (tokens)",
			Caption: "The emission schedule in force at each block. Look for the step where a governance proposal takes effect: its activation height."})
	}
	if len(labels) > 0 {
		var cols []string
		for _, l := range labels {
			cols = append(cols, "utilization_"+l)
		}
		run.Plots = append([]metrics.Plot{
			{Kind: metrics.PlotBars, Data: []string{"profit_usd_per_gpu_hour_by_class"},
				Title: "Profit per GPU-hour after electricity, by class", XLabel: "GPU class (name)", YLabel: "profit (USD per GPU-hour)",
				Caption: "Earnings at the token's price less electricity at each node's regional price, per online GPU-hour; with repetitions, whiskers give the 95% confidence interval. Look for classes below zero: their owners pay to take part."},
			{Kind: metrics.PlotHeatmap, Data: cols, Names: labels,
				Title: "GPU utilization by class over time", XLabel: "simulated time (s)", YLabel: "GPU class (name)",
				Caption: "Colour: busy ÷ online GPU time (fraction). Each row is the honest providers of one class; grey is a step with none online. Look for small GPUs idling (dark) while big ones are saturated (light): a scheduler that starves them."},
			{Kind: metrics.PlotLorenz, Data: []string{"reward_per_work_lorenz"},
				Title: "Fairness of rewards per verified FLOP", XLabel: "honest providers, poorest first (fraction)", YLabel: "share of rewards per FLOP (fraction)",
				Caption: "The Lorenz curve of each honest provider's work rewards per verified FLOP, with its Gini coefficient in the legend. On the diagonal every FLOP earns the same; the further below it, the more some providers' work is paid less."},
		}, run.Plots...)
		run.Plots = append(run.Plots,
			metrics.Plot{Kind: metrics.PlotBars, Data: []string{"earnings_per_gpu_hour_by_class"},
				Title: "Earnings per GPU-hour by class", XLabel: "GPU class (name)", YLabel: "earnings (tokens per GPU-hour)",
				Caption: "Rewards pay verified FLOPs, so faster GPUs earn more per hour; look at whether slow classes earn anything at all."})
	}
	return run
}

// yearlyInflation is the run's net issuance as a share of the genesis
// supply, scaled linearly from the simulated time of the last block to 365
// days: the rate a tokenomics designer bounds ("at most 5% a year"). NaN
// without blocks.
func yearlyInflation(res *Result) float64 {
	n := len(res.Supply)
	if n == 0 || res.Supply[n-1].At <= 0 {
		return math.NaN()
	}
	last := res.Supply[n-1]
	net := float64(res.Minted) - float64(res.Burned)
	genesis := float64(last.Supply) - net
	if genesis <= 0 {
		return math.NaN()
	}
	year := float64(365 * 24 * time.Hour)
	return net / genesis * year / float64(last.At)
}

// waitFigures are a wait's mean, p50, p95 and p99 in ms.
func waitFigures(key, what string, q Quantiles) metrics.Figures {
	mk := func(stat string, v float64, help string) metrics.Figure {
		return metrics.Figure{Key: key + "_ms_" + stat, Value: v, Unit: "ms", Help: help + " " + what, Better: metrics.Lower}
	}
	return metrics.Figures{mk("mean", q.Mean, "mean of"), mk("p50", q.P50, "median of"), mk("p95", q.P95, "p95 of"), mk("p99", q.P99, "p99 of")}
}

func durationsS(ds []protocol.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// addSeries adds utilization per class and the supply to the series,
// on the recorder's step.
func addSeries(run *metrics.Run, res *Result) {
	m := res.m
	if run.Series == nil {
		run.Series = &metrics.Series{StepNs: m.stepNs}
	}
	s := run.Series
	n := 0
	if len(s.Columns) > 0 {
		n = len(s.Columns[0].Values)
	}
	factor := int(max(s.StepNs/m.stepNs, 1))
	if n == 0 {
		n = (m.steps + factor - 1) / factor
	}
	rebin := func(v []float64) []float64 {
		out := make([]float64, n)
		for i, x := range v {
			if j := i / factor; j < n {
				out[j] += x
			}
		}
		return out
	}
	for c, name := range m.classes {
		busy, on := rebin(m.busySeries[c]), rebin(m.onSeries[c])
		u := make(metrics.Floats, n)
		for i := range u {
			u[i] = math.NaN()
			if on[i] > 0 {
				u[i] = busy[i] / on[i]
			}
		}
		s.Columns = append(s.Columns, metrics.Column{Key: "utilization_" + name, Help: "busy ÷ online GPU time of honest " + name + " providers, per step", Values: u})
	}
	sup := make(metrics.Floats, n)
	for i := range sup {
		sup[i] = math.NaN()
	}
	for _, pt := range res.Supply {
		if j := int(int64(pt.At) / s.StepNs); j < n {
			sup[j] = float64(pt.Supply) / float64(rewards.Token)
		}
	}
	s.Columns = append(s.Columns, metrics.Column{Key: "supply_tokens", Unit: "tokens", Help: "token supply after the last block of each step", Values: sup})
}

func params(p *Params) map[string]string {
	var groups []string
	for _, g := range p.Groups {
		groups = append(groups, fmt.Sprintf("%s:%d×%s/%s", g.Name, g.Count, g.GPU, g.Role))
	}
	var adv []string
	for _, a := range p.Adversaries {
		adv = append(adv, fmt.Sprintf("%s:%d/%g", a.Kind, a.Count, a.Share))
	}
	m := map[string]string{
		"groups":       strings.Join(groups, ", "),
		"scheduler":    p.Scheduler.String(),
		"matching":     p.Matching.String(),
		"verification": p.Verify.Scheme.String(),
		"spot_check":   fmt.Sprint(p.Verify.SpotCheck),
		"replicas":     fmt.Sprint(p.Verify.Replicas),
		"adversaries":  strings.Join(adv, ", "),
		"until":        time.Duration(p.Until).String(),
		"drain":        time.Duration(p.Drain).String(),
		"block":        time.Duration(p.BlockInterval).String(),
	}
	if p.Settlement == SettleChain {
		m["settlement"] = fmt.Sprintf("chain (%d BFT validators)", p.ChainValidators)
	}
	return m
}

// DurationQuantiles are the quantiles of ds, in seconds.
func DurationQuantiles(ds []protocol.Duration) Quantiles { return quantiles(durationsS(ds)) }
