package tune

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dais-sim/dais/scenarios"
)

// File is a tune file: the scenario to tune, the parameters and their
// ranges, the objective and constraints over the run's figures, and how to
// search. Its tags are the schema (scenarios.Decode reads them; `dais tune
// schema` writes scenarios/tune.schema.json from them).
type File struct {
	Name        string       `yaml:"name" doc:"Name of the tuning run; the output folder is runs/<name> (default: the tune file's name without .yaml)."`
	Description string       `yaml:"description" doc:"What is tuned and why, in a sentence or two."`
	Base        string       `yaml:"base" required:"true" doc:"The scenario to tune: a YAML file (relative to this file) or the name of a shipped scenario."`
	Set         []string     `yaml:"set" doc:"Overrides applied to the base before the parameters, as --set takes them: key.path=value (the value is YAML)."`
	Parameters  []Parameter  `yaml:"parameters" required:"true" doc:"The scenario keys the optimizer sets, each with its range."`
	Objective   Objective    `yaml:"objective" required:"true" doc:"What to maximize or minimize: one figure or a weighted sum of figures, averaged over the repetitions."`
	Constraints []Constraint `yaml:"constraints" doc:"Bounds on figures; a candidate past a bound is penalized (see penalty)."`
	Method      string       `yaml:"method" default:"cmaes" enum:"cmaes|cmaes_chol|nelder_mead" doc:"cmaes (CMA-ES as Hansen's tutorial states it: a population per generation, ranks only, robust to noise), cmaes_chol (gonum's CmaEsChol, which adapts its step size far more slowly; for comparison), or nelder_mead (gonum's simplex, one candidate at a time; for smooth, nearly noiseless objectives)."`
	Budget      int          `yaml:"budget" default:"60" min:"1" max:"100000" doc:"Candidates to evaluate, each on every repetition."`
	Population  int          `yaml:"population" default:"0" min:"0" max:"10000" doc:"cmaes, cmaes_chol: candidates per generation (0: 4 + ⌊3·ln d⌋ for d parameters)."`
	StepSize    float64      `yaml:"step_size" default:"0.3" min:"0.001" max:"10" doc:"cmaes, cmaes_chol: the initial standard deviation, as a share of each parameter's range (its log range for log parameters); nelder_mead: the initial simplex's size, likewise."`
	Repetitions int          `yaml:"repetitions" default:"3" min:"1" max:"1000" doc:"Runs per candidate; a candidate's figures are their means. Every candidate uses the same seeds (common random numbers), so candidates differ by their parameters, not by luck."`
	Seed        uint64       `yaml:"seed" default:"1" doc:"Seed of the optimizer and of the runs: candidates run with run.seed = seed."`
	Jobs        int          `yaml:"jobs" default:"0" min:"0" max:"4096" doc:"Runs at once (0: GOMAXPROCS); dais tune -j overrides it. The results do not depend on it."`
	Validation  int          `yaml:"validation" default:"0" min:"0" max:"1000" doc:"After the search, run the base and the best candidate this many times on fresh seeds (not the tuning ones) and compare them with 95% confidence intervals (0: no validation)."`
}

// Parameter is one scenario key the optimizer sets.
type Parameter struct {
	Key     string   `yaml:"key" required:"true" doc:"A scenario key path, as --set takes it: protocol.verification.spot_check, adversaries[0].share."`
	Min     float64  `yaml:"min" required:"true" doc:"Smallest value, a number in the parameter's unit."`
	Max     float64  `yaml:"max" required:"true" doc:"Largest value."`
	Scale   string   `yaml:"scale" default:"linear" enum:"linear|log" doc:"linear, or log: the optimizer moves in log(value), for parameters that span orders of magnitude (min must be > 0)."`
	Integer bool     `yaml:"integer" default:"false" doc:"Round to whole numbers (min and max must be whole)."`
	Start   *float64 `yaml:"start" doc:"Where the search starts (default: the middle of the range, the geometric middle for log)."`
	Unit    string   `yaml:"unit" doc:"Written after the number in the override: % (so min 1, max 50 set 1% to 50%), /s, ms, s, … (default: none, a plain number)."`
}

