package blockprop

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol/gossip"
)

// The relay's measures.
var (
	Propagation = &metrics.Measure{Name: "propagation", Unit: "ms", Kind: metrics.Distribution, Better: metrics.Lower,
		Help: "time from the block's creation to its first arrival at a node (origin excluded)"}
	Deliveries = &metrics.Measure{Name: "deliveries", Kind: metrics.Counter,
		Help: "block copies (whole or compact) delivered to nodes, first copies and duplicates"}
	Delivered = &metrics.Measure{Name: "delivered", Unit: "bytes", Kind: metrics.Counter,
		Help: "bytes of block-carrying messages delivered to nodes (blocks, compact blocks, block transactions), as encoded on the wire"}
	Duplicates = &metrics.Measure{Name: "duplicates", Kind: metrics.Counter, Better: metrics.Lower,
		Help: "block copies delivered to a node that already had the block (or was rebuilding it from a compact block)"}
	DuplicateBytes = &metrics.Measure{Name: "duplicate", Unit: "bytes", Kind: metrics.Counter, Better: metrics.Lower,
		Help: "bytes of block-carrying messages a node did not need"}
	Reach50 = &metrics.Measure{Name: "reach50", Unit: "ms", Kind: metrics.Distribution, Better: metrics.Lower,
		Help: "time from a block's creation until half of the nodes hold it, per block"}
	Reach90 = &metrics.Measure{Name: "reach90", Unit: "ms", Kind: metrics.Distribution, Better: metrics.Lower,
		Help: "time from a block's creation until 90% of the nodes hold it, per block"}
	Reach100 = &metrics.Measure{Name: "reach100", Unit: "ms", Kind: metrics.Distribution, Better: metrics.Lower,
		Help: "time from a block's creation until every node holds it, per block that got there"}
)

var reach = [3]*metrics.Measure{Reach50, Reach90, Reach100}

// receipts is first holds per time step, for the series; Summary keeps its
// total (propagation_count) out of the figures. The per-group table comes
// from per-node sums the engine keeps beside each node's record, where a
// first hold touches memory anyway.
var receipts = &metrics.Measure{Name: "receipts", Kind: metrics.Counter,
	Help: "first copies a node received, all nodes"}

// Measures are the relay's measures in report order.
var Measures = []*metrics.Measure{Propagation, Deliveries, Delivered, Duplicates, receipts, DuplicateBytes, Reach50, Reach90, Reach100}

// NewRecorder returns a recorder for a run with the given time-series step
// and end (see record.Config), and the sink to put in Params.Sink: Run
// feeds the recorder directly.
func NewRecorder(stepNs, endNs int64) (*record.Recorder, metrics.Sink) {
	rec := record.New(record.Config{StepNs: stepNs, EndNs: endNs}, Measures...)
	return rec, recorderSink{rec}
}

