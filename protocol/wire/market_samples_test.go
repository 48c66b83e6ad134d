package wire_test

import (
	"strings"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/wire"
)

// Market sample values: a small spec and one at every limit.
var (
	specSmall = market.Spec{Kind: market.Inference, Units: 1, Steps: 1}
	specMax   = market.Spec{Kind: market.Training, Units: market.MaxUnits, UnitFLOPs: 1<<64 - 1, UnitBytes: 1<<64 - 1,
		MemBytes: 1 << 62, Steps: market.MaxSteps, Precision: gpu.FP16, Deadline: 1<<63 - 1, InputBytes: market.MaxData, OutputBytes: market.MaxData}
	marketJob = chain.JobID{0xab, 15: 0xcd}
	maxJob    = chain.JobID{0: 0xff, 15: 0xff}
)

// The market's kinds join the samples map here, as consensus's do, so
// that wire_test.go is not edited by every protocol package. The
// marketplace's ledger transactions (settle, payout) join the chain's.
func init() {
	samples[wire.KindTx] = append(samples[wire.KindTx],
		chain.Sign(chain.KeyFor(1, 5), chain.NewSettle(9, 100, chain.Release{Job: marketJob, Pay: []chain.Credit{{To: chain.Address{1}, Amount: 5}}, Burn: 1, Close: true},
			chain.Release{Job: maxJob, Burn: 1<<64 - 1})),
		chain.Sign(chain.KeyFor(1, 6), chain.NewPayout(1<<64-1, 0, []chain.Credit{{To: chain.Address{0xff}, Amount: 1<<64 - 1}, {To: chain.Address{2}, Amount: 1}})),
	)
	samples[wire.KindJobPost] = []wire.Msg{
		&market.PostJob{Spec: specSmall},
		&market.PostJob{Seq: 7, Posted: protocol.Time(protocol.Second), Budget: 10 * chain.Token,
			Spec: market.Spec{Kind: market.Compute, Units: 8, UnitFLOPs: 1e14, UnitBytes: 1e12, MemBytes: 8e9, Steps: 16, Deadline: protocol.Minute}},
		&market.PostJob{Seq: 1<<64 - 1, Posted: 1<<63 - 1, Budget: 1<<64 - 1, Spec: specMax},
		&market.PostJob{Seq: 2, Budget: 5, Spec: market.Spec{Kind: market.Inference, Units: 1000, Steps: 1, Stream: true}},
	}
	samples[wire.KindJobStatus] = []wire.Msg{
		&market.JobStatus{Status: market.Opened},
		&market.JobStatus{Seq: 3, Job: marketJob, Status: market.Expired, Verified: 5, Refund: 12345},
		&market.JobStatus{Seq: 1<<64 - 1, Job: maxJob, Status: market.Refused, Verified: 1<<32 - 1, Refund: 1<<64 - 1},
	}
	samples[wire.KindJobCancel] = []wire.Msg{&market.Cancel{}, &market.Cancel{Job: maxJob}}
	h100, _ := gpu.Lookup("h100")
	samples[wire.KindJoin] = []wire.Msg{
		&market.Join{Role: market.RoleProvider},
		&market.Join{Role: market.RoleValidator, Slots: 2, Class: gpu.Class{Name: h100.Name, FP32TFLOPS: h100.FP32TFLOPS,
			FP16TFLOPS: h100.FP16TFLOPS, MemoryGB: h100.MemoryGB, MemBandwidthGBs: h100.MemBandwidthGBs, TDPW: h100.TDPW, IdleW: h100.IdleW}},
		&market.Join{Role: market.RoleProvider, Slots: 1<<32 - 1, Class: gpu.Class{Name: strings.Repeat("c", 64),
			FP32TFLOPS: 1 << 30, FP16TFLOPS: 0.001, MemoryGB: 1e6, MemBandwidthGBs: 1e5, TDPW: 1e4, IdleW: 0}},
	}
	samples[wire.KindLeave] = []wire.Msg{&market.Leave{}}
	samples[wire.KindAssign] = []wire.Msg{
		&market.Assign{Spec: specSmall},
		&market.Assign{Job: marketJob, Unit: 3, Spec: specMax, Root: true},
		&market.Assign{Job: maxJob, Unit: 1<<32 - 1, Spec: specSmall, Source: 1<<32 - 1},
	}
	samples[wire.KindRelease] = []wire.Msg{
		&market.Release{},
		&market.Release{Seq: 1<<64 - 1, Unit: 1<<32 - 1, Posted: 1<<63 - 1, FLOPs: 1<<64 - 1, End: true},
	}
	samples[wire.KindFetch] = []wire.Msg{
		&market.Fetch{},
		&market.Fetch{Job: maxJob, Unit: 1<<32 - 1, Bytes: market.MaxData},
	}
	samples[wire.KindData] = []wire.Msg{
		&market.Data{},
		&market.Data{Job: marketJob, Unit: 3, Bytes: 1 << 20},
		&market.Data{Job: maxJob, Unit: 1<<32 - 1, Output: true, Bytes: 7},
	}
	samples[wire.KindResult] = []wire.Msg{
		&market.Result{},
		&market.Result{Job: marketJob, Unit: 2, Result: chain.Hash{1}, Root: chain.Hash{2}},
		&market.Result{Job: maxJob, Unit: 1<<32 - 1, Result: maxHash, Root: maxHash, Failed: true},
	}
	samples[wire.KindReplay] = []wire.Msg{
		&market.Replay{Spec: specSmall},
		&market.Replay{Check: 9, Job: marketJob, Unit: 1, Spec: specMax, Whole: true, Provider: 12, Claimed: sampleHash},
		&market.Replay{Check: 1<<64 - 1, Job: maxJob, Unit: 1<<32 - 1, Spec: specSmall, Step: 1<<32 - 1, Provider: 1<<32 - 1, Claimed: maxHash},
	}
	samples[wire.KindVerdict] = []wire.Msg{
		&market.Verdict{},
		&market.Verdict{Check: 1<<64 - 1, Result: maxHash},
	}
	samples[wire.KindDisputeQuery] = []wire.Msg{
		&market.DisputeQuery{},
		&market.DisputeQuery{Job: maxJob, Unit: 1<<32 - 1, Step: 1<<32 - 1, Steps: 1<<32 - 1},
	}
	samples[wire.KindDisputeReveal] = []wire.Msg{
		&market.DisputeReveal{},
		&market.DisputeReveal{Job: marketJob, Unit: 4, Step: 5, Checkpoint: sampleHash, Proof: []chain.Hash{{1}, {2}, {3}}},
		&market.DisputeReveal{Job: maxJob, Unit: 1<<32 - 1, Step: 1<<32 - 1, Checkpoint: maxHash, Proof: make([]chain.Hash, market.MaxProof)},
	}
}
