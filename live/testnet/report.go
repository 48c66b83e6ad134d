package testnet

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol"
)

// Measures of a testnet report. Their keys are those of the simulator's
// consensus runs (sim/consensusrun), so that dais compare lines a testnet
// up against a simulation of it.
var (
	Finality = &metrics.Measure{Name: "finality", Unit: "ms", Kind: metrics.Distribution, Better: metrics.Lower,
		Help: "time from a block's proposal to its commit at a validator (wall clocks of the proposer's and the validator's hosts)"}
	FollowerFinality = &metrics.Measure{Name: "follower_finality", Unit: "ms", Kind: metrics.Distribution, Better: metrics.Lower,
		Help: "time from a block's proposal to its commit at a non-validator full node"}
	BlockInterval = &metrics.Measure{Name: "block_interval", Unit: "ms", Kind: metrics.Distribution,
		Help: "time between the first commits of consecutive heights"}
	Rounds = &metrics.Measure{Name: "rounds_per_height", Kind: metrics.Distribution, Better: metrics.Lower,
		Help: "BFT rounds a height took to decide (1: the first proposal was decided)"}
	TxsCommitted = &metrics.Measure{Name: "txs_committed", Kind: metrics.Counter, Better: metrics.Higher,
		Help: "user transactions in finalized blocks, each height counted once"}
	Mempool = &metrics.Measure{Name: "mempool", Unit: "txs", Kind: metrics.Distribution,
		Help: "transactions left in a validator's mempool after each block it commits"}
)

// seriesStepNs is the time-series step of a testnet report.
const seriesStepNs = int64(time.Second)

type height struct {
	hash     string
	round    uint32
	proposed int64
	first    int64 // first commit at a validator; 0 until one
	txs      int
	counted  bool // txs counted
}

type sample struct {
	at int64
	m  *metrics.Measure
	v  float64
}

// Report reads every node's events file and summarizes the testnet the
// way dais run summarizes a simulated consensus run: finality, block
// interval, rounds, throughput, traffic; and, if the network runs them,
// the marketplace and the federated job the way dais run summarizes a
// simulated one (report_apps.go). violations lists heights at which
// nodes committed different blocks (safety broken), each one line; the
// run counts them in invariant_failures. Nodes that never started are
// left out. Report works on a running or a stopped testnet.
func (t *Testnet) Report() (run *metrics.Run, violations []string, err error) {
	netw := t.Network
	tl, err := t.readEvents()
	if err != nil {
		return nil, nil, err
	}
	hs, roundsPer := tl.heightSamples()
	run = tl.consensusRun(netw, hs)
	addConsensusGroups(run, netw, tl.finalHeight, roundsPer)
	t.meta(run, tl.end)
	span := time.Duration(tl.end - tl.start).Seconds()
	run.Host = &metrics.Host{WallS: span, Events: tl.nEvents, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if span > 0 {
		run.Host.EventsPerS = float64(tl.nEvents) / span
	}
	byTime(tl.protoEvs)
	if netw.LongestChain() {
		longestFigures(run, netw, tl)
	}
	if netw.Market != nil {
		sec, err := marketSection(netw, tl.protoEvs, tl.spans, tl.start, tl.end)
		if err != nil {
			return nil, nil, err
		}
		merge(run, sec, "market")
	}
	if netw.Learning != nil {
		if sec := learningSection(netw, tl.protoEvs); sec != nil {
			merge(run, sec, "learning")
		}
	}
	return run, tl.violations, nil
}

// tally is what Report reads from the nodes' events files.
type tally struct {
	isValidator                                      map[protocol.NodeID]bool
	heights                                          map[uint64]*height
	samples                                          []sample
	start, end                                       int64
	msgs, timeouts, equivocations, restarts, nEvents uint64
	finalHeight                                      []float64 // by node
	reported                                         int
	protoEvs                                         []protoEvent // the marketplace's and the federated job's (report_apps.go)
	spans                                            []online
	violations                                       []string
}

// readEvents reads every node's events file that exists.
func (t *Testnet) readEvents() (*tally, error) {
	netw := t.Network
	tl := &tally{isValidator: map[protocol.NodeID]bool{}, heights: map[uint64]*height{}, start: -1,
		finalHeight: make([]float64, len(netw.Nodes))}
	for _, id := range netw.Validators() {
		tl.isValidator[id] = true
	}
	for _, m := range netw.Nodes {
		evs, err := t.Events(m.ID)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("testnet: node %d: %w", m.ID, err)
		}
		if err := tl.node(m.ID, evs); err != nil {
			return nil, err
		}
	}
	if tl.reported == 0 {
		return nil, fmt.Errorf("%w: no node of %s has written events yet (start it with dais testnet up)", ErrNoTestnet, t.Dir)
	}
	tl.start = max(tl.start, 0)
	return tl, nil
}

