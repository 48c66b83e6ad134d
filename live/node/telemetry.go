package node

import (
	"encoding/hex"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/dais-sim/dais/live"
	"github.com/dais-sim/dais/live/p2p"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
)

// Metric names a node serves at /metrics, for dashboards and tests.
const (
	MetricHeight        = "dais_consensus_height"
	MetricFinality      = "dais_consensus_finality_seconds"
	MetricRounds        = "dais_consensus_rounds"
	MetricCommits       = "dais_consensus_commits_total"
	MetricTimeouts      = "dais_consensus_timeouts_total"
	MetricEquivocations = "dais_consensus_equivocations_total"
	MetricSuppressed    = "dais_consensus_suppressed_messages_total"
	MetricTxsCommitted  = "dais_chain_txs_committed_total"
	MetricTxsSubmitted  = "dais_chain_txs_submitted_total"
	MetricTxsRejected   = "dais_chain_txs_rejected_total"
	MetricMempoolTxs    = "dais_chain_mempool_txs"
	MetricMempoolBytes  = "dais_chain_mempool_bytes"
	MetricStoreHeight   = "dais_store_height"
	MetricStoreWrite    = "dais_store_write_seconds"
	MetricStoreReplayed = "dais_store_replayed_heights"
	MetricPeers         = "dais_p2p_peers"
	MetricFrames        = "dais_p2p_frames_total"
	MetricPeerRecords   = "dais_p2p_peer_records_total"
	MetricRefused       = "dais_p2p_refused_total"
	MetricBlocked       = "dais_p2p_rcmgr_blocked_total"
	MetricInputs        = "dais_node_inputs_total"
	MetricUptime        = "dais_node_uptime_seconds"
	MetricInfo          = "dais_node_info"
)

// telemetry is the node's metrics.Sink: it turns the events the engine and
// the ledger emit into Prometheus metrics, the events file and log lines.
// Record runs on the node goroutine; the Prometheus types it updates are
// safe for the HTTP server to read concurrently.
type telemetry struct {
	reg    *prometheus.Registry
	log    *slog.Logger
	events *eventLog
	extra  metrics.Sink

	height, mempoolTxs, mempoolBytes, storeHeight, replayed prometheus.Gauge
	finality, rounds, storeWrite                            prometheus.Histogram
	commits, equivocations, suppressed, txsCommitted        prometheus.Counter
	txsSubmitted                                            prometheus.Counter
	timeouts, rejected                                      *prometheus.CounterVec
	// refused also counts transactions refused for a bad signature (the
	// ledger checks them), beside what the transport and inbound refuse.
	refused *p2p.Refusals
}

// frameSource is what the p2p collector reads at scrape time.
type frameSource struct {
	host    *p2p.Host
	app     *appSender
	rt      func() *live.Runtime
	peers   func() int
	started time.Time
}