// Objective is one linear expression over figures, to maximize or to
// minimize: "reward_per_work_jain", "verification_overhead + 0.0001 *
// faked_units", "mean(profit_usd_per_gpu_hour_by_class) - 2 *
// verification_overhead".
type Objective struct {
	Maximize string `yaml:"maximize" doc:"Figures to maximize: a sum of terms [weight *] figure, joined by + or -. A figure is a key of metrics.json's figures, GROUP[label] (a group's value for one label, e.g. profit_usd_per_gpu_hour_by_class[cpu]), GROUP[label].set for a group with several sets, or min(GROUP), max(GROUP), mean(GROUP) over its labels."`
	Minimize string `yaml:"minimize" doc:"Figures to minimize, written as for maximize. Give one of maximize and minimize."`
}

// Constraint bounds one figure's mean over the repetitions.
type Constraint struct {
	Figure  string   `yaml:"figure" required:"true" doc:"The figure, written as in the objective (one figure, no weight): inflation_yearly, reward_per_work_jain, min(profit_usd_per_gpu_hour_by_class)."`
	Min     *float64 `yaml:"min" doc:"The figure's mean must be at least this."`
	Max     *float64 `yaml:"max" doc:"The figure's mean must be at most this."`
	Penalty float64  `yaml:"penalty" default:"1000" min:"0" doc:"Added to the minimized objective (taken from a maximized one) per unit of the figure past its bound: pick it larger than what the objective can gain per unit of the figure, so the optimum respects the bound."`
}

// Tune is a checked tune file: its base scenario and parsed expressions.
type Tune struct {
	File
	// Path is the tune file's path ("scenarios/tune-x.yaml" for a shipped
	// one); Source its bytes.
	Path   string
	Source []byte
	// Scenario is the base scenario with Set applied.
	Scenario *scenarios.Scenario
	// BaseFile and BaseSource are what Base was parsed from, before Set.
	BaseFile   string
	BaseSource []byte

	objective   expr
	maximize    bool
	constraints []selector
	doc         *scenarios.Document
}

// ErrTune is wrapped by errors in what a tune file asks for that no single
// key shows (a base that cannot run); errors at a key are scenarios.Errors.
var ErrTune = errors.New("tune: invalid tune file")

