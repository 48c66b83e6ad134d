package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/reports"
	"github.com/dais-sim/dais/reports/progress"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/runner"
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
	out    string // run folder; overrides outputs.dir
	quiet  bool   // no progress
	replay string // the command that runs the same scenario again
	// memprofile, if set, is where the heap profile of the live simulation
	// is written when each repetition reaches its end.
	memprofile string
	cpuprofile string // where the CPU profile of the whole run goes
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

The same scenario and seed always give the same metrics.json, report.md, report.html, plots and
timeseries.csv, byte for byte; host.json alone holds wall time and speed. A failing run prints
the command that replays it, overrides included. Progress goes to standard error: a bar on a
terminal, a line every 10 s otherwise.`,
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
			sc, err := loadScenario(cmd.ErrOrStderr(), name, overrides)
			if err != nil {
				return err
			}
			opt.replay = replayCommand(args, overrides)
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
	f.StringVar(&opt.cpuprofile, "cpuprofile", "", "write the CPU profile (pprof) of the run to this file")
	f.StringVar(&opt.memprofile, "memprofile", "", "write the heap profile (pprof) of the simulation at its end to this file, and print the heap in use")
	return cmd
}

// loadScenario loads a file, or a shipped scenario by name ("quickstart",
// "quickstart.yaml") when no such file exists or when the name is a
// folder, which no scenario is (a note on w says so). Errors in the
// scenario are bad input (exit 2).
func loadScenario(w io.Writer, name string, overrides []string) (*scenarios.Scenario, error) {
	var sc *scenarios.Scenario
	var err error
	st, statErr := os.Stat(name)
	switch {
	case statErr == nil && st.IsDir() && isBuiltin(name):
		fmt.Fprintf(w, "note: %s is a folder here; running the shipped scenario %s (for a file inside the folder, give its path)\n", name, name)
		sc, err = scenarios.Builtin(name, overrides...)
	case statErr == nil && st.IsDir():
		return nil, badInput("%s is a folder, not a scenario file; the shipped scenarios are %s", name, strings.Join(scenarios.BuiltinNames(), ", "))
	case statErr != nil && isBuiltin(name):
		sc, err = scenarios.Builtin(name, overrides...)
	default:
		sc, err = scenarios.Load(name, overrides...)
	}
	if err != nil {
		return nil, usageError{err}
	}
	return sc, nil
}

func isBuiltin(name string) bool {
	return slices.Contains(scenarios.BuiltinNames(), strings.TrimSuffix(name, ".yaml")) && !strings.ContainsRune(name, os.PathSeparator)
}

// replayCommand is the dais run command that runs the same scenario with
// the same overrides (shortcut flags written as the --set they stand for),
// so that a failing run can be reproduced exactly.
func replayCommand(args, overrides []string) string {
	words := append([]string{"dais", "run"}, args...)
	for _, o := range overrides {
		words = append(words, "--set", o)
	}
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " ")
}

// shellQuote quotes a word for POSIX shells when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runScenario runs every repetition, writes the run folder and prints the
// headline table. A run whose invariant checker saw a violation still
// writes its report, then fails with the command that replays it.
func runScenario(stdout, stderr io.Writer, sc *scenarios.Scenario, opt runOptions) error {
	dir := sc.Outputs.Dir
	if opt.out != "" {
		dir = opt.out
	}
	ro := runner.Options{Version: buildVersion()}
	if !opt.quiet {
		ro.Progress = &barProgress{w: stderr, reps: sc.Run.Repetitions}
	}
	if opt.cpuprofile != "" {
		stop, err := startCPUProfile(opt.cpuprofile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer stop()
	}
	var heap *heapProfile
	if opt.memprofile != "" {
		heap = &heapProfile{Progress: ro.Progress, path: opt.memprofile, w: stderr}
		ro.Progress = heap
	}
	res, err := runner.Run(sc, ro)
	if heap != nil && heap.err != nil {
		return fmt.Errorf("--memprofile: %w", heap.err)
	}
	if errors.Is(err, runner.ErrScenario) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	run, host := res.Run, res.Host
	if err := reports.Write(dir, run, sc.Outputs.Formats...); err != nil {
		return fmt.Errorf("writing the run folder: %w", err)
	}
	fmt.Fprintf(stdout, "%s (%s): %d nodes, seed %d, simulated %s, %d repetition(s), %.2fs wall, %s events/s\n\n",
		sc.Run.Name, sc.File, sc.NodeCount(), sc.Run.Seed, reports.SimulatedTime(run.Meta), run.Meta.Repetitions, host.WallS, reports.FormatValue(host.EventsPerS))
	if err := reports.Table(stdout, run); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(dir, reports.HTMLFile))
	if len(res.Failures) > 0 {
		return fmt.Errorf("the invariant checker saw %d violation(s):\n  %s\nreplay: %s",
			len(res.Failures), strings.Join(res.Failures, "\n  "), opt.replay)
	}
	return nil
}

// barProgress shows each repetition's progress on a progress.Reporter: a
// bar on a terminal, a line every 10 s otherwise.
type barProgress struct {
	w    io.Writer
	reps int
	unit string
	bar  *progress.Reporter
}

func (b *barProgress) Units(unit string) { b.unit = unit }

func (b *barProgress) Start(rep int, endNs int64) {
	if b.reps > 1 {
		fmt.Fprintf(b.w, "repetition %d of %d\n", rep+1, b.reps)
	}
	b.bar = progress.New(b.w, endNs, progress.Options{Unit: b.unit})
	b.unit = ""
}

func (b *barProgress) Update(simNs int64, events uint64) { b.bar.Update(simNs, events) }

func (b *barProgress) Done(simNs int64, events uint64) { b.bar.Done(simNs, events) }
