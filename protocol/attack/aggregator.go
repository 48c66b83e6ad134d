package attack

import (
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/wire"
)

// LieAggregate wraps a member of the aggregator committee
// (learn.Aggregator) so that it reports another model than the one it
// computed: global + s·(honest − global), the round's step scaled by s
// (s = −1 walks the model back up the loss by as much as the honest
// aggregate would have moved it down; s = 0 claims the model did not
// change). When the honest aggregator could not move the model, the lie
// is the global model nudged by s in its first coordinate, so that it is
// still a model other than the honest outcome. The lie is
// self-consistent, its Version the hash of its Params, so the
// coordinator cannot reject it on its own; only the quorum of honest
// members outvotes it. Every liar with the same s computes the same lie
// from the same honest aggregate, so liars vote together, as colluders
// would.
func LieAggregate(inner protocol.Node, s float64) protocol.Node {
	l := &lieAggregate{inner: inner, s: s}
	l.env.send = l.send
	return l
}

type lieAggregate struct {
	inner protocol.Node
	s     float64
	env   learnEnv
	view  roundView
}

func (l *lieAggregate) Handle(env protocol.Env, in protocol.Input) {
	l.view.see(in)
	l.env.run(l.inner, env, in)
}

func (l *lieAggregate) send(env protocol.Env, to protocol.NodeID, m wire.Msg) {
	c, ok := m.(*learn.Candidate)
	if !ok || c.Round != l.view.round || l.view.global == nil {
		env.Send(to, m)
		return
	}
	g := l.view.global
	lie := slices.Clone(g)
	if c.Version == c.Parent || len(c.Params) != len(g) {
		lie[0] += l.s
	} else {
		for i := range lie {
			lie[i] += l.s * (c.Params[i] - g[i])
		}
	}
	env.Send(to, &learn.Candidate{Round: c.Round, Parent: c.Parent, Version: learn.VersionOf(c.Parent, lie), Params: lie})
}
