package runner

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/reports"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/blockprop"
)

// Finding is what a run found, for the head of its report: the three to
// five figures that answer the question its scenario asks, and a sentence
// made from them. It reads the summarized run (means over repetitions),
// so it is a function of the scenario and seed like everything else in
// metrics.json. Keys a run lacks are left out of the figures.
func Finding(sc *scenarios.Scenario, run *metrics.Run) *metrics.Finding {
	f := &finder{run: run, sc: sc}
	var keys []string
	var text string
	switch KindOf(sc) {
	case Consensus:
		keys, text = f.consensus()
	case Market:
		keys, text = f.market()
	case Learning:
		keys, text = f.learning()
	default:
		keys, text = f.gossip()
	}
	out := &metrics.Finding{Text: text}
	for _, k := range keys {
		k = f.key(k)
		if _, ok := run.Figure(k); ok && !slices.Contains(out.Keys, k) {
			out.Keys = append(out.Keys, k)
		}
	}
	if run.Meta.Repetitions > 1 {
		out.Text += fmt.Sprintf(" (Means of %d repetitions; the figures below give their 95%% confidence intervals.)", run.Meta.Repetitions)
	}
	return out
}

// leadPlots puts first the plots that show what the scenario asks (a
// governance vote: the emission and the supply), keeping the others'
// order.
func leadPlots(sc *scenarios.Scenario, run *metrics.Run) {
	var lead []string
	if KindOf(sc) == Market && len(sc.Protocol.Governance.Proposals) > 0 {
		lead = []string{"emission_curve", "supply_curve"}
	}
	rank := func(p metrics.Plot) int {
		for i, k := range lead {
			if slices.Contains(p.Data, k) {
				return i
			}
		}
		return len(lead)
	}
	slices.SortStableFunc(run.Plots, func(a, b metrics.Plot) int { return rank(a) - rank(b) })
}

type finder struct {
	run *metrics.Run
	sc  *scenarios.Scenario
}

// key is the run's name for a figure: surrogate runs label the figures
// a learning curve gave with "surrogate_".
func (f *finder) key(k string) string {
	if _, ok := f.run.Figure(k); !ok {
		if _, ok := f.run.Figure("surrogate_" + k); ok {
			return "surrogate_" + k
		}
	}
	return k
}

// v is a figure's value, NaN where the run lacks it.
func (f *finder) v(key string) float64 {
	if g, ok := f.run.Figure(f.key(key)); ok {
		return g.Value
	}
	return math.NaN()
}

func (f *finder) has(key string) bool { return !math.IsNaN(f.v(key)) }

// ms writes a time in milliseconds for people: "254.8 ms", "30.16 s".
func (f *finder) ms(key string) string { return msText(f.v(key)) }

func msText(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.Abs(v) >= 1000:
		return reports.FormatValue(v/1000) + " s"
	}
	return reports.FormatValue(v) + " ms"
}

// pct writes a fraction as a percentage: "12.3%".
func (f *finder) pct(key string) string { return pctText(f.v(key)) }

func pctText(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return reports.FormatValue(math.Round(v*1000)/10) + "%"
}

// n writes a count or a plain figure.
func (f *finder) n(key string) string { return reports.FormatValue(f.v(key)) }

