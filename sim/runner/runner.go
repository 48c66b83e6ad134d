// Package runner runs a scenario on the runner its sections name —
// federated learning (protocol.learning), the marketplace (a workload),
// consensus (protocol.consensus) or block gossip — for every repetition,
// and summarizes the repetitions into one metrics.Run. It is what `dais
// run` does, as a library: sweeps and tuning call it once per point.
//
//	sc, _ := scenarios.Load("scenarios/quickstart.yaml")
//	res, err := runner.Run(sc, runner.Options{})
//	// res.Run is metrics.json; res.Host what host.json holds.
//
// Repetition r runs with the seed protocol.DeriveSeed(run.seed,
// "repetition", r) (repetition 0 with run.seed itself), so a repetition's
// figures do not depend on how many repetitions run. Everything in Result.Run
// is a function of the scenario bytes and overrides; Result.Host is not.
package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/dais-sim/dais/scenarios/learning"
	"github.com/dais-sim/dais/scenarios/marketplace"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/blockprop"
	"github.com/dais-sim/dais/sim/consensusrun"
	"github.com/dais-sim/dais/sim/learnrun"
	"github.com/dais-sim/dais/sim/marketrun"
)

// ErrScenario is wrapped by errors that come from what the scenario asks
// for (a combination of sections no runner takes, a value a runner
// refuses): bad input, as opposed to a run that started and failed.
var ErrScenario = errors.New("runner: the scenario cannot run")

// Kind names the runner a scenario uses.
type Kind string

const (
	Learning  Kind = scenarios.RunnerLearning
	Market    Kind = scenarios.RunnerMarket
	Consensus Kind = scenarios.RunnerConsensus
	Gossip    Kind = scenarios.RunnerGossip
)

// KindOf is the runner sc runs on.
func KindOf(sc *scenarios.Scenario) Kind { return Kind(sc.Runner()) }

// Check refuses what sc's runner cannot run, as Run would before it
// starts: the loader has refused the combinations of sections no runner
// takes and what a runner would ignore (scenarios.Scenario.Runner), and
// Check builds repetition 0's run parameters as Run does, so that dais
// validate and dais run refuse the same files with the same message. Its
// errors are scenarios.Errors, each with the file, line and key path, and
// wrap ErrScenario.
func Check(sc *scenarios.Scenario) error {
	var errs scenarios.Errors
	if KindOf(sc) == Gossip {
		switch n, deg := sc.NodeCount(), sc.Protocol.Gossip.Degree; {
		case n < 2:
			errs = append(errs, sc.Errorf("population.nodes", "block gossip needs at least 2 nodes, not %d", n))
		case deg >= n:
			errs = append(errs, sc.Errorf("protocol.gossip.degree", "%d peers per node among %d nodes: the degree must be below the node count", deg, n))
		}
	}
	if len(errs) == 0 {
		if _, err := params(sc, 0); err != nil {
			errs = append(errs, locate(sc, err))
		}
	}
	if len(errs) > 0 {
		return checkError{errs.Sorted()}
	}
	return nil
}

// checkError is scenario errors that are ErrScenario too.
type checkError struct{ scenarios.Errors }

func (e checkError) Unwrap() []error { return []error{ErrScenario, e.Errors} }

// params builds the parameters of repetition rep on sc's runner, with the
// runner's own checks; the result is the runner's *Params.
func params(sc *scenarios.Scenario, rep int) (any, error) {
	switch KindOf(sc) {
	case Learning:
		return learning.FromScenario(sc, rep)
	case Market:
		return marketplace.FromScenario(sc, rep)
	case Consensus:
		return consensusrun.FromScenario(sc, rep)
	}
	p, err := blockprop.FromScenario(sc, rep)
	if err == nil {
		err = p.Validate()
	}
	return p, err
}

// keyPathRE finds a key path a runner's message starts with
// ("adversaries[0]: …", "protocol.governance.proposals[1]: …").
var keyPathRE = regexp.MustCompile(`^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*)(?::| )`)

// runnerSection is where a runner's refusal points when it names no key.
var runnerSection = map[Kind]string{Learning: "protocol.learning", Market: "workload", Consensus: "protocol.consensus", Gossip: "protocol.gossip"}

