package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/reports"
	"github.com/dais-sim/dais/reports/progress"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/blockprop"
	"github.com/dais-sim/dais/sim/consensusrun"
	"github.com/dais-sim/dais/sim/learnrun"
	"github.com/dais-sim/dais/sim/marketrun"
)

// shortcut flags of dais run, each a --set on one key.
var runShortcuts = []struct{ flag, key, usage string }{
	{"seed", "run.seed", "root seed of every random stream (run.seed)"},
	{"nodes", "population.nodes", "number of nodes (population.nodes)"},
	{"block-size", "protocol.gossip.block_size", "block payload, e.g. 1MB or 1MiB (protocol.gossip.block_size)"},
	{"degree", "protocol.gossip.degree", "peers each node dials (protocol.gossip.degree)"},
	{"loss", "network.loss", "probability a message is lost, e.g. 1% (network.loss)"},
}

type runOptions struct {
	out   string // run folder; overrides outputs.dir
	quiet bool   // no progress
}

func newRunCmd() *cobra.Command {
	var sets []string
	var jitter string
	var opt runOptions
	short := map[string]*string{}
	cmd := &cobra.Command{
		Use:   "run [SCENARIO]",
		Short: "Run a scenario, write its report folder and print its figures",
		Long: `Run simulates a scenario file (see scenarios/README.md), writes a run folder —
metrics.json, timeseries.csv, report.md, report.html (self-contained, inline SVG plots),
plots/*.svg and host.json (wall time and speed) — and prints the headline figures.
The folder is outputs.dir (default runs/<run.name>), or -o DIR.

SCENARIO is a YAML file, or the name of a shipped scenario (` + fmt.Sprint(scenarios.BuiltinNames()) + `).
Without one, run performs the built-in demo: one 1 MiB block flooded over 1,000 nodes in the
ten measured cloud regions.

A scenario runs one of four runners: protocol.learning (federated learning with real
training), a workload (the compute marketplace), protocol.consensus (BFT or longest chain,
optionally with the ledger and client transactions), or else block gossip. If the invariant
checker sees a violation, the report is still written and the run exits 1 with the command
that replays it.

The same scenario and seed always give the same metrics.json, report.md and timeseries.csv,
byte for byte.`,
		Example: `  dais run                                   # the built-in demo
  dais run scenarios/quickstart.yaml          # writes runs/quickstart/
  dais run quickstart --seed 7 --set network.loss=1% -o runs/lossy
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
			return runScenario(cmd.OutOrStdout(), cmd.ErrOrStderr(), sc, opt)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&sets, "set", nil, "override a key: --set key.path=value (repeatable; value is YAML)")
	for _, s := range runShortcuts {
		short[s.flag] = f.String(s.flag, "", s.usage)
	}
	f.StringVar(&jitter, "jitter", "", "mean of exponential jitter per message, e.g. 5ms; 0 for none (network.jitter)")
	f.StringVarP(&opt.out, "out", "o", "", "run folder (default: outputs.dir, or runs/<run.name>)")
	f.BoolVarP(&opt.quiet, "quiet", "q", false, "no progress bar or lines")
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

// repetition is what one run of a scenario gave.
type repetition struct {
	run      *metrics.Run
	seed     uint64
	wall     time.Duration
	events   uint64
	failures []string // invariant violations
}

// runScenario runs every repetition, writes the run folder and prints the
// headline table. A run whose invariant checker saw a violation still
// writes its report, then fails with the command that replays it.
func runScenario(stdout, stderr io.Writer, sc *scenarios.Scenario, opt runOptions) error {
	if sc.Protocol.Learning != nil && (sc.Workload != nil || sc.Protocol.Consensus != nil) {
		return usageError{errors.New(sc.File + ": protocol.learning runs on its own: drop the workload and protocol.consensus sections")}
	}
	if sc.Workload != nil && sc.Protocol.Consensus != nil {
		return usageError{errors.New(sc.File + ": a scenario runs either a workload (the marketplace, whose committee's consensus is modeled by protocol.market.commit_delay) or protocol.consensus, not both yet")}
	}
	if len(sc.Adversaries) > 0 && sc.Protocol.Consensus == nil && sc.Workload == nil && sc.Protocol.Learning == nil {
		return usageError{errors.New(sc.File + ": adversaries need protocol.consensus (consensus attacks), a workload (marketplace attacks) or protocol.learning (poisoning)")}
	}
	dir := sc.Outputs.Dir
	if opt.out != "" {
		dir = opt.out
	}
	var runs []*metrics.Run
	host := &metrics.Host{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	var seeds []uint64
	var failures []string
	for rep := 0; rep < sc.Run.Repetitions; rep++ {
		r, err := runOnce(stderr, sc, rep, opt)
		if err != nil {
			return err
		}
		runs = append(runs, r.run)
		seeds = append(seeds, r.seed)
		host.WallS += r.wall.Seconds()
		host.Events += r.events
		for _, f := range r.failures {
			failures = append(failures, fmt.Sprintf("repetition %d (seed %d): %s", rep+1, r.seed, f))
		}
	}
	if host.WallS > 0 {
		host.EventsPerS = float64(host.Events) / host.WallS
	}
	run := runs[0]
	if len(runs) > 1 {
		var err error
		if run, err = metrics.Aggregate(runs); err != nil {
			return err
		}
	}
	sum := sha256.Sum256(sc.Source)
	run.Meta.Scenario = sc.Run.Name
	run.Meta.ScenarioSHA256 = hex.EncodeToString(sum[:])
	run.Meta.ScenarioText = string(sc.Source)
	// The scenario text says it all, except where the figures came from
	// when that is not a measurement (learnrun's surrogate mode).
	src := run.Meta.Params["accuracy_source"]
	run.Meta.Params = nil
	if src != "" {
		run.Meta.Params = map[string]string{"accuracy_source": src}
	}
	run.Meta.Seed = sc.Run.Seed
	run.Meta.Seeds = seeds
	run.Meta.Repetitions = len(runs)
	run.Meta.Version = buildVersion()
	run.Meta.GoVersion = runtime.Version()
	run.Host = host
	if err := reports.Write(dir, run, sc.Outputs.Formats...); err != nil {
		return fmt.Errorf("writing the run folder: %w", err)
	}
	fmt.Fprintf(stdout, "%s (%s): %d nodes, seed %d, %v simulated, %d repetition(s), %.2fs wall, %s events/s\n\n",
		sc.Run.Name, sc.File, sc.NodeCount(), sc.Run.Seed, sc.Run.Duration, len(runs), host.WallS, reports.FormatValue(host.EventsPerS))
	if err := reports.Table(stdout, run); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(dir, reports.HTMLFile))
	if len(failures) > 0 {
		return fmt.Errorf("the invariant checker saw %d violation(s):\n  %s\nreplay: dais run %s --seed %d",
			len(failures), strings.Join(failures, "\n  "), sc.File, sc.Run.Seed)
	}
	return nil
}

// runOnce runs one repetition: consensus when the scenario has a consensus
// section, block gossip otherwise.
func runOnce(stderr io.Writer, sc *scenarios.Scenario, rep int, opt runOptions) (repetition, error) {
	var bar *progress.Reporter
	end := int64(sc.Run.Duration.D())
	if sc.Protocol.Learning != nil {
		p, err := learnrun.FromScenario(sc, rep)
		if err != nil {
			return repetition{}, usageError{fmt.Errorf("%s: %w", sc.File, err)}
		}
		res, err := learnrun.Run(p)
		if err != nil {
			return repetition{}, err
		}
		return repetition{run: learnrun.Summary(res), seed: p.Seed, wall: res.Wall, events: res.Events}, nil
	}
	if sc.Workload != nil {
		p, err := marketrun.FromScenario(sc, rep)
		if err != nil {
			return repetition{}, usageError{fmt.Errorf("%s: %w", sc.File, err)}
		}
		if !opt.quiet {
			bar = progress.New(stderr, end+int64(2*time.Minute), progress.Options{})
			p.Progress = bar.Update
		}
		res, err := marketrun.Run(p)
		if err != nil {
			return repetition{}, err
		}
		if bar != nil {
			bar.Done(int64(res.End), res.Events)
		}
		return repetition{run: marketrun.Summary(res), seed: p.Seed, wall: res.Wall, events: res.Events}, nil
	}
	if sc.Protocol.Consensus != nil {
		p, err := consensusrun.FromScenario(sc, rep)
		if err != nil {
			return repetition{}, usageError{fmt.Errorf("%s: %w", sc.File, err)}
		}
		res, err := consensusrun.Run(p)
		if err != nil {
			return repetition{}, err
		}
		r := repetition{run: consensusrun.Summary(res), seed: p.Seed, wall: res.Wall, events: res.Events}
		for _, f := range res.Failures {
			r.failures = append(r.failures, fmt.Sprint(f))
		}
		return r, nil
	}
	p, err := blockprop.FromScenario(sc, rep)
	if err != nil {
		return repetition{}, err
	}
	if err := p.Validate(); err != nil {
		return repetition{}, usageError{fmt.Errorf("%s: %w", sc.File, err)}
	}
	end = int64(p.Until + p.Interval)
	rec, sink := blockprop.NewRecorder(int64(sc.Outputs.Step.D()), end)
	p.Sink = sink
	if !opt.quiet {
		bar = progress.New(stderr, end, progress.Options{})
		p.Progress = bar.Update
	}
	res, err := blockprop.Run(p)
	if err != nil {
		return repetition{}, err
	}
	if bar != nil {
		bar.Done(end, res.Events)
	}
	return repetition{run: blockprop.Summary(res, rec), seed: p.Seed, wall: res.Wall, events: res.Events}, nil
}