func newTelemetry(log *slog.Logger, events *eventLog, extra metrics.Sink, info prometheus.Labels, src frameSource) *telemetry {
	t := &telemetry{reg: prometheus.NewRegistry(), log: log, events: events, extra: extra, refused: src.host.Refusals()}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		t.reg.MustRegister(g)
		return g
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		t.reg.MustRegister(c)
		return c
	}
	hist := func(name, help string, buckets []float64) prometheus.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
		t.reg.MustRegister(h)
		return h
	}
	t.height = gauge(MetricHeight, "Last height committed at this node.")
	t.finality = hist(MetricFinality, "Time from a block's proposal to its commit at this node (blocks replayed from the store are not counted).",
		[]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60})
	t.rounds = hist(MetricRounds, "BFT rounds a height took to decide (1: the first proposal was decided).", []float64{1, 2, 3, 4, 6, 8, 12, 16})
	t.commits = counter(MetricCommits, "Heights committed at this node since it started (replayed heights not counted).")
	t.timeouts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricTimeouts, Help: "BFT timeouts that fired and moved this validator on, by step."}, []string{"step"})
	t.reg.MustRegister(t.timeouts)
	t.equivocations = counter(MetricEquivocations, "Conflicting signed proposals or votes this node received (evidence).")
	t.suppressed = counter(MetricSuppressed, "Own proposals and votes withheld after a restart, for rounds this validator may have signed before it (double-sign guard).")
	t.txsCommitted = counter(MetricTxsCommitted, "User transactions in the blocks this node committed.")
	t.txsSubmitted = counter(MetricTxsSubmitted, "Transfers this node's client signed and sent.")
	t.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricTxsRejected, Help: "Transactions this node's mempool refused, by reason."}, []string{"reason"})
	t.reg.MustRegister(t.rejected)
	t.mempoolTxs = gauge(MetricMempoolTxs, "Transactions in this node's mempool.")
	t.mempoolBytes = gauge(MetricMempoolBytes, "Bytes of the transactions in this node's mempool.")
	t.storeHeight = gauge(MetricStoreHeight, "Highest height in this node's store.")
	t.storeWrite = hist(MetricStoreWrite, "Time to append a committed block to the store, fsync included.",
		[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1})
	t.replayed = gauge(MetricStoreReplayed, "Heights replayed from the store when this process started.")

	t.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: MetricUptime, Help: "Seconds since this node process started."},
			func() float64 { return time.Since(src.started).Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: MetricPeers, Help: "Other dais nodes this node is connected to."},
			func() float64 { return float64(src.peers()) }),
		&frameCollector{src: src},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	infoG := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricInfo, Help: "Constant 1, labelled with what this node is.", ConstLabels: info})
	infoG.Set(1)
	t.reg.MustRegister(infoG)
	return t
}

// Record implements metrics.Sink.
func (t *telemetry) Record(s metrics.Stamped) {
	if t.extra != nil {
		t.extra.Record(s)
	}
	ev := Event{AtNs: s.AtNs}
	switch e := s.Event.(type) {
	case consensus.Committed:
		t.height.Set(float64(e.Height))
		t.commits.Inc()
		t.finality.Observe(time.Duration(e.Latency).Seconds())
		t.rounds.Observe(float64(e.Round + 1))
		ev.Kind, ev.Height, ev.Hash, ev.Round = EventCommitted, e.Height, hex.EncodeToString(e.Hash[:]), e.Round
		ev.ProposedNs, ev.LatencyNs, ev.Bytes = int64(e.Proposed), int64(e.Latency), uint64(e.Bytes)
		t.log.Info("committed", "height", e.Height, "hash", hex.EncodeToString(e.Hash[:6]), "round", e.Round,
			"latency", time.Duration(e.Latency).Round(time.Microsecond))
	case chain.Applied:
		t.txsCommitted.Add(float64(e.User))
		ev.Kind, ev.Height, ev.Txs, ev.Bytes = EventApplied, e.Height, e.User, uint64(e.Bytes)
		ev.Fees, ev.Minted, ev.Burned, ev.Pending = e.Fees, e.Minted, e.Burned, e.Pending
	case bft.HeightDone:
		ev.Kind, ev.Height, ev.Round, ev.Msgs, ev.Bytes, ev.Timeouts = EventHeightDone, e.Height, e.Rounds, e.Msgs, e.Bytes, e.Timeouts
	case bft.TimeoutFired:
		t.timeouts.WithLabelValues(e.Step).Inc()
		ev.Kind, ev.Height, ev.Round, ev.Step = EventTimeout, e.Height, e.Round, e.Step
		t.log.Debug("timeout", "height", e.Height, "round", e.Round, "step", e.Step)
	case bft.Equivocation:
		t.equivocations.Inc()
		ev.Kind, ev.Height, ev.Round, ev.Validator = EventEquivocation, e.Height, e.Round, uint32(e.Validator)
		t.log.Warn("equivocation seen", "height", e.Height, "round", e.Round, "validator", e.Validator)
	case chain.Submitted:
		t.txsSubmitted.Inc()
		return
	case chain.Rejected:
		t.rejected.WithLabelValues(e.Reason).Inc()
		if e.Reason == "bad_signature" && t.refused != nil {
			t.refused.Add(p2p.ReasonBadSignature, "chain.Tx", "mempool")
		}
		return
	default:
		pe, ok, err := protocolEvent(s.AtNs, e)
		if err != nil {
			t.log.Warn("events file", "err", err)
		}
		if !ok || err != nil {
			return
		}
		ev = pe
	}
	t.events.write(&ev)
}

