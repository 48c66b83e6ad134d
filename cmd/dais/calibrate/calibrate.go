// Package calibrate checks the simulator against reality: it runs one
// small BFT scenario live (an in-process loopback testnet of real nodes,
// live/node over libp2p) and in the simulator (sim/consensusrun) with what
// it measured while the live nodes ran — the round trip of a dais message
// (the network's RTT), ed25519 signing, the CPU per message, store writes,
// timer lateness (protocol.consensus.processing; Costs) — and a measured
// hardware profile, and reports, per metric, the live figure, the
// simulated one and the gap. It is the harness above both drivers
// (DESIGN.md): the one package beside cmd/dais that imports live/ and sim/
// together, which never import each other.
//
//	sc, _ := scenarios.Load("scenarios/calibrate-live.yaml")
//	rep, err := calibrate.Run(ctx, calibrate.Options{Scenario: sc, Dir: "runs/calibrate"})
//	err = rep.Write("runs/calibrate") // calibration.md, calibration.json, live/ and sim/ run folders
//
// What is compared is a list of Probes, each a figure of both runs'
// metrics.json; a new live measurement (a live market's task completion
// times) is a new probe over its own pair of runs.
package calibrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/dais-sim/dais/gpu/profile"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/sim/consensusrun"
)

// LatenessPeriod is the timer lateness probe's period: about a BFT
// timeout on loopback.
const LatenessPeriod = 20 * time.Millisecond

// ErrOptions is Run refusing its options or scenario.
var ErrOptions = errors.New("calibrate: invalid options")

// Options describe one calibration.
type Options struct {
	// Scenario is run both ways: a BFT protocol.consensus section and at
	// most testnet.MaxNodes nodes. Required.
	Scenario *scenarios.Scenario
	// Overrides are the --set arguments Scenario was loaded with; the
	// simulated run reloads it with them and the measured network.
	Overrides []string
	// Dir holds the live testnet's directory (Dir/testnet). Required.
	Dir string
	// Duration is how long the live testnet runs once its nodes are up,
	// and the simulated run's length; 0 means the scenario's run.duration.
	Duration time.Duration
	// Profile, if not "", is a hardware profile file (dais gpu bench):
	// every population group of the simulated run is put on its class.
	Profile string
	// Pings is how many libp2p pings go to each node to measure the
	// loopback round trip (0: 20).
	Pings int
	// Probes are the consensus figures compared (nil: ConsensusProbes).
	Probes []Probe
	// MarketJobs, if > 0, also runs a live marketplace on the scenario's
	// node count (MarketSpec, MarketJobs jobs) and its simulated twin,
	// and compares them by MarketProbes: task completion time.
	MarketJobs int
	// Log, if not nil, receives progress lines.
	Log io.Writer
}

// Probe is one figure both runs report under the same metrics.json key.
type Probe struct {
	Name string
	Key  string
}

// ConsensusProbes are the figures of a BFT testnet and its simulation.
var ConsensusProbes = []Probe{
	{"BFT finality p50", "finality_ms_p50"},
	{"BFT finality p99", "finality_ms_p99"},
	{"block interval p50", "block_interval_ms_p50"},
	{"block interval p99", "block_interval_ms_p99"},
	{"rounds per height (mean)", "rounds_per_height_mean"},
	{"tx throughput", "tx_per_s"},
}

// Metric is one probe's result.
type Metric struct {
	Name string  `json:"name"`
	Key  string  `json:"key"`
	Unit string  `json:"unit"`
	Live float64 `json:"live"`
	Sim  float64 `json:"sim"`
	// GapPct is (Sim − Live) ÷ Live in percent; NaN (null in JSON) when
	// either figure is missing or Live is 0.
	GapPct float64 `json:"gap_pct"`
	// SimFree is the consensus figure simulated without the measured
	// processing costs (all 0, the scenario default); NaN for the
	// market's figures.
	SimFree float64 `json:"sim_free"`
}

// RTT is the measured loopback round trip: the standard libp2p ping
// (/ipfs/ping/1.0.0) to every node, one ping every LatenessPeriod, as
// sparse as a BFT height's messages, so that each crosses idle
// goroutines that must be woken as the nodes' own messages do.
// BackToBackP50Ms is the p50 of pings sent back to back (ping.Ping), which
// find the goroutines awake: a floor, not what the nodes' messages see.
type RTT struct {
	Samples         int     `json:"samples"`
	P50Ms           float64 `json:"p50_ms"`
	P99Ms           float64 `json:"p99_ms"`
	MinMs           float64 `json:"min_ms"`
	BackToBackP50Ms float64 `json:"back_to_back_p50_ms"`
}

