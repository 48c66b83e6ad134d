package testnet_test

import (
	"context"
	"encoding/hex"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/verify"
	"github.com/dais-sim/dais/reports"
)

// TestLiveMarketPaidJob runs a 3-node testnet on loopback whose network
// runs the marketplace (node 0 leads the committee and posts one job of
// two units; nodes 1 and 2 provide, and each unit runs on both, whose
// outputs must agree), and checks that blocks commit, the job reaches a
// verified result computed for real, it settles (escrow paid out to the
// providers, the rest refunded, tokens conserved), and the nodes shut
// down cleanly. It settles on the committee's own ledger, whose balances
// carry no gas or block rewards, so that they can be checked to the base
// unit; the default, settlement on the BFT chain, is checked from every
// node's stored chain by TestChainMarket*.
func TestLiveMarketPaidJob(t *testing.T) {
	livetest.RequireLoopback(t)
	before := runtime.NumGoroutine()
	spec := node.DefaultMarket(3)
	spec.Units, spec.UnitFLOPs, spec.Budget = 2, 2e7, 10*chain.Token
	spec.Settlement = node.SettleCommittee
	dir := t.TempDir()
	run, err := testnet.RunMarket(context.Background(), testnet.MarketOptions{Dir: dir, Seed: 5, Market: spec, Timeout: time.Until(livetest.Deadline(t))})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("post → settled %v, post → unit verified %v, compute per unit %v, run %v", run.Completion, run.UnitCompletion,
		time.Duration(run.Status[1].Market.ComputeS/float64(spec.Units)*float64(time.Second)), run.Wall.Round(time.Millisecond))

	for _, st := range run.Status {
		if st.Height < 2 {
			t.Errorf("node %d committed %d BFT heights, want ≥ 2", st.ID, st.Height)
		}
	}
	// The requester: one job, done, every unit verified.
	req := run.Status[0].Market
	if req.Posted != 1 || req.Finished != 1 || len(req.Jobs) != 1 {
		t.Fatalf("requester posted %d, finished %d jobs (%+v), want 1 and 1", req.Posted, req.Finished, req.Jobs)
	}
	job := req.Jobs[0]
	if job.Status != "done" || job.Verified != spec.Units || !(job.LatencyS > 0) {
		t.Errorf("the job ended %+v, want done with %d units verified", job, spec.Units)
	}

	// The committee: the units' results are the hashes of the real
	// outputs, which both providers computed alike.
	c := run.Committee
	if c.Verified != uint64(spec.Units) || len(c.Units) != int(spec.Units) {
		t.Fatalf("the committee verified %d units (%+v), want %d", c.Verified, c.Units, spec.Units)
	}
	jb, err := hex.DecodeString(job.Job)
	if err != nil {
		t.Fatal(err)
	}
	var id chain.JobID
	copy(id[:], jb)
	for _, u := range c.Units {
		out, err := node.UnitWork(id, u.Unit, 0, spec.UnitFLOPs, node.DefaultMaxWorkFLOPs).Run()
		if err != nil {
			t.Fatal(err)
		}
		want := node.LiveResult(id, u.Unit, out.(verify.Hash))
		if u.Job != job.Job || u.Result != hex.EncodeToString(want[:]) {
			t.Errorf("unit %d of job %s: result %s, want the hash of the real output %x", u.Unit, u.Job, u.Result, want)
		}
		if modeled := verify.Honest(id, u.Unit, 1); u.Result == hex.EncodeToString(modeled[:]) {
			t.Errorf("unit %d: the result is the modeled hash, not the real output's", u.Unit)
		}
		if !slices.Equal(sortedIDs(u.Payees), []protocol.NodeID{1, 2}) {
			t.Errorf("unit %d: payees %v, want both providers [1 2]", u.Unit, u.Payees)
		}
	}
	for _, p := range []protocol.NodeID{1, 2} {
		if m := run.Status[p].Market; m == nil || m.Computed != uint64(spec.Units) || !(m.ComputeS > 0) {
			t.Errorf("provider %d computed %+v, want %d units in a measured time", p, m, spec.Units)
		}
	}

	// The settlement: the budget split exactly, the escrow emptied, the
	// providers paid, tokens conserved.
	if c.Settled != 1 || len(c.Settlements) != 1 {
		t.Fatalf("the committee settled %d jobs (%+v), want 1", c.Settled, c.Settlements)
	}
	s := c.Settlements[0]
	if s.Job != job.Job || s.Status != "done" || s.Verified != spec.Units || s.Budget != spec.Budget {
		t.Errorf("settlement %+v, want job %s done, %d units, budget %d", s, job.Job, spec.Units, spec.Budget)
	}
	if s.Providers+s.Pot+s.Burned+s.Refund != s.Budget || s.Providers == 0 {
		t.Errorf("settlement %+v: providers + pot + burned + refund ≠ budget, or nothing paid to the providers", s)
	}
	if c.Escrow != 0 || c.OpenJobs != 0 {
		t.Errorf("escrow %d in %d open jobs after the settlement, want none", c.Escrow, c.OpenJobs)
	}
	if c.SupplyError != "" {
		t.Errorf("token conservation: %s", c.SupplyError)
	}
	var fees uint64
	for _, a := range c.Accounts {
		switch a.ID {
		case 1, 2:
			fees += a.Fees
			if a.Fees == 0 || a.Balance != a.Genesis+a.Paid {
				t.Errorf("provider %d: fees %d, balance %d, want fees > 0 and balance = genesis %d + paid %d", a.ID, a.Fees, a.Balance, a.Genesis, a.Paid)
			}
		case 0:
			if a.Balance != a.Genesis-s.Budget+s.Refund+a.Paid {
				t.Errorf("requester: balance %d, want genesis %d − budget %d + refund %d + paid %d", a.Balance, a.Genesis, s.Budget, s.Refund, a.Paid)
			}
		}
	}
	if fees != s.Providers {
		t.Errorf("the providers' fees add up to %d, the settlement paid %d", fees, s.Providers)
	}

	// /metrics: the Prometheus text format, with the market's figures.
	for i, text := range run.Metrics {
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(text))
		if err != nil {
			t.Fatalf("node %d's /metrics does not parse: %v", i, err)
		}
		want := map[int]string{0: node.MetricMarketVerified, 1: node.MetricMarketComputed, 2: node.MetricMarketComputed}[i]
		if f := fams[want]; f == nil || sum(f) != float64(spec.Units) {
			t.Errorf("node %d: %s = %v, want %d", i, want, f, spec.Units)
		}
	}
	if f := run.Metrics[0]; !strings.Contains(f, node.MetricMarketSettled+`{status="done"} 1`) || !strings.Contains(f, node.MetricMarketEscrow+" 0") {
		t.Errorf("node 0's /metrics lacks a settled job or shows escrow left:\n%s", f)
	}

	// The report folder: the simulator's marketplace figures, from the
	// events the nodes wrote, beside the testnet's consensus figures.
	rep := reportOf(t, dir)
	for key, want := range map[string]float64{
		"jobs_posted": 1, "jobs_done": 1, "verified_units": float64(spec.Units), "unit_completion_count": float64(spec.Units),
		"job_completion_ms_p50": job.LatencyS * 1000, "useful_flops": float64(spec.Units) * spec.UnitFLOPs,
		// Every unit ran on both providers: one replica is useful, the
		// other verification.
		"verification_overhead": 1, "bad_results_accepted": 0, "escrow_left_tokens": 0,
		"paid_providers_tokens": float64(s.Providers) / float64(chain.Token), "refunded_tokens": float64(s.Refund) / float64(chain.Token),
		"providers": 2, "requesters": 1, "validators": 0, "bft_validators": 3,
	} {
		if f, ok := rep.Figure(key); !ok || math.Abs(f.Value-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("report: %s = %v (present %v), want %v", key, f.Value, ok, want)
		}
	}
	for _, key := range []string{"throughput_units_per_s", "unit_completion_ms_p50", "energy_kwh", "heights_finalized"} {
		if f, ok := rep.Figure(key); !ok || !(f.Value > 0) {
			t.Errorf("report: %s = %v (present %v), want > 0", key, f.Value, ok)
		}
	}
	if f, _ := rep.Figure("unit_completion_ms_max"); f.Value > 1000*run.Wall.Seconds() {
		t.Errorf("report: a unit took %v ms in a run of %v", f.Value, run.Wall)
	}

	// A clean shutdown: RunMarket closed every node without error; their
	// goroutines end.
	livetest.WaitFor(t, "the nodes' goroutines to end", func() bool { return runtime.NumGoroutine() <= before+2 })
}