// frameCollector reports the transport's and runtime's counters, read at
// scrape time so they never drift from the source.
type frameCollector struct{ src frameSource }

var (
	framesDesc = prometheus.NewDesc(MetricFrames, "Frames by what became of them: sent, received, published, gossip_received "+
		"(delivered), malformed, unknown_peer, no_receiver (dropped by the transport; "+MetricRefused+" has every refusal by "+
		"reason), dropped (dropped by the runtime: not running), send_error, publish_error (refused by the transport), app_send_error, app_dropped "+
		"(services' messages that failed, or were dropped behind a peer that does not take them).", []string{"result"}, nil)
	inputsDesc  = prometheus.NewDesc(MetricInputs, "Inputs handed to the node's state machine.", nil, nil)
	recordsDesc = prometheus.NewDesc(MetricPeerRecords, "Signed peer records in peers answers (bootstrap discovery) by what "+
		"became of them: taken, foreign (a peer ID outside the network: dropped), malformed (dropped).", []string{"result"}, nil)
	refusedDesc = prometheus.NewDesc(MetricRefused, "Inputs from peers this node refused, by reason (unknown_peer, oversize, "+
		"undecodable, rate_limited, read_timeout, memory, bad_signature, unsigned, stale) and kind (a wire message's name, "+
		"or conn, stream, gossip, length, header where none applies).", []string{"reason", "kind"}, nil)
	blockedDesc = prometheus.NewDesc(MetricBlocked, "What libp2p's resource manager refused this node's peers, by resource "+
		"(conn, stream, peer, protocol, service, memory).", []string{"resource"}, nil)
)

func (c *frameCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- framesDesc
	ch <- inputsDesc
	ch <- recordsDesc
	ch <- refusedDesc
	ch <- blockedDesc
}

func (c *frameCollector) Collect(ch chan<- prometheus.Metric) {
	hs := c.src.host.Stats()
	var rs live.Stats
	if rt := c.src.rt(); rt != nil {
		rs = rt.Stats()
	}
	for _, f := range []struct {
		result string
		n      uint64
	}{
		{"sent", hs.FramesSent}, {"received", hs.FramesReceived}, {"published", hs.Published},
		{"gossip_received", hs.GossipReceived}, {"malformed", hs.Malformed}, {"unknown_peer", hs.UnknownPeer},
		{"no_receiver", hs.NoReceiver}, {"dropped", rs.Dropped},
		{"send_error", rs.SendErrors}, {"publish_error", rs.PublishErrors},
		{"app_send_error", c.src.app.errs.Load()}, {"app_dropped", c.src.app.dropped.Load()},
	} {
		ch <- prometheus.MustNewConstMetric(framesDesc, prometheus.CounterValue, float64(f.n), f.result)
	}
	ch <- prometheus.MustNewConstMetric(inputsDesc, prometheus.CounterValue, float64(rs.Handled))
	ch <- prometheus.MustNewConstMetric(recordsDesc, prometheus.CounterValue, float64(hs.PeerRecords), "taken")
	ch <- prometheus.MustNewConstMetric(recordsDesc, prometheus.CounterValue, float64(hs.PeerRecordsForeign), "foreign")
	ch <- prometheus.MustNewConstMetric(recordsDesc, prometheus.CounterValue, float64(hs.PeerRecordsMalformed), "malformed")
	for _, r := range c.src.host.Refusals().All() {
		ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(r.Count), r.Reason, r.Kind)
	}
	b := hs.Blocked
	for _, f := range []struct {
		resource string
		n        uint64
	}{{"conn", b.Conns}, {"stream", b.Streams}, {"peer", b.Peers}, {"protocol", b.Protocols}, {"service", b.Services}, {"memory", b.Memory}} {
		ch <- prometheus.MustNewConstMetric(blockedDesc, prometheus.CounterValue, float64(f.n), f.resource)
	}
}

// infoLabels are the labels of dais_node_info.
func infoLabels(network string, id uint32, role, peerID, version string) prometheus.Labels {
	return prometheus.Labels{"network": network, "id": strconv.FormatUint(uint64(id), 10), "role": role, "peer_id": peerID, "version": version}
}
