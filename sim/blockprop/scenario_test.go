package blockprop

import (
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/scenarios"
)

func load(t *testing.T, yaml string, overrides ...string) *Params {
	t.Helper()
	sc, err := scenarios.Parse("t.yaml", []byte(yaml), overrides...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const fleet = `
run: {name: t, duration: 100s, seed: 4}
network:
  bandwidth:
    - {name: fast, share: 25%, up: 1Gbps, down: 1Gbps}
    - {name: slow, share: 75%, up: 10Mbps, down: 50Mbps}
population:
  nodes: 400
  groups:
    - {name: eu, gpu: a100, share: 50%, regions: [frankfurt, london], bandwidth: fast}
    - {name: any, gpu: t4, share: 50%}
protocol:
  gossip: {block_size: 64KiB, interval: 10s}
`

func TestPlacementFollowsGroups(t *testing.T) {
	p := load(t, fleet)
	if len(p.Nodes) != 400 || len(p.Groups) != 2 {
		t.Fatalf("%d nodes in %d groups", len(p.Nodes), len(p.Groups))
	}
	fr, ld := p.Matrix.Index("frankfurt"), p.Matrix.Index("london")
	slow := 0
	regions := map[int]bool{}
	for i, n := range p.Nodes {
		switch n.Group {
		case 0:
			if (n.Region != fr && n.Region != ld) || n.Link.UpBps != 1e9 || n.GPU != "a100" || i >= 200 {
				t.Fatalf("node %d of group eu: %+v", i, n)
			}
		case 1:
			regions[n.Region] = true
			if n.Link.UpBps == 10e6 {
				slow++
			}
			if n.GPU != "t4" {
				t.Fatalf("node %d of group any has %s", i, n.GPU)
			}
		}
	}
	// Group any draws links by share: 75% slow of 200, binomial sd 6.1.
	if slow < 150-25 || slow > 150+25 || len(regions) != 10 {
		t.Fatalf("group any: %d slow links of 200 (want 150 ± 25), %d regions (want 10)", slow, len(regions))
	}
}

// recorder keeps Received events with who got them.
type recorder struct{ got []metrics.Stamped }

func (r *recorder) Record(s metrics.Stamped) {
	if _, ok := s.Event.(gossip.Received); ok {
		r.got = append(r.got, s)
	}
}

func TestPartitionByGroupCutsGossip(t *testing.T) {
	p := load(t, fleet, "network.partitions=[{from: 30s, until: 60s, groups: [eu]}]", "run.duration=150s")
	var rec recorder
	p.Sink = &rec
	r, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	eu := func(id uint32) bool { return id < 200 }
	// Blocks made during the cut stay on their side of it: flooding forwards
	// only first copies, so they never cross, even after the heal.
	created := map[uint64]protocol.Time{}
	origin := map[uint64]uint32{}
	reached := map[uint64]int{}
	for _, s := range rec.got {
		ev := s.Event.(gossip.Received)
		if ev.Hops == 0 {
			created[ev.Height], origin[ev.Height] = protocol.Time(s.AtNs), uint32(ev.Origin)
		}
		reached[ev.Height]++
	}
	during, crossed := 0, 0
	for _, s := range rec.got {
		ev := s.Event.(gossip.Received)
		at := created[ev.Height]
		if at >= protocol.Time(30*protocol.Second) && at < protocol.Time(60*protocol.Second) {
			during++
			if eu(s.Node) != eu(origin[ev.Height]) {
				crossed++
			}
		}
	}
	if during == 0 || crossed != 0 {
		t.Fatalf("%d receipts of blocks made during the cut, %d of them across it; want some, and none across", during, crossed)
	}
	// Blocks made during the cut reach exactly the nodes of the origin's
	// side that the overlay, cut in two, still connects to it; all others
	// reach everyone.
	adj := Overlay(p.Seed, len(p.Nodes), p.Degree)
	component := func(o uint32) int {
		seen := map[uint32]bool{o: true}
		for q := []uint32{o}; len(q) > 0; q = q[1:] {
			for _, v := range adj[q[0]] {
				if !seen[uint32(v)] && eu(uint32(v)) == eu(o) {
					seen[uint32(v)] = true
					q = append(q, uint32(v))
				}
			}
		}
		return len(seen)
	}
	cut, total := 0, 0
	for h, at := range created {
		want := 400
		if at >= protocol.Time(30*protocol.Second) && at < protocol.Time(60*protocol.Second) {
			cut++
			want = component(origin[h])
		}
		if reached[h] != want {
			t.Errorf("block %d (made at %v) reached %d nodes, want %d", h, at, reached[h], want)
		}
		total += want
	}
	if cut != 3 || r.Blocks != 14 || r.Coverage() != float64(total)/float64(14*400) {
		t.Fatalf("%d blocks, %d during the cut, coverage %.4f; want 14, 3 (slots at 30, 40, 50 s), %.4f", r.Blocks, cut, r.Coverage(), float64(total)/float64(14*400))
	}
}

func TestChurnedNodesMissBlocks(t *testing.T) {
	calm := load(t, fleet)
	churned := load(t, fleet, "network.churn={share: 100%, session: {dist: exponential, mean: 20s}, downtime: {dist: exponential, mean: 20s}}")
	if len(churned.ChurnNodes) != 400 || len(calm.ChurnNodes) != 0 {
		t.Fatalf("churn applies to %d and %d nodes, want 400 and 0", len(churned.ChurnNodes), len(calm.ChurnNodes))
	}
	rc, err := Run(calm)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := Run(churned)
	if err != nil {
		t.Fatal(err)
	}
	// Online half the time on average: coverage falls to about one half
	// (blocks whose proposer is away are never made at all).
	if rc.Coverage() != 1 || rx.Coverage() > 0.75 || rx.Coverage() < 0.25 || rx.Blocks >= rc.Blocks {
		t.Fatalf("coverage %.3f (calm) vs %.3f (churn), blocks %d vs %d; want 1 vs about 0.5, fewer blocks", rc.Coverage(), rx.Coverage(), rc.Blocks, rx.Blocks)
	}
}

func TestRepetitionsUseDerivedSeeds(t *testing.T) {
	sc, err := scenarios.Parse("t.yaml", []byte(fleet), "run.repetitions=3")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for rep := 0; rep < 3; rep++ {
		p, err := FromScenario(sc, rep)
		if err != nil {
			t.Fatal(err)
		}
		seen[p.Seed] = true
		if rep == 0 && p.Seed != 4 {
			t.Fatalf("repetition 0 has seed %d, want the scenario's 4", p.Seed)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("3 repetitions used %d distinct seeds", len(seen))
	}
}

// TestOverlaySmallGraphs: when the others' dials already link a node to
// everyone, it dials no more (it used to look for a new peer forever).
func TestOverlaySmallGraphs(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		for n := 2; n <= 9; n++ {
			for _, adj := range Overlay(seed, n, min(4, n-1)) {
				if len(adj) < min(4, n-1) || len(adj) > n-1 {
					t.Fatalf("seed %d, %d nodes: a node has %d peers", seed, n, len(adj))
				}
			}
		}
	}
}

// Topology and timing keys: out-degree drawn per node, an inbound cap,
// bandwidth classes named by every group without shares, validation
// scaled per group, mining by hash power.
func TestTopologyAndMiningKeys(t *testing.T) {
	const y = `
run: {name: t, duration: 1h, seed: 5}
network:
  bandwidth:
    - {name: fast, up: 1Gbps, down: 1Gbps}
    - {name: slow, up: 10Mbps, down: 50Mbps}
population:
  nodes: 600
  groups:
    - {name: big, gpu: h100, share: 10%, bandwidth: fast}
    - {name: small, gpu: t4, share: 90%, bandwidth: slow}
protocol:
  gossip:
    block_size: 64KiB
    interval: 60s
    schedule: mining
    relay: compact
    out_degree: {dist: uniform, min: 2, max: 9}
    max_inbound: 12
    validation: {time: 2ms, per_mib: 40ms, groups: [{group: small, scale: 3}]}
`
	p := load(t, y)
	if p.Nodes[0].Link.UpBps != 1e9 || p.Nodes[599].Link.UpBps != 10e6 || p.Nodes[599].ValidationScale != 3 || p.Nodes[0].ValidationScale != 1 {
		t.Fatalf("links or validation scales not from the groups: %+v %+v", p.Nodes[0], p.Nodes[599])
	}
	// Hash power from the GPU class: an H100 has 989/65 ≈ 15 times a T4's.
	if r := p.Nodes[0].HashPower / p.Nodes[599].HashPower; r < 10 || r > 20 {
		t.Fatalf("hash power ratio h100/t4 = %g", r)
	}
	var c capture
	p.Sink = &c
	res, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	topo := res.Topology
	inbound := make([]int, len(p.Nodes))
	for i := range p.Nodes {
		if d := len(topo.Of(protocol.NodeID(i))); d < 2 {
			t.Fatalf("node %d has %d peers, fewer than its smallest out-degree", i, d)
		}
	}
	_, out, _ := dial(p.Seed, len(p.Nodes), outDegrees(p.Seed, len(p.Nodes), p.Degree, p.OutDegree), p.MaxInbound)
	dials := 0
	for i := range out {
		dials += len(out[i])
		for _, j := range out[i] {
			inbound[j]++
		}
		if len(out[i]) < 2 || len(out[i]) > 9 {
			t.Fatalf("node %d dialed %d peers, outside [2, 9]", i, len(out[i]))
		}
	}
	for i, n := range inbound {
		if n > 12 {
			t.Fatalf("node %d took %d dials, more than max_inbound 12", i, n)
		}
	}
	if mean := float64(dials) / float64(len(out)); mean < 5 || mean > 6 {
		t.Fatalf("mean out-degree %g, want about 5.5", mean)
	}
	// An hour of mining at one block a minute: Poisson, mean 60 (sd 7.7);
	// the big group's 60 nodes hold 60·15 of 60·15 + 540 units of power,
	// 62%: most blocks.
	big := 0
	for _, s := range c.got {
		if ev, ok := s.Event.(gossip.Received); ok && ev.Hops == 0 && ev.Origin < 60 {
			big++
		}
	}
	if res.Blocks < 37 || res.Blocks > 83 || float64(big) < 0.5*float64(res.Blocks) || res.Coverage() != 1 {
		t.Fatalf("%d blocks, %d by the big group, coverage %g; want about 60, most by the big group, 1", res.Blocks, big, res.Coverage())
	}
}