func plural(n float64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func durText(d scenarios.Duration) string { return time.Duration(d).String() }

func (f *finder) consensus() ([]string, string) {
	c := f.sc.Protocol.Consensus
	safety := "safety held (the checker saw no two blocks final at one height, no broken chain, no tokens lost)"
	if fails := f.v("invariant_failures"); fails > 0 {
		safety = fmt.Sprintf("safety broke: the checker saw %s %s", f.n("invariant_failures"), plural(fails, "violation", "violations"))
	}
	finality := fmt.Sprintf("a block was final in %s at the median and %s at p99", f.ms("finality_ms_p50"), f.ms("finality_ms_p99"))
	if c.Engine == "longest_chain" {
		keys := []string{"finality_ms_p50", "finality_ms_p99", "stale_rate", "max_reorg_depth", "heights_finalized"}
		how := "proof of work, hash power from the GPU classes"
		if c.LongestChain.Mining == "stake" {
			how = "a stake lottery"
		}
		return keys, fmt.Sprintf("Longest chain (%s, final at %d confirmations): %s; %s of the mined blocks went stale and the deepest reorg was %s %s; %s.",
			how, c.LongestChain.Confirmations, finality, f.pct("stale_rate"), f.n("max_reorg_depth"), plural(f.v("max_reorg_depth"), "block", "blocks"), safety)
	}
	var keys []string
	var parts []string
	for i, p := range f.sc.Network.Partitions {
		stem := fmt.Sprintf("partition_%d_", i+1)
		during, resume := f.v(stem+"heights_during"), f.v(stem+"resume_s")
		if math.IsNaN(during) {
			continue
		}
		keys = append(keys, stem+"heights_during", stem+"resume_s")
		s := fmt.Sprintf("during partition %d (%s–%s) %s %s finalized", i+1, durText(p.From), durText(p.Until), f.n(stem+"heights_during"), plural(during, "height was", "heights were"))
		if during == 0 {
			s = fmt.Sprintf("partition %d (%s–%s) halted commits", i+1, durText(p.From), durText(p.Until))
		}
		switch {
		case resume < 0:
			s += ", and no height was finalized after the heal before the run ended"
		case !math.IsNaN(resume):
			s += fmt.Sprintf(", which resumed %s after the heal", msText(1000*resume))
		}
		parts = append(parts, s)
	}
	byz := f.v("byzantine_validators")
	if byz > 0 {
		keys = append([]string{"byzantine_validators", "invariant_failures"}, keys...)
		kinds := make([]string, 0, len(f.sc.Adversaries))
		for _, a := range f.sc.Adversaries {
			kinds = append(kinds, strings.ReplaceAll(a.Kind, "_", " "))
		}
		parts = append([]string{fmt.Sprintf("%s of %s validators attacked (%s)", f.n("byzantine_validators"), f.n("validators"), strings.Join(kinds, ", "))}, parts...)
	}
	if f.has("tx_per_s") {
		keys = append(keys, "tx_per_s")
		parts = append(parts, fmt.Sprintf("the ledger committed %s transfers per second", reports.FormatValue(f.v("tx_per_s"))))
	}
	keys = append(keys, "finality_ms_p50", "finality_ms_p99", "invariant_failures", "heights_finalized", "block_interval_ms_p50")
	lead := fmt.Sprintf("%s BFT validators", f.n("validators"))
	if fol := f.v("followers"); fol > 0 {
		lead += fmt.Sprintf(" and %s followers", f.n("followers"))
	}
	parts = append(parts, finality, fmt.Sprintf("%s %s were finalized", f.n("heights_finalized"), plural(f.v("heights_finalized"), "height", "heights")), safety)
	return f.firstFive(keys), lead + ": " + joinClauses(parts) + "."
}

// joinClauses joins clauses with semicolons, the first capitalized only
// where it starts the sentence (the caller's lead ends in a colon).
func joinClauses(parts []string) string { return strings.Join(parts, "; ") }

func (f *finder) market() ([]string, string) {
	keys, text := f.marketCore()
	if f.sc.Protocol.Market.Settlement == "chain" {
		keys = append(keys, "wait_post_commit_ms_p50", "chain_finality_ms_p50")
		text += fmt.Sprintf(" Everything settled on a %s-validator BFT chain: its blocks were final %s after their proposal (median), and a job's escrow committed %s after its post.",
			f.n("chain_validators"), f.ms("chain_finality_ms_p50"), f.ms("wait_post_commit_ms_p50"))
	}
	return keys, text
}

// marketCore is the market's finding whatever it settles on.
func (f *finder) marketCore() ([]string, string) {
	sc := f.sc
	kinds := map[string]bool{}
	for _, a := range sc.Adversaries {
		kinds[a.Kind] = true
	}
	scheme := sc.Protocol.Verification.Scheme
	switch {
	case kinds["lazy"] || kinds["free_rider"]:
		check := scheme
		if scheme == "spot_check" {
			check = "spot checks at p = " + reports.FormatValue(float64(sc.Protocol.Verification.SpotCheck))
		}
		return []string{"detection_rate", "bad_results_accepted", "time_to_detect_s_mean", "verification_overhead", "throughput_units_per_s"},
			fmt.Sprintf("Of %s providers that faked results, %s caught and slashed %s, after %s on average; %s bad %s accepted before that, and verification cost %s of the useful arithmetic.",
				f.n("cheaters"), strings.ReplaceAll(check, "_", " "), f.pct("detection_rate"), msText(1000*f.v("time_to_detect_s_mean")),
				f.n("bad_results_accepted"), plural(f.v("bad_results_accepted"), "result was", "results were"), f.pct("verification_overhead"))
	case kinds["sybil"]:
		return []string{"sybil_gain", "reward_per_work_jain", "throughput_units_per_s", "unit_completion_ms_p50"},
			fmt.Sprintf("A Sybil attacker splitting one GPU into identities earned %s× what an honest provider of the same class earned (1 means no gain); rewards per verified FLOP have Jain's index %s.",
				f.n("sybil_gain"), f.n("reward_per_work_jain"))
	case kinds["colluding_validators"]:
		return []string{"colluders_caught", "bad_results_checked", "honest_validators_jailed", "bad_results_accepted"},
			fmt.Sprintf("Colluding validators approved %s bad %s; %s of them were caught, and %s honest %s jailed by mistake.",
				f.n("bad_results_checked"), plural(f.v("bad_results_checked"), "result", "results"), f.n("colluders_caught"),
				f.n("honest_validators_jailed"), plural(f.v("honest_validators_jailed"), "validator was", "validators were"))
	case len(sc.Protocol.Governance.Proposals) > 0:
		pp := sc.Protocol.Governance.Proposals[0]
		var ch []string
		for _, c := range pp.Changes {
			ch = append(ch, c.Key+" to "+c.Value)
		}
		outcome := "passed"
		switch {
		case f.v("proposals_passed") == 0 && f.v("proposals_no_quorum") > 0:
			outcome = "missed quorum"
		case f.v("proposals_passed") == 0:
			outcome = "did not pass"
		}
		return []string{"proposals_passed", "param_changes", "turnout_percent_mean", "minted_tokens", "supply_burned_tokens"},
			fmt.Sprintf("The proposal at height %d to set %s %s (%s yes, turnout %s%%); %s parameter %s took effect, and %s tokens were minted and %s burned over %s blocks.",
				pp.Height, strings.Join(ch, ", "), outcome, scenarios.Share(pp.Yes).String(), f.n("turnout_percent_mean"),
				f.n("param_changes"), plural(f.v("param_changes"), "change", "changes"), f.n("minted_tokens"), f.n("supply_burned_tokens"), f.n("blocks"))
	}
	text := fmt.Sprintf("Under %s scheduling, providers verified %s work units per second (median unit %s); rewards per verified FLOP have Jain's index %s and Gini %s.",
		strings.ReplaceAll(sc.Protocol.Market.Scheduler, "_", "-"), reports.FormatValue(f.v("throughput_units_per_s")), f.ms("unit_completion_ms_p50"),
		f.n("reward_per_work_jain"), f.n("reward_per_work_gini"))
	if g := f.run.Group("profit_usd_per_gpu_hour_by_class"); g != nil && len(g.Sets) > 0 && len(g.Labels) > 1 {
		lo, hi := extremes(g.Sets[0].Values)
		text += fmt.Sprintf(" Profit per GPU-hour after electricity runs from %s (%s) to %s (%s).",
			usd(g.Sets[0].Values[lo]), g.Labels[lo], usd(g.Sets[0].Values[hi]), g.Labels[hi])
	}
	return []string{"reward_per_work_jain", "reward_per_work_gini", "throughput_units_per_s", "unit_completion_ms_p50", "earnings_per_capacity_jain"}, text
}

// extremes are the indexes of the smallest and largest defined values.
func extremes(vs []float64) (lo, hi int) {
	lo, hi = -1, -1
	for i, v := range vs {
		if math.IsNaN(v) {
			continue
		}
		if lo < 0 || v < vs[lo] {
			lo = i
		}
		if hi < 0 || v > vs[hi] {
			hi = i
		}
	}
	return max(lo, 0), max(hi, 0)
}

func usd(v float64) string {
	if v < 0 {
		return "−$" + strconv.FormatFloat(-v, 'f', 3, 64)
	}
	return "$" + strconv.FormatFloat(v, 'f', 3, 64)
}

func (f *finder) learning() ([]string, string) {
	l := f.sc.Protocol.Learning
	rule := l.Aggregation
	var attack string
	var share string
	for _, a := range f.sc.Adversaries {
		if a.Kind == "colluding_validators" || a.Kind == "lying_aggregator" {
			continue
		}
		attack = a.Kind
		share = scenarios.Share(a.Share).String()
		if a.Count > 0 {
			share = strconv.Itoa(a.Count)
		}
	}
	acc := fmt.Sprintf("%s aggregation reached %s test accuracy", rule, f.pct("accuracy_final"))
	var cmp []string
	if f.has("accuracy_clean_final") {
		cmp = append(cmp, fmt.Sprintf("%s points below the clean run (%s)", reports.FormatValue(math.Round(f.v("accuracy_drop")*1000)/10), f.pct("accuracy_clean_final")))
	}
	if f.has("accuracy_centralized") {
		cmp = append(cmp, fmt.Sprintf("%s points below the centralized baseline (%s)", reports.FormatValue(math.Round((f.v("accuracy_centralized")-f.v("accuracy_final"))*1000)/10), f.pct("accuracy_centralized")))
	}
	if len(cmp) > 0 {
		acc += ", " + strings.Join(cmp, " and ")
	}
	keys := []string{"accuracy_final", "accuracy_clean_final", "accuracy_drop", "accuracy_centralized"}
	var lead, tail string
	switch attack {
	case "":
		lead = fmt.Sprintf("Without attackers, %s learners training an %s: ", f.n("learners"), l.Model)
	case "label_flip":
		lead = fmt.Sprintf("With %s of the learners flipping labels: ", share)
		keys = append([]string{"attack_success_rate_mean"}, keys...)
		tail = fmt.Sprintf("; the poison's own measure, the targeted rows read as the attackers' class, averaged %s over the second half of the rounds", f.pct("attack_success_rate_mean"))
	case "free_rider", "sybil":
		lead = fmt.Sprintf("With %s %s learners: ", share, strings.ReplaceAll(attack, "_", " "))
		keys = append([]string{"attacker_token_share", "attacker_node_share"}, keys...)
	default: // untargeted: the attack's success is the accuracy it costs
		lead = fmt.Sprintf("With %s of the learners sending %s updates: ", share, strings.ReplaceAll(attack, "_", "-"))
		keys = []string{"accuracy_drop", "accuracy_final", "accuracy_clean_final", "accuracy_centralized"}
	}
	if f.has("attacker_token_share") && attack != "" {
		tail += fmt.Sprintf("; attackers were paid %s of the training reward for %s of the identities", f.pct("attacker_token_share"), f.pct("attacker_node_share"))
		keys = append(keys, "attacker_token_share")
	}
	if f.has("dp_epsilon") {
		keys = append(keys, "dp_epsilon", "dp_accuracy_cost")
		tail += fmt.Sprintf("; differential privacy gives ε = %s and costs %s points of accuracy", f.n("dp_epsilon"), reports.FormatValue(math.Round(f.v("dp_accuracy_cost")*1000)/10))
	}
	if src := f.run.Meta.Params["accuracy_source"]; src != "" {
		tail += " (accuracy from the surrogate learning curve, not measured)"
	}
	keys = append(keys, "round_time_ms", "learners")
	return f.firstFive(keys), lead + acc + tail + "."
}

// firstFive are the first five of keys that the run has.
func (f *finder) firstFive(keys []string) []string {
	var out []string
	for _, k := range keys {
		if f.has(k) && len(out) < 5 && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func (f *finder) gossip() ([]string, string) {
	g := f.sc.Protocol.Gossip
	if relays, err := blockprop.Relays(f.sc); err == nil && len(relays) > 1 {
		return f.relays(relays)
	}
	how := map[string]string{"push": "flooded", "announce": "announced and fetched", "compact": "relayed as compact blocks"}[g.Relay]
	text := fmt.Sprintf("Blocks of %s %s over %s nodes reached %s of them; half of the first copies arrived within %s and 99%% within %s; %s of deliveries were duplicates",
		sizeText(int64(g.BlockSize)), how, f.n("nodes"), f.pct("coverage"), f.ms("propagation_ms_p50"), f.ms("propagation_ms_p99"), f.pct("duplicate_share"))
	if g.Relay == "push" {
		text += ", the price of flooding"
	}
	text += "."
	if len(f.sc.Network.Partitions) > 0 || f.sc.Network.Churn != nil {
		text += " Partitions and churn keep some nodes from some blocks: coverage below 100% is theirs."
	}
	return []string{"coverage", "propagation_ms_p50", "propagation_ms_p99", "duplicate_share"}, text
}

// relays is the finding of a run under several relays
// (protocol.gossip.compare): the time to 90% of the nodes, the bytes and
// the duplicates of each.
func (f *finder) relays(rs []gossip.Protocol) ([]string, string) {
	slices.Sort(rs)
	var names, reach, bytes, dups, keys []string
	for _, r := range rs {
		k := func(key string) string { return blockprop.RelayKey(r, key) }
		names = append(names, r.String())
		reach = append(reach, f.ms(k("reach90_ms_p50")))
		bytes = append(bytes, bytesText(f.v(k("uplink_bytes_per_node_per_block"))))
		dups = append(dups, f.pct(k("duplicate_share")))
		keys = append(keys, k("reach90_ms_p50"))
	}
	g := f.sc.Protocol.Gossip
	text := fmt.Sprintf("Blocks of %s over %s nodes, relayed by %s: 90%% of the nodes held a block after a median of %s; a block cost each node %s on its uplink; %s of delivered copies were duplicates.",
		sizeText(int64(g.BlockSize)), f.n("nodes"), list(names), list(reach), list(bytes), list(dups))
	return keys, text
}

// bytesText writes a byte count for people: "2.31 MB", "940 kB".
func bytesText(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v >= 1e6:
		return reports.FormatValue(math.Round(v/1e4)/100) + " MB"
	case v >= 1e3:
		return reports.FormatValue(math.Round(v/10)/100) + " kB"
	}
	return reports.FormatValue(math.Round(v)) + " bytes"
}

// list joins a few items as "a, b and c".
func list(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
