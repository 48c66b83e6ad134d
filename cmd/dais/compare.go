package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/reports"
)

func newCompareCmd() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Put two runs' figures side by side with their differences",
		Long: `Compare reads two run folders (or their metrics.json files) written by dais run. It
lists the scenario keys that differ between them (a diff of the resolved scenarios: seed,
repetitions, overrides, defaults) and every figure of both, each side's mean with its 95%
confidence interval over repetitions, the difference B − A and the change in percent. Where
both sides have at least two repetitions, Welch's t-test says whether the difference is
significant (p < 0.05) and, for figures with a direction, whether B is better, worse or the
same; with one run on a side the row says "1 run": a seed's luck cannot be told from an effect.

--format json and csv are for programs; --format html writes one self-contained page that also
overlays the two runs' plots.`,
		Example: `  dais compare runs/quickstart runs/quickstart-lossy
  dais compare runs/a runs/b --format md > compare.md
  dais compare runs/a runs/b --format json | jq '.figures[] | select(.significant)'
  dais compare runs/a runs/b --format csv -o compare.csv
  dais compare runs/a runs/b --format html -o compare.html`,
		Args: checkArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains([]string{"table", "md", "html", "json", "csv"}, format) {
				return badInput("--format %q: want table, md, html, json or csv", format)
			}
			var named [2]reports.Named
			for i, path := range args {
				run, err := reports.Load(path)
				if errors.Is(err, reports.ErrNoRun) || errors.Is(err, metrics.ErrInvalid) {
					return usageError{err}
				}
				if err != nil {
					return err
				}
				named[i] = reports.Named{Name: runName(path), Run: run}
			}
			if named[0].Name == named[1].Name {
				named[0].Name, named[1].Name = "A", "B"
			}
			c := reports.Compare(named[0], named[1])
			var b bytes.Buffer
			var err error
			switch format {
			case "table":
				err = c.Table(&b)
			case "md":
				err = c.Markdown(&b)
			case "html":
				err = c.HTML(&b)
			case "json":
				err = c.JSON(&b)
			case "csv":
				err = c.CSV(&b)
			}
			if err != nil {
				return err
			}
			var w io.Writer = cmd.OutOrStdout()
			if out != "" {
				return os.WriteFile(out, b.Bytes(), 0o644)
			}
			_, err = w.Write(b.Bytes())
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output: table (terminal), md (Markdown), html (one page with plots), json or csv")
	cmd.Flags().StringVarP(&out, "out", "o", "", "write to this file instead of standard output")
	return cmd
}

// runName names a run by its folder: runs/quickstart/metrics.json and
// runs/quickstart are both "quickstart".
func runName(path string) string {
	path = filepath.Clean(path)
	if filepath.Base(path) == reports.MetricsFile {
		path = filepath.Dir(path)
	}
	return filepath.Base(path)
}
