package blockprop

import (
	"slices"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/scenarios"
)

// A comparison is the relays' own runs side by side: each relay's column
// holds the figures its run alone gives, the runs share the peer graph,
// and the figures rank as the relays' designs say they must.
func TestCompareSetsRelaysSideBySide(t *testing.T) {
	sc, err := scenarios.Parse("t.yaml", []byte(fleet), "protocol.gossip.relay=announce", "protocol.gossip.compare=[compact, push]")
	if err != nil {
		t.Fatal(err)
	}
	relays, err := Relays(sc)
	if err != nil || !slices.Equal(relays, []gossip.Protocol{gossip.Announce, gossip.Push, gossip.Compact}) {
		t.Fatalf("relays %v (%v), want the scenario's first, then push, compact", relays, err)
	}
	base, err := FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	var vs []Variant
	alone := map[gossip.Protocol]*metrics.Run{}
	links := map[gossip.Protocol][][]protocol.NodeID{}
	for _, r := range relays {
		p := base.WithRelay(r)
		rec, sink := NewRecorder(int64(protocol.Second), 0)
		p.Sink = sink
		res, err := Run(p)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, Variant{Res: res, Rec: rec})
		alone[r] = Summary(res, rec)
		for i := range res.Topology.Len() {
			links[r] = append(links[r], slices.Sorted(slices.Values(res.Topology.Of(protocol.NodeID(i)))))
		}
	}
	if base.Relay.Protocol != gossip.Announce {
		t.Fatalf("WithRelay changed the parameters it copied")
	}
	for _, r := range relays[1:] {
		if !slices.EqualFunc(links[r], links[relays[0]], slices.Equal) {
			t.Errorf("%s ran on another peer graph", r)
		}
	}

	run := Summary(vs[0].Res, vs[0].Rec)
	Compare(run, vs)
	if err := run.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(run.Tables) != 1 || !slices.Equal(run.Tables[0].Columns, []string{"push", "announce", "compact"}) || len(run.Tables[0].Rows) != len(compared) {
		t.Fatalf("tables %+v", run.Tables)
	}
	v := func(r gossip.Protocol, key string) float64 {
		t.Helper()
		f, ok := run.Figure(RelayKey(r, key))
		if !ok {
			t.Fatalf("no %s", RelayKey(r, key))
		}
		return f.Value
	}
	for _, r := range relays {
		for _, c := range compared {
			want, _ := alone[r].Figure(c.key)
			if got := v(r, c.key); got != want.Value {
				t.Errorf("%s %s: %g in the comparison, %g alone", r, c.key, got, want.Value)
			}
		}
		for _, m := range reach {
			d, want := run.Dist(RelayKey(r, m.Key())), alone[r].Dist(m.Key())
			if d == nil || d.Count != want.Count || !slices.Equal(d.V, want.V) {
				t.Errorf("%s %s: distribution differs from the run alone", r, m.Key())
			}
		}
		if v(r, "coverage") != 1 {
			t.Errorf("%s: coverage %g", r, v(r, "coverage"))
		}
	}
	bytes := func(r gossip.Protocol) float64 { return v(r, "uplink_bytes_per_node_per_block") }
	if !(bytes(gossip.Push) > 3*bytes(gossip.Announce) && bytes(gossip.Announce) > 10*bytes(gossip.Compact)) {
		t.Errorf("bytes per node per block: push %g, announce %g, compact %g", bytes(gossip.Push), bytes(gossip.Announce), bytes(gossip.Compact))
	}
	if d := v(gossip.Announce, "duplicate_share"); d != 0 || v(gossip.Push, "duplicate_share") < 0.5 {
		t.Errorf("duplicate share: announce %g, push %g", d, v(gossip.Push, "duplicate_share"))
	}
	g := run.Group("uplink_bytes_per_node_per_block_by_relay")
	if g == nil || !slices.Equal(g.Labels, []string{"push", "announce", "compact"}) {
		t.Fatalf("bytes group %+v", g)
	}
	for j, r := range []gossip.Protocol{gossip.Push, gossip.Announce, gossip.Compact} {
		sum := 0.0
		for _, s := range g.Sets {
			sum += s.Values[j]
		}
		if d := sum - bytes(r); d > 1e-6*bytes(r) || d < -1e-6*bytes(r) {
			t.Errorf("%s: bytes by kind sum to %g, uplink bytes per node per block %g", r, sum, bytes(r))
		}
	}
	if run.Plots[0].Kind != metrics.PlotCDF || !slices.Equal(run.Plots[0].Names, []string{"push", "announce", "compact"}) {
		t.Errorf("first plot %+v, want the per-relay CDF", run.Plots[0])
	}
}
