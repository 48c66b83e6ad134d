package blockprop

import (
	"fmt"
	"math"
	"slices"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/scenarios"
)

// Relays are the relay protocols a scenario runs under: its relay first,
// then those protocol.gossip.compare adds, in the order push, announce,
// compact. One relay means no comparison.
func Relays(sc *scenarios.Scenario) ([]gossip.Protocol, error) {
	g := &sc.Protocol.Gossip
	main, err := gossip.ParseProtocol(g.Relay)
	if err != nil {
		return nil, err
	}
	out := []gossip.Protocol{main}
	var more []gossip.Protocol
	for _, name := range g.Compare {
		r, err := gossip.ParseProtocol(name)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, r) && !slices.Contains(more, r) {
			more = append(more, r)
		}
	}
	slices.Sort(more)
	return append(out, more...), nil
}

// WithRelay is a copy of p that relays with r; its nodes, graph and every
// stream are p's, so two runs differ only in how blocks are passed on.
func (p *Params) WithRelay(r gossip.Protocol) *Params {
	q := *p
	q.Relay.Protocol = r
	return &q
}

// Variant is one relay's finished run in a comparison.
type Variant struct {
	Res *Result
	Rec *record.Recorder
}

// compared are the figures Compare sets side by side, in table order,
// with the row each makes.
var compared = []struct{ key, row string }{
	{"reach50_ms_p50", "time to 50% of the nodes, median over blocks"},
	{"reach90_ms_p50", "time to 90% of the nodes, median over blocks"},
	{"reach90_ms_p90", "time to 90% of the nodes, p90 over blocks"},
	{"reach100_ms_p50", "time to every node, median over blocks"},
	{"reach100_ms_max", "time to every node, slowest block"},
	{"coverage", "coverage"},
	{"uplink_bytes_per_node_per_block", "uplink bytes per node per block"},
	{"duplicate_share", "duplicate share of delivered copies"},
	{"duplicate_bytes_share", "duplicate share of delivered block bytes"},
	{"engine_events", "events"},
}

// RelayKey is the key under which Compare puts relay r's figure key.
func RelayKey(r gossip.Protocol, key string) string { return "relay_" + r.String() + "_" + key }

// Compare adds to run, the summary of one of the variants, what sets the
// variants side by side: each relay's figures of compared (RelayKey), its
// per-block reach distributions, a table of the figures with a column per
// relay, a CDF plot per mark (50%, 90%, 100% of the nodes) with a line per
// relay, and each relay's uplink bytes per node per block by message kind.
// Columns go in protocol order (push, announce, compact).
func Compare(run *metrics.Run, vs []Variant) {
	vs = slices.Clone(vs)
	slices.SortFunc(vs, func(a, b Variant) int {
		return int(a.Res.Params.Relay.Protocol) - int(b.Res.Params.Relay.Protocol)
	})
	table := metrics.Table{Title: "Relays side by side"}
	rows := make([]metrics.TableRow, len(compared))
	for i, c := range compared {
		rows[i].Name = c.row
	}
	var cdf [3]metrics.Plot
	for m, meas := range reach {
		cdf[m] = metrics.Plot{Kind: metrics.PlotCDF,
			XLabel: "time since the block was created (ms)", YLabel: "blocks (fraction)"}
		cdf[m].Title, cdf[m].Caption = reachPlotText(meas)
	}
	bytes := metrics.Group{Key: "uplink_bytes_per_node_per_block_by_relay", Unit: "bytes",
		Help: "uplink bytes per node per block of each relay, by message kind"}
	for k := gossip.MsgBlock; k < gossip.NumMsgKinds; k++ {
		bytes.Sets = append(bytes.Sets, metrics.BarSet{Name: k.String()})
	}
	for _, v := range vs {
		r := v.Res.Params.Relay.Protocol
		sum := Summary(v.Res, v.Rec)
		table.Columns = append(table.Columns, r.String())
		for i, c := range compared {
			f, _ := sum.Figure(c.key)
			f.Key, f.Headline = RelayKey(r, c.key), false
			f.Help = fmt.Sprintf("under the %s relay: %s", r, f.Help)
			run.Figures = append(run.Figures, f)
			rows[i].Keys = append(rows[i].Keys, f.Key)
		}
		for m, meas := range reach {
			d := metrics.Dist{Key: meas.Key(), Unit: meas.Unit, Help: meas.Help}
			if sd := sum.Dist(meas.Key()); sd != nil {
				d = *sd
			}
			d.Key = RelayKey(r, d.Key)
			d.Help = fmt.Sprintf("under the %s relay: %s", r, d.Help)
			run.Dists = append(run.Dists, d)
			cdf[m].Data = append(cdf[m].Data, d.Key)
			cdf[m].Names = append(cdf[m].Names, r.String())
		}
		bytes.Labels = append(bytes.Labels, r.String())
		per := float64(len(v.Res.Params.Nodes)) * float64(v.Res.Blocks)
		for k := gossip.MsgBlock; k < gossip.NumMsgKinds; k++ {
			x := math.NaN()
			if per > 0 {
				x = float64(v.Res.Bytes[k]) / per
			}
			bytes.Sets[k-gossip.MsgBlock].Values = append(bytes.Sets[k-gossip.MsgBlock].Values, x)
		}
	}
	table.Rows = rows
	run.Tables = append(run.Tables, table)
	run.Groups = append(run.Groups, bytes)
	lead := append(cdf[:], metrics.Plot{Kind: metrics.PlotBars, Data: []string{bytes.Key},
		Title:  "What a block costs a node under each relay",
		XLabel: "relay (name)", YLabel: "bytes per node per block (log)", LogY: true,
		Caption: "Bytes each node put on its uplink per block, by message kind, on a log axis (the relays differ by decades). " +
			"Look at block: push sends the whole block on most links, announce once per node, compact mostly sketches and the transactions mempools miss."})
	run.Plots = append(lead, run.Plots...)
}

// reachPlotText is the title and caption of the comparison's CDF for one
// mark.
func reachPlotText(m *metrics.Measure) (title, caption string) {
	mark := map[*metrics.Measure]string{Reach50: "half of", Reach90: "90% of", Reach100: "all"}[m]
	title = fmt.Sprintf("Per block, by relay: time until %s the nodes hold it", mark)
	caption = fmt.Sprintf("One point per block: the share of blocks that %s the nodes held by then, under each relay (the same graph, placement and block times). ", mark) +
		"Look at how far apart the curves sit, and whether one relay's tail is longer: its round trips, not its bytes, may set it."
	return title, caption
}
