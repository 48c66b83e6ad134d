package testnet

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dais-sim/dais/scenarios/marketplace"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/sim/learnrun"
)

// The marketplace's and the federated job's part of a testnet report.
// The nodes write the protocol events their roles emit to their events
// files (node.Event.Protocol); the report hands them, in time order, to
// the simulator's own measurement (marketplace.Meter, learnrun.Summary), so
// that a testnet's figures have a simulated run's keys and meanings and
// dais compare lines the two up. What live cannot measure is left out:
// the network model's counts (messages_sent, engine_events,
// network_bytes, uplink_bytes), and attack success (no attacks run live, and the
// coordinator measures test accuracy only), whose figures are NaN.

// protoEvent is one protocol event of one node.
type protoEvent struct {
	metrics.Stamped
	seq int // position among all the nodes' events read, for ties
}

// online is a span of a node process's life, from its start event to its
// stop event or its last event before it started again.
type online struct {
	id       protocol.NodeID
	from, to int64
}

// onlineSpans reads a node's process lives from its events.
func onlineSpans(id protocol.NodeID, evs []node.Event) []online {
	var out []online
	from, last := int64(-1), int64(0)
	for _, ev := range evs {
		switch {
		case ev.Kind == node.EventStart:
			if from >= 0 {
				out = append(out, online{id, from, last})
			}
			from = ev.AtNs
		case ev.Kind == node.EventStop && from >= 0:
			out = append(out, online{id, from, ev.AtNs})
			from = -1
		}
		last = ev.AtNs
	}
	if from >= 0 {
		out = append(out, online{id, from, last})
	}
	return out
}

// byTime sorts events by time, ties by the order they were read.
func byTime(evs []protoEvent) {
	slices.SortFunc(evs, func(a, b protoEvent) int {
		if a.AtNs != b.AtNs {
			return int(min(max(a.AtNs-b.AtNs, -1), 1))
		}
		return a.seq - b.seq
	})
}

// marketSection measures the network's marketplace from the committee's,
// providers', validators' and requesters' events.
func marketSection(netw *node.Network, evs []protoEvent, spans []online, start, end int64) (*metrics.Run, error) {
	s := netw.Market.WithDefaults()
	cat, err := netw.GPUCatalog()
	if err != nil {
		return nil, err
	}
	class, _ := cat.Lookup(s.Class)
	cpu, _ := gpu.Lookup("cpu")
	nodes := make([]marketplace.Node, len(netw.Nodes))
	for i := range nodes {
		id := protocol.NodeID(i)
		n := marketplace.Node{Class: cpu, Group: -1, Sybil: -1}
		switch {
		case slices.Contains(s.Providers, id):
			n.Role, n.Class = marketplace.Provider, class
		case slices.Contains(s.Validators, id):
			n.Role, n.Class = marketplace.Validator, class
		case slices.Contains(s.Requesters, id):
			n.Role = marketplace.Requester
		}
		nodes[i] = n
	}
	scheme, _ := market.ParseScheme(s.Verification)
	sched, _ := market.ParsePolicy(s.Scheduler)
	p := &marketplace.Params{Seed: netw.Seed, Scheduler: sched, Verify: market.Verification{Scheme: scheme},
		BlockInterval: protocol.Duration(s.BlockInterval), CommitDelay: protocol.Duration(s.CommitDelay),
		Until: protocol.Duration(end - start), StepNs: seriesStepNs,
		Groups: []marketplace.Group{
			{Name: "providers", GPU: s.Class, Count: len(s.Providers), Role: marketplace.Provider},
			{Name: "validators", GPU: s.Class, Count: len(s.Validators), Role: marketplace.Validator},
			{Name: "requesters", GPU: "cpu", Count: len(s.Requesters), Role: marketplace.Requester}}}
	switch scheme {
	case market.Redundancy:
		p.Verify.Replicas, p.Verify.Quorum, p.Verify.MaxReplicas = s.Replicas, s.Replicas, s.Replicas
	case market.SpotCheck:
		p.Verify.SpotCheck = s.SpotCheck
	}
	mt := marketplace.NewMeter(p, nodes, protocol.Time(start), protocol.Time(end), nil)
	for _, o := range spans {
		mt.Online(o.id, protocol.Time(o.from), protocol.Time(o.to))
	}
	var escrow uint64
	open := map[market.JobID]bool{}
	for _, ev := range evs {
		switch e := ev.Event.(type) {
		case market.Block:
			escrow = e.Escrow
		case market.JobOpened:
			open[e.Job] = true
		case market.JobClosed:
			delete(open, e.Job)
		}
		mt.Record(ev.Stamped)
	}
	res := mt.Result(escrow, len(open))
	res.Wall = time.Duration(end - start)
	run := marketplace.Summary(res)
	delete(run.Meta.Params, "drain") // a testnet's market has none: it runs until the report
	run.Figures = slices.DeleteFunc(run.Figures, func(f metrics.Figure) bool {
		return f.Key == "messages_sent" || f.Key == "engine_events" || f.Key == "network_bytes"
	})
	return run, nil
}

