package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/olekukonko/tablewriter"
	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/blockprop"
)

// shortcut flags of dais run, each a --set on one key.
var runShortcuts = []struct{ flag, key, usage string }{
	{"seed", "run.seed", "root seed of every random stream (run.seed)"},
	{"nodes", "population.nodes", "number of nodes (population.nodes)"},
	{"block-size", "protocol.gossip.block_size", "block payload, e.g. 1MB or 1MiB (protocol.gossip.block_size)"},
	{"degree", "protocol.gossip.degree", "peers each node dials (protocol.gossip.degree)"},
	{"loss", "network.loss", "probability a message is lost, e.g. 1% (network.loss)"},
}

func newRunCmd() *cobra.Command {
	var sets []string
	var jitter string
	short := map[string]*string{}
	cmd := &cobra.Command{
		Use:   "run [SCENARIO]",
		Short: "Run a scenario and print its figures",
		Long: `Run simulates a scenario file (see scenarios/README.md) and prints what it measured.
SCENARIO is a YAML file, or the name of a shipped scenario (` + fmt.Sprint(scenarios.BuiltinNames()) + `).
Without one, run performs the built-in demo: one 1 MiB block flooded over 1,000 nodes in the
ten measured cloud regions.

Today the simulator runs the network, population and protocol.gossip sections; a scenario
with a workload or adversaries is valid (dais validate) but is refused here until the
marketplace, chain and learning parts land.

The same scenario and seed always give the same figures.`,
		Example: `  dais run                                   # the built-in demo
  dais run scenarios/quickstart.yaml
  dais run quickstart --seed 7 --set network.loss=1%
  dais run scenarios/quickstart.yaml --set 'network.jitter={dist: lognormal, median: 3ms, sigma: 0.5}'
  dais run --nodes 10000 --block-size 2MB`,
		Args: checkArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			overrides := append([]string(nil), sets...)
			for _, s := range runShortcuts {
				if cmd.Flags().Changed(s.flag) {
					overrides = append(overrides, s.key+"="+*short[s.flag])
				}
			}
			if cmd.Flags().Changed("jitter") {
				overrides = append(overrides, "network.jitter={dist: exponential, mean: "+jitter+"}")
				if jitter == "0" || jitter == "0s" {
					overrides[len(overrides)-1] = "network.jitter="
				}
			}
			name := "demo"
			if len(args) == 1 {
				name = args[0]
			}
			sc, err := loadScenario(name, overrides)
			if err != nil {
				return err
			}
			return runScenario(cmd.OutOrStdout(), sc)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&sets, "set", nil, "override a key: --set key.path=value (repeatable; value is YAML)")
	for _, s := range runShortcuts {
		short[s.flag] = f.String(s.flag, "", s.usage)
	}
	f.StringVar(&jitter, "jitter", "", "mean of exponential jitter per message, e.g. 5ms; 0 for none (network.jitter)")
	return cmd
}

// loadScenario loads a file, or a shipped scenario by name when no such file
// exists. Errors in the scenario are bad input (exit 2).
func loadScenario(name string, overrides []string) (*scenarios.Scenario, error) {
	var sc *scenarios.Scenario
	var err error
	if _, statErr := os.Stat(name); statErr != nil && isBuiltin(name) {
		sc, err = scenarios.Builtin(name, overrides...)
	} else {
		sc, err = scenarios.Load(name, overrides...)
	}
	if err != nil {
		return nil, usageError{err}
	}
	return sc, nil
}

func isBuiltin(name string) bool {
	for _, b := range scenarios.BuiltinNames() {
		if b == name {
			return true
		}
	}
	return false
}

func runScenario(w io.Writer, sc *scenarios.Scenario) error {
	if sc.Workload != nil || len(sc.Adversaries) > 0 {
		return usageError{errors.New(sc.File + ": the simulator does not run workload or adversaries yet (they arrive with the marketplace, chain and learning issues); dais validate accepts the file")}
	}
	var results []*blockprop.Result
	for rep := 0; rep < sc.Run.Repetitions; rep++ {
		p, err := blockprop.FromScenario(sc, rep)
		if err != nil {
			return err
		}
		if err := p.Validate(); err != nil {
			return usageError{fmt.Errorf("%s: %w", sc.File, err)}
		}
		r, err := blockprop.Run(p)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	printResults(w, sc, results)
	return nil
}

func printResults(w io.Writer, sc *scenarios.Scenario, rs []*blockprop.Result) {
	g := sc.Protocol.Gossip
	fmt.Fprintf(w, "%s: %s, %d nodes, %s blocks every %v, seed %d, %v simulated\n\n",
		sc.Run.Name, sc.File, sc.NodeCount(), humanize.IBytes(uint64(g.BlockSize)), g.Interval, sc.Run.Seed, sc.Run.Duration)
	t := tablewriter.NewWriter(w)
	header := []any{"measure"}
	for i := range rs {
		if len(rs) == 1 {
			header = append(header, "value")
		} else {
			header = append(header, fmt.Sprintf("rep %d", i+1))
		}
	}
	t.Header(header...)
	ms := func(d protocol.Duration) string { return fmt.Sprintf("%.1f ms", d.Milliseconds()) }
	row := func(name string, f func(r *blockprop.Result) string) {
		cells := []any{name}
		for _, r := range rs {
			cells = append(cells, f(r))
		}
		_ = t.Append(cells...)
	}
	row("blocks proposed", func(r *blockprop.Result) string { return fmt.Sprint(r.Blocks) })
	row("coverage (mean share of nodes reached)", func(r *blockprop.Result) string { return fmt.Sprintf("%.2f%%", 100*r.Coverage()) })
	row("propagation p50", func(r *blockprop.Result) string { return ms(r.Quantile(0.5)) })
	row("propagation p90", func(r *blockprop.Result) string { return ms(r.Quantile(0.9)) })
	row("propagation p99", func(r *blockprop.Result) string { return ms(r.Quantile(0.99)) })
	row("propagation p100", func(r *blockprop.Result) string { return ms(r.Quantile(1)) })
	row("duplicate copies", func(r *blockprop.Result) string { return fmt.Sprint(r.Duplicates) })
	row("messages sent / dropped", func(r *blockprop.Result) string { return fmt.Sprintf("%d / %d", r.Sent, r.Dropped) })
	row("bytes sent", func(r *blockprop.Result) string { return humanize.IBytes(r.BytesSent) })
	row("engine events", func(r *blockprop.Result) string { return fmt.Sprint(r.Events) })
	row("wall time", func(r *blockprop.Result) string { return r.Wall.Round(time.Microsecond).String() })
	row("events/s", func(r *blockprop.Result) string { return humanize.SIWithDigits(r.EventsPerSec(), 2, "") })
	_ = t.Render()
}