// node tallies one node's events.
func (tl *tally) node(id protocol.NodeID, evs []node.Event) error {
	tl.reported++
	tl.nEvents += uint64(len(evs))
	tl.spans = append(tl.spans, onlineSpans(id, evs)...)
	val := tl.isValidator[id]
	seen := map[uint64]bool{}
	starts := 0
	for _, ev := range evs {
		tl.end = max(tl.end, ev.AtNs)
		switch ev.Kind {
		case node.EventStart:
			starts++
			if tl.start < 0 || ev.AtNs < tl.start {
				tl.start = ev.AtNs
			}
		case node.EventCommitted:
			// A height committed again after a crash (its event was
			// written, its block not yet stored) counts once.
			if seen[ev.Height] {
				continue
			}
			seen[ev.Height] = true
			tl.committed(id, val, ev)
		case node.EventApplied:
			if !val {
				continue
			}
			tl.samples = append(tl.samples, sample{ev.AtNs, Mempool, float64(ev.Pending)})
			if h := tl.heights[ev.Height]; h != nil && !h.counted {
				h.txs, h.counted = ev.Txs, true
				tl.samples = append(tl.samples, sample{ev.AtNs, TxsCommitted, float64(ev.Txs)})
			}
		case node.EventHeightDone:
			tl.msgs += ev.Msgs
		case node.EventTimeout:
			tl.timeouts++
		case node.EventEquivocation:
			tl.equivocations++
		default:
			pe, ok, err := ev.Protocol()
			if err != nil {
				return fmt.Errorf("testnet: node %d's %s: %w", id, node.EventsFile, err)
			}
			if ok {
				tl.protoEvs = append(tl.protoEvs, protoEvent{Stamped: metrics.Stamped{Node: uint32(id), AtNs: ev.AtNs, Event: pe}, seq: len(tl.protoEvs)})
			}
		}
	}
	tl.restarts += uint64(max(starts-1, 0))
	return nil
}

// committed tallies a node's first commit of a height: its finality, and
// a violation if another node committed a different block there.
func (tl *tally) committed(id protocol.NodeID, val bool, ev node.Event) {
	tl.finalHeight[id] = max(tl.finalHeight[id], float64(ev.Height))
	h := tl.heights[ev.Height]
	if h == nil {
		h = &height{hash: ev.Hash, round: ev.Round, proposed: ev.ProposedNs}
		tl.heights[ev.Height] = h
	}
	if h.hash != ev.Hash {
		tl.violations = append(tl.violations, fmt.Sprintf("conflicting blocks at height %d: node %d committed %.12s…, another node %.12s…",
			ev.Height, id, ev.Hash, h.hash))
		return
	}
	ms := float64(ev.LatencyNs) / 1e6
	if !val {
		tl.samples = append(tl.samples, sample{ev.AtNs, FollowerFinality, ms})
		return
	}
	tl.samples = append(tl.samples, sample{ev.AtNs, Finality, ms})
	if h.first == 0 || ev.AtNs < h.first {
		h.first, h.round, h.proposed = ev.AtNs, ev.Round, ev.ProposedNs
	}
}