// reportOf writes the report folder of the testnet in dir, as dais
// testnet report does, and reads its metrics.json back.
func reportOf(t *testing.T, dir string) *metrics.Run {
	t.Helper()
	tn, err := testnet.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	run, violations, err := tn.Report()
	if err != nil {
		t.Fatal(err)
	}
	if len(violations) > 0 {
		t.Errorf("report: %v", violations)
	}
	out := filepath.Join(t.TempDir(), "report")
	if err := reports.Write(out, run); err != nil {
		t.Fatal(err)
	}
	back, err := reports.Load(filepath.Join(out, reports.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// sum adds a counter family's values.
func sum(f *dto.MetricFamily) float64 {
	var s float64
	for _, m := range f.GetMetric() {
		s += m.GetCounter().GetValue()
	}
	return s
}

func sortedIDs(ids []protocol.NodeID) []protocol.NodeID {
	s := slices.Clone(ids)
	slices.Sort(s)
	return s
}

// TestLiveMarketSpotCheck runs the job on one provider (node 1) with
// every result re-executed by a validator (node 2): the units are
// verified only because the validator's real output matches the
// provider's.
func TestLiveMarketSpotCheck(t *testing.T) {
	livetest.RequireLoopback(t)
	t.Parallel() // its nodes are processes (or goroutines no other test counts); it mostly waits
	spec := &node.MarketSpec{Committee: 0, Requesters: []protocol.NodeID{0}, Providers: []protocol.NodeID{1},
		Validators: []protocol.NodeID{2}, Verification: "spot_check", SpotCheck: 1, Units: 2}
	run, err := testnet.RunMarket(context.Background(), testnet.MarketOptions{Dir: t.TempDir(), Seed: 6, Market: spec, Timeout: time.Until(livetest.Deadline(t))})
	if err != nil {
		t.Fatal(err)
	}
	c := run.Committee
	if c.Verified != 2 || c.Settled != 1 || c.Escrow != 0 || c.SupplyError != "" {
		t.Fatalf("committee: %+v, want 2 units verified, 1 job settled, no escrow left", c)
	}
	for _, u := range c.Units {
		if !u.Checked || !slices.Equal(u.Payees, []protocol.NodeID{1}) {
			t.Errorf("unit %d: checked %v, payees %v; want re-executed, paid to provider 1", u.Unit, u.Checked, u.Payees)
		}
	}
	if m := run.Status[2].Market; m == nil || m.Replays != 2 {
		t.Errorf("validator: %+v, want 2 replays", m)
	}
	if s := c.Settlements[0]; s.Status != "done" || s.Verified != 2 || s.Providers == 0 {
		t.Errorf("settlement %+v, want done, 2 units, providers paid", s)
	}
}

// BenchmarkLiveMarket runs a 3-node live market of 5 jobs, one a second,
// each of two units of 2·10⁸ FLOPs of real work on both providers, and
// reports the medians of post → settled and post → unit verified (the
// task completion time), and the providers' measured time per unit.
//
//	go test ./live/testnet -run '^$' -bench LiveMarket -benchtime 1x
func BenchmarkLiveMarket(b *testing.B) {
	livetest.RequireLoopback(b)
	for range b.N {
		spec := node.DefaultMarket(3)
		spec.Jobs, spec.UnitFLOPs = 5, 2e8
		run, err := testnet.RunMarket(context.Background(), testnet.MarketOptions{Dir: b.TempDir(), Seed: 8, Market: spec})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(median(run.Completion).Seconds(), "settled-p50-s")
		b.ReportMetric(median(run.UnitCompletion).Seconds(), "verified-p50-s")
		b.ReportMetric(run.Status[1].Market.ComputeS/float64(run.Status[1].Market.Computed), "unit-compute-s")
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
