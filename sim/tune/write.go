package tune

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dais-sim/dais/metrics"
)

// Files in a tuning folder.
const (
	TraceCSV    = "trace.csv"
	TraceJSONL  = "trace.jsonl"
	BestFile    = "best.yaml"
	SummaryFile = "tune.json"
	ReportMD    = "report.md"
	ReportHTML  = "report.html"
	PlotFile    = "plots/convergence.svg"
	HostFile    = "host.json"
)

// Write writes the tuning folder: the trace (CSV and JSONL), best.yaml,
// tune.json, report.md with plots/convergence.svg, and report.html (the
// same, self-contained). Every file but host.json (wall time; written when
// host is not nil) is a function of the tune file and base scenario.
func Write(dir string, r *Result, host *metrics.Host) error {
	files := map[string][]byte{}
	var err error
	if files[TraceCSV], err = r.traceCSV(); err != nil {
		return err
	}
	if files[TraceJSONL], err = r.traceJSONL(); err != nil {
		return err
	}
	if files[BestFile], err = r.BestYAML(); err != nil {
		return err
	}
	if files[SummaryFile], err = r.summaryJSON(); err != nil {
		return err
	}
	svg, err := r.convergenceSVG()
	if err != nil {
		return err
	}
	files[PlotFile] = svg
	title := r.Tune.Name + ": dais tune report"
	bs := r.reportBlocks(svg)
	files[ReportMD] = markdown(title, bs)
	if files[ReportHTML], err = html(title, bs); err != nil {
		return err
	}
	if host != nil {
		h, err := json.MarshalIndent(host, "", "  ")
		if err != nil {
			return err
		}
		files[HostFile] = append(h, '\n')
	}
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(PlotFile)), 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// num is a float that JSON writes as null when it is NaN.
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

type jsonStat struct {
	Mean   num `json:"mean"`
	CI95Lo num `json:"ci95_lo"`
	CI95Hi num `json:"ci95_hi"`
	N      int `json:"n"`
}

func js(s Stat) jsonStat { return jsonStat{num(s.Mean), num(s.Lo), num(s.Hi), s.N} }

