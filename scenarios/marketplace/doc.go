// Package marketplace is what both drivers share about a compute
// marketplace (protocol/market): its parameters (Params, Groups, Links,
// Adversaries; FromScenario builds them from a scenario), the nodes a run
// places (Node), and the meter that turns the nodes' events into figures
// (Meter → Result → Summary, a metrics.Run under stable keys). The
// simulator (sim/marketrun) builds a world from Params and feeds the
// Meter as it runs; dais testnet report (live/testnet) feeds it the
// events a live network's nodes wrote, so a live marketplace is measured
// by the same code and reported under the same keys.
//
//	mt := marketplace.NewMeter(p, nodes, start, end, nil)
//	for _, ev := range events { mt.Record(ev) } // in time order
//	run := marketplace.Summary(mt.Result(escrow, openJobs))
//
// Nothing here runs a network or a clock: it imports protocol, gpu,
// metrics and scenarios, never sim or live.
package marketplace
