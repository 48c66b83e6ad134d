package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/cmd/dais/calibrate"
	"github.com/dais-sim/dais/gpu/bench"
	"github.com/dais-sim/dais/gpu/profile"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/testnet"
)

func newCalibrateCmd() *cobra.Command {
	var scenario, out, prof string
	var sets []string
	var duration time.Duration
	var marketJobs int
	cmd := &cobra.Command{
		Use:   "calibrate",
		Short: "Run one small scenario live and simulated, and report the gap per metric",
		Long: `Calibrate checks the simulator against this machine. It runs a BFT scenario live — an
in-process testnet of real nodes (live/node, libp2p on 127.0.0.1, real signatures, a real store)
— measures meanwhile the round trip of a dais message between two live runtimes, ed25519
signing, the CPU the nodes spend per message, their store writes and timer lateness, then
simulates the same scenario on a one-region network with that round trip, those processing
costs (protocol.consensus.processing) and the hardware profile, and without the costs, and prints, per
metric, the live figure, the simulated one and the gap (sim − live) / live: BFT finality p50
and p99, block interval, rounds per height, transaction throughput. Then (--market-jobs) it runs
a small live marketplace on as many nodes — node 0 posts a job every 1.1 s, two units each, every
unit computed for real by two providers whose results must agree — and simulates its twin
(sim/marketrun, the same spec, the measured round trip, the providers on the hardware profile)
to compare task completion time (job post → unit verified) and job completion time.

Without --profile, calibrate first measures this machine (dais gpu bench, shortened) and uses
that profile, fitted to the live market's unit kernel (--fit matmul: the roofline then models a
unit as long as the real float32 product took); it is written to the folder as profile.yaml.
With a matmul profile, the twin's units run at the kernel's rate timed again just before and
after the live market, since a shared machine's load moves it within a minute. A
--profile fitted otherwise (train, gemm) is used as it is, and the report says so. BFT
consensus submits no GPU work, so the profile moves only the market's figures.

The folder (-o, default runs/calibrate-<run.name>, runs/calibrate-live for the shipped one) gets calibration.md, calibration.json, the
live run folder live/, the simulated one sim/ (dais compare DIR/live DIR/sim shows every
figure), the testnet directory and the profile.`,
		Example: `  dais calibrate
  dais calibrate --scenario scenarios/calibrate-live.yaml --duration 30s --profile profiles/this-box.yaml`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := loadScenario(cmd.ErrOrStderr(), scenario, sets)
			if err != nil {
				return err
			}
			if duration < 0 {
				return badInput("--duration %v: want a positive duration", duration)
			}
			if out == "" {
				out = filepath.Join("runs", "calibrate-"+strings.TrimPrefix(sc.Run.Name, "calibrate-"))
			}
			if err := freshTestnetDir(filepath.Join(out, "testnet")); err != nil {
				return err
			}
			stdout := cmd.OutOrStdout()
			if prof == "" {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
				fmt.Fprintln(stdout, "measuring this machine for the hardware profile (dais gpu bench, shortened) …")
				gpus, _ := nvmlGPUs()
				topts, _, err := testnet.FromScenario(sc)
				if err != nil {
					return usageError{err}
				}
				o := bench.Options{Name: defaultProfileName(), Fit: profile.FitMatMul, MinTime: 300 * time.Millisecond, GPUs: gpus}
				o.KernelFLOPs, o.KernelWorkers, o.KernelBatch = calibrate.KernelShape(topts.Nodes)
				p, err := bench.Run(o)
				if err != nil {
					return err
				}
				prof = filepath.Join(out, "profile.yaml")
				if err := p.Write(prof); err != nil {
					return err
				}
			} else if _, err := profile.Load(prof); err != nil {
				return usageError{err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := calibrate.Run(ctx, calibrate.Options{Scenario: sc, Overrides: sets, Dir: out, Duration: duration,
				Profile: prof, MarketJobs: marketJobs, Log: stdout})
			if errors.Is(err, calibrate.ErrOptions) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			rep.Live.Meta.Version, rep.Sim.Meta.Version = buildVersion(), buildVersion()
			if err := rep.Write(out); err != nil {
				return err
			}
			fmt.Fprintln(stdout)
			if err := rep.Table(stdout); err != nil {
				return err
			}
			for _, n := range rep.Notes {
				fmt.Fprintln(stdout, "  - "+n)
			}
			fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(out, calibrate.MarkdownFile))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenario, "scenario", "calibrate-live", "a BFT scenario file, or the name of a shipped one")
	f.StringArrayVar(&sets, "set", nil, "override a key of the scenario: --set key.path=value (repeatable)")
	f.DurationVar(&duration, "duration", 0, "how long the live testnet runs, and the simulated length (default: run.duration)")
	f.IntVar(&marketJobs, "market-jobs", 10, "also run a live marketplace of this many jobs and its simulated twin (task completion time); 0: none")
	f.StringVar(&prof, "profile", "", "a hardware profile (dais gpu bench -o); default: measure this machine now")
	f.StringVarP(&out, "out", "o", "", "the calibration folder (default runs/calibrate-<run.name>)")
	return cmd
}

// freshTestnetDir clears a testnet directory an earlier calibration left,
// and refuses to touch a directory that is something else.
func freshTestnetDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, node.NetworkFile)); err != nil {
		return badInput("%s exists and is not a testnet directory; give another -o", dir)
	}
	return os.RemoveAll(dir)
}
