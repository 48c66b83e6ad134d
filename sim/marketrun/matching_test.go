package marketrun

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dais-sim/dais/scenarios/marketplace"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/scenarios"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// star is master-workers in small: one requester holding every unit's
// input on a fast hub link, workers on their own links, no latency, one
// job of units units posted at once, continuous matching.
func star(workers, units int, input float64, link netspec.Link) *marketplace.Params {
	return &marketplace.Params{
		Seed:   1,
		Matrix: netspec.Matrix{Regions: []string{"hub"}, RTT: [][]protocol.Duration{{0}}},
		Links: []marketplace.LinkClass{{Name: "worker", Share: 1, Link: link},
			{Name: "hub", Link: netspec.Link{UpBps: 1e14, DownBps: 1e14}}},
		CommitteeLink: "hub",
		Groups: []marketplace.Group{
			{Name: "workers", GPU: "h100", Count: workers, Role: marketplace.Provider, Slots: 1, Bandwidth: "worker"},
			{Name: "master", GPU: "cpu", Count: 1, Role: marketplace.Requester, Balance: 1 << 50, Bandwidth: "hub"},
		},
		Arrivals: market.Arrivals{Process: market.Constant, Rate: 1},
		Jobs: []market.JobType{{Name: "tasks", Kind: market.Compute, Share: 1, FLOPs: dist.Fixed{V: 1e10}, Units: uint32(units),
			MemBytes: 1e9, Steps: 1, Precision: gpu.FP16, Budget: 1000, InputBytes: dist.Fixed{V: input}}},
		Scheduler: market.FIFO,
		Matching:  market.Continuous,
		Until:     protocol.Second,
		Drain:     30 * protocol.Second,
	}
}

// starBound is the makespan of a star of equal workers, one unit at a
// time each: units ÷ workers × (unit time + the time each of a unit's
// messages takes on the worker's link, one after another: the assignment
// and the input down, the fetch and the result up).
func starBound(workers, units int, input float64, bps float64) float64 {
	h100, _ := gpu.Lookup("h100")
	ns, _, _ := gpu.DefaultModel.Duration(h100, gpu.Job{Kind: "compute", FLOPs: 1e10, MemBytes: 1e9, Precision: gpu.FP16})
	spec := market.Spec{Kind: market.Compute, Units: uint32(units), UnitFLOPs: 1e10, MemBytes: 1e9, Steps: 1, Precision: gpu.FP16,
		InputBytes: uint64(input)}
	u := uint32(units / 2) // a typical unit index's varint
	size := (&market.Assign{Unit: u, Spec: spec, Source: protocol.NodeID(workers + 1)}).WireSize() +
		(&market.Result{Unit: u}).WireSize()
	if input > 0 {
		size += (&market.Fetch{Unit: u, Bytes: uint64(input)}).WireSize() + (&market.Data{Unit: u, Bytes: uint64(input)}).WireSize()
	}
	per := float64(ns)/1e9 + float64(size)*8/bps
	return math.Ceil(float64(units)/float64(workers)) * per
}

// Units move their input over each worker's own link before they run:
// the makespan of a star is the analytic bound, to well within 1%, and a
// slower link class stretches it in proportion.
func TestStarMakespanIsTheBound(t *testing.T) {
	for _, tc := range []struct {
		workers, units int
		input, bps     float64
	}{
		{10, 2000, 1e6, 1e9},  // transfer-bound: 8 ms a unit against 30 µs of compute
		{10, 2000, 1e5, 1e10}, // 80 µs a unit
		{25, 2000, 0, 1e9},    // no input: compute only
	} {
		res := mustRun(t, star(tc.workers, tc.units, tc.input, netspec.Link{UpBps: tc.bps, DownBps: tc.bps}))
		want := starBound(tc.workers, tc.units, tc.input, tc.bps)
		if res.Verified != tc.units || math.Abs(res.Makespan-want) > 0.005*want {
			t.Errorf("%d workers, %g B at %g bit/s: %d units verified, makespan %.6f s, bound %.6f s (%+.3f%%)",
				tc.workers, tc.input, tc.bps, res.Verified, res.Makespan, want, 100*(res.Makespan-want)/want)
		}
		if tc.input > 0 && res.BytesSent < uint64(tc.units)*uint64(tc.input) {
			t.Errorf("%d bytes on the network, less than the %d units' input", res.BytesSent, tc.units)
		}
	}
}

