package blockprop

import (
	"fmt"
	"slices"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/sim"
	"github.com/dais-sim/dais/sim/netmodel"
)

// capture keeps every event a run emits.
type capture struct{ got []metrics.Stamped }

func (c *capture) Record(s metrics.Stamped) { c.got = append(c.got, s) }

// runWorld runs p as a sim.World of gossip.Node over the same network and
// peer graph: the reference the engine must reproduce. It returns the
// events the nodes emitted and the World.
func runWorld(t *testing.T, p *Params) ([]metrics.Stamped, *sim.World) {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	topo, err := buildTopology(p)
	if err != nil {
		t.Fatal(err)
	}
	turns, gaps, err := schedules(p)
	if err != nil {
		t.Fatal(err)
	}
	net, err := netmodel.New(p.Matrix)
	if err != nil {
		t.Fatal(err)
	}
	net.Jitter, net.Factor, net.Loss = p.Jitter, p.LatencyFactor, p.Loss
	for _, part := range p.Partitions {
		if err := net.AddPartition(part); err != nil {
			t.Fatal(err)
		}
	}
	var c capture
	w := sim.New(sim.Config{Seed: p.Seed, Net: net, Sink: &c})
	for i, nd := range p.Nodes {
		net.AddNode(nd.Region, nd.Link)
		id := protocol.NodeID(i)
		n := &gossip.Node{
			Config: &p.Relay, Peers: slices.Clone(topo.Of(id)), Pushes: int(topo.Pushes[i]),
			Schedule: scheduleOf(p, turns, gaps, id), Validation: p.Validation, ValidationScale: nd.ValidationScale,
		}
		if p.Interval > 0 || i == 0 {
			n.BlockSize = p.BlockSize
		}
		w.Add(n)
	}
	if p.Churn != nil {
		if err := netmodel.ApplyChurn(*p.Churn, w, p.Seed, p.ChurnNodes, p.end()); err != nil {
			t.Fatal(err)
		}
	}
	w.Start()
	w.RunUntil(p.end())
	return c.got, w
}

// The engine is the World, faster: for every relay, under jitter, latency
// spread, loss, a partition, churn, validation delays and mining, it emits
// the same events at the same times in the same order, dispatches as many
// events and sends and drops as many messages.
func TestEngineMatchesWorld(t *testing.T) {
	base := []string{
		"population.nodes=120", "run.duration=60s", "protocol.gossip.interval=5s", "protocol.gossip.block_size=96KiB",
		"network.jitter={dist: lognormal, median: 3ms, sigma: 1}", "network.loss=2%",
		"network.latency.factor={dist: pareto, min: 0.8, alpha: 5}",
		"network.partitions=[{from: 20s, until: 30s, regions: [tokyo, sydney]}]",
		"network.churn={share: 30%, session: {dist: exponential, mean: 20s}, downtime: {dist: exponential, mean: 10s}, crash_share: 50%}",
		"protocol.gossip.validation={time: {dist: exponential, mean: 5ms}, per_mib: 20ms}",
		"protocol.gossip.request_timeout=1s",
	}
	for _, tc := range []struct {
		name string
		set  []string
	}{
		{"push", nil},
		{"announce", []string{"protocol.gossip.relay=announce", "protocol.gossip.announce=headers"}},
		{"compact", []string{"protocol.gossip.relay=compact", "protocol.gossip.mempool_overlap=98%", "protocol.gossip.tx_size=300B"}},
		{"compact-mining", []string{"protocol.gossip.relay=compact", "protocol.gossip.mempool_overlap=90%", "protocol.gossip.schedule=mining",
			"protocol.gossip.interval=3s", "protocol.gossip.out_degree={dist: uniform, min: 2, max: 7}", "protocol.gossip.max_inbound=9"}},
		{"announce-single", []string{"protocol.gossip.relay=announce", "protocol.gossip.interval=0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Demo(append(slices.Clone(base), tc.set...)...)
			if err != nil {
				t.Fatal(err)
			}
			want, w := runWorld(t, p)
			var c capture
			p.Sink = &c
			res, err := Run(p)
			if err != nil {
				t.Fatal(err)
			}
			sent, dropped := w.Messages()
			if res.Events != w.Events() || res.Sent != sent || res.Dropped != dropped {
				t.Errorf("engine: %d events, %d sent, %d dropped; World: %d, %d, %d", res.Events, res.Sent, res.Dropped, w.Events(), sent, dropped)
			}
			if len(c.got) != len(want) {
				t.Errorf("engine emitted %d events, World %d", len(c.got), len(want))
			}
			for i := range min(len(c.got), len(want)) {
				if fmt.Sprint(c.got[i]) != fmt.Sprint(want[i]) {
					t.Fatalf("event %d: engine %+v, World %+v", i, c.got[i], want[i])
				}
			}
			// The run must have exercised what it claims to.
			received, dups := 0, 0
			for _, s := range want {
				switch s.Event.(type) {
				case gossip.Received:
					received++
				case gossip.Duplicate:
					dups++
				}
			}
			t.Logf("%d blocks, %d events, %d receipts, %d duplicates, %d dropped, coverage %.3f", res.Blocks, res.Events, received, dups, dropped, res.Coverage())
			if res.Blocks < 2 && tc.name != "announce-single" || received < 100 || dropped == 0 {
				t.Fatalf("%d blocks, %d receipts, %d dropped: too little happened to compare", res.Blocks, received, dropped)
			}
		})
	}
}

