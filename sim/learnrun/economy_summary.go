package learnrun

import (
	"math"
	"slices"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/datavalue"
	"github.com/dais-sim/dais/protocol/rewards"
)

// AddEconomy adds the data economy's figures, groups, curves and plots to
// a run's summary (nothing without an economy). It is separate from
// Summary so that the economy's keys stay in one place.
func AddEconomy(run *metrics.Run, res *Result) {
	e := res.Economy
	if e == nil {
		return
	}
	tok := func(base uint64) float64 { return float64(base) / float64(chain.Token) }
	fig := func(key string, v float64, unit, help string, better metrics.Better, head bool) {
		run.Figures = append(run.Figures, metrics.Figure{Key: key, Value: v, Unit: unit, Help: help, Better: better, Headline: head})
	}
	fig("economy_compute_tokens", tok(e.Compute), "tokens", "compute pool paid to learners, by the Yuma consensus of the validators' scores of their updates", "", false)
	fig("economy_data_tokens", tok(e.DataPaid), "tokens", "data pool paid to data providers, by the consensus on their data sets' value times the class bounty (and the human rule)", "", false)
	fig("economy_validation_tokens", tok(e.Validation), "tokens", "validation pool paid to validators, by their Yuma dividends in the consensus each takes part in", "", false)
	fig("economy_treasury_tokens", tok(e.Treasury), "tokens", "the treasury's share of the pots, and pools no one could claim", "", false)
	fig("economy_revenue_tokens", tok(e.Revenue), "tokens", "what requests to the model versions paid into the pots (0 with open access)", "", false)
	fig("economy_requests", float64(e.Requests), "", "requests made to the model versions, counted on the accountant's ledger", "", false)

	var values, loo, truth, reward []float64
	var copyRatio, copyTokens float64 = math.NaN(), 0
	for _, d := range e.Data {
		values = append(values, d.value())
		loo = append(loo, d.LOO)
		truth = append(truth, d.Truth)
		reward = append(reward, float64(d.Tokens))
	}
	for _, d := range e.Data {
		if !d.Copy {
			continue
		}
		copyTokens += tok(d.Tokens)
		if o := e.original(d); o != nil && o.Tokens > 0 {
			copyRatio = max(nanZero(copyRatio), float64(d.Tokens)/float64(o.Tokens))
		}
	}
	fig("data_providers", float64(len(e.Data)), "", "data providers, each registering one data set", "", false)
	fig("data_rows_registered", float64(e.Registered), "rows", "rows the data providers registered", "", false)
	fig("data_rows_duplicate", float64(e.Duplicates), "rows", "registered rows the MinHash/LSH index found to near-duplicate a row registered before them (earn nothing)", "", false)
	fig("data_reward_loo_spearman", datavalue.Spearman(reward, loo), "",
		"Spearman correlation of the data providers' tokens with their leave-one-out value on the validation rows", metrics.Higher, true)
	fig("data_reward_truth_spearman", datavalue.Spearman(reward, truth), "",
		"Spearman correlation of the data providers' tokens with their true value: Shapley value on the 1,797 test rows the protocol never sees", metrics.Higher, true)
	fig("data_shapley_loo_spearman", datavalue.Spearman(values, loo), "", "Spearman correlation of the measured Shapley values with leave-one-out values", "", false)
	fig("data_shapley_mc_error_max", e.MCMaxErr, "", "largest |Monte Carlo − exact Shapley| over providers, over the mean |exact| (NaN unless exact was computed: providers ≤ valuation.exact)", metrics.Lower, false)
	fig("data_shapley_mc_error_rms", e.MCRMSErr, "", "root mean square of Monte Carlo − exact Shapley, over the mean |exact| (NaN unless exact was computed)", metrics.Lower, false)
	fig("data_valuation_trainings", float64(e.Trainings), "", "models trained to value the data (one per coalition evaluated)", "", false)
	fig("data_copy_tokens", copyTokens, "tokens", "tokens earned by providers that registered a copy of another's data set", metrics.Lower, false)
	fig("data_copy_earnings_ratio", copyRatio, "", "the most a copying provider earned over what the provider it copied earned (NaN without copies)", metrics.Lower, true)

	var lazyTokens, computeTokens float64
	for _, l := range e.Learners {
		computeTokens += float64(l.Tokens)
		if l.Lazy {
			lazyTokens += float64(l.Tokens)
		}
	}
	fig("compute_lazy_token_share", lazyTokens/max(computeTokens, 1), "", "lazy learners' (free riders') share of the compute pool", metrics.Lower, false)
	fig("cabal_compute_share_before_clipping", e.CabalComputeBefore, "", "the colluders' inflated learners' share of the compute weight before Yuma clipping (prerank)", "", false)
	fig("cabal_compute_share_after_clipping", e.CabalComputeAfter, "", "their share after clipping (incentive): what they are paid by", metrics.Lower, true)
	fig("cabal_data_share_before_clipping", e.CabalDataBefore, "", "the cabal's data sets' share of the objective data weight before clipping", "", false)
	fig("cabal_data_share_after_clipping", e.CabalDataAfter, "", "their share after clipping", metrics.Lower, false)
	fig("cabal_validator_stake_share", e.CabalStake, "", "colluding validators' share of the automated validators' stake", "", false)
	fig("cabal_validator_earned_share", e.CabalEarned, "", "their share of what the automated validators earned: below their stake share when clipping cuts their bonds", metrics.Lower, true)

	var perStake, trust []float64
	var humanTokens, humanCost float64
	checks := 0
	for _, v := range e.Validators {
		if v.Stake > 0 {
			perStake = append(perStake, float64(v.Tokens)/float64(v.Stake))
			trust = append(trust, v.Trust)
		}
		if v.Human {
			humanTokens += tok(v.Tokens)
			humanCost += tok(v.Cost)
			checks += v.Checked
		}
	}
	fig("validator_reward_trust_spearman", datavalue.Spearman(perStake, trust), "",
		"Spearman correlation of validators' tokens per unit of stake with their trust (the share of their weight that survived clipping)", metrics.Higher, false)
	if checks > 0 {
		fig("human_validator_tokens", humanTokens, "tokens", "tokens paid to human validators", "", false)
		fig("human_validator_cost_tokens", humanCost, "tokens", "what the human validators' checks cost them", "", false)
		fig("human_checks", float64(checks), "", "rows human validators checked", "", false)
	}
	fig("economy_versions", float64(e.Versions), "", "model versions on the accountant's ledger, each committed with its parent's hash", "", false)
	lin := 0.0
	if e.Lineage {
		lin = 1
	}
	fig("economy_lineage_ok", lin, "", "1 when the newest version walks back to the root through parents the ledger checked, one per version", metrics.Higher, false)

	addEconomyGroups(run, res)
}

