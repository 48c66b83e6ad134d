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
	"runtime"
	"time"

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
	Learning  Kind = "learning"
	Market    Kind = "market"
	Consensus Kind = "consensus"
	Gossip    Kind = "gossip"
)

// KindOf is the runner sc runs on.
func KindOf(sc *scenarios.Scenario) Kind {
	switch {
	case sc.Protocol.Learning != nil:
		return Learning
	case sc.Workload != nil:
		return Market
	case sc.Protocol.Consensus != nil:
		return Consensus
	}
	return Gossip
}

// Check refuses combinations of sections that no runner takes.
func Check(sc *scenarios.Scenario) error {
	bad := func(msg string) error { return fmt.Errorf("%w: %s: %s", ErrScenario, sc.File, msg) }
	switch {
	case sc.Protocol.Learning != nil && (sc.Workload != nil || sc.Protocol.Consensus != nil):
		return bad("protocol.learning runs on its own: drop the workload and protocol.consensus sections")
	case sc.Workload != nil && sc.Protocol.Consensus != nil:
		return bad("a scenario runs either a workload (the marketplace, whose committee's consensus is modeled by protocol.market.commit_delay) or protocol.consensus, not both yet")
	case len(sc.Adversaries) > 0 && KindOf(sc) == Gossip:
		return bad("adversaries need protocol.consensus (consensus attacks), a workload (marketplace attacks) or protocol.learning (poisoning)")
	}
	return nil
}

// Progress follows one repetition: Start with the simulated time it is
// expected to end at, Update as it goes, Done at its end. Runners that
// cannot report progress call only Start and Done.
type Progress interface {
	Start(rep int, endNs int64)
	Update(simNs int64, events uint64)
	Done(simNs int64, events uint64)
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
	run.Meta.Seed = sc.Run.Seed
	run.Meta.Seeds = seeds
	run.Meta.Repetitions = len(runs)
	run.Meta.Version = opt.Version
	run.Meta.GoVersion = runtime.Version()
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
		p, err := learnrun.FromScenario(sc, rep)
		if err != nil {
			return Rep{}, bad(err)
		}
		start(prog, rep, end)
		res, err := learnrun.Run(p)
		if err != nil {
			return Rep{}, err
		}
		at := end
		if n := len(res.RoundEnd); n > 0 {
			at = int64(res.RoundEnd[n-1])
		}
		done(prog, at, res.Events)
		run := learnrun.Summary(res)
		learnrun.AddEconomy(run, res) // protocol.learning.economy's figures, if any
		return Rep{Run: run, Seed: p.Seed, Wall: res.Wall, Events: res.Events}, nil
	case Market:
		p, err := marketrun.FromScenario(sc, rep)
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
		return Rep{Run: marketrun.Summary(res), Seed: p.Seed, Wall: res.Wall, Events: res.Events}, nil
	case Consensus:
		p, err := consensusrun.FromScenario(sc, rep)
		if err != nil {
			return Rep{}, bad(err)
		}
		start(prog, rep, end)
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
	end = int64(p.Until + p.Interval)
	rec, sink := blockprop.NewRecorder(int64(sc.Outputs.Step.D()), end)
	p.Sink = sink
	start(prog, rep, end)
	if prog != nil {
		p.Progress = prog.Update
	}
	res, err := blockprop.Run(p)
	if err != nil {
		return Rep{}, err
	}
	done(prog, end, res.Events)
	return Rep{Run: blockprop.Summary(res, rec), Seed: p.Seed, Wall: res.Wall, Events: res.Events}, nil
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