// learningSection measures the network's federated job from the
// coordinator's events (rounds, scores, payouts, its accuracy
// measurements) and the learners' (trainings): nil if round 0 never
// committed.
func learningSection(netw *node.Network, evs []protoEvent) *metrics.Run {
	l := netw.Learning
	p := l.Params(netw.Seed)
	type round struct {
		at        protocol.Time
		acc       float64
		committed learn.Committed
		seen      bool
	}
	var rounds []round
	at := func(r uint64) *round {
		for uint64(len(rounds)) <= r {
			rounds = append(rounds, round{acc: math.NaN()})
		}
		return &rounds[r]
	}
	res := &learnrun.Result{Params: &p, Learners: slices.Clone(l.Learners), Payout: make([]uint64, len(netw.Nodes)),
		Rejected: map[string]int{}, Centralized: math.NaN()}
	for _, ev := range evs {
		switch e := ev.Event.(type) {
		case learn.Committed:
			// A round committed again (a coordinator that restarted gives
			// up the round it was in) counts as its last commit.
			r := at(e.Round)
			r.at, r.committed, r.seen = protocol.Time(ev.AtNs), e, true
		case node.LearnMeasured:
			at(e.Round).acc = e.Accuracy
		default:
			res.Tally(e)
		}
		res.Events++
	}
	if len(rounds) == 0 || !rounds[0].seen {
		return nil
	}
	for _, r := range rounds {
		res.AddRound(r.committed, r.acc, math.NaN(), r.at)
	}
	if n := len(rounds); n > 1 && res.RoundEnd[n-1] > res.RoundEnd[0] {
		res.Wall = time.Duration(res.RoundEnd[n-1] - res.RoundEnd[0])
	}
	run := learnrun.Summary(res)
	run.Figures = slices.DeleteFunc(run.Figures, func(f metrics.Figure) bool { return f.Key == "uplink_bytes" })
	run.Curves = slices.DeleteFunc(run.Curves, func(c metrics.Curve) bool { return c.Key == "attack_success_by_round" })
	run.Plots = slices.DeleteFunc(run.Plots, func(pl metrics.Plot) bool {
		return slices.Contains(pl.Data, "attack_success_by_round")
	})
	return run
}

// merge adds a section's figures, distributions, series, groups, curves
// and plots to run, and its parameters to run's, prefixed with the
// section's name. A section's figure keeps its key, which is the
// simulator's: a testnet figure of the same key is renamed bft_KEY.
func merge(run, sec *metrics.Run, name string) {
	have := map[string]int{}
	for i, f := range run.Figures {
		have[f.Key] = i
	}
	for _, f := range sec.Figures {
		if i, ok := have[f.Key]; ok {
			run.Figures[i].Key = "bft_" + f.Key
		}
		run.Figures = append(run.Figures, f)
	}
	run.Dists = append(run.Dists, sec.Dists...)
	if s := sec.Series; s != nil {
		switch {
		case run.Series == nil:
			run.Series = s
		case run.Series.StepNs == s.StepNs:
			n := 0
			if len(run.Series.Columns) > 0 {
				n = len(run.Series.Columns[0].Values)
			}
			for _, c := range s.Columns {
				if n > 0 {
					v := make(metrics.Floats, n)
					for i := range v {
						v[i] = math.NaN()
					}
					copy(v, c.Values)
					c.Values = v
				}
				run.Series.Columns = append(run.Series.Columns, c)
			}
		}
	}
	run.Groups = append(run.Groups, sec.Groups...)
	run.Curves = append(run.Curves, sec.Curves...)
	run.Plots = append(run.Plots, sec.Plots...)
	if run.Meta.Params == nil {
		run.Meta.Params = map[string]string{}
	}
	for k, v := range sec.Meta.Params {
		run.Meta.Params[fmt.Sprintf("%s.%s", name, k)] = v
	}
}