// value is what the provider's rewards were computed from: exact
// Shapley when computed, else the Monte Carlo estimate.
func (d DataResult) value() float64 {
	if !math.IsNaN(d.Exact) {
		return d.Exact
	}
	return d.Shapley
}

// original is the provider whose data set d copies, or nil.
func (e *EconomyResult) original(d DataResult) *DataResult {
	i := slices.IndexFunc(e.Data, func(o DataResult) bool { return d.Copy && o.ID == d.Source })
	if i < 0 {
		return nil
	}
	return &e.Data[i]
}

func nanZero(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

// kind is a contributor kind for the tokens-by-kind bars.
type kind struct {
	label  string
	tokens float64
	nodes  int
}

func addEconomyGroups(run *metrics.Run, res *Result) {
	e := res.Economy
	tok := func(base uint64) float64 { return float64(base) / float64(chain.Token) }
	var kinds []kind
	add := func(label string, t uint64) {
		i := slices.IndexFunc(kinds, func(k kind) bool { return k.label == label })
		if i < 0 {
			kinds = append(kinds, kind{label: label})
			i = len(kinds) - 1
		}
		kinds[i].tokens += tok(t)
		kinds[i].nodes++
	}
	for _, l := range e.Learners {
		if l.Lazy {
			add("lazy", l.Tokens)
		} else {
			add("learners", l.Tokens)
		}
	}
	for _, d := range e.Data {
		add(d.Group, d.Tokens)
	}
	for _, v := range e.Validators {
		switch {
		case v.Human:
			add(v.Group, v.Tokens)
		case v.Colluder:
			add("colluders", v.Tokens)
		default:
			add("validators", v.Tokens)
		}
	}
	byKind := metrics.Group{Key: "economy_tokens_by_kind", Unit: "tokens",
		Help: "tokens paid to each kind of contributor over the run, in all and per node: learners and lazy learners (compute), each data provider group, honest and colluding validators, each human validator group"}
	total, per := metrics.BarSet{Name: "all nodes"}, metrics.BarSet{Name: "per node"}
	for _, k := range kinds {
		byKind.Labels = append(byKind.Labels, k.label)
		total.Values = append(total.Values, k.tokens)
		per.Values = append(per.Values, k.tokens/float64(k.nodes))
	}
	byKind.Sets = []metrics.BarSet{total, per}

	// Data groups: share of the data tokens against share of the positive
	// measured value and of the positive true value.
	var groups []string
	for _, d := range e.Data {
		if !slices.Contains(groups, d.Group) {
			groups = append(groups, d.Group)
		}
	}
	var sumTok, sumVal, sumTrue float64
	for _, d := range e.Data {
		sumTok += float64(d.Tokens)
		sumVal += max(d.value(), 0)
		sumTrue += max(d.Truth, 0)
	}
	share := func(x, of float64) float64 {
		if of == 0 {
			return 0
		}
		return x / of
	}
	dv := metrics.Group{Key: "economy_data_value", Unit: "share", Labels: groups,
		Help: "each data group's share of the data tokens, of the positive measured value (Shapley on validation rows) and of the positive true value (Shapley on test rows)"}
	perValue := metrics.Group{Key: "economy_reward_per_value", Unit: "tokens", Labels: groups,
		Help: "tokens per unit of measured value (Shapley gain in validation cross-entropy, nats) and per unique row, per data group"}
	ts, vs, tr := metrics.BarSet{Name: "tokens"}, metrics.BarSet{Name: "measured value"}, metrics.BarSet{Name: "true value"}
	pv, pr := metrics.BarSet{Name: "per unit of value"}, metrics.BarSet{Name: "per unique row"}
	for _, g := range groups {
		var t, v, u float64
		rows := 0
		for _, d := range e.Data {
			if d.Group == g {
				t += float64(d.Tokens)
				v += max(d.value(), 0)
				u += max(d.Truth, 0)
				rows += d.Unique
			}
		}
		ts.Values = append(ts.Values, share(t, sumTok))
		vs.Values = append(vs.Values, share(v, sumVal))
		tr.Values = append(tr.Values, share(u, sumTrue))
		pv.Values = append(pv.Values, ratio(t/float64(chain.Token), v))
		pr.Values = append(pr.Values, ratio(t/float64(chain.Token), float64(rows)))
	}
	dv.Sets = []metrics.BarSet{ts, vs, tr}
	perValue.Sets = []metrics.BarSet{pv, pr}

	cabal := metrics.Group{Key: "economy_cabal_shares", Unit: "share",
		Labels: []string{"compute consensus", "data consensus", "validators"},
		Help:   "the cabal's share before clipping (weight given: prerank; validators: stake) and after (incentive paid; validators: share of what the automated validators earned)",
		Sets: []metrics.BarSet{
			{Name: "before clipping", Values: metrics.Floats{e.CabalComputeBefore, e.CabalDataBefore, e.CabalStake}},
			{Name: "after clipping", Values: metrics.Floats{e.CabalComputeAfter, e.CabalDataAfter, e.CabalEarned}}}}
	run.Groups = append(run.Groups, byKind, dv, perValue, cabal)

	x := make(metrics.Floats, len(e.Rounds))
	lines := [4]metrics.Line{{Name: "compute"}, {Name: "data"}, {Name: "validation"}, {Name: "treasury"}}
	for i, r := range e.Rounds {
		x[i] = float64(r.Round)
		p := r.Payout
		for k, v := range []float64{float64(rewards.Sum(p.Compute)), float64(rewards.Sum(p.Data)), float64(rewards.Sum(p.Validators)), float64(p.Treasury)} {
			lines[k].Y = append(lines[k].Y, v/float64(chain.Token))
		}
	}
	for k := range lines {
		lines[k].X = x
	}
	run.Curves = append(run.Curves, metrics.Curve{Key: "economy_pools_by_round", XUnit: "round", YUnit: "tokens",
		Help: "tokens each pool paid in each round (the pot: emission plus what requests paid)", Lines: lines[:]})
	run.Plots = append(run.Plots,
		metrics.Plot{Kind: metrics.PlotBars, Data: []string{byKind.Key}, Title: "Tokens by contributor kind",
			XLabel: "contributor kind (name)", YLabel: "tokens paid (tokens)",
			Caption: "Everything the pools paid, by kind of contributor, left to right: compute (learners, lazy learners), each data provider group, validators (honest, colluding), each human validator group. Look for lazy learners, copies and colluders near zero per node, and honest kinds paid by what they bring."},
		metrics.Plot{Kind: metrics.PlotBars, Data: []string{dv.Key}, Title: "Data rewards against data value",
			XLabel: "data provider group (name)", YLabel: "share of the total (fraction)",
			Caption: "Each data group's share of the data tokens beside its share of the measured value (validation rows) and of the true value (test rows, unseen by the protocol). Look for the bars to match; a copy's bars are all zero."},
		metrics.Plot{Kind: metrics.PlotBars, Data: []string{perValue.Key}, Title: "Reward per unit of measured value",
			XLabel: "data provider group (name)", YLabel: "tokens per unit (tokens)",
			Caption: "Tokens per unit of Shapley value and per unique row. The bounty makes rows of the classes the model gets wrong pay more per unit of value; groups whose value is not positive earn nothing."},
		metrics.Plot{Kind: metrics.PlotBars, Data: []string{cabal.Key}, Title: "The cabal before and after Yuma clipping",
			XLabel: "what is shared (name)", YLabel: "cabal's share (fraction)",
			Caption: "What the colluding validators gave their own (before) and what it earned (after). Look for the after bars far below the before bars: weight above the κ-stake consensus is clipped away."},
		metrics.Plot{Kind: metrics.PlotLines, Data: []string{"economy_pools_by_round"}, Title: "Pools paid by round",
			XLabel: "federated round (index)", YLabel: "tokens paid (tokens)",
			Caption: "Each round's pot split into the pools by their shares; a pool no one can claim goes to the treasury. Paid requests raise the pot."})
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return a / b
}