// locate places a runner's refusal at the key its message starts with, or
// at the runner's section.
func locate(sc *scenarios.Scenario, err error) *scenarios.Error {
	msg := err.Error()
	for _, e := range []error{learning.ErrParams, marketplace.ErrParams, consensusrun.ErrParams} {
		msg = strings.TrimPrefix(msg, e.Error()+": ")
	}
	msg = strings.TrimPrefix(msg, "blockprop: ")
	path := runnerSection[KindOf(sc)]
	if m := keyPathRE.FindStringSubmatch(msg); m != nil && strings.ContainsAny(m[1], ".[") {
		path = m[1]
		msg = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(msg, m[1]), ":"))
	}
	return sc.Errorf(path, "%s", msg)
}

// Progress follows one repetition: Start with the simulated time it is
// expected to end at, Update as it goes, Done at its end. Every runner
// calls Update as it goes.
type Progress interface {
	Start(rep int, endNs int64)
	Update(simNs int64, events uint64)
	Done(simNs int64, events uint64)
}

// Units is a Progress that can count something other than simulated
// nanoseconds. A learning run, whose simulated length is known only when
// its last round commits, counts the rounds of all its runs (attacked,
// clean, without DP) and calls Units("rounds") before Start; to a
// Progress without it, it reports nothing between Start and Done.
type Units interface {
	Units(unit string)
}

// Options tune a Run; the zero value runs every repetition quietly.
type Options struct {
	// Progress, if not nil, follows each repetition.
	Progress Progress
	// Version is the dais version written into the run's meta.
	Version string
}

// Rep is what one repetition gave.
type Rep struct {
	Run    *metrics.Run
	Seed   uint64
	Wall   time.Duration
	Events uint64
	// Failures are the invariant checker's violations, one line each.
	Failures []string
}

// Result is a scenario's repetitions summarized.
type Result struct {
	// Run is metrics.json: the figures (means with 95% CIs over
	// repetitions when there are several) and the meta that reproduces it.
	Run *metrics.Run
	// Reps are the repetitions' own runs, in order.
	Reps []Rep
	// Host is wall time and speed, all repetitions together.
	Host *metrics.Host
	// Failures are every repetition's violations, prefixed with the
	// repetition and its seed.
	Failures []string
}