// Load reads and checks a tune file: its keys and ranges (every problem at
// once, with file:line:column), its base scenario, every parameter
// applied to the base at its minimum and its maximum (so a mistyped key
// path or an out-of-range bound is reported at the tune file's line, with
// the scenario loader's did-you-mean), and the objective's and
// constraints' syntax. Whether the figures exist is known only from a run:
// Check does that.
func Load(path string) (*Tune, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load on bytes already read; path names the file in errors and
// is the base for a relative base scenario path.
func Parse(path string, data []byte) (*Tune, error) {
	t := &Tune{Path: path, Source: data}
	doc, err := scenarios.Decode(path, data, &t.File, "a tune file")
	if err != nil {
		return nil, err
	}
	t.doc = doc
	if t.Name == "" {
		t.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	var errs scenarios.Errors
	add := func(p, format string, a ...any) { errs = append(errs, doc.Errorf(p, format, a...)) }
	t.checkParameters(add)
	switch o := t.Objective; {
	case (o.Maximize == "") == (o.Minimize == ""):
		add("objective", "give one of maximize and minimize")
	case o.Maximize != "":
		t.maximize = true
		t.objective, err = parseExpr(o.Maximize)
		if err != nil {
			add("objective.maximize", "%v", err)
		}
	default:
		t.objective, err = parseExpr(o.Minimize)
		if err != nil {
			add("objective.minimize", "%v", err)
		}
	}
	for i, c := range t.Constraints {
		at := fmt.Sprintf("constraints[%d]", i)
		s, err := parseSelector(strings.TrimSpace(c.Figure))
		if err != nil {
			add(at+".figure", "%v", err)
		}
		t.constraints = append(t.constraints, s)
		switch {
		case c.Min == nil && c.Max == nil:
			add(at, "give min, max or both")
		case c.Min != nil && c.Max != nil && *c.Min > *c.Max:
			add(at+".max", "max %g is below min %g", *c.Max, *c.Min)
		}
	}
	if len(errs) > 0 {
		return nil, errs.Sorted()
	}
	if err := t.loadBase(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tune) checkParameters(add func(p, format string, a ...any)) {
	if len(t.Parameters) == 0 {
		add("parameters", "list at least one parameter")
	}
	seen := map[string]int{}
	for i := range t.Parameters {
		p := &t.Parameters[i]
		at := fmt.Sprintf("parameters[%d]", i)
		if j, ok := seen[p.Key]; ok {
			add(at+".key", "%s is already parameters[%d]", p.Key, j)
		}
		seen[p.Key] = i
		switch {
		case !(p.Min < p.Max):
			add(at+".max", "max %g is not above min %g", p.Max, p.Min)
		case p.Scale == "log" && p.Min <= 0:
			add(at+".min", "a log parameter needs min > 0, got %g", p.Min)
		case p.Integer && (p.Min != math.Trunc(p.Min) || p.Max != math.Trunc(p.Max)):
			add(at, "an integer parameter needs whole min and max, got %g and %g", p.Min, p.Max)
		case p.Start != nil && (*p.Start < p.Min || *p.Start > p.Max):
			add(at+".start", "start %g is outside [%g, %g]", *p.Start, p.Min, p.Max)
		}
		if strings.ContainsAny(p.Unit, " \t\n#,{}[]") {
			add(at+".unit", "%q: a unit is a suffix such as %%, /s or ms", p.Unit)
		}
	}
}

// loadBase reads the base scenario and checks Set and each parameter's
// bounds against it, mapping the loader's errors back to the tune file.
func (t *Tune) loadBase() error {
	var err error
	if t.BaseFile, t.BaseSource, err = t.readBase(); err != nil {
		return scenarios.Errors{t.doc.Errorf("base", "%v", err)}
	}
	var errs scenarios.Errors
	t.Scenario, err = scenarios.Parse(t.BaseFile, t.BaseSource, t.Set...)
	if err != nil {
		errs = append(errs, t.mapErrors(err, func(o string) (string, bool) {
			i := slices.Index(t.Set, o)
			return fmt.Sprintf("set[%d]", i), i >= 0
		})...)
		return errs.Sorted()
	}
	for i, p := range t.Parameters {
		for _, end := range []struct {
			key string
			v   float64
		}{{"min", p.Min}, {"max", p.Max}} {
			o := p.Key + "=" + p.text(end.v)
			_, err := scenarios.Parse(t.BaseFile, t.BaseSource, append(slices.Clone(t.Set), o)...)
			if err == nil {
				continue
			}
			errs = append(errs, t.mapErrors(err, func(s string) (string, bool) {
				if s != o {
					return "", false
				}
				return fmt.Sprintf("parameters[%d].%s", i, end.key), true
			})...)
		}
	}
	// The same bad key shows at both ends: report it once.
	errs = slices.CompactFunc(errs, func(a, b *scenarios.Error) bool { return a.Error() == b.Error() })
	if len(errs) > 0 {
		return errs.Sorted()
	}
	return nil
}

// readBase finds the base scenario: a file relative to the tune file, else
// a shipped scenario by name.
func (t *Tune) readBase() (string, []byte, error) {
	file := t.File.Base
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(t.Path), file)
	}
	if data, err := os.ReadFile(file); err == nil {
		return file, data, nil
	}
	name := strings.TrimSuffix(t.File.Base, ".yaml")
	if data, err := scenarios.Shipped(name + ".yaml"); err == nil {
		return "scenarios/" + name + ".yaml", data, nil
	}
	return "", nil, fmt.Errorf("%q is neither a file (%s) nor a shipped scenario (%s)", t.File.Base, file, strings.Join(scenarios.BuiltinNames(), ", "))
}

// mapErrors turns the scenario loader's errors into the tune file's: an
// error an override caused is placed where the tune file wrote it (where
// says which key path, for the override's text); the parameter's key when
// the error is about another path (a mistyped key), else its value. Other
// errors keep their position in the base scenario.
func (t *Tune) mapErrors(err error, where func(override string) (string, bool)) scenarios.Errors {
	var in scenarios.Errors
	if !errors.As(err, &in) {
		return scenarios.Errors{t.doc.Errorf("base", "%v", err)}
	}
	var out scenarios.Errors
	for _, e := range in {
		at, ok := where(e.Pos.Override)
		if !ok {
			out = append(out, e)
			continue
		}
		override, _, _ := strings.Cut(e.Pos.Override, "=")
		msg := e.Msg
		if e.Path != "" {
			msg = e.Path + ": " + msg
		}
		// A mistyped last key has the parameter's own path: the message
		// tells it from a bad value.
		if strings.HasPrefix(at, "parameters[") && (e.Path != override || strings.HasPrefix(e.Msg, "unknown key")) {
			at = at[:strings.LastIndexByte(at, '.')] + ".key"
		} else {
			msg += " (setting " + e.Pos.Override + ")"
		}
		out = append(out, t.doc.Errorf(at, "in %s: %s", t.BaseFile, msg))
	}
	return out
}

// text is v as the override writes it: whole for integers, else six
// significant digits, never in exponent form (token amounts and durations
// do not take one), then the unit.
func (p *Parameter) text(v float64) string {
	return formatNumber(v, p.Integer) + p.Unit
}

func formatNumber(v float64, integer bool) string {
	if integer {
		return strconv.FormatInt(int64(math.Round(v)), 10)
	}
	s := strconv.FormatFloat(v, 'g', 6, 64)
	if strings.ContainsAny(s, "eE") {
		r, _ := strconv.ParseFloat(s, 64)
		s = strconv.FormatFloat(r, 'f', -1, 64)
	}
	return s
}

// value maps u in [0, 1] to the parameter's value as the override writes
// it (rounded), and returns that value.
func (p *Parameter) value(u float64) float64 {
	var x float64
	if p.Scale == "log" {
		lo, hi := math.Log(p.Min), math.Log(p.Max)
		x = math.Exp(lo + u*(hi-lo))
	} else {
		x = p.Min + u*(p.Max-p.Min)
	}
	x = min(max(x, p.Min), p.Max)
	r, _ := strconv.ParseFloat(formatNumber(x, p.Integer), 64)
	if r < p.Min || r > p.Max {
		return x // rounding crossed a bound written with more digits
	}
	return r
}

// unit is value's inverse: where x sits in [0, 1].
func (p *Parameter) unit(x float64) float64 {
	if p.Scale == "log" {
		return (math.Log(x) - math.Log(p.Min)) / (math.Log(p.Max) - math.Log(p.Min))
	}
	return (x - p.Min) / (p.Max - p.Min)
}

// start is where the search starts, in [0, 1].
func (p *Parameter) start() float64 {
	if p.Start == nil {
		return 0.5
	}
	return p.unit(*p.Start)
}

// fold maps the optimizer's unbounded coordinate y to [0, 1] by reflecting
// it at the bounds (a triangle wave of period 2): every point the optimizer
// asks for is a valid value, no region of the space is flattened onto a
// bound (as clipping would), and inside [0, 1] it is the identity.
func fold(y float64) float64 {
	t := math.Mod(y, 2)
	if t < 0 {
		t += 2
	}
	if t > 1 {
		t = 2 - t
	}
	return t
}
