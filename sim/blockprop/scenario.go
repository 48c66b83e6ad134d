package blockprop

import (
	"fmt"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/netmodel"
)

// FromScenario turns a checked scenario into run parameters for repetition
// rep (0-based): repetition 0 uses the scenario's seed, later ones seeds
// derived from it. Nodes are numbered group by group, in file order; each
// node's region and (unless its group names one) access link are drawn from
// its own placement stream.
func FromScenario(sc *scenarios.Scenario, rep int) (*Params, error) {
	seed := sc.Run.Seed
	if rep > 0 {
		seed = protocol.DeriveSeed(sc.Run.Seed, "repetition", uint64(rep))
	}
	m := sc.Matrix()
	p := &Params{
		Seed:      seed,
		Matrix:    m,
		BlockSize: int(sc.Protocol.Gossip.BlockSize),
		Degree:    sc.Protocol.Gossip.Degree,
		Interval:  sc.Protocol.Gossip.Interval.D(),
		Loss:      float64(sc.Network.Loss),
		Until:     sc.Run.Duration.D(),
	}
	if j := sc.Network.Jitter; j != nil {
		p.Jitter = j.Dist()
	}
	groupNodes := map[string][]protocol.NodeID{}
	for gi, g := range sc.Population.Groups {
		p.Groups = append(p.Groups, g.Name)
		class, ok := gpu.Lookup(g.GPU)
		if !ok {
			return nil, fmt.Errorf("blockprop: group %s: unknown GPU class %q", g.Name, g.GPU)
		}
		regions := sc.RegionIndexes(g)
		for k := 0; k < g.Count; k++ {
			id := protocol.NodeID(len(p.Nodes))
			r := protocol.Stream(seed, "placement", uint64(id))
			n := Node{Region: regions[r.IntN(len(regions))], GPU: class, Group: gi}
			n.Link = sc.Link(g, r.Float64())
			p.Nodes = append(p.Nodes, n)
			groupNodes[g.Name] = append(groupNodes[g.Name], id)
		}
	}
	for _, sp := range sc.Network.Partitions {
		part := netmodel.Partition{From: protocol.Time(sp.From), Until: protocol.Time(sp.Until)}
		for _, name := range sp.Regions {
			if i := m.Index(name); i >= 0 {
				part.Regions = append(part.Regions, i)
			}
		}
		for _, g := range sp.Groups {
			part.Nodes = append(part.Nodes, groupNodes[g]...)
		}
		for _, id := range sp.Nodes {
			part.Nodes = append(part.Nodes, protocol.NodeID(id))
		}
		p.Partitions = append(p.Partitions, part)
	}
	if c := sc.Network.Churn; c != nil {
		ch := &netmodel.Churn{Session: c.Session.Dist(), CrashShare: float64(c.CrashShare)}
		if c.Downtime != nil {
			ch.Downtime = c.Downtime.Dist()
		}
		p.Churn = ch
		for i := range p.Nodes {
			if protocol.Stream(seed, "churn-pick", uint64(i)).Float64() < float64(c.Share) {
				p.ChurnNodes = append(p.ChurnNodes, protocol.NodeID(i))
			}
		}
	}
	return p, nil
}

// Demo returns the parameters of the built-in demo scenario
// (scenarios/demo.yaml) with overrides applied, e.g. "population.nodes=10000".
func Demo(overrides ...string) (*Params, error) {
	sc, err := scenarios.Builtin("demo", overrides...)
	if err != nil {
		return nil, err
	}
	return FromScenario(sc, 0)
}