type jsonConstraint struct {
	Figure    string   `json:"figure"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	Violation num      `json:"violation"`
	jsonStat
}

type jsonEval struct {
	Evaluation  int                 `json:"evaluation"`
	Generation  int                 `json:"generation"`
	Parameters  map[string]num      `json:"parameters"`
	Score       num                 `json:"score"`
	Feasible    bool                `json:"feasible"`
	Objective   jsonStat            `json:"objective"`
	Constraints []jsonConstraint    `json:"constraints"`
	Failures    []string            `json:"failures,omitempty"`
	Figures     map[string]jsonStat `json:"figures"`
}

func (r *Result) jsonEval(e *Evaluation) jsonEval {
	t := r.Tune
	out := jsonEval{Evaluation: e.Index, Generation: e.Generation, Parameters: map[string]num{}, Score: num(e.Score),
		Feasible: e.Feasible, Objective: js(e.Objective), Failures: e.Failures, Figures: map[string]jsonStat{}}
	for i, p := range t.Parameters {
		out.Parameters[p.Key] = num(e.Values[i])
	}
	for j, c := range t.Constraints {
		out.Constraints = append(out.Constraints, jsonConstraint{Figure: t.constraints[j].text, Min: c.Min, Max: c.Max,
			Violation: num(e.Violation[j]), jsonStat: js(e.Constraints[j])})
	}
	for _, f := range e.Figures {
		out.Figures[f.Key] = js(f.Stat)
	}
	return out
}

// traceJSONL is one JSON object per candidate, in evaluation order.
func (r *Result) traceJSONL() ([]byte, error) {
	var b bytes.Buffer
	for i := range r.Evaluations {
		line, err := json.Marshal(r.jsonEval(&r.Evaluations[i]))
		if err != nil {
			return nil, err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// traceCSV is one row per candidate: its parameters, score, objective and
// constraints, then every figure's mean, CI bounds and n (the figures of
// the first candidate's runs, in their order, then any new ones).
func (r *Result) traceCSV() ([]byte, error) {
	t := r.Tune
	var keys []string
	seen := map[string]bool{}
	for _, e := range r.Evaluations {
		for _, f := range e.Figures {
			if !seen[f.Key] {
				seen[f.Key] = true
				keys = append(keys, f.Key)
			}
		}
	}
	head := []string{"evaluation", "generation"}
	for _, p := range t.Parameters {
		head = append(head, p.Key)
	}
	head = append(head, "score", "feasible")
	stat4 := func(name string) []string {
		return []string{name, name + "_ci95_lo", name + "_ci95_hi", name + "_n"}
	}
	head = append(head, stat4("objective")...)
	for j := range t.Constraints {
		head = append(head, stat4(fmt.Sprintf("constraint%d:%s", j+1, t.constraints[j].text))...)
	}
	for _, k := range keys {
		head = append(head, stat4(k)...)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(head); err != nil {
		return nil, err
	}
	cell := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	cells := func(s Stat) []string { return []string{cell(s.Mean), cell(s.Lo), cell(s.Hi), strconv.Itoa(s.N)} }
	for _, e := range r.Evaluations {
		row := []string{strconv.Itoa(e.Index), strconv.Itoa(e.Generation)}
		for _, v := range e.Values {
			row = append(row, cell(v))
		}
		row = append(row, cell(e.Score), strconv.FormatBool(e.Feasible))
		row = append(row, cells(e.Objective)...)
		for _, c := range e.Constraints {
			row = append(row, cells(c)...)
		}
		byKey := map[string]Stat{}
		for _, f := range e.Figures {
			byKey[f.Key] = f.Stat
		}
		for _, k := range keys {
			s, ok := byKey[k]
			if !ok {
				s = Stat{Mean: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
			}
			row = append(row, cells(s)...)
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// summaryJSON is tune.json: what was tuned, the best candidate and the
// validation.
func (r *Result) summaryJSON() ([]byte, error) {
	t := r.Tune
	type sample struct {
		Score       jsonStat   `json:"score"`
		Objective   jsonStat   `json:"objective"`
		Constraints []jsonStat `json:"constraints"`
		Feasible    bool       `json:"feasible"`
		Failures    []string   `json:"failures,omitempty"`
	}
	smp := func(s Sample) sample {
		out := sample{Score: js(s.Score), Objective: js(s.Objective), Feasible: s.Feasible, Failures: s.Failures}
		for _, c := range s.Constraints {
			out.Constraints = append(out.Constraints, js(c))
		}
		return out
	}
	type validation struct {
		Seed        uint64   `json:"seed"`
		Repetitions int      `json:"repetitions"`
		Base        sample   `json:"base"`
		Best        sample   `json:"best"`
		Diff        jsonStat `json:"best_minus_base_score"`
		Overlap     bool     `json:"ci95_overlap"`
	}
	out := struct {
		Name        string      `json:"name"`
		TuneFile    string      `json:"tune_file"`
		Base        string      `json:"base"`
		Objective   string      `json:"objective"`
		Method      string      `json:"method"`
		Seed        uint64      `json:"seed"`
		Repetitions int         `json:"repetitions"`
		Budget      int         `json:"budget"`
		Evaluated   int         `json:"evaluated"`
		Converged   bool        `json:"converged"`
		Runs        int         `json:"runs"`
		Best        jsonEval    `json:"best"`
		Overrides   []string    `json:"best_overrides"`
		Validation  *validation `json:"validation,omitempty"`
	}{Name: t.Name, TuneFile: t.Path, Base: t.BaseFile, Objective: t.direction(), Method: t.Method, Seed: t.Seed,
		Repetitions: t.Repetitions, Budget: t.Budget, Evaluated: len(r.Evaluations), Converged: r.Converged, Runs: r.Runs,
		Best: r.jsonEval(r.BestEvaluation()), Overrides: r.BestEvaluation().Overrides}
	if v := r.Validation; v != nil {
		out.Validation = &validation{Seed: v.Seed, Repetitions: v.Repetitions, Base: smp(v.Base), Best: smp(v.Best),
			Diff: js(v.Diff), Overlap: Overlap(v.Base.Score, v.Best.Score)}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	return append(b, '\n'), err
}
