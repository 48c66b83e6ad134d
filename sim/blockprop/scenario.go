package blockprop

import (
	"fmt"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios"
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
		class, err := sc.GPUClass(g.GPU)
		if err != nil {
			return nil, fmt.Errorf("blockprop: group %s: %w", g.Name, err)
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
	p.Partitions = sc.NetPartitions(groupNodes)
	if ch := sc.NetChurn(); ch != nil {
		p.Churn = ch
		c := sc.Network.Churn
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
