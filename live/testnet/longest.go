package testnet

import (
	"fmt"
	"time"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios"
)

// longestFromScenario maps protocol.consensus.longest_chain onto o, as
// sim/consensusrun reads it: the interval, the confirmations, and the
// mining weight (stake, or for pow each validator group's GPU class). The
// validators mine; the followers do not.
func longestFromScenario(sc *scenarios.Scenario, o *Options, groupIDs [][]protocol.NodeID, bad badFunc) ([]string, error) {
	lc := sc.Protocol.Consensus.LongestChain
	o.Engine = node.EngineLongestChain
	spec := &node.LongestChainSpec{Interval: node.Duration(time.Duration(lc.Interval.D())),
		Confirmations: lc.Confirmations, Mining: lc.Mining}
	if spec.Mining == "" {
		spec.Mining = node.MiningPoW // the schema's default
	}
	var notes []string
	if spec.Mining == node.MiningPoW {
		spec.GPUs = make([]string, o.Validators)
		for i, g := range sc.Population.Groups {
			for _, id := range groupIDs[i] {
				if int(id) < o.Validators {
					spec.GPUs[id] = g.GPU
				}
			}
		}
		// Stake weighs nothing in pow mining; validators without one bond
		// the default, so that the genesis is valid.
		for i, s := range o.Stakes {
			if s == 0 {
				o.Stakes[i] = node.DefaultStake
			}
		}
	}
	for i, s := range o.Stakes {
		if s == 0 {
			return nil, bad("population.groups", "validator %d has no stake: a stake lottery picks miners by stake", i)
		}
	}
	o.LongestChain = spec
	if sc.Protocol.Gossip.Degree > 0 {
		notes = append(notes, fmt.Sprintf("protocol.gossip.degree (%d) is not applied: live longest-chain nodes announce blocks to every other node", sc.Protocol.Gossip.Degree))
	}
	return notes, nil
}
