// Command dais runs simulations of a decentralized GPU-compute and
// AI-training network, and (in later releases) live testnets of the same
// protocol code.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/scenarios"
)

// Exit codes, documented in the README.
const (
	exitOK       = 0
	exitFailed   = 1 // the run started and failed
	exitBadInput = 2 // flags, arguments or input files are wrong
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// usageError marks errors in what the user gave us (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badInput(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	root := newRoot()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	report(os.Stderr, err)
	var ue usageError
	// cobra reports an unknown subcommand as a plain error.
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		return exitBadInput
	}
	return exitFailed
}

// report prints an error: a scenario's problems one per line, each with
// its file:line:column and key (as dais validate prints them), anything
// else after "dais: ".
func report(w io.Writer, err error) {
	var es scenarios.Errors
	if errors.As(err, &es) {
		fmt.Fprintln(w, es.Error())
		return
	}
	fmt.Fprintln(w, "dais:", err)
}

// checkArgs wraps a cobra argument validator so its errors exit with 2.
func checkArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "dais",
		Short: "Deterministic simulator and benchmark harness for a decentralized GPU-compute blockchain",
		Long: `dais simulates a decentralized GPU-compute and AI-training network — consensus,
scheduling, verification, rewards, learning and attacks — over thousands of
heterogeneous GPU nodes, deterministically: the same seed gives the same run.`,
		Example: `  dais run                          # the built-in demo: a 1 MiB block over 1,000 nodes
  dais run scenarios/quickstart.yaml
  dais validate scenarios/*.yaml
  dais schema > scenarios/scenario.schema.json
  dais version`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newVersionCmd(), newRunCmd(), newValidateCmd(), newSchemaCmd(), newCompareCmd(), newGPUCmd())
	root.AddCommand(newNodeCmd(), newTestnetCmd(), newJobCmd(), newAccountCmd(), newInferCmd())
	root.AddCommand(newCalibrateCmd(), newTuneCmd())
	root.AddCommand(newSweepCmd())
	return root
}