// Summary turns a finished run and its recorder into the figures, plots and
// meta that reports read. Meta.Scenario is "blockprop"; the caller sets the
// scenario's name, hash and text, Version and GoVersion. Host is left nil.
func Summary(res *Result, rec *record.Recorder) *metrics.Run {
	p := res.Params
	end := int64(p.Until + p.Interval)
	if p.Interval == 0 {
		// One block: the series end where it reached its last node,
		// rounded up to a step, not after minutes of silence.
		end = 0
		if res.Receipts > 0 {
			step := rec.StepNs()
			end = (int64(res.LastArrival)/step + 1) * step
		}
	}
	run := rec.Summary(end)
	run.Meta = metrics.Meta{
		Scenario:    "blockprop",
		Params:      params(p),
		Seed:        p.Seed,
		Repetitions: 1,
		SimEndNs:    int64(p.Until + p.Interval),
	}
	head := map[string]bool{"propagation_ms_p50": true, "propagation_ms_p90": true, "propagation_ms_p99": true, "propagation_ms_max": true,
		"reach90_ms_p50": true, "reach100_ms_max": true}
	var figs metrics.Figures
	for _, f := range run.Figures {
		if f.Key == receipts.Key() {
			continue
		}
		f.Headline = head[f.Key]
		figs = append(figs, f)
	}
	dupShare, dupBytesShare := math.NaN(), math.NaN()
	if d := rec.Total(Deliveries); d > 0 {
		dupShare = rec.Total(Duplicates) / d
	}
	if d := rec.Total(Delivered); d > 0 {
		dupBytesShare = rec.Total(DuplicateBytes) / d
	}
	perNodeBlock := math.NaN()
	if res.Blocks > 0 {
		perNodeBlock = float64(res.BytesSent) / float64(len(p.Nodes)) / float64(res.Blocks)
	}
	run.Figures = append(metrics.Figures{
		{Key: "nodes", Value: float64(len(p.Nodes)), Help: "nodes in the run"},
		{Key: "blocks", Value: float64(res.Blocks), Help: "blocks proposed"},
		{Key: "coverage", Value: res.Coverage(), Better: metrics.Higher, Headline: true,
			Help: "mean over blocks of the share of nodes that received the block, origin included"},
	}, figs...)
	run.Figures = append(run.Figures,
		metrics.Figure{Key: "duplicate_share", Value: dupShare, Better: metrics.Lower, Headline: true,
			Help: "duplicates / deliveries: the share of delivered copies that were wasted"},
		metrics.Figure{Key: "duplicate_bytes_share", Value: dupBytesShare, Better: metrics.Lower,
			Help: "duplicate_bytes / delivered_bytes: the share of block-carrying bytes delivered that were wasted"},
		metrics.Figure{Key: "messages_sent", Value: float64(res.Sent), Help: "messages handed to the network model"},
		metrics.Figure{Key: "messages_dropped", Value: float64(res.Dropped), Better: metrics.Lower,
			Help: "messages the network lost (loss, partitions, offline receivers)"},
		metrics.Figure{Key: "uplink_bytes", Value: float64(res.BytesSent), Unit: "bytes",
			Help: "bytes all nodes put on their uplinks, as encoded on the wire"},
		metrics.Figure{Key: "uplink_bytes_per_node_per_block", Value: perNodeBlock, Unit: "bytes", Better: metrics.Lower,
			Help: "uplink_bytes / (nodes × blocks): what relaying one block costs a node on average, every message kind included"},
		metrics.Figure{Key: "engine_events", Value: float64(res.Events), Headline: true,
			Help: "events the engine took off its queue"},
	)
	run.Plots = []metrics.Plot{
		{Kind: metrics.PlotCDF, Data: []string{Propagation.Key()},
			Title:  "Block propagation: share of first copies delivered by time",
			XLabel: "time since the block was created (ms)", YLabel: "first copies delivered (fraction)",
			Caption: fmt.Sprintf("Each point is the share of (block, node) pairs where the node had its %d-byte block by then. ", p.BlockSize) +
				"Look at the tail: the gap between the 90% mark and the last node is set by slow uplinks relaying the block in turn."},
		{Kind: metrics.PlotCDF, Data: []string{Reach50.Key(), Reach90.Key(), Reach100.Key()},
			Title:  "Per block: time until 50%, 90% and 100% of the nodes hold it",
			XLabel: "time since the block was created (ms)", YLabel: "blocks (fraction)",
			Caption: "One point per block: the share of blocks that had reached half, 90% and all of the nodes by then. " +
				"Look at the gap between the 90% and 100% curves: the last nodes of every block, not the typical node, set how long a block takes to settle."},
		{Kind: metrics.PlotSeries, Data: []string{Deliveries.Key(), Duplicates.Key()}, Rate: true, Bands: partitionBands(p),
			Title:  "Block copies delivered per second",
			XLabel: "simulated time (s)", YLabel: "copies delivered (1/s)",
			Caption: "Every delivery after a node's first copy is a duplicate. " +
				"Look for duplicates tracking deliveries closely: bandwidth spent on nodes that already had the block."},
		{Kind: metrics.PlotSeries, Data: []string{Delivered.Key()}, Rate: true, Scale: 8e-6, Bands: partitionBands(p),
			Title:  "Network throughput of block relay",
			XLabel: "simulated time (s)", YLabel: "delivered (Mbit/s)",
			Caption: "Bits of block copies arriving per second, over all nodes. " +
				"A long low tail means a few slow links are still relaying after most nodes are done."},
	}
	run.Groups = append(run.Groups, byKind(res)...)
	run.Plots = append(run.Plots, metrics.Plot{Kind: metrics.PlotBars, Data: []string{"uplink_bytes_by_message"},
		Title:  "Uplink bytes by message kind",
		XLabel: "message kind (name)", YLabel: "put on uplinks (bytes)",
		Caption: "What each kind of relay message cost, over all nodes and blocks. " +
			"Look at block against the rest: push pays the whole block on every link, announce pays it once per node, compact mostly pays sketches."})
	if len(p.Groups) > 1 {
		run.Groups = append(run.Groups, byGroup(res))
		run.Plots = append(run.Plots, metrics.Plot{Kind: metrics.PlotBars, Data: []string{"propagation_ms_mean_by_group"},
			Title:  "Mean propagation delay per population group",
			XLabel: "population group (name)", YLabel: "mean delay to first copy (ms)",
			Caption: "Groups on slow links or in remote regions wait longer for every block. " +
				"Look for a group far above the others: it would lag in consensus too."})
	}
	return run
}

