package calibrate

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/dais-sim/dais/scenarios/marketplace"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/bench"
	"github.com/dais-sim/dais/gpu/profile"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/scenarios/netspec"
	"github.com/dais-sim/dais/sim/marketrun"
)

// MarketProbes compare a small live marketplace (testnet.RunMarket) with
// its simulated twin (sim/marketrun) built from the same spec. The live
// figures are the committee's and requester's own measurements.
var MarketProbes = []Probe{
	{"task completion p50 (post → unit verified)", "unit_completion_ms_p50"},
	{"task completion p90", "unit_completion_ms_p90"},
	{"task completion mean", "unit_completion_ms_mean"},
	{"job completion p50 (post → settled)", "job_completion_ms_p50"},
	{"  post → job opened p50", "open_wait_ms_p50"},
	{"  job opened → unit verified p50", "unit_after_open_ms_p50"},
	{"  unit compute time mean (live: measured; sim: roofline)", "unit_compute_ms_mean"},
}

// KernelTime is how long calibrate times the unit kernel just before and
// just after the live market.
const KernelTime = 500 * time.Millisecond

// UnitFLOPs is the stated size of MarketSpec's units; gpu/bench's
// matmul fit measures the kernel at this size.
const UnitFLOPs = 2e7

// MarketSpec is the live marketplace calibrate runs on n nodes: node 0
// leads the committee and posts jobs of two units of 2·10⁷ FLOPs; the
// others provide; every unit runs on two providers whose outputs must
// agree. Every field is set, so that the simulated twin reads the same
// figures the live nodes run.
//
// A unit's completion time depends on where in the market ledger's
// block interval (500 ms) its job is posted. Jobs come every 1.1 s, so
// five jobs in a row land at five phases 100 ms apart: the jobs of a run
// sample every phase evenly, live and simulated alike, whatever phase
// the first one had.
func MarketSpec(n, jobs int) *node.MarketSpec {
	s := node.DefaultMarket(n)
	s.Verification, s.Replicas, s.Scheduler = "redundancy", 2, "fifo"
	s.Jobs, s.Every, s.Kind = jobs, node.Duration(1100*time.Millisecond), "compute"
	s.Units, s.UnitFLOPs, s.Budget = 2, UnitFLOPs, 10*chain.Token
	s.BlockInterval, s.CommitDelay = node.Duration(500*time.Millisecond), node.Duration(100*time.Millisecond)
	s.Class, s.Stake = "cpu", 100*chain.Token
	return s
}

// KernelShape is how MarketSpec(n, ·) runs its units, for gpu/bench's
// matmul fit (bench.Options.KernelFLOPs, KernelWorkers, KernelBatch): a
// job's units × replicas runs at once, over its providers, one each at a
// time.
func KernelShape(n int) (flops float64, workers, batch int) {
	s := MarketSpec(n, 1)
	return s.UnitFLOPs, len(s.Providers), int(s.Units) * s.Replicas
}

// simMarket is the simulated twin of spec: a requester, the providers on
// class (resolved through cat), one region whose round trip is rtt.
func simMarket(spec *node.MarketSpec, seed uint64, rtt time.Duration, class string, cat *gpu.Catalog) (*marketplace.Params, error) {
	kind, err := market.ParseKind(spec.Kind)
	if err != nil {
		return nil, err
	}
	sched, err := market.ParsePolicy(spec.Scheduler)
	if err != nil {
		return nil, err
	}
	scheme, err := market.ParseScheme(spec.Verification)
	if err != nil {
		return nil, err
	}
	v := market.Verification{Scheme: scheme}
	if scheme == market.Redundancy {
		v.Replicas, v.Quorum, v.MaxReplicas = spec.Replicas, spec.Replicas, spec.Replicas
	}
	every := protocol.Duration(spec.Every)
	return &marketplace.Params{
		Seed:    seed,
		Matrix:  netspec.Matrix{Regions: []string{"loopback"}, RTT: [][]protocol.Duration{{protocol.Duration(rtt)}}},
		Link:    netspec.Link{UpBps: 10e9, DownBps: 10e9},
		Catalog: cat,
		Groups: []marketplace.Group{
			{Name: "requester", GPU: "cpu", Count: len(spec.Requesters), Role: marketplace.Requester, Balance: node.DefaultBalance},
			{Name: "providers", GPU: class, Count: len(spec.Providers), Role: marketplace.Provider, Stake: spec.Stake, Balance: node.DefaultBalance, Slots: 1},
		},
		// One job every Every, Jobs of them, the first at a random phase
		// (the requester's stream): live, the first post falls anywhere
		// between two market blocks, and a post that met a block tick
		// exactly every time would wait a whole interval or none.
		Arrivals: market.Arrivals{Process: market.Constant, Rate: float64(protocol.Second) / float64(every)},
		Until:    every * protocol.Duration(spec.Jobs),
		Jobs: []market.JobType{{Name: spec.Kind, Kind: kind, Share: 1, FLOPs: dist.Fixed{V: spec.UnitFLOPs},
			Units: spec.Units, Steps: 1, Precision: gpu.FP32, Deadline: protocol.Duration(spec.Deadline), Budget: spec.Budget}},
		Scheduler:     sched,
		Verify:        v,
		BlockInterval: protocol.Duration(spec.BlockInterval),
		CommitDelay:   protocol.Duration(spec.CommitDelay),
	}, nil
}