// Report is a calibration's outcome.
type Report struct {
	Scenario string    `json:"scenario"`
	Nodes    int       `json:"nodes"`
	Date     time.Time `json:"date"`
	// LiveS is how long the live testnet ran; SimS the simulated length.
	LiveS float64 `json:"live_s"`
	SimS  float64 `json:"sim_s"`
	RTT   RTT     `json:"rtt"`
	// Profile is the hardware profile's class name, "" without one.
	Profile string `json:"profile,omitempty"`
	// Costs are the processing costs measured live and given to the
	// simulated consensus run.
	Costs   Costs    `json:"costs"`
	Metrics []Metric `json:"metrics"`
	// Notes say what the live run does that the simulation does not
	// model, and the reverse.
	Notes []string `json:"notes"`
	// Overrides are what the simulated run changed in the scenario.
	Overrides []string `json:"sim_overrides"`

	Live, Sim *metrics.Run `json:"-"`
	// MarketSim is the simulated market's run, nil without MarketJobs.
	MarketSim *metrics.Run `json:"-"`
}

// Run runs the scenario live and simulated and compares them.
func Run(ctx context.Context, o Options) (*Report, error) {
	sc := o.Scenario
	if sc == nil || o.Dir == "" {
		return nil, fmt.Errorf("%w: a scenario and a directory are required", ErrOptions)
	}
	if c := sc.Protocol.Consensus; c != nil && c.Engine == "longest_chain" {
		// Its measured costs (signed-round writes, votes per block) and
		// probes are BFT's; a longest-chain testnet runs with dais testnet up.
		return nil, fmt.Errorf("%w: protocol.consensus.engine longest_chain: calibrate measures BFT consensus (run longest chain live with dais testnet up --scenario)", ErrOptions)
	}
	topts, notes, err := testnet.FromScenario(sc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	if o.Duration == 0 {
		o.Duration = time.Duration(sc.Run.Duration.D())
	}
	if o.Pings == 0 {
		o.Pings = 20
	}
	if o.Probes == nil {
		o.Probes = ConsensusProbes
	}
	var prof *profile.Profile
	if o.Profile != "" {
		if prof, err = profile.Load(o.Profile); err != nil {
			return nil, err
		}
	}
	if l := sc.Protocol.Consensus.Ledger; l.Enabled {
		topts.TxRate = l.TxRate.PerSecond()
	}
	topts.Dir = filepath.Join(o.Dir, "testnet")
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}

	logf("live: %d nodes on 127.0.0.1 for %v", topts.Nodes, o.Duration)
	live, rtt, costs, err := runLive(ctx, topts, o.Duration, o.Pings)
	if err != nil {
		return nil, err
	}
	rep := &Report{Scenario: sc.File, Nodes: topts.Nodes, Date: time.Now().UTC().Truncate(time.Second),
		LiveS: o.Duration.Seconds(), SimS: o.Duration.Seconds(), RTT: rtt, Costs: costs, Live: live}
	msg := costs.Message
	logf("measured loopback RTT: libp2p ping p50 %.3f ms, p99 %.3f ms (%d samples; back to back %.3f ms); a dais message between two live runtimes p50 %.3f ms, p99 %.3f ms (%d samples)",
		rtt.P50Ms, rtt.P99Ms, rtt.Samples, rtt.BackToBackP50Ms, msg.P50Ms, msg.P99Ms, msg.Samples)
	logf("measured processing: ed25519 sign %.1f µs, verify %.1f µs (median of %d); CPU %.2f ms per node per block, %.1f messages received per node per block, so %.0f µs per message received on %d cores; block store write %.2f ms (mean of %d); signed-round write %.2f ms (mean of %d); timers %.3f ms late (mean of %d)",
		costs.SignUs, costs.VerifyUs, costs.Samples, costs.CPUPerBlockMs, costs.MsgsPerBlock, costs.ReceiveUs, costs.Cores, costs.StoreMs, costs.StoreWrites, costs.SignedRoundMs, costs.SignedRoundWrites, costs.Timers.MeanMs, costs.Timers.Samples)

	over := slices.Clone(o.Overrides)
	over = append(over,
		fmt.Sprintf("run.duration=%s", o.Duration),
		fmt.Sprintf("network.latency={matrix: inline, regions: [loopback], rtt_ms: [[%.4f]]}", msg.P50Ms),
		"network.jitter=", "network.loss=0%", "network.partitions=", "network.churn=")
	for i := range sc.Population.Groups {
		over = append(over, fmt.Sprintf("population.groups[%d].regions=[loopback]", i))
	}
	if prof != nil {
		abs, err := filepath.Abs(o.Profile)
		if err != nil {
			return nil, err
		}
		over = append(over, fmt.Sprintf("population.hardware_profiles=[%q]", abs))
		for i := range sc.Population.Groups {
			over = append(over, fmt.Sprintf("population.groups[%d].gpu=%s", i, prof.Class.Name))
		}
		rep.Profile = prof.Class.Name
	}
	free := len(over)
	over = append(over,
		fmt.Sprintf("protocol.consensus.processing.send=%dns", int64(costs.SignUs*1e3)),
		fmt.Sprintf("protocol.consensus.processing.receive=%dns", int64(costs.ReceiveUs*1e3)),
		fmt.Sprintf("protocol.consensus.processing.commit=%dns", int64(costs.StoreMs*1e6)),
		fmt.Sprintf("protocol.consensus.processing.signed_round=%dns", int64(costs.SignedRoundMs*1e6)),
		fmt.Sprintf("protocol.consensus.processing.timer_late=%dns", int64(costs.Timers.MeanMs*1e6)))
	rep.Overrides = over[len(o.Overrides):]
	simulate := func(over []string) (*metrics.Run, error) {
		simSc, err := scenarios.Parse(sc.File, sc.Source, over...)
		if err != nil {
			return nil, fmt.Errorf("calibrate: the scenario with the measured network: %w", err)
		}
		p, err := consensusrun.FromScenario(simSc, 0)
		if err != nil {
			return nil, err
		}
		res, err := consensusrun.Run(p)
		if err != nil {
			return nil, err
		}
		return consensusrun.Summary(res), nil
	}
	logf("sim: the same scenario, %v, one region with the measured RTT and processing costs, and without the costs", o.Duration)
	if rep.Sim, err = simulate(over); err != nil {
		return nil, err
	}
	simFree, err := simulate(over[:free])
	if err != nil {
		return nil, err
	}
	rep.Metrics = compare(o.Probes, live, rep.Sim)
	for i, m := range rep.Metrics {
		rep.Metrics[i].SimFree = math.NaN()
		if f, ok := simFree.Figure(m.Key); ok {
			rep.Metrics[i].SimFree = f.Value
		}
	}

	var marketNotes []string
	if o.MarketJobs > 0 {
		rtt := time.Duration(msg.P50Ms * float64(time.Millisecond))
		logf("market: a live marketplace of %d jobs on %d nodes, then its simulated twin", o.MarketJobs, topts.Nodes)
		ml, ms, mn, err := runMarket(ctx, o.Dir, topts.Nodes, o.MarketJobs, sc.Run.Seed, topts.Timeouts, rtt, costs, prof)
		if err != nil {
			return nil, err
		}
		for _, m := range compare(MarketProbes, ml, ms) {
			m.SimFree = math.NaN()
			rep.Metrics = append(rep.Metrics, m)
		}
		rep.MarketSim, marketNotes = ms, mn
	}
	rep.Notes = append(notes,
		fmt.Sprintf("the simulated consensus charges each node the processing measured here (protocol.consensus.processing), on a processor that does one thing at a time: %.1f µs per vote it signs and sends (ed25519 sign, median); %.0f µs per message it receives: the CPU this process spent while the live nodes ran, %.2f ms per node per block, over the %.1f messages a node received per block, times %d nodes ÷ %d cores (ed25519 verify alone is %.1f µs); %.2f ms per block it stores (the live nodes' mean bbolt write, fsync included); %.2f ms before its first proposal or vote of each round (the synced signed-round record, live/store SetSigned timed here, one store per node written at once on the nodes' disk); and its timers fire %.3f ms late (the mean lateness of a %v timer in this process while the live nodes ran, p99 %.3f ms). \"sim, no costs\" is the simulation with all of them at 0",
			costs.SignUs, costs.ReceiveUs, costs.CPUPerBlockMs, costs.MsgsPerBlock, topts.Nodes, costs.Cores, costs.VerifyUs, costs.StoreMs, costs.SignedRoundMs, costs.Timers.MeanMs, LatenessPeriod, costs.Timers.P99Ms),
		fmt.Sprintf("the simulated network is one region whose RTT is the measured round trip of a dais message between two live runtimes (p50 %.3f ms, %v apart, as sparse as a height's messages: encoding, live/p2p's framed stream, the runtime's queue and goroutine wake-ups on both sides), with no jitter; live round trips vary (p99 %.3f ms). The standard libp2p ping, the same %v apart, takes %.3f ms (p50; p99 %.3f ms), and back to back %.3f ms, which only an awake goroutine pair sees", msg.P50Ms, LatenessPeriod, msg.P99Ms, LatenessPeriod, rtt.P50Ms, rtt.P99Ms, rtt.BackToBackP50Ms),
		"live latencies are read on the nodes' wall clocks (one host, so no skew); the simulated ones on the virtual clock",
	)
	if l := sc.Protocol.Consensus.Ledger; l.Enabled {
		who := "the requester-role nodes"
		if l.Clients == "all" {
			who = "every node, as live"
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("transfers (%.0f/s in all): live, every node runs a client; simulated, %s", l.TxRate.PerSecond(), who))
	}
	if prof != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("hardware profile %s (%s), fit %s: the simulated nodes run on it; BFT consensus submits no GPU jobs, so it moves only the market's figures", prof.Class.Name, o.Profile, prof.Fit))
		if prof.Fit != profile.FitMatMul && o.MarketJobs > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the profile is fitted to %s, not to the market's unit kernel (dais gpu bench --fit matmul): the simulated units' compute time is that workload's rate, not the live kernel's", prof.Fit))
		}
	}
	rep.Notes = append(rep.Notes, marketNotes...)
	return rep, nil
}

