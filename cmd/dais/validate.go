package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/runner"
	"github.com/dais-sim/dais/sim/tune"
)

func newValidateCmd() *cobra.Command {
	var sets []string
	cmd := &cobra.Command{
		Use:   "validate SCENARIO...",
		Short: "Check scenario files without running them",
		Long: `Validate loads each scenario (a file, or a shipped scenario by name) and reports every
problem in it at once, each with file:line:column and the key path: every check dais run makes
before it starts, and with the same message. It exits 0 when all are valid and 2 otherwise.
A file named tune-*.yaml is checked as a tune file (see dais tune).`,
		Example: `  dais validate scenarios/*.yaml
  dais validate my.yaml --set run.seed=7`,
		Args: checkArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, f := range args {
				if strings.HasPrefix(filepath.Base(f), "tune-") {
					// A tune file (shipped beside the scenarios it tunes).
					t, err := tune.Load(f)
					if err != nil {
						report(cmd.ErrOrStderr(), err)
						bad++
						continue
					}
					fmt.Fprintf(cmd.OutOrStdout(), "ok  %s (tune file: %d parameters of %s; dais tune --check also checks its figures)\n", f, len(t.Parameters), t.BaseFile)
					continue
				}
				sc, err := loadScenario(cmd.ErrOrStderr(), f, sets)
				if err == nil {
					err = runner.Check(sc)
				}
				if err != nil {
					report(cmd.ErrOrStderr(), err)
					bad++
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "ok  %s (%s: %s run, %d nodes, %v)\n", f, sc.Run.Name, sc.Runner(), sc.NodeCount(), sc.Run.Duration)
			}
			if bad > 0 {
				return usageError{fmt.Errorf("%d of %d files invalid", bad, len(args))}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a key in every file: --set key.path=value")
	return cmd
}

func newSchemaCmd() *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files (or their Markdown reference)",
		Long: `Schema prints the JSON Schema generated from the scenario structs. The repository ships
it as scenarios/scenario.schema.json; with --markdown it prints scenarios/README.md.`,
		Example: `  dais schema > scenarios/scenario.schema.json
  dais schema --markdown > scenarios/README.md`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if markdown {
				_, err := fmt.Fprint(cmd.OutOrStdout(), scenarios.Markdown())
				return err
			}
			_, err := cmd.OutOrStdout().Write(scenarios.JSONSchema())
			return err
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the key reference as Markdown")
	return cmd
}
