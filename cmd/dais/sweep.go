package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/reports"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/sweep"
)

type sweepRunFlags struct {
	jobs  int
	shard string
	out   string
	base  string
	quiet bool
}

func (f *sweepRunFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVarP(&f.jobs, "jobs", "j", runtime.NumCPU(), "points run at once (each on one core)")
	fl.StringVar(&f.shard, "shard", "", "run only shard i of n: i/n, or /n to take i from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID")
	fl.StringVarP(&f.out, "out", "o", "", "output folder (default: outputs.dir, or sweeps/<name>)")
	fl.StringVar(&f.base, "base", "", "use this base scenario file instead of the sweep's base (a cluster job shipping it beside the sweep file)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress")
}

func newSweepCmd() *cobra.Command {
	var rf sweepRunFlags
	cmd := &cobra.Command{
		Use:   "sweep [SWEEP.yaml]",
		Short: "Run a scenario over a grid or sample of parameter points, locally or as cluster shards",
		Long: `A sweep file names a base scenario and axes over its key paths (the paths --set takes), a
design (grid, zip, latin_hypercube, random), repetitions and a seed; see the README's Sweeps
section and scenarios/sweep.schema.json. Every point's scenario is checked before anything
runs. Points run in parallel (-j), each in its own folder points/<hash>/ named by a hash of
the base scenario's bytes and the point's overrides and written atomically, so a rerun skips
finished points and a killed sweep resumes. When all points are done, the sweep's tables
(table.csv, table.jsonl: one row per point × repetition × figure; summary.csv, summary.jsonl:
mean and 95% CI per point and figure) and its report (report.md, report.html) are written.

"dais sweep SWEEP.yaml" is "dais sweep run SWEEP.yaml".`,
		Example: `  dais sweep run scenarios/sweeps/marketplace-tokenomics.yaml -j 2
  dais sweep validate scenarios/sweeps/marketplace-tokenomics.yaml
  dais sweep run s.yaml --shard 0/4 -o out && dais sweep merge out
  dais sweep slurm s.yaml -n 16 -o sweep.sbatch
  dais sweep k8s s.yaml -n 16 --image ghcr.io/me/dais:v1 --pvc results | kubectl apply -f -`,
		Args: checkArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return runSweep(cmd, args[0], rf)
		},
	}
	rf.register(cmd)
	cmd.AddCommand(newSweepRunCmd(), newSweepValidateCmd(), newSweepMergeCmd(), newSweepSchemaCmd(), newSweepSlurmCmd(), newSweepK8sCmd())
	return cmd
}

func newSweepRunCmd() *cobra.Command {
	var rf sweepRunFlags
	cmd := &cobra.Command{
		Use:   "run SWEEP.yaml",
		Short: "Run a sweep's points (or one shard's) and, with all done, write its tables and report",
		Long: `Run checks every point, runs those of its shard that have no folder yet on -j workers, and
writes each point's folder atomically. Without --shard, it then merges: the tables and the
report. With --shard i/n it runs the points whose index is i mod n and leaves the merge to
"dais sweep merge" once every shard is done.`,
		Example: `  dais sweep run scenarios/sweeps/marketplace-tokenomics.yaml
  dais sweep run s.yaml -j 8 -o /scratch/s
  JOB_COMPLETION_INDEX=2 dais sweep run s.yaml --shard /4 -o /results`,
		Args: checkArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return runSweep(cmd, args[0], rf) },
	}
	rf.register(cmd)
	return cmd
}

// loadSweep loads and checks a sweep file; its errors are bad input.
func loadSweep(path, base string) (*sweep.Sweep, error) {
	s, err := sweep.Load(path, sweep.LoadOptions{Base: base})
	var es scenarios.Errors
	if errors.As(err, &es) || errors.Is(err, os.ErrNotExist) {
		return nil, usageError{err}
	}
	return s, err
}

