package learnrun

import (
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/secagg"
	"github.com/dais-sim/dais/protocol/wire"
	"github.com/dais-sim/dais/scenarios/learning"
)

// dropAfterSharing makes a learner drop out of the rounds drawn for it
// (Secure.Dropout): it shares its seeds, then sends neither its masked
// update nor unmasking shares, as a device gone offline would.
func (st *state) dropAfterSharing(n protocol.Node, id protocol.NodeID) protocol.Node {
	share := st.p.Secure.Dropout
	if share == 0 {
		return n
	}
	return protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		n.Handle(dropEnv{Env: env, drops: func(round uint64) bool {
			return protocol.Stream(st.p.Seed, "secagg-dropout", round<<32|uint64(id)).Float64() < share
		}}, in)
	})
}

type dropEnv struct {
	protocol.Env
	drops func(round uint64) bool
}

func (e dropEnv) Send(to protocol.NodeID, m wire.Msg) {
	switch m := m.(type) {
	case *secagg.Masked:
		if e.drops(m.Round) {
			return
		}
	case *secagg.Unmask:
		if e.drops(m.Round) {
			return
		}
	}
	e.Env.Send(to, m)
}

// secureWork charges a node's processor for its secure-aggregation work.
func (st *state) secureWork(s metrics.Stamped, ev learn.SecureWork) {
	ss := st.res.SecureStats()
	d := st.p.Secure.UnitCost().Of(ev.Work)
	st.charge(protocol.NodeID(s.Node), d)
	if protocol.NodeID(s.Node) == coordinator {
		ss.CoordinatorNs += int64(d)
		ss.CoordinatorWork.Add(ev.Work)
	} else {
		ss.LearnerNs += int64(d)
		ss.LearnerWork.Add(ev.Work)
	}
}

// clearRun is p in clear with Secure.ClearRule: the comparison run.
func clearRun(p *learning.Params) *learning.Params {
	c := *p
	c.Rule, c.Secure, c.Clean, c.Baseline, c.Sink = p.Secure.ClearRule, nil, false, false, nil
	if c.DP != nil && c.Rule != learn.RuleFedAvg {
		c.DP = nil // DP is DP-FedAvg's: a robust rule runs without it
	}
	return &c
}