// Run runs every repetition of sc and summarizes them.
func Run(sc *scenarios.Scenario, opt Options) (*Result, error) {
	if err := Check(sc); err != nil {
		return nil, err
	}
	res := &Result{Host: &metrics.Host{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}}
	var runs []*metrics.Run
	var seeds []uint64
	for rep := 0; rep < sc.Run.Repetitions; rep++ {
		r, err := Once(sc, rep, opt.Progress)
		if err != nil {
			return nil, err
		}
		res.Reps = append(res.Reps, r)
		runs = append(runs, r.Run)
		seeds = append(seeds, r.Seed)
		res.Host.WallS += r.Wall.Seconds()
		res.Host.Events += r.Events
		for _, f := range r.Failures {
			res.Failures = append(res.Failures, fmt.Sprintf("repetition %d (seed %d): %s", rep+1, r.Seed, f))
		}
	}
	if res.Host.WallS > 0 {
		res.Host.EventsPerS = float64(res.Host.Events) / res.Host.WallS
	}
	run := runs[0]
	if len(runs) > 1 {
		var err error
		if run, err = metrics.Aggregate(runs); err != nil {
			return nil, err
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
	run.Meta.Overrides = sc.Overrides
	run.Meta.Resolved = sc.Resolved()
	run.Meta.Seed = sc.Run.Seed
	run.Meta.Seeds = seeds
	run.Meta.Repetitions = len(runs)
	run.Meta.Version = opt.Version
	run.Meta.GoVersion = runtime.Version()
	run.Finding = Finding(sc, run)
	leadPlots(sc, run)
	run.Host = res.Host
	res.Run = run
	return res, nil
}

// Once runs repetition rep of sc on its runner. prog may be nil.
func Once(sc *scenarios.Scenario, rep int, prog Progress) (Rep, error) {
	bad := func(err error) error { return fmt.Errorf("%w: %s: %w", ErrScenario, sc.File, err) }
	end := int64(sc.Run.Duration.D())
	switch KindOf(sc) {
	case Learning:
		p, err := learning.FromScenario(sc, rep)
		if err != nil {
			return Rep{}, bad(err)
		}
		counted := false
		if u, ok := prog.(Units); ok {
			u.Units("rounds")
			rounds := 0
			p.Progress = func() { rounds++; prog.Update(int64(rounds), 0) }
			counted = true
		}
		total := int64(p.ProgressRounds())
		if !counted {
			total = end
		}
		start(prog, rep, total)
		res, err := learnrun.Run(p)
		if err != nil {
			return Rep{}, err
		}
		at := end
		if n := len(res.RoundEnd); n > 0 {
			at = int64(res.RoundEnd[n-1])
		}
		if counted {
			at = total
		}
		done(prog, at, res.Events)
		run := learning.Summary(res.Result)
		learnrun.AddEconomy(run, res) // protocol.learning.economy's figures, if any
		return Rep{Run: run, Seed: p.Seed, Wall: res.Wall, Events: res.Events}, nil
	case Market:
		p, err := marketplace.FromScenario(sc, rep)
		if err != nil {
			return Rep{}, bad(err)
		}
		start(prog, rep, end+int64(2*time.Minute))
		if prog != nil {
			p.Progress = prog.Update
		}
		res, err := marketrun.Run(p)
		if err != nil {
			return Rep{}, err
		}
		done(prog, int64(res.End), res.Events)
		return Rep{Run: marketplace.Summary(res), Seed: p.Seed, Wall: res.Wall, Events: res.Events}, nil
	case Consensus:
		p, err := consensusrun.FromScenario(sc, rep)
		if err != nil {
			return Rep{}, bad(err)
		}
		start(prog, rep, end)
		if prog != nil {
			p.Progress = prog.Update
		}
		res, err := consensusrun.Run(p)
		if err != nil {
			return Rep{}, err
		}
		done(prog, end, res.Events)
		r := Rep{Run: consensusrun.Summary(res), Seed: p.Seed, Wall: res.Wall, Events: res.Events}
		for _, f := range res.Failures {
			r.Failures = append(r.Failures, fmt.Sprint(f))
		}
		return r, nil
	}
	p, err := blockprop.FromScenario(sc, rep)
	if err != nil {
		return Rep{}, bad(err)
	}
	if err := p.Validate(); err != nil {
		return Rep{}, bad(err)
	}
	relays, err := blockprop.Relays(sc)
	if err != nil {
		return Rep{}, bad(err)
	}
	// Under protocol.gossip.compare the same network runs once per relay,
	// the scenario's own first; progress counts them as one run k times
	// as long.
	end = int64(p.Until + p.Interval)
	start(prog, rep, end*int64(len(relays)))
	var vs []blockprop.Variant
	var out Rep
	for i, r := range relays {
		q := p.WithRelay(r)
		rec, sink := blockprop.NewRecorder(int64(sc.Outputs.Step.D()), end)
		q.Sink = sink
		if prog != nil {
			off, events := int64(i)*end, out.Events
			q.Progress = func(simNs int64, ev uint64) { prog.Update(off+simNs, events+ev) }
		}
		res, err := blockprop.Run(q)
		if err != nil {
			return Rep{}, err
		}
		out.Wall += res.Wall
		out.Events += res.Events
		vs = append(vs, blockprop.Variant{Res: res, Rec: rec})
	}
	done(prog, end*int64(len(relays)), out.Events)
	out.Run, out.Seed = blockprop.Summary(vs[0].Res, vs[0].Rec), p.Seed
	if len(vs) > 1 {
		blockprop.Compare(out.Run, vs)
	}
	return out, nil
}

func start(p Progress, rep int, end int64) {
	if p != nil {
		p.Start(rep, end)
	}
}

func done(p Progress, at int64, events uint64) {
	if p != nil {
		p.Done(at, events)
	}
}