func runSweep(cmd *cobra.Command, path string, rf sweepRunFlags) error {
	if rf.jobs < 1 {
		return badInput("-j %d: want at least 1", rf.jobs)
	}
	var shard sweep.Shard
	if rf.shard != "" {
		var err error
		if shard, err = sweep.ParseShard(rf.shard, os.Getenv); err != nil {
			return usageError{err}
		}
	}
	s, err := loadSweep(path, rf.base)
	if err != nil {
		return err
	}
	sweep.TuneGC()
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	opt := sweep.Options{Dir: rf.out, Jobs: rf.jobs, Shard: shard, Version: buildVersion()}
	if !rf.quiet {
		opt.Progress = stderr
	}
	dir := opt.Dir
	if dir == "" {
		dir = s.OutDir()
	}
	fmt.Fprintf(stdout, "sweep %s: %d points × %d repetitions of %s (%s runner), %s design; %s, %d at once, into %s\n",
		s.Name, len(s.Points), s.Repetitions, s.File.Base, s.Kind, s.File.Design, shard, rf.jobs, dir)
	start := time.Now()
	out, err := sweep.Run(s, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ran %d points in %s; %d were already done\n", out.Ran, time.Since(start).Round(time.Millisecond), out.Skipped)
	if out.OtherVersion > 0 {
		fmt.Fprintf(stderr, "dais: warning: %d of the points already done were run by another dais version than this one (%s); their figures may differ from what it gives: sweep into a new folder (-o) to run them again\n", out.OtherVersion, opt.Version)
	}
	for _, v := range out.Violations {
		fmt.Fprintf(stderr, "invariant violated: %s\n", v)
	}
	if len(out.Failed) > 0 {
		msgs := make([]string, len(out.Failed))
		for i, e := range out.Failed {
			msgs[i] = e.Error()
		}
		return fmt.Errorf("%d point(s) failed (no folder written; a rerun retries them):\n  %s", len(out.Failed), strings.Join(msgs, "\n  "))
	}
	if shard.Count > 1 {
		fmt.Fprintf(stdout, "%s done; when every shard is: dais sweep merge %s\n", shard, dir)
		return nil
	}
	return mergeSweep(stdout, dir, []string{dir})
}

func mergeSweep(w io.Writer, out string, dirs []string) error {
	res, err := sweep.Merge(out, dirs)
	if errors.Is(err, sweep.ErrNotSweep) {
		return usageError{err}
	}
	if err != nil && !errors.Is(err, sweep.ErrIncomplete) {
		return err
	}
	for _, warn := range res.Warnings {
		fmt.Fprintln(os.Stderr, "dais: warning:", warn)
	}
	done := len(res.Plan.Points) - len(res.Missing)
	fmt.Fprintf(w, "merged %d of %d points into %s: %s, %s, %s, %s\nreport: %s\n", done, len(res.Plan.Points), out,
		sweep.TableCSV, sweep.TableJSONL, sweep.SummaryCSV, sweep.SummaryJSONL, filepath.Join(out, reports.HTMLFile))
	return err
}

func newSweepValidateCmd() *cobra.Command {
	var base string
	cmd := &cobra.Command{
		Use:   "validate SWEEP.yaml...",
		Short: "Check sweep files and every point's scenario without running them",
		Long: `Validate loads each sweep file, expands its points and loads every point's scenario, reporting
every problem at once with the sweep file's line and column: keys, ranges and designs, an axis
key path the scenario does not have (with did-you-mean), an axis value the key refuses, and a
point whose values are each fine but not together. It exits 0 when all are valid, else 2.`,
		Example: `  dais sweep validate scenarios/sweeps/*.yaml`,
		Args:    checkArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, f := range args {
				s, err := loadSweep(f, base)
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					bad++
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "ok  %s (%s: %d points × %d repetitions of %s, %s runner)\n", f, s.Name, len(s.Points), s.Repetitions, s.File.Base, s.Kind)
			}
			if bad > 0 {
				return usageError{fmt.Errorf("%d of %d sweep files invalid", bad, len(args))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&base, "base", "", "use this base scenario file instead of the sweep's base")
	return cmd
}

func newSweepMergeCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "merge DIR...",
		Short: "Gather a sweep's point folders from one or more output folders into its tables and report",
		Long: `Merge reads sweep.json and points/*/ from each folder (the output folder of a sweep, or of each
of its shards), copies the points into the output folder (-o, default the first DIR), and
writes the tables and the report there. The files depend only on the points, so they are the
same bytes whatever the number of shards. Missing points are listed, and the merge exits 1
after writing what it has.`,
		Example: `  dais sweep merge sweeps/marketplace-tokenomics
  dais sweep merge shard-0 shard-1 shard-2 -o merged`,
		Args: checkArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				out = args[0]
			}
			return mergeSweep(cmd.OutOrStdout(), out, args)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the merged sweep here (default: the first DIR)")
	return cmd
}

func newSweepSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of sweep files",
		Long:  `Schema prints the JSON Schema of sweep files; the repository ships it as scenarios/sweep.schema.json.`,
		Args:  checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(sweep.JSONSchema())
			return err
		},
	}
}

// writeOut writes b to path, or to w when path is empty.
func writeOut(w io.Writer, path string, b []byte, perm os.FileMode) error {
	if path == "" {
		_, err := w.Write(b)
		return err
	}
	return os.WriteFile(path, b, perm)
}

