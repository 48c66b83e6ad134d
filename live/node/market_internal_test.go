package node

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/prototest"
	"github.com/dais-sim/dais/protocol/verify"
)

func TestMatMulIsDeterministicAndSized(t *testing.T) {
	job := chain.JobID{1, 2, 3}
	w := UnitWork(job, 0, 0, 2e7, DefaultMaxWorkFLOPs)
	if f := w.FLOPs(); f < 1e7 || f > 4e7 {
		t.Errorf("UnitWork for 2e7 FLOPs does %g", f)
	}
	a, _ := w.Run()
	b, _ := w.Run()
	c, _ := UnitWork(job, 1, 0, 2e7, DefaultMaxWorkFLOPs).Run()
	if a != b {
		t.Error("the same unit's work gave two outputs")
	}
	if a == c {
		t.Error("two units' work gave the same output")
	}
	if f := UnitWork(job, 0, 0, 1e15, 1e9).FLOPs(); f > 2e9 {
		t.Errorf("work capped at 1e9 FLOPs does %g", f)
	}
	if LiveResult(job, 0, a.(verify.Hash)) == LiveResult(job, 0, c.(verify.Hash)) {
		t.Error("different outputs give the same result hash")
	}
}

// TestRealWorkCommitsTheOutputsHash drives a wrapped provider by hand: the
// unit it submits carries its MatMul, and the result it sends is the hash
// of the output, which a tampering provider does not reach.
func TestRealWorkCommitsTheOutputsHash(t *testing.T) {
	cpu, _ := gpu.Lookup("cpu")
	job := chain.JobID{9}
	spec := market.Spec{Kind: market.Compute, Units: 1, UnitFLOPs: 1e6, Steps: 1, Precision: gpu.FP32}
	for _, tamper := range []bool{false, true} {
		w := newRealWork(&market.Provider{Committee: 0, Class: cpu}, 0)
		w.tamper = tamper
		env := prototest.NewEnv(1, 1)
		w.Handle(env, protocol.Start{})
		w.Handle(env, protocol.Recv{From: 0, Msg: &market.Assign{Job: job, Unit: 0, Spec: spec}})
		jobs := env.TakeJobs()
		if len(jobs) != 1 || jobs[0].Job.Work == nil {
			t.Fatalf("submitted %+v, want one job with work", jobs)
		}
		out, err := jobs[0].Job.Work.Run()
		if err != nil {
			t.Fatal(err)
		}
		env.TakeSent()
		w.Handle(env, protocol.JobDone{ID: jobs[0].ID, Result: gpu.Result{DurationNs: 1, Output: out}})
		sent := env.TakeSent()
		if len(sent) != 1 {
			t.Fatalf("sent %+v, want one result", sent)
		}
		res := sent[0].Msg.(*market.Result)
		want := LiveResult(job, 0, out.(verify.Hash))
		if (res.Result == want) == tamper {
			t.Errorf("tamper %v: result %x, the real output's hash %x", tamper, res.Result, want)
		}
	}
}

func TestMarketSpecValidate(t *testing.T) {
	netw := &Network{Name: "t", Seed: 1, Epoch: time.Now(), Nodes: make([]Member, 3)}
	for i := range netw.Nodes {
		netw.Nodes[i] = Member{ID: protocol.NodeID(i), Role: RoleValidator, Addrs: []string{"/ip4/127.0.0.1/tcp/1"}}
	}
	if err := DefaultMarket(3).Validate(netw); err != nil {
		t.Fatalf("the default market: %v", err)
	}
	// On the chain (the default), jobs may come through the user API alone.
	if err := (&MarketSpec{Providers: []protocol.NodeID{1, 2}}).Validate(netw); err != nil {
		t.Errorf("a market without requesters, settling on the chain: %v", err)
	}
	for key, s := range map[string]*MarketSpec{
		"providers[0]": {Providers: []protocol.NodeID{7}, Requesters: []protocol.NodeID{0}},
		"validators[0]": {Providers: []protocol.NodeID{1}, Validators: []protocol.NodeID{1}, Requesters: []protocol.NodeID{0},
			Verification: "spot_check"},
		"requesters":   {Providers: []protocol.NodeID{1, 2}, Settlement: SettleCommittee},
		"verification": {Providers: []protocol.NodeID{1, 2}, Requesters: []protocol.NodeID{0}, Verification: "bisection"},
		"replicas":     {Providers: []protocol.NodeID{1}, Requesters: []protocol.NodeID{0}, Replicas: 2},
		"commit_delay": {Providers: []protocol.NodeID{1, 2}, Requesters: []protocol.NodeID{0}, CommitDelay: Duration(time.Second)},
		"class":        {Providers: []protocol.NodeID{1, 2}, Requesters: []protocol.NodeID{0}, Class: "abacus"},
		"budget":       {Providers: []protocol.NodeID{1, 2}, Requesters: []protocol.NodeID{0}, Budget: 1 << 62},
	} {
		err := s.Validate(netw)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "market."+key) {
			t.Errorf("%s: %v, want an ErrConfig naming market.%s", key, err, key)
		}
	}
}