// Each node gets its group's link class (FromScenario once gave every node
// the first class): a group on a class ten times slower takes ten times
// longer per unit of input.
func TestGroupsGetTheirOwnLinks(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../scenarios/master-workers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "mw.yaml")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(up, down string) float64 {
		sc, err := scenarios.Load(file, "population.groups[0].count=20", "workload.jobs[0].units=400", "workload.drain=20s",
			"network.bandwidth[0].up="+up, "network.bandwidth[0].down="+down)
		if err != nil {
			t.Fatal(err)
		}
		p, err := marketplace.FromScenario(sc, 0)
		if err != nil {
			t.Fatal(err)
		}
		return mustRun(t, p).Makespan
	}
	fast, slow := run("1Gbps", "1Gbps"), run("1Gbps", "100Mbps")
	if r := slow / fast; r < 9.5 || r > 10.5 {
		t.Errorf("workers on 100 Mbit/s downlinks took %.3f s, on 1 Gbit/s %.3f s: ratio %.2f, want about 10", slow, fast, r)
	}
}

// One-unit jobs under per-block matching wait for the block that commits
// their post: half the interval on average plus the commit delay (and the
// queue a block's worth of posts makes when they are released at once);
// continuous matching starts them at once.
func TestPerBlockWaitIsHalfABlock(t *testing.T) {
	p := MMcParams(16, 0.5, 3000, 9)
	p.Jobs[0].Stream, p.Jobs[0].Units, p.Jobs[0].Budget = false, 1, 1000
	p.Matching = market.PerBlock
	per := mustRun(t, p)
	p = MMcParams(16, 0.5, 3000, 9)
	p.Jobs[0].Stream, p.Jobs[0].Units, p.Jobs[0].Budget = false, 1, 1000
	cont := mustRun(t, p)
	if w := per.PostStart.Mean; w < 1300 {
		t.Errorf("per block: mean wait %.0f ms, want at least half a 2 s block plus the 300 ms commit delay", w)
	}
	if w, c := per.CommitStart.Min, cont.CommitStart.P50; w < 0 || c >= 0 {
		t.Errorf("commit → start: per block %.1f ms at least (want ≥ 0: units wait for the commit), continuous p50 %.1f ms (want < 0: they start first)", w, c)
	}
	if w := cont.PostStart.Mean; w > 1 {
		t.Errorf("continuous: mean wait %.3f ms, want about Erlang C's %.4f ms", w, 1000*ErlangC(16, 800, 100))
	}
}

