// Package tune searches scenario parameters for the best objective over a
// run's figures, under constraints: what `dais tune` does, as a library.
//
//	t, err := tune.Load("scenarios/tune-tokenomics.yaml") // checks the file against its base
//	res, err := tune.Run(t, tune.Options{Jobs: 4})        // check run, search, validation
//	err = tune.Write("runs/tune-tokenomics", res, nil)    // trace, report, best.yaml
//
// A candidate is one value per parameter, written into the base scenario
// as --set overrides; it runs repetitions 0..R−1 with run.seed = the tune
// file's seed (runner.Once), the same seeds for every candidate. Its score
// is the objective's mean less (or plus) each constraint's penalty for how
// far its figure's mean is past the bound. The optimizer (CMAES, or gonum's
// NelderMead or CmaEsChol) works in one unbounded coordinate per parameter,
// reflected into [0, 1] of the parameter's (log) range; drive hands it each
// batch's scores in the order it asked, so the search, and every file
// Write makes but host.json, depend on the tune file alone, never on
// Options.Jobs or GOMAXPROCS.
package tune