// runMarket runs the live market and its twin and returns their figures
// as two runs that share the MarketProbes' keys.
func runMarket(ctx context.Context, dir string, nodes, jobs int, seed uint64, timeouts node.Timeouts, rtt time.Duration, costs Costs, prof *profile.Profile) (live, sim *metrics.Run, notes []string, err error) {
	spec := MarketSpec(nodes, jobs)
	flops, workers, batch := KernelShape(nodes)
	refit := prof != nil && prof.Fit == profile.FitMatMul
	var before profile.Kernel
	if refit {
		before = bench.Kernel(flops, workers, batch, KernelTime)
	}
	stopProbe := probeLateness(LatenessPeriod)
	mr, err := testnet.RunMarket(ctx, testnet.MarketOptions{Dir: filepath.Join(dir, "market-testnet"), Nodes: nodes, Seed: seed,
		Timeouts: timeouts, Market: spec, Timeout: time.Duration(jobs)*time.Second + time.Minute})
	late := stopProbe()
	if err != nil {
		return nil, nil, nil, err
	}
	var after profile.Kernel
	if refit {
		after = bench.Kernel(flops, workers, batch, KernelTime)
	}
	live = &metrics.Run{}
	ms := func(ds []time.Duration) []float64 {
		out := make([]float64, len(ds))
		for i, d := range ds {
			out[i] = float64(d) / float64(time.Millisecond)
		}
		slices.Sort(out)
		return out
	}
	unit, job := ms(mr.UnitCompletion), ms(mr.Completion)
	if len(unit) == 0 || len(job) == 0 {
		return nil, nil, nil, fmt.Errorf("calibrate: the live market verified %d units and settled %d jobs", len(unit), len(job))
	}
	var opened, afterOpen []time.Duration
	for _, u := range mr.Committee.Units {
		opened = append(opened, time.Duration(u.OpenWaitS*float64(time.Second)))
		afterOpen = append(afterOpen, time.Duration((u.LatencyS-u.OpenWaitS)*float64(time.Second)))
	}
	var computeS float64
	var computed uint64
	for _, st := range mr.Status {
		if st.Market != nil {
			computeS, computed = computeS+st.Market.ComputeS, computed+st.Market.Computed
		}
	}
	live.Figures = metrics.Figures{
		{Key: "unit_completion_ms_p50", Value: median(unit), Unit: "ms"},
		{Key: "unit_completion_ms_p90", Value: unit[min(len(unit)-1, int(0.9*float64(len(unit))))], Unit: "ms"},
		{Key: "unit_completion_ms_mean", Value: mean(unit), Unit: "ms"},
		{Key: "job_completion_ms_p50", Value: median(job), Unit: "ms"},
		{Key: "open_wait_ms_p50", Value: median(ms(opened)), Unit: "ms"},
		{Key: "unit_after_open_ms_p50", Value: median(ms(afterOpen)), Unit: "ms"},
	}
	if computed > 0 {
		live.Figures = append(live.Figures, metrics.Figure{Key: "unit_compute_ms_mean", Value: 1e3 * computeS / float64(computed), Unit: "ms"})
	}
	class := "cpu"
	var cat *gpu.Catalog
	if prof != nil {
		c := prof.GPUClass()
		class = c.Name
		if refit {
			// The shared machine's load moves the kernel 2–3× within a
			// minute: the twin runs at the rate measured around the live
			// market, not at the profile's, measured before the consensus run.
			msRun := (before.MsMean + after.MsMean) / 2
			c.FP32TFLOPS = before.FLOPs / (msRun / 1e3) / 1e12 / gpu.DefaultModel.ComputeEfficiency
			c.FP16TFLOPS = c.FP32TFLOPS
			notes = append(notes, fmt.Sprintf("market: the unit kernel (gpu/kernel.MatMul %d×%d, batches of %d runs on %d workers, as the live market runs a job) took %.3g ms a run (mean) just before the live market and %.3g ms just after (the profile's, measured before the consensus run: %.3g ms); the twin's %s runs it in their mean, %.3g ms",
				before.N, before.N, batch, workers, before.MsMean, after.MsMean, prof.Measured.Kernel[0].MsMean, class, msRun))
		}
		if cat, err = gpu.NewCatalog(c); err != nil {
			return nil, nil, nil, err
		}
	}
	p, err := simMarket(spec, seed, rtt, class, cat)
	if err != nil {
		return nil, nil, nil, err
	}
	p.TimerLate = protocol.Duration(late.MeanMs * float64(time.Millisecond))
	p.CPU.SendNs, p.CPU.RecvNs = int64(costs.SignUs*1e3), int64(costs.ReceiveUs*1e3)
	notes = append(notes, fmt.Sprintf("market: timers in the calibrating process fired %.3f ms late on average while the live market ran (p50 %.3f, p99 %.3f ms, %d wake-ups of a %v timer); the twin's timers fire that late, so its re-armed block and post timers slip as the live ones do; its nodes pay the consensus run's processing per message (%.1f µs sent, %.0f µs received)", late.MeanMs, late.P50Ms, late.P99Ms, late.Samples, LatenessPeriod, costs.SignUs, costs.ReceiveUs))
	var tw twinWatch
	p.Sink = &tw
	res, err := marketrun.Run(p)
	if err != nil {
		return nil, nil, nil, err
	}
	sim = marketplace.Summary(res)
	sim.Figures = append(sim.Figures, tw.figures()...)
	notes = append(notes,
		fmt.Sprintf("market: %d jobs of %d units of %.3g FLOPs, redundancy %d, on %d providers; live units run a real float32 matrix product on the CPU and are timed, simulated ones take the roofline time of %s", jobs, spec.Units, spec.UnitFLOPs, spec.Replicas, len(spec.Providers), class),
		fmt.Sprintf("market: live, node 0 is both committee and requester; simulated, the committee is a node of its own; the market ledger's blocks are %v apart in both, with a modeled %v commit", time.Duration(spec.BlockInterval), time.Duration(spec.CommitDelay)),
		fmt.Sprintf("market: %d live unit completions and %d settled jobs, posted every %v so that they sample the %v block interval's phases evenly; so few samples still move a few percent from run to run", len(unit), len(job), time.Duration(spec.Every), time.Duration(spec.BlockInterval)),
	)
	return live, sim, notes, nil
}

