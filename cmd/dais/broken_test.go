package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Valid scenarios of each runner that the broken cases start from.
const (
	gossipBase = "run: {name: t, duration: 30s}\npopulation:\n  nodes: 10\n"
	bftBase    = `run: {name: t, duration: 20s}
population:
  nodes: 20
  groups:
    - {name: v, count: 20, stake: "10", roles: [validator]}
protocol:
  consensus: {engine: bft}
`
	marketBase = `run: {name: t, duration: 20s}
population:
  nodes: 6
  groups:
    - {name: p, gpu: rtx4090, count: 4}
    - {name: r, count: 2, balance: "1000", roles: [requester]}
workload:
  arrivals: {process: poisson, rate: 1/s}
  jobs: [{name: j, kind: compute, flops: 1e12, budget: "1"}]
`
	learnBase = `run: {name: t}
population: {nodes: 6, groups: [{name: p, count: 6, roles: [provider]}]}
protocol:
  learning: {rounds: 1, validators: 1, baseline: false}
`
)

// TestBrokenScenarios: dais validate refuses every file dais run refuses,
// with the same exit code (2) and the same located messages
// (file:line:column: key: …), and run starts nothing.
func TestBrokenScenarios(t *testing.T) {
	deep := "run: " + strings.Repeat("[", 40000) + strings.Repeat("]", 40000) + "\n"
	var laughs strings.Builder
	laughs.WriteString(gossipBase + "x0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n")
	for i := 1; i <= 8; i++ {
		laughs.WriteString("x" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [" + strings.Repeat("*a"+string(rune('0'+i-1))+", ", 9) + "*a" + string(rune('0'+i-1)) + "]\n")
	}
	for _, tc := range []struct {
		name, yaml string
		want       []string // located messages, without the file name
	}{
		// The loader: syntax, keys, types, ranges, references.
		{"empty", "", []string{": the file is empty: a scenario needs at least a run section"}},
		{"syntax", "run:\n  name: [t\n", []string{":2:9: YAML syntax: sequence end token ']' not found"}},
		{"a list, not a mapping", "- a\n", []string{":1:1: a scenario is a mapping of sections (run, network, population, …), got a list"}},
		{"unknown section", gossipBase + "netwrok: {loss: 1%}\n", []string{":4:1: netwrok: unknown key (did you mean \"network\"?); the keys here are run, network, population, workload, protocol, adversaries, economics, outputs"}},
		{"unknown nested key", gossipBase + "network: {jiter: 1ms}\n", []string{":4:11: network.jiter: unknown key (did you mean \"jitter\"?); the keys in network are latency, bandwidth, jitter, loss, partitions, churn"}},
		{"missing run", "population: {nodes: 3}\n", []string{":1:1: run: missing; this key is required (The run: its name, seed, length and repetitions)"}},
		{"bad seed", "run: {name: t, seed: x}\npopulation: {nodes: 3}\n", []string{":1:22: run.seed: want a whole number >= 0, got \"x\""}},
		{"duration without unit", "run: {name: t, duration: 90}\npopulation: {nodes: 3}\n", []string{":1:26: run.duration: \"90\" has no unit: write a duration such as 90s or 90ms"}},
		{"loss over range", gossipBase + "network: {loss: 150%}\n", []string{":4:17: network.loss: 150% is out of range: want a value in [0%, 99%]"}},
		{"bad run name", "run: {name: a/b}\npopulation: {nodes: 3}\n", []string{":1:13: run.name: \"a/b\": use letters, digits, '.', '_' and '-' (it names a folder)"}},
		{"unknown GPU class", gossipBase + "  groups: [{name: a, count: 10, gpu: h200}]\n", []string{":4:38: population.groups[0].gpu: unknown GPU class \"h200\" (did you mean \"h100\"?); the catalog has a100, cpu, h100, l40s, rtx3060, rtx3090, rtx4090, t4"}},
		{"unknown region", gossipBase + "  groups: [{name: a, count: 10, regions: [tokio]}]\n", []string{":4:43: population.groups[0].regions[0]: unknown region \"tokio\" (did you mean \"tokyo\"?)"}},
		{"counts do not add up", "run: {name: t}\npopulation: {nodes: 10, groups: [{name: a, count: 4}]}\n", []string{":2:21: population.nodes: 10, but the group counts add up to 4"}},
		{"shares over 100%", "run: {name: t}\npopulation: {nodes: 10, groups: [{name: a, share: 60%}, {name: b, share: 50%}]}\n", []string{":2:33: population.groups: group shares sum to 110%, more than 100%"}},
		{"bandwidth shares", gossipBase + "network: {bandwidth: [{name: a, share: 30%, up: 1Gbps, down: 1Gbps}, {name: b, share: 30%, up: 1Gbps, down: 1Gbps}]}\n", []string{":4:22: network.bandwidth: class shares sum to 60%, want 100%"}},
		{"partition heals first", gossipBase + "network: {partitions: [{from: 10s, until: 5s, regions: [tokyo]}]}\n", []string{":4:43: network.partitions[0].until: 5s is not after from (10s): a partition must heal after it starts"}},
		{"partition names nothing", gossipBase + "network: {partitions: [{from: 1s, until: 5s}]}\n", []string{":4:25: network.partitions[0]: names nothing to cut off: give regions, groups or nodes"}},
		{"partition of an unknown group", gossipBase + "network: {partitions: [{from: 1s, until: 5s, groups: [nodez]}]}\n", []string{":4:55: network.partitions[0].groups[0]: unknown population group \"nodez\" (did you mean \"nodes\"?)"}},
		{"enum typo", marketBase[:strings.Index(marketBase, "workload")] + "workload:\n  arrivals: {process: poison, rate: 1/s}\n  jobs: [{name: j, kind: compute, flops: 1e12}]\n", []string{":8:23: workload.arrivals.process: \"poison\" is not allowed (did you mean \"poisson\"?); want one of poisson, constant, burst, trace"}},
		{"job without flops", marketBase[:strings.Index(marketBase, "workload")] + "workload:\n  arrivals: {process: poisson, rate: 1/s}\n  jobs: [{name: j, kind: compute}]\n", []string{":9:11: workload.jobs[0].flops: missing; this key is required (Arithmetic per work unit, for example {dist: lognormal, median: 1e12, sigma: 1})"}},
		{"norm bound below 1", strings.Replace(learnBase, "rounds: 1,", "rounds: 1, norm_bound: 0.5,", 1), []string{":4:37: protocol.learning.norm_bound: 0.5 would reject the median update itself: give 0 (no bound) or at least 1"}},
		{"dp with median", learnBase[:len(learnBase)-2] + ", aggregation: median, dp: {noise_multiplier: 1}}\n", []string{":4:83: protocol.learning.dp: differential privacy is DP-FedAvg: set aggregation to fedavg (it is median; the guarantee is the mean's)"}},
		{"deep nesting", deep, []string{":1:133: nesting deeper than 64 levels"}},
		{"alias expansion", laughs.String(), []string{": the file stands for more than 1048576 values (aliases expanded); a scenario has at most that"}},
		{"binary", "run:\n  name: t\n\x00\xff", []string{":3:1: not a text file: scenario files are UTF-8 YAML"}},
		// The accepted nonsense of issue 15, now refused at the key.
		{"a job no GPU can hold", strings.Replace(marketBase, `budget: "1"`, `budget: "1", memory: 100GB`, 1), []string{":9:69: workload.jobs[0].memory: a j unit needs 100GB of device memory; the largest GPU among the providers (rtx4090) has 24GB, so no provider could take it"}},
		{"unknown electricity region", marketBase + "economics: {electricity: [{region: dalas, usd_per_kwh: 0.1}]}\n", []string{":10:36: economics.electricity[0].region: unknown region \"dalas\" (did you mean \"dallas\"?): no node would pay this price; the regions are dallas, toronto, washington_dc, frankfurt, london, madrid, osaka, sydney, tokyo, sao_paulo"}},
		{"region priced twice", marketBase + "economics: {electricity: [{region: tokyo, usd_per_kwh: 0.1}, {region: tokyo, usd_per_kwh: 0.2}]}\n", []string{":10:71: economics.electricity[1].region: region \"tokyo\" is priced twice"}},
		{"partition after the run", gossipBase + "network: {partitions: [{from: 40s, until: 50s, regions: [tokyo]}]}\n", []string{":4:31: network.partitions[0].from: 40s is not before the run ends (run.duration 30s): the partition would never start"}},
		{"50 adversaries among 20 validators", bftBase + "adversaries: [{kind: equivocation, count: 50}]\n", []string{":8:43: adversaries[0].count: 50 attackers, but the run has 20 validators to draw them from"}},
		{"adversaries adding up past the validators", bftBase + "adversaries: [{kind: equivocation, count: 15}, {kind: silent_validator, count: 10}]\n", []string{":8:80: adversaries[1].count: 25 attackers, but the run has 20 validators to draw them from"}},
		{"learning and consensus", learnBase + "  consensus: {engine: bft}\n", []string{":5:15: protocol.consensus: protocol.learning runs federated learning on its own, with no chain simulated under it: drop protocol.consensus, or protocol.learning"}},
		{"learning and workload", learnBase + "workload:\n  arrivals: {process: poisson, rate: 1/s}\n  jobs: [{name: j, kind: compute, flops: 1e12}]\n", []string{":6:3: workload: protocol.learning runs federated learning on its own: drop the workload (the marketplace), or protocol.learning"}},
		{"workload and consensus", marketBase + "protocol: {consensus: {engine: bft}}\n", []string{":10:24: protocol.consensus: a scenario runs either a workload (the marketplace, whose committee's agreement protocol.market.commit_delay models) or protocol.consensus, not both"}},
		{"BFT with no validators", gossipBase + "protocol: {consensus: {engine: bft}}\n", []string{":4:24: protocol.consensus: bft consensus needs population groups with the validator role; no group has it (roles: [validator])"}},
		{"BFT validators without stake", strings.Replace(bftBase, `stake: "10", `, "", 1), []string{":5:8: population.groups[0].stake: group v has the validator role and no stake: BFT validators vote by stake"}},
		{"a stake lottery without stake", strings.Replace(strings.Replace(bftBase, `stake: "10", `, "", 1), "engine: bft", "engine: longest_chain, longest_chain: {mining: stake}", 1), []string{":5:8: population.groups[0].stake: group v has the validator role and no stake: a stake lottery picks miners by stake"}},
		{"ledger clients without requesters", strings.Replace(bftBase, "engine: bft", "engine: bft, ledger: {enabled: true}", 1), []string{":7:37: protocol.consensus.ledger.clients: requester, but no population group has the requester role: give one the role, or set clients: all"}},
		{"adversaries in a gossip run", gossipBase + "adversaries: [{kind: lazy, count: 1}]\n", []string{":4:14: adversaries: adversaries need protocol.consensus (consensus attacks), a workload (marketplace attacks) or protocol.learning (poisoning); block gossip has none"}},
		{"a market attack in a consensus run", bftBase + "adversaries: [{kind: lazy, count: 1}]\n", []string{":8:22: adversaries[0].kind: lazy is not simulated in a consensus run; it takes equivocation, colluding_validators, silent_validator, delayed_votes"}},
		{"a late consensus attack", bftBase + "adversaries: [{kind: equivocation, count: 1, start: 5s}]\n", []string{":8:53: adversaries[0].start: consensus attackers act from the start: give 0s"}},
		{"a group for consensus attackers", bftBase + "adversaries: [{kind: equivocation, count: 1, group: v}]\n", []string{":8:53: adversaries[0].group: consensus attackers are drawn from all the validators; a group is not used"}},
		{"churn in a consensus run", bftBase + "network: {churn: {session: {dist: exponential, mean: 1m}}}\n", []string{":8:19: network.churn: not simulated in a consensus run: remove it (latency, bandwidth, jitter, loss and partitions shape a consensus run's network)"}},
		{"partitions in a marketplace run", marketBase + "network: {partitions: [{from: 1s, until: 5s, regions: [tokyo]}]}\n", []string{":10:23: network.partitions: not simulated in a marketplace run: remove it (latency, bandwidth, jitter, loss and churn shape a marketplace run's network)"}},
		{"loss in a learning run", learnBase + "network: {loss: 1%}\n", []string{":5:17: network.loss: not simulated in a learning run: remove it (the latency matrix shapes a learning run's network)"}},
		{"learning with no learners", strings.Replace(learnBase, "roles: [provider]", "roles: [validator]", 1), []string{":4:14: protocol.learning: federated learning needs population nodes with the provider or data_owner role (they are the learners); no group has either"}},
		{"two poisoning attacks", learnBase + "adversaries: [{kind: sign_flip, count: 1}, {kind: scaling, count: 1}]\n", []string{":5:51: adversaries[1].kind: one learning attack per run (besides colluding_validators and lying_aggregator)"}},
		{"more attackers than learners", learnBase + "adversaries: [{kind: sign_flip, count: 9}]\n", []string{":5:40: adversaries[0].count: 9 attackers, but the run has 6 learners to draw them from"}},
		{"more colluders than validators", learnBase + "adversaries: [{kind: colluding_validators, count: 2}]\n", []string{":5:51: adversaries[0].count: 2 colluding validators, but protocol.learning.validators is 1"}},
		{"more lazy providers than providers", marketBase + "adversaries: [{kind: lazy, count: 5}]\n", []string{":10:35: adversaries[0].count: 5 lazy attackers, but the run has 4 providers to draw them from"}},
		{"more lazy providers than the group", marketBase + "adversaries: [{kind: lazy, count: 1, group: r}]\n", []string{":10:35: adversaries[0].count: 1 lazy attackers, but group r has 0 providers to draw them from"}},
		// What only the runners know, refused before anything runs.
		{"one node of gossip", "run: {name: t}\npopulation: {nodes: 1}\n", []string{":2:21: population.nodes: block gossip needs at least 2 nodes, not 1"}},
		{"a degree as large as the network", gossipBase + "protocol: {gossip: {degree: 10}}\n", []string{":4:29: protocol.gossip.degree: 10 peers per node among 10 nodes: the degree must be below the node count"}},
		{"an unknown governance parameter", marketBase + "protocol: {governance: {proposals: [{height: 2, changes: [{key: rewards.nope, value: \"1\"}], yes: 80%}]}}\n", []string{":10:38: protocol.governance.proposals[0]: govern: unknown parameter \"rewards.nope\""}},
		{"validation rows for too many learners", strings.NewReplacer("validators: 1,", "validators: 1, validation_rows: 3000,", "6", "900").Replace(learnBase), []string{":4:14: protocol.learning: 3000 validation rows leave fewer than one row per provider of 900 (optdigits has 3823 training rows; more learners need surrogate mode)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "f.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			vCode, _, vErr := capture(t, "validate", file)
			out := filepath.Join(t.TempDir(), "run")
			rCode, _, rErr := capture(t, "run", file, "-q", "-o", out)
			located := func(stderr string) []string {
				var ls []string
				for _, l := range strings.Split(stderr, "\n") {
					if strings.HasPrefix(l, file) {
						ls = append(ls, strings.TrimPrefix(l, file))
					}
				}
				return ls
			}
			v, r := located(vErr), located(rErr)
			if vCode != exitBadInput || rCode != exitBadInput {
				t.Fatalf("validate exit %d, run exit %d; want %d for both\nvalidate: %s\nrun: %s", vCode, rCode, exitBadInput, vErr, rErr)
			}
			if len(v) == 0 || strings.Join(v, "\n") != strings.Join(r, "\n") {
				t.Fatalf("validate and run differ:\nvalidate: %q\nrun: %q", vErr, rErr)
			}
			if tc.want != nil && len(v) != len(tc.want) {
				t.Fatalf("%d messages, want %d:\n%s", len(v), len(tc.want), strings.Join(v, "\n"))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(v[i], w) {
					t.Errorf("message %d:\n  %s\nwant a prefix of it:\n  %s", i, v[i], w)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("run wrote %s for a refused scenario", out)
			}
		})
	}
}