// commit_delay: 0s is honoured (each block commits as it is proposed), and
// a delay not below the block interval is refused with its file, line and
// key.
func TestCommitDelayZero(t *testing.T) {
	sc, err := scenarios.Load("../../scenarios/tokenomics-governance.yaml", "protocol.market.commit_delay=0s", "run.duration=30s")
	if err != nil {
		t.Fatal(err)
	}
	p, err := marketplace.FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	res := mustRun(t, p)
	if res.Params.CommitDelay != 0 || len(res.Supply) == 0 {
		t.Fatalf("commit delay %v, %d blocks", res.Params.CommitDelay, len(res.Supply))
	}
	for _, s := range res.Supply {
		if int64(s.At)%int64(2*protocol.Second) != 0 {
			t.Fatalf("block %d committed at %v, not at its proposal on the 2 s grid", s.Height, s.At)
		}
	}
	src, err := os.ReadFile("../../scenarios/tokenomics-governance.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "slow.yaml")
	text := strings.Replace(string(src), "protocol:\n", "protocol:\n  market: {commit_delay: 2s}\n", 1)
	if err := os.WriteFile(bad, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	line := 1 + strings.Count(text[:strings.Index(text, "commit_delay")], "\n")
	_, err = scenarios.Load(bad)
	if want := fmt.Sprintf("slow.yaml:%d:", line); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "protocol.market.commit_delay") {
		t.Errorf("a 2 s commit delay on 2 s blocks: %v, want an error at %s naming the key", err, want)
	}
}

// workload.drain sets how long the run goes on after the last post.
func TestDrainIsSettable(t *testing.T) {
	sc, err := scenarios.Load("../../scenarios/tokenomics-governance.yaml", "run.duration=20s", "workload.drain=15s")
	if err != nil {
		t.Fatal(err)
	}
	p, err := marketplace.FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res := mustRun(t, p); res.End != protocol.Time(35*protocol.Second) {
		t.Errorf("run ended at %v, want 20 s + 15 s of drain", res.End)
	}
	if _, err := scenarios.Load("../../scenarios/tokenomics-governance.yaml", "workload.drain=5s"); err == nil || !strings.Contains(err.Error(), "workload.drain") {
		t.Errorf("a drain shorter than four blocks: %v, want an error naming workload.drain", err)
	}
}

// Utilization is busy time over the true online time, whatever the
// series step: a run whose length is not a multiple of outputs.step once
// counted a whole step for the last part of one (0.345 reported against a
// true 0.74).
func TestUtilizationOverTrueOnlineTime(t *testing.T) {
	p := star(4, 4*1000, 0, netspec.Link{})
	p.Jobs[0].FLOPs = dist.Fixed{V: 2.47e12} // 5 ms a unit on an H100 at half its peak
	p.Drain = 14 * protocol.Second
	p.StepNs = int64(4 * protocol.Second) // the run is 15 s: three steps and a quarter
	res := mustRun(t, p)
	h100, _ := gpu.Lookup("h100")
	ns, _, _ := gpu.DefaultModel.Duration(h100, gpu.Job{Kind: "compute", FLOPs: 2.47e12, MemBytes: 1e9, Precision: gpu.FP16})
	want := float64(1000*ns) / float64(res.End)
	if len(res.Classes) != 1 || math.Abs(res.Classes[0].Utilization-want) > 1e-9 {
		t.Fatalf("utilization %+v, want busy %d × %d ns over %v online = %.6f", res.Classes, 1000, ns, res.End, want)
	}
	g := marketplace.Summary(res).Group("utilization_by_class")
	if g == nil || len(g.Sets) == 0 || math.Abs(g.Sets[0].Values[0]-want) > 1e-9 {
		t.Errorf("utilization_by_class %+v, want %.6f", g, want)
	}
}

// Continuous matching is deterministic too: the same seed gives the same
// metrics, byte for byte.
func TestDeterminismContinuous(t *testing.T) {
	mk := func() *marketplace.Params {
		p := small(1)
		p.Matching = market.Continuous
		p.Jobs[0].InputBytes, p.Jobs[0].OutputBytes = dist.Exponential{M: 5e5}, dist.Fixed{V: 2e4}
		return p
	}
	a, b := mustRun(t, mk()), mustRun(t, mk())
	ja, err := marketplace.Summary(a).MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := marketplace.Summary(b).MarshalIndent()
	if !bytes.Equal(ja, jb) || a.TraceHash != b.TraceHash {
		t.Error("two continuous runs of one seed differ")
	}
	if a.Load.Batches == 0 || a.Load.BatchedResults == 0 {
		t.Errorf("%d result batches of %d results: continuous matching committed no batch", a.Load.Batches, a.Load.BatchedResults)
	}
}