// Settling early the messages that can only arrive as duplicates or
// no-ops changes nothing but how many events went through the queue: the
// same metrics.json, the same counts, events counted as a World would.
func TestSettlingEarlyChangesOnlyTheQueue(t *testing.T) {
	for _, relay := range []string{"push", "announce", "compact"} {
		summary := func(queueAll bool) ([]byte, *Result) {
			// Blocks every 2 s of 256 KiB on slow uplinks: several in flight
			// at once, and messages still in flight when the run ends.
			p, err := Demo("population.nodes=300", "run.duration=30s", "protocol.gossip.interval=2s", "protocol.gossip.relay="+relay,
				"protocol.gossip.block_size=256KiB", "network.loss=1%", "network.partitions=[{from: 12s, until: 22s, regions: [tokyo, sydney]}]",
				"protocol.gossip.validation={time: {dist: exponential, mean: 5ms}}", "protocol.gossip.mempool_overlap=95%")
			if err != nil {
				t.Fatal(err)
			}
			rec, sink := NewRecorder(int64(100*protocol.Millisecond), int64(p.end()))
			p.Sink, p.queueAll = sink, queueAll
			res, err := Run(p)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Summary(res, rec).MarshalIndent()
			if err != nil {
				t.Fatal(err)
			}
			return b, res
		}
		all, ra := summary(true)
		early, re := summary(false)
		if string(all) != string(early) {
			t.Errorf("%s: metrics.json differs when messages are settled early", relay)
		}
		qa, qe := ra.Queued, re.Queued
		ra.Queued, re.Queued, ra.Wall, re.Wall, ra.HeapBuilt, re.HeapBuilt = 0, 0, 0, 0, 0, 0
		ra.Params, re.Params, ra.Topology, re.Topology = nil, nil, nil, nil
		if fmt.Sprint(*ra) != fmt.Sprint(*re) || qa != ra.Events {
			t.Errorf("%s: results differ:\n%+v\n%+v", relay, *ra, *re)
		}
		if qe >= qa || re.Dropped == 0 || re.Duplicates+re.Deliveries == 0 {
			t.Errorf("%s: %d events queued when settling early, %d otherwise (%d dropped): want fewer", relay, qe, qa, re.Dropped)
		}
		t.Logf("%s: %d of %d events queued", relay, qe, qa)
	}
}
