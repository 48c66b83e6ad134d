package learnrun

import (
	"fmt"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/attack"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/scenarios/learning"
)

// committee returns the aggregator committee's node IDs: p.Aggregators
// IDs from first (after every other node, so that adding a committee
// moves no other node's ID, placement or streams).
func committee(p *learning.Params, first protocol.NodeID) []protocol.NodeID {
	var ids []protocol.NodeID
	for i := range p.Aggregators {
		ids = append(ids, first+protocol.NodeID(i))
	}
	return ids
}

// addCommittee adds the aggregators, the liars among them (drawn from the
// seed's "lying aggregators" stream) wrapped in attack.LieAggregate, each
// placed as the validators are.
func addCommittee(w *world, ids []protocol.NodeID, rule learn.RuleFunc, lying int) error {
	liars := map[int]bool{}
	if lying > 0 {
		for _, i := range protocol.Stream(w.p.Seed, "lying aggregators", 0).Perm(len(ids))[:lying] {
			liars[i] = true
		}
	}
	for i, id := range ids {
		var n protocol.Node = learn.NewAggregator(learn.AggregatorConfig{Coordinator: coordinator, Rule: rule})
		if liars[i] {
			n = attack.LieAggregate(n, -1)
		}
		if got := w.Add(n); got != id {
			return fmt.Errorf("learnrun: aggregator got ID %d, want %d", got, id)
		}
		w.place(id, w.p.ServerLink, w.p.ServerGPU)
	}
	return nil
}