// compare reads each probe's figure from both runs.
func compare(probes []Probe, live, sim *metrics.Run) []Metric {
	var out []Metric
	for _, pr := range probes {
		m := Metric{Name: pr.Name, Key: pr.Key, Live: math.NaN(), Sim: math.NaN(), GapPct: math.NaN()}
		if f, ok := live.Figure(pr.Key); ok {
			m.Live, m.Unit = f.Value, f.Unit
		}
		if f, ok := sim.Figure(pr.Key); ok {
			m.Sim, m.Unit = f.Value, f.Unit
		}
		m.GapPct = Gap(m.Live, m.Sim)
		out = append(out, m)
	}
	return out
}

// Gap is (sim − live) ÷ live in percent, NaN when undefined.
func Gap(live, sim float64) float64 {
	if math.IsNaN(live) || math.IsNaN(sim) || live == 0 {
		return math.NaN()
	}
	return 100 * (sim - live) / live
}

// runLive runs the testnet's nodes in this process for d once they are
// all ready, measures the loopback RTT to them meanwhile, and returns the
// testnet's report.
func runLive(ctx context.Context, topts testnet.Options, d time.Duration, pings int) (*metrics.Run, RTT, Costs, error) {
	var costs Costs
	tn, err := testnet.Create(topts)
	if err != nil {
		return nil, RTT{}, costs, err
	}
	// The host the RTT is measured from: the nodes let it connect as an
	// observer (it is no member), to ping them.
	pinger, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		return nil, RTT{}, costs, fmt.Errorf("calibrate: a host to ping from: %w", err)
	}
	defer pinger.Close()
	var nodes []*node.Node
	closeAll := func() error { return closeEach(nodes) }
	for _, id := range tn.IDs() {
		cfg, err := node.LoadConfig(tn.ConfigPath(id))
		if err != nil {
			return nil, RTT{}, costs, errors.Join(err, closeAll())
		}
		n, err := node.New(cfg, node.Options{Version: "calibrate", Observers: []peer.ID{pinger.ID()}})
		if err != nil {
			return nil, RTT{}, costs, errors.Join(err, closeAll())
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		n.Start()
	}
	start := time.Now()
	stopProbe := probeLateness(LatenessPeriod)
	cpu0 := cpuTime()
	rtt, pingErr := measureRTT(ctx, pinger, nodes, pings)
	var hopErr error
	costs.Message, hopErr = measureHops(ctx, len(nodes)*pings, LatenessPeriod)
	costs.Samples = 300
	costs.SignUs, costs.VerifyUs = measureSigs(costs.Samples)
	const rounds = 30
	costs.SignedRoundWrites = rounds * len(nodes)
	var storeBenchErr error
	costs.SignedRoundMs, storeBenchErr = measureSignedRound(filepath.Join(topts.Dir, "store-bench"), len(nodes), rounds)
	timer := time.NewTimer(time.Until(start.Add(d)))
	defer timer.Stop()
	var runErr error
	select {
	case <-ctx.Done():
		runErr = context.Cause(ctx)
	case <-timer.C:
	}
	for _, n := range nodes {
		select {
		case err := <-n.Fatal():
			runErr = errors.Join(runErr, fmt.Errorf("calibrate: node %d failed: %w", n.ID(), err))
		default:
		}
	}
	costs.Timers = stopProbe()
	storeS, writes, frames, storeErr := scrapeNodes(ctx, nodes)
	if writes > 0 {
		costs.StoreMs, costs.StoreWrites = 1e3*storeS/float64(writes), writes
		costs.CPUPerBlockMs = float64(cpuTime()-cpu0) / float64(time.Millisecond) / float64(writes)
		costs.MsgsPerBlock = frames / float64(writes)
	}
	costs.Cores = runtime.GOMAXPROCS(0)
	costs.ReceiveUs = costs.VerifyUs
	if costs.MsgsPerBlock > 0 {
		share := max(1, float64(len(nodes))/float64(costs.Cores))
		costs.ReceiveUs = max(costs.VerifyUs, 1e3*costs.CPUPerBlockMs/costs.MsgsPerBlock*share)
	}
	if err := errors.Join(runErr, pingErr, hopErr, storeErr, storeBenchErr, closeAll()); err != nil {
		return nil, rtt, costs, err
	}
	run, violations, err := tn.Report()
	if err != nil {
		return nil, rtt, costs, err
	}
	if len(violations) > 0 {
		return nil, rtt, costs, fmt.Errorf("calibrate: the live testnet broke safety: %s", strings.Join(violations, "; "))
	}
	return run, rtt, costs, nil
}

