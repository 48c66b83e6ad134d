package blockprop

import (
	"fmt"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
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
	g := &sc.Protocol.Gossip
	relay, err := gossip.ParseProtocol(g.Relay)
	if err != nil {
		return nil, err
	}
	p := &Params{
		Seed:       seed,
		Matrix:     m,
		BlockSize:  int(g.BlockSize),
		Degree:     g.Degree,
		MaxInbound: g.MaxInbound,
		Interval:   g.Interval.D(),
		Mining:     g.Schedule == "mining",
		Loss:       float64(sc.Network.Loss),
		Until:      sc.Run.Duration.D(),
		Relay: gossip.Config{
			Protocol: relay,
			Headers:  g.Announce == "headers",
			Timeout:  g.RequestTimeout.D(),
			Overlap:  float64(g.MempoolOverlap),
			TxSize:   int(g.TxSize),
		},
		HighBandwidth: g.HighBandwidth,
		Validation:    gossip.Validation{PerMiB: g.Validation.PerMiB.D()},
	}
	if sc.Network.Loss == 0 && len(sc.Network.Partitions) == 0 && sc.Network.Churn == nil {
		// Every request is answered: a timer would only cost events.
		p.Relay.Timeout = 0
	}
	if v := g.Validation.Time; v != nil {
		p.Validation.Base = v.Dist()
	}
	if d := g.OutDegree; d != nil {
		p.OutDegree = d.Dist()
	}
	if j := sc.Network.Jitter; j != nil {
		p.Jitter = j.Dist()
	}
	if f := sc.Network.Latency.Factor; f != nil {
		p.LatencyFactor = f.Dist()
	}
	scale := map[string]float64{}
	for _, v := range g.Validation.Groups {
		scale[v.Group] = v.Scale
	}
	groupNodes := map[string][]protocol.NodeID{}
	p.Nodes = make([]Node, 0, sc.NodeCount())
	for gi, gr := range sc.Population.Groups {
		p.Groups = append(p.Groups, gr.Name)
		class, err := sc.GPUClass(gr.GPU)
		if err != nil {
			return nil, fmt.Errorf("blockprop: group %s: %w", gr.Name, err)
		}
		regions := sc.RegionIndexes(gr)
		for k := 0; k < gr.Count; k++ {
			id := protocol.NodeID(len(p.Nodes))
			r := protocol.Stream(seed, "placement", uint64(id))
			n := Node{Region: regions[r.IntN(len(regions))], GPU: class.Name, Group: gi, ValidationScale: 1}
			n.Link = sc.Link(gr, r.Float64())
			if s, ok := scale[gr.Name]; ok {
				n.ValidationScale = s
			}
			if p.Mining {
				n.HashPower = class.FP16TFLOPS
				if hp := g.HashPower; hp != nil {
					n.HashPower = max(hp.Dist().Sample(protocol.Stream(seed, "hash-power", uint64(id))), 0)
				}
			}
			p.Nodes = append(p.Nodes, n)
			groupNodes[gr.Name] = append(groupNodes[gr.Name], id)
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