// byKind is the bytes and the messages nodes put on their uplinks, per
// message kind; every kind is listed, so that runs of different relays
// compare.
func byKind(res *Result) []metrics.Group {
	bytes := metrics.Group{Key: "uplink_bytes_by_message", Unit: "bytes", Counts: true,
		Help: "bytes nodes put on their uplinks, per relay message kind", Sets: []metrics.BarSet{{Name: "bytes"}}}
	msgs := metrics.Group{Key: "uplink_messages_by_message", Counts: true,
		Help: "messages nodes put on their uplinks, per relay message kind", Sets: []metrics.BarSet{{Name: "messages"}}}
	for k := gossip.MsgBlock; k < gossip.NumMsgKinds; k++ {
		bytes.Labels = append(bytes.Labels, k.String())
		msgs.Labels = append(msgs.Labels, k.String())
		bytes.Sets[0].Values = append(bytes.Sets[0].Values, float64(res.Bytes[k]))
		msgs.Sets[0].Values = append(msgs.Sets[0].Values, float64(res.Messages[k]))
	}
	return []metrics.Group{bytes, msgs}
}

// byGroup is the mean first-copy delay of each population group's nodes.
func byGroup(res *Result) metrics.Group {
	p := res.Params
	s, c := make([]float64, len(p.Groups)), make([]float64, len(p.Groups))
	for i, n := range p.Nodes {
		s[n.Group] += res.delaySum[i]
		c[n.Group] += float64(res.receipts[i])
	}
	g := metrics.Group{Key: "propagation_ms_mean_by_group", Unit: "ms", Labels: p.Groups,
		Help: "mean time from a block's creation to its first arrival, over the nodes of each population group",
		Sets: []metrics.BarSet{{Name: "mean delay", Values: make(metrics.Floats, len(p.Groups))}}}
	for i := range s {
		g.Sets[0].Values[i] = math.NaN()
		if c[i] > 0 {
			g.Sets[0].Values[i] = s[i] / c[i]
		}
	}
	return g
}

func params(p *Params) map[string]string {
	jitter := "none"
	if p.Jitter != nil {
		jitter = fmt.Sprint(p.Jitter)
	}
	return map[string]string{
		"nodes":            fmt.Sprint(len(p.Nodes)),
		"groups":           strings.Join(p.Groups, ", "),
		"block_size_bytes": fmt.Sprint(p.BlockSize),
		"degree":           fmt.Sprint(p.Degree),
		"interval":         time.Duration(p.Interval).String(),
		"until":            time.Duration(p.Until).String(),
		"loss":             fmt.Sprint(p.Loss),
		"jitter_s":         jitter,
		"relay":            p.Relay.Protocol.String(),
		"schedule":         map[bool]string{false: "slots", true: "mining"}[p.Mining],
	}
}

// partitionBands shade the partitions on plots against time.
func partitionBands(p *Params) []metrics.Band {
	var out []metrics.Band
	for i, part := range p.Partitions {
		out = append(out, metrics.Band{FromNs: int64(part.From), UntilNs: int64(part.Until), Label: fmt.Sprintf("partition %d", i+1)})
	}
	return out
}