// heightSamples adds each height's rounds and block interval to the
// samples and sorts them in time: hs are the heights finalized, in
// order; roundsPer[r] counts those that took r+1 rounds.
func (tl *tally) heightSamples() (hs []uint64, roundsPer []uint64) {
	hs = make([]uint64, 0, len(tl.heights))
	for h := range tl.heights {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	for i, h := range hs {
		hi := tl.heights[h]
		if hi.first == 0 {
			continue // only followers saw it
		}
		tl.samples = append(tl.samples, sample{hi.first, Rounds, float64(hi.round + 1)})
		for len(roundsPer) <= int(hi.round) {
			roundsPer = append(roundsPer, 0)
		}
		roundsPer[hi.round]++
		if i > 0 && hs[i-1] == h-1 {
			if prev := tl.heights[h-1]; prev.first > 0 && hi.first > prev.first {
				tl.samples = append(tl.samples, sample{hi.first, BlockInterval, float64(hi.first-prev.first) / 1e6})
			}
		}
	}
	slices.SortStableFunc(tl.samples, func(a, b sample) int { return int(min(max(a.at-b.at, -1), 1)) })
	return hs, roundsPer
}

// consensusRun records the samples and adds the consensus figures and the
// finality and block-interval CDFs.
func (tl *tally) consensusRun(netw *node.Network, hs []uint64) *metrics.Run {
	followers := len(netw.Followers())
	declare := []*metrics.Measure{Finality}
	if followers > 0 {
		declare = append(declare, FollowerFinality)
	}
	declare = append(declare, BlockInterval, Rounds, TxsCommitted, Mempool)
	rec := record.New(record.Config{StepNs: seriesStepNs, EndNs: tl.end}, declare...)
	var txs float64
	for _, s := range tl.samples {
		if s.m.Kind == metrics.Counter {
			rec.At(s.at).Add(s.m, s.v)
			txs += s.v
		} else {
			rec.At(s.at).Sample(s.m, s.v)
		}
	}
	run := rec.Summary(tl.end)
	span := time.Duration(tl.end - tl.start).Seconds()
	perS := func(x float64) float64 {
		if span <= 0 {
			return 0
		}
		return x / span
	}
	perBlock := func(x uint64) float64 {
		if len(hs) == 0 {
			return 0
		}
		return float64(x) / float64(len(hs))
	}
	head := map[string]bool{"finality_ms_p50": true, "finality_ms_p99": true, "block_interval_ms_p50": true, "txs_committed": true}
	for i := range run.Figures {
		run.Figures[i].Headline = head[run.Figures[i].Key]
	}
	fig := func(key string, v float64, unit, help string, better metrics.Better, headline bool) {
		run.Figures = append(run.Figures, metrics.Figure{Key: key, Value: v, Unit: unit, Help: help, Better: better, Headline: headline})
	}
	fig("validators", float64(len(netw.Validators())), "", "nodes that validate (every one votes: a testnet has no top-K cut)", "", false)
	fig("followers", float64(followers), "", "non-validator full nodes", "", false)
	fig("nodes_reported", float64(tl.reported), "", "nodes whose events file the report read", "", false)
	fig("heights_finalized", float64(len(hs)), "", "heights finalized by any node", metrics.Higher, true)
	fig("blocks_per_s", perS(float64(len(hs))), "1/s", "heights finalized per wall-clock second of the run", metrics.Higher, false)
	fig("invariant_failures", float64(len(tl.violations)), "", "heights at which two nodes committed different blocks (safety broken)", metrics.Lower, true)
	fig("consensus_messages_per_block", perBlock(tl.msgs), "", "proposals and votes validators sent, per height", metrics.Lower, false)
	fig("timeouts", float64(tl.timeouts), "", "BFT timeouts that fired and moved a validator on", metrics.Lower, false)
	fig("equivocations_seen", float64(tl.equivocations), "", "conflicting signed messages a node received (evidence)", "", false)
	fig("tx_per_s", perS(txs), "1/s", "user transactions finalized per wall-clock second (real ed25519 signatures, verified by every node)", metrics.Higher, true)
	fig("node_restarts", float64(tl.restarts), "", "times a node process started again on its data dir (after a crash or a stop)", "", false)
	fig("run_s", span, "s", "wall-clock time from the first node's start to the last event", "", false)

	cdf := []string{Finality.Key()}
	if followers > 0 {
		cdf = append(cdf, FollowerFinality.Key())
	}
	run.Plots = append([]metrics.Plot{{Kind: metrics.PlotCDF, Data: cdf,
		Title:  "Time to finality",
		XLabel: "time from proposal to commit (ms)", YLabel: "commits (fraction)",
		Caption: "Each point is the share of (node, height) commits final by then, measured on the nodes' wall clocks. The tail grows with rounds lost to timeouts and with nodes catching up after a restart."},
		{Kind: metrics.PlotCDF, Data: []string{BlockInterval.Key()},
			Title: "Block interval", XLabel: "time between consecutive commits (ms)", YLabel: "intervals (fraction)",
			Caption: "The interval is the commit timeout plus a round's latency; a long tail means heights that needed extra rounds."},
	}, run.Plots...)
	return run
}

// addConsensusGroups adds the last height per node and the heights by
// rounds needed, with their plots.
func addConsensusGroups(run *metrics.Run, netw *node.Network, finalHeight []float64, roundsPer []uint64) {
	labels := make([]string, len(netw.Nodes))
	for i, m := range netw.Nodes {
		labels[i] = strconv.Itoa(int(m.ID))
	}
	run.Groups = append(run.Groups, metrics.Group{Key: "height_by_node", Labels: labels,
		Help: "the last height each node committed", Sets: []metrics.BarSet{{Name: "height", Values: finalHeight}}})
	run.Plots = append(run.Plots, metrics.Plot{Kind: metrics.PlotBars, Data: []string{"height_by_node"},
		Title: "Last height per node", XLabel: "node (id)", YLabel: "height (blocks)",
		Caption: "Nodes that took part to the end stand level; a node that crashed or lagged stands lower."})
	if len(roundsPer) > 0 {
		rl := make([]string, len(roundsPer))
		rv := make(metrics.Floats, len(roundsPer))
		for i, n := range roundsPer {
			rl[i], rv[i] = strconv.Itoa(i+1), float64(n)
		}
		run.Groups = append(run.Groups, metrics.Group{Key: "heights_by_rounds", Labels: rl,
			Help: "how many heights took 1, 2, … rounds", Sets: []metrics.BarSet{{Name: "heights", Values: rv}}, Counts: true})
		run.Plots = append(run.Plots, metrics.Plot{Kind: metrics.PlotBars, Data: []string{"heights_by_rounds"},
			Title: "Rounds needed per height", XLabel: "rounds (count)", YLabel: "heights (count)",
			Caption: "Most heights should decide in round 1; heights needing more rounds show validators that were down, slow or restarting."})
	}
}

// meta says what produced the report: the scenario file if the testnet
// came from one, else the network file.
func (t *Testnet) meta(run *metrics.Run, end int64) {
	netw := t.Network
	src := netw.Scenario
	text, err := os.ReadFile(src)
	if src == "" || err != nil {
		src = filepath.Join(t.Dir, node.NetworkFile)
		text, _ = os.ReadFile(src)
	}
	sum := sha256.Sum256(text)
	to := netw.Timeouts.BFT()
	run.Meta = metrics.Meta{Scenario: netw.Name, ScenarioSHA256: hex.EncodeToString(sum[:]), ScenarioText: string(text),
		Seed: netw.Seed, Repetitions: 1, SimEndNs: end,
		Params: map[string]string{
			"mode":       "live testnet (OS processes over libp2p on 127.0.0.1)",
			"source":     src,
			"nodes":      strconv.Itoa(len(netw.Nodes)),
			"validators": strconv.Itoa(len(netw.Validators())),
			"tx_rate":    strconv.FormatFloat(netw.TxRate, 'g', -1, 64) + "/s",
			"epoch":      netw.Epoch.Format(time.RFC3339Nano),
			"timeouts": fmt.Sprintf("propose %v+%v/round, prevote %v+%v, precommit %v+%v, commit %v",
				time.Duration(to.Propose), time.Duration(to.ProposeDelta), time.Duration(to.Prevote), time.Duration(to.PrevoteDelta),
				time.Duration(to.Precommit), time.Duration(to.PrecommitDelta), time.Duration(to.Commit)),
		}}
	if netw.LongestChain() {
		longestMeta(run.Meta.Params, netw)
	}
}

// Events reads node id's events file.
func (t *Testnet) Events(id protocol.NodeID) ([]node.Event, error) {
	f, err := os.Open(filepath.Join(t.DataDir(id), node.EventsFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return node.ReadEvents(f)
}
