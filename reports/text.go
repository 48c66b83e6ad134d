package reports

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/dais-sim/dais/metrics"
)

// TableRows bounds the terminal table.
const TableRows = 15

// CSV writes the run's time series: a header t_s (the start of each step,
// in simulated seconds) and one column per series key, then one row per
// step. An empty cell is a mean with no sample. A run without series
// writes the header alone.
func CSV(w io.Writer, run *metrics.Run) error {
	cw := csv.NewWriter(w)
	head := []string{"t_s"}
	var cols []metrics.Column
	var step float64
	n := 0
	if s := run.Series; s != nil {
		cols, step = s.Columns, float64(s.StepNs)/1e9
		for _, c := range cols {
			head = append(head, c.Key)
			n = max(n, len(c.Values))
		}
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	row := make([]string, len(head))
	for i := 0; i < n; i++ {
		row[0] = strconv.FormatFloat(float64(i)*step, 'f', -1, 64)
		for j, c := range cols {
			row[j+1] = ""
			if i < len(c.Values) && !math.IsNaN(c.Values[i]) {
				row[j+1] = strconv.FormatFloat(c.Values[i], 'g', -1, 64)
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Table prints the run's finding and its headline figures (at most
// TableRows) as a terminal table, then the run's tables (metrics.Table).
func Table(w io.Writer, run *metrics.Run) error {
	if s := findingText(run); s != "" {
		fmt.Fprintf(w, "%s\n\n", s)
	}
	t := NewTable(w)
	reps := run.Meta.Repetitions > 1
	if reps {
		t.Header("figure", "mean ± 95% CI", "unit")
	} else {
		t.Header("figure", "value", "unit")
	}
	for _, f := range headline(run, TableRows) {
		if err := t.Append([]string{f.Key, formatFigure(f), f.Unit}); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	return writeTables(w, run)
}

// Markdown writes report.md: the finding (a sentence and the figures that
// answer the scenario's question), what ran, the plots (as links to
// plots/*.svg, with captions), then, folded, every figure with its
// meaning, the distributions' quantiles and the scenario.
func Markdown(w io.Writer, run *metrics.Run) error {
	b := bufio.NewWriter(w)
	m := run.Meta
	fmt.Fprintf(b, "# %s\n\n", mdEscape(m.Scenario))
	if d := description(m); d != "" {
		fmt.Fprintf(b, "%s\n\n", mdEscape(d))
	}
	fmt.Fprintf(b, "%s\n\n", runLine(m))
	if s := findingText(run); s != "" {
		fmt.Fprintf(b, "> **%s**\n\n", mdEscape(s))
	}
	writeFigureTable(b, findingFigures(run), m.Repetitions > 1, true)
	for _, t := range run.Tables {
		head, rows := tableCells(run, t)
		fmt.Fprintf(b, "\n## %s\n\n| %s |\n|---%s|\n", mdEscape(t.Title), strings.Join(head, " | "), strings.Repeat("|---:", len(t.Columns)))
		for _, r := range rows {
			fmt.Fprintf(b, "| %s |\n", strings.Join(r, " | "))
		}
	}

	if len(run.Plots) > 0 {
		fmt.Fprintf(b, "\n## Plots\n")
		files := PlotFiles(run)
		for i, p := range run.Plots {
			fmt.Fprintf(b, "\n### %d. %s\n\n![%s](%s)\n\n%s\n", i+1, mdEscape(p.Title), mdEscape(p.Title), files[i], mdEscape(p.Caption))
		}
	}

	fmt.Fprintf(b, "\n## Details\n\n<details><summary>All %d figures</summary>\n\nKeys are stable; docs/metrics.md says how each is computed.\n\n", len(run.Figures))
	writeFigureTable(b, run.Figures, m.Repetitions > 1, true)
	fmt.Fprintf(b, "\n</details>\n")

	if len(run.Dists) > 0 {
		fmt.Fprintf(b, "\n<details><summary>Distributions (%d)</summary>\n\n", len(run.Dists))
		fmt.Fprintf(b, "| distribution | unit | count | min | p10 | p50 | p90 | p99 | p99.9 | max | error |\n")
		fmt.Fprintf(b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, d := range run.Dists {
			fmt.Fprintf(b, "| `%s` | %s | %d", d.Key, d.Unit, d.Count)
			for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.99, 0.999, 1} {
				fmt.Fprintf(b, " | %s", FormatValue(quantile(d, q)))
			}
			fmt.Fprintf(b, " | ±%s%% |\n", FormatValue(100*d.RelErr))
		}
		fmt.Fprintf(b, "\n</details>\n")
	}
	if s := run.Series; s != nil && len(s.Columns) > 0 {
		fmt.Fprintf(b, "\n%s has %d steps of %s: ", TimeseriesFile, len(s.Columns[0].Values), time.Duration(s.StepNs))
		keys := make([]string, len(s.Columns))
		for i, c := range s.Columns {
			keys[i] = "`" + c.Key + "`"
		}
		fmt.Fprintf(b, "%s.\n", strings.Join(keys, ", "))
	}
	fmt.Fprintf(b, "\n<details><summary>The run: scenario, seeds, versions</summary>\n\n| run | |\n|---|---|\n")
	for _, kv := range metaRows(m) {
		fmt.Fprintf(b, "| %s | %s |\n", kv[0], mdEscape(kv[1]))
	}
	if len(m.Params) > 0 {
		fmt.Fprintf(b, "\n| parameter | value |\n|---|---|\n")
		for _, k := range sortedKeys(m.Params) {
			fmt.Fprintf(b, "| %s | %s |\n", mdEscape(k), mdEscape(m.Params[k]))
		}
	}
	fmt.Fprintf(b, "\n</details>\n")
	if m.ScenarioText != "" {
		fmt.Fprintf(b, "\n<details><summary>Scenario file</summary>\n\n```yaml\n%s\n```\n\n</details>\n", strings.TrimRight(m.ScenarioText, "\n"))
	}
	return b.Flush()
}

func writeFigureTable(b *bufio.Writer, figs []metrics.Figure, reps, help bool) {
	head, rule := "| figure | value | unit |", "|---|---:|---|"
	if reps {
		head, rule = "| figure | mean ± 95% CI | unit | n |", "|---|---:|---|---:|"
	}
	if help {
		head, rule = head+" meaning |", rule+"---|"
	}
	fmt.Fprintf(b, "%s\n%s\n", head, rule)
	for _, f := range figs {
		fmt.Fprintf(b, "| `%s` | %s | %s |", f.Key, formatFigure(f), f.Unit)
		if reps {
			n := 1
			if f.Reps != nil {
				n = f.Reps.N
			}
			fmt.Fprintf(b, " %d |", n)
		}
		if help {
			fmt.Fprintf(b, " %s |", mdEscape(f.Help))
		}
		b.WriteByte('\n')
	}
}

// metaRows are what identifies a run, for the head of a report.
func metaRows(m metrics.Meta) [][2]string {
	rows := [][2]string{{"scenario", m.Scenario}}
	if m.ScenarioSHA256 != "" {
		rows = append(rows, [2]string{"scenario sha256", m.ScenarioSHA256})
	}
	seed := strconv.FormatUint(m.Seed, 10)
	if len(m.Seeds) > 1 {
		ss := make([]string, len(m.Seeds))
		for i, s := range m.Seeds {
			ss[i] = strconv.FormatUint(s, 10)
		}
		seed = strings.Join(ss, ", ")
	}
	if len(m.Overrides) > 0 {
		rows = append(rows, [2]string{"overrides", "--set " + strings.Join(m.Overrides, " --set ")})
	}
	rows = append(rows,
		[2]string{"seed", seed},
		[2]string{"repetitions", strconv.Itoa(max(m.Repetitions, 1))},
		[2]string{"simulated time", SimulatedTime(m)},
		[2]string{"dais version", m.Version},
		[2]string{"Go version", m.GoVersion},
	)
	return rows
}

// SimulatedTime is the simulated time a run ended at, to the millisecond,
// as the report's header and dais run's first line both give it.
// Where the scenario's run.duration differs (a marketplace drains the jobs
// in flight after it; a learning run ends with its last round), it says
// so.
func SimulatedTime(m metrics.Meta) string {
	s := time.Duration(m.SimEndNs).Round(time.Millisecond).String()
	for _, kv := range m.Resolved {
		if d, ok := strings.CutPrefix(kv, "run.duration="); ok && d != s {
			s += " (run.duration " + d + ")"
		}
	}
	return s
}

// quantile reads a Dist at level q, stepping to the first level ≥ q.
func quantile(d metrics.Dist, q float64) float64 {
	i, _ := slices.BinarySearch(d.Q, q)
	if i >= len(d.V) {
		return math.NaN()
	}
	return d.V[i]
}

var mdReplacer = strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;")

func mdEscape(s string) string { return mdReplacer.Replace(s) }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// NewTable is the one terminal table style of dais: headers printed as
// written (tablewriter would upper-case them and space out "95%" and "/").
func NewTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
}

// tableCells are a metrics.Table's cells as text: the header (the measure,
// then the columns) and one row per measure, each cell its figure's value
// with its unit (and, over repetitions, its 95% CI half-width).
func tableCells(run *metrics.Run, t metrics.Table) (head []string, rows [][]string) {
	head = append([]string{""}, t.Columns...)
	for _, r := range t.Rows {
		row := []string{r.Name}
		for _, k := range r.Keys {
			f, ok := run.Figure(k)
			cell := ""
			if ok {
				cell = formatFigure(f)
				if f.Unit != "" {
					cell += " " + f.Unit
				}
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	return head, rows
}

// writeTables prints the run's tables for the terminal.
func writeTables(w io.Writer, run *metrics.Run) error {
	for _, t := range run.Tables {
		fmt.Fprintf(w, "\n%s\n", t.Title)
		head, rows := tableCells(run, t)
		tab := NewTable(w)
		tab.Header(head)
		for _, r := range rows {
			if err := tab.Append(r); err != nil {
				return err
			}
		}
		if err := tab.Render(); err != nil {
			return err
		}
	}
	return nil
}