func newSweepSlurmCmd() *cobra.Command {
	var o sweep.SlurmOptions
	var script, base string
	cmd := &cobra.Command{
		Use:   "slurm SWEEP.yaml -n N",
		Short: "Write an sbatch script that runs a sweep as a Slurm job array of N shards",
		Long: `Slurm writes an sbatch script for a job array of N tasks (--array=0-N-1); task i runs
"dais sweep run SWEEP --shard /N" (the index from SLURM_ARRAY_TASK_ID) and writes its points
into the output folder, which every node must see (a shared filesystem). When the array is
done, "dais sweep merge OUT" writes the tables and the report; the script's head says how to
chain it with --dependency=afterok. Paths in the script are absolute.`,
		Example: `  dais sweep slurm s.yaml -n 16 -c 4 --time 2:00:00 -o sweep.sbatch && sbatch sweep.sbatch`,
		Args:    checkArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Shards < 1 {
				return badInput("-n %d: want at least 1 shard", o.Shards)
			}
			s, err := loadSweep(args[0], base)
			if err != nil {
				return err
			}
			if o.Dais == "" {
				if o.Dais, err = os.Executable(); err != nil {
					return err
				}
			}
			if o.Out == "" {
				o.Out = s.OutDir()
			}
			for _, p := range []*string{&o.Dais, &o.Out} {
				if *p, err = filepath.Abs(*p); err != nil {
					return err
				}
			}
			if o.Sweep, err = filepath.Abs(args[0]); err != nil {
				return err
			}
			if o.WorkDir, err = os.Getwd(); err != nil {
				return err
			}
			// sbatch needs the folder of --output to exist.
			if err := os.MkdirAll(filepath.Join(o.Out, "slurm"), 0o755); err != nil {
				return err
			}
			return writeOut(cmd.OutOrStdout(), script, sweep.SlurmScript(s, o), 0o755)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.Shards, "shards", "n", 0, "tasks in the job array (shards)")
	f.IntVarP(&o.CPUs, "cpus", "c", 1, "CPUs per task (--cpus-per-task; the task's -j)")
	f.StringVar(&o.Time, "time", "", "time limit per task (sbatch --time), e.g. 2:00:00")
	f.StringVar(&o.Partition, "partition", "", "Slurm partition")
	f.StringVar(&o.Dais, "dais", "", "the dais binary the tasks run (default: this one)")
	f.StringVar(&o.Out, "out-dir", "", "the sweep's output folder, on a filesystem the nodes share (default: outputs.dir, or sweeps/<name>)")
	f.StringVarP(&script, "output", "o", "", "write the script to this file (default: standard output)")
	f.StringVar(&base, "base", "", "use this base scenario file instead of the sweep's base")
	return cmd
}

func newSweepK8sCmd() *cobra.Command {
	var o sweep.K8sOptions
	var manifest, base string
	cmd := &cobra.Command{
		Use:   "k8s SWEEP.yaml -n N --image IMAGE --pvc CLAIM",
		Short: "Write a Kubernetes Indexed Job (and a ConfigMap with the sweep) that runs a sweep as N shards",
		Long: `K8s writes a ConfigMap holding the sweep file (and the base scenario, unless it is a shipped
one) and an Indexed Job (completionMode: Indexed, completions = N) whose pod i runs
"dais sweep run --shard $(JOB_COMPLETION_INDEX)/N", writing its points to the
PersistentVolumeClaim mounted at the output folder (/results; the claim's folder <name>/).
With pods on several nodes the claim must be ReadWriteMany. When the Job is complete, run
"dais sweep merge /results" in a pod that mounts the claim (README: Sweeps).`,
		Example: `  dais sweep k8s s.yaml -n 16 --image ghcr.io/me/dais:v1 --pvc sweep-results --cpus 2 | kubectl apply -f -`,
		Args:    checkArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Shards < 1 {
				return badInput("-n %d: want at least 1 shard", o.Shards)
			}
			s, err := loadSweep(args[0], base)
			if err != nil {
				return err
			}
			if o.SweepText, err = os.ReadFile(args[0]); err != nil {
				return err
			}
			if !s.BaseBuiltin {
				o.BaseText = s.Base
			}
			b, err := sweep.K8sManifest(s, o)
			if err != nil {
				return usageError{err}
			}
			return writeOut(cmd.OutOrStdout(), manifest, b, 0o644)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.Shards, "shards", "n", 0, "pods, one shard each (completions)")
	f.IntVar(&o.Parallelism, "parallelism", 0, "pods running at once (default: N)")
	f.StringVar(&o.Image, "image", "", "container image with dais in it")
	f.StringVar(&o.Dais, "dais", "dais", "the dais binary in the image")
	f.StringVar(&o.Claim, "pvc", "", "PersistentVolumeClaim for the results, mounted at /results (ReadWriteMany across nodes)")
	f.StringVar(&o.CPU, "cpus", "1", "CPU each pod requests and is limited to (also its -j)")
	f.StringVar(&o.Memory, "memory", "2Gi", "memory each pod requests and is limited to")
	f.StringVar(&o.Namespace, "namespace", "", "namespace of the Job and ConfigMap")
	f.StringVarP(&manifest, "output", "o", "", "write the manifest to this file (default: standard output)")
	f.StringVar(&base, "base", "", "use this base scenario file instead of the sweep's base")
	return cmd
}