// measureRTT pings every node from h, a plain libp2p host on loopback
// (the standard /ipfs/ping/1.0.0 protocol), and summarizes the round
// trips, leaving out each connection's first ping.
func measureRTT(ctx context.Context, h host.Host, nodes []*node.Node, pings int) (RTT, error) {
	var rtts, b2b []float64
	for _, n := range nodes {
		got, err := pingNode(ctx, h, n, pings+1)
		if err != nil {
			return RTT{}, err
		}
		b2b = append(b2b, got[1:]...)
		if got, err = pingSpaced(ctx, h, n, pings+1, LatenessPeriod); err != nil {
			return RTT{}, err
		}
		rtts = append(rtts, got[1:]...)
	}
	slices.Sort(rtts)
	slices.Sort(b2b)
	q := func(p float64) float64 { return rtts[min(len(rtts)-1, int(p*float64(len(rtts))))] }
	return RTT{Samples: len(rtts), P50Ms: q(0.5), P99Ms: q(0.99), MinMs: rtts[0], BackToBackP50Ms: median(b2b)}, nil
}

// pingSpaced speaks the ping protocol on one stream, count pings gap
// apart, and returns their round trips in ms.
func pingSpaced(ctx context.Context, h host.Host, n *node.Node, count int, gap time.Duration) ([]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := h.NewStream(ctx, n.AddrInfo().ID, ping.ID)
	if err != nil {
		return nil, fmt.Errorf("calibrate: a ping stream to node %d: %w", n.ID(), err)
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(d)
	}
	buf, back := make([]byte, ping.PingSize), make([]byte, ping.PingSize)
	var out []float64
	for i := range count {
		if i > 0 {
			time.Sleep(gap)
		}
		buf[0], buf[1] = byte(i), byte(i>>8)
		t := time.Now()
		if _, err := s.Write(buf); err != nil {
			return nil, fmt.Errorf("calibrate: pinging node %d: %w", n.ID(), err)
		}
		if _, err := io.ReadFull(s, back); err != nil {
			return nil, fmt.Errorf("calibrate: pinging node %d: %w", n.ID(), err)
		}
		out = append(out, float64(time.Since(t))/float64(time.Millisecond))
		if !bytes.Equal(buf, back) {
			return nil, fmt.Errorf("calibrate: node %d echoed another ping", n.ID())
		}
	}
	return out, nil
}

func pingNode(ctx context.Context, h host.Host, n *node.Node, count int) ([]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.Connect(ctx, n.AddrInfo()); err != nil {
		return nil, fmt.Errorf("calibrate: connecting to node %d: %w", n.ID(), err)
	}
	res := ping.Ping(ctx, h, n.AddrInfo().ID)
	var out []float64
	for r := range res {
		if r.Error != nil {
			return nil, fmt.Errorf("calibrate: pinging node %d: %w", n.ID(), r.Error)
		}
		out = append(out, float64(r.RTT)/float64(time.Millisecond))
		if len(out) == count {
			break
		}
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("calibrate: pinging node %d: %d answers", n.ID(), len(out))
	}
	return out, nil
}