func mean(s []float64) float64 {
	var sum float64
	for _, v := range s {
		sum += v
	}
	return sum / float64(len(s))
}

// median of sorted values.
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// twinWatch splits the simulated twin's task completion as the live
// committee's status does: post → job opened, and opened → verified; and
// averages the units' modeled compute time.
type twinWatch struct {
	wait            map[market.JobID]protocol.Duration
	opened, after   []time.Duration
	computeNs, runs float64
}

func (t *twinWatch) Record(s metrics.Stamped) {
	switch e := s.Event.(type) {
	case market.JobOpened:
		if t.wait == nil {
			t.wait = map[market.JobID]protocol.Duration{}
		}
		t.wait[e.Job] = e.Wait
	case market.Verified:
		w := t.wait[e.Job]
		t.opened = append(t.opened, time.Duration(w))
		t.after = append(t.after, time.Duration(e.Latency-w))
	case market.Computed:
		if !e.Replay {
			t.computeNs += float64(e.DurationNs)
			t.runs++
		}
	}
}

func (t *twinWatch) figures() metrics.Figures {
	if len(t.opened) == 0 {
		return nil
	}
	ms := func(ds []time.Duration) float64 {
		out := make([]float64, len(ds))
		for i, d := range ds {
			out[i] = float64(d) / float64(time.Millisecond)
		}
		slices.Sort(out)
		return median(out)
	}
	f := metrics.Figures{
		{Key: "open_wait_ms_p50", Value: ms(t.opened), Unit: "ms"},
		{Key: "unit_after_open_ms_p50", Value: ms(t.after), Unit: "ms"},
	}
	if t.runs > 0 {
		f = append(f, metrics.Figure{Key: "unit_compute_ms_mean", Value: t.computeNs / t.runs / 1e6, Unit: "ms"})
	}
	return f
}
