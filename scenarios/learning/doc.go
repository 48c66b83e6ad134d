// Package learning is what both drivers share about a federated training
// job (protocol/learn) on optdigits: its parameters (Params; FromScenario
// builds them from a scenario's protocol.learning), the job's data and
// math (Federation: the split, the initial model, the training and
// scoring jobs, the test measurement), and what a run measured (Result,
// fed by AddRound and Tally from the job's events) with the summary that
// turns it into figures (Summary, a metrics.Run under stable keys).
//
//	fed, err := learning.NewFederation(&p, nil) // provider i: fed.Train(i)
//	res.AddRound(committed, fed.Accuracy(committed.Params), asr, at)
//	run := learning.Summary(res)
//
// The simulator (sim/learnrun) builds a Federation per run, adds the
// attacks, the world and the data economy, and fills a Result as it runs;
// a live node (live/node) holds one and plays its own roles; dais testnet
// report fills a Result from the events the nodes wrote. Nothing here
// runs a network or a clock: it imports protocol, gpu, metrics and
// scenarios, never sim or live.
package learning
