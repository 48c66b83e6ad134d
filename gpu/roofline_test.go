package gpu

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// toy has round figures so durations can be worked out by hand: at the
// efficiencies 0.5 and 0.8 it does 5,000 fp32 FLOPs, 20,000 fp16 FLOPs and
// 80 bytes per ns; its datasheet fp32 ridge is 100 FLOP/byte.
var toy = Class{Name: "toy", FP32TFLOPS: 10, FP16TFLOPS: 40, MemoryGB: 8, MemBandwidthGBs: 100, TDPW: 200, IdleW: 20}

func TestDuration(t *testing.T) {
	half := Model{ComputeEfficiency: 0.5, MemoryEfficiency: 0.8}
	peak := Model{ComputeEfficiency: 1, MemoryEfficiency: 1}
	tests := []struct {
		name      string
		m         Model
		j         Job
		wantNs    int64
		wantBound Bound
	}{
		{"fp32 compute", half, Job{FLOPs: 1e12}, 200_000_000, ComputeBound},
		{"fp16 uses the fp16 peak", half, Job{FLOPs: 1e12, Precision: FP16}, 50_000_000, ComputeBound},
		{"memory dominates", half, Job{FLOPs: 1e9, Bytes: 1e10}, 125_000_000, MemoryBound},
		{"overhead is added", Model{0.5, 0.8, 10_000}, Job{FLOPs: 1e12}, 200_010_000, ComputeBound},
		{"overhead on a memory-bound job", Model{0.5, 0.8, 7}, Job{Bytes: 8e9}, 100_000_007, MemoryBound},
		// At 100 FLOP/byte both roofs give 10 ms; a tie counts as compute.
		{"at the datasheet ridge", peak, Job{FLOPs: 1e11, Bytes: 1e9}, 10_000_000, ComputeBound},
		{"just below the ridge", peak, Job{FLOPs: 1e11, Bytes: 1e9 + 100}, 10_000_001, MemoryBound},
		// Efficiencies move the ridge to 100 × 0.5 / 0.8 = 62.5 FLOP/byte.
		{"at the effective ridge", half, Job{FLOPs: 62.5e9, Bytes: 1e9}, 12_500_000, ComputeBound},
		{"just below the effective ridge", half, Job{FLOPs: 62.5e9, Bytes: 1e9 + 80}, 12_500_001, MemoryBound},
		{"one FLOP rounds up to 1 ns", half, Job{FLOPs: 1}, 1, ComputeBound},
		{"one byte rounds up to 1 ns", half, Job{Bytes: 1}, 1, MemoryBound},
		{"2.469 ns rounds up to 3", half, Job{FLOPs: 12345}, 3, ComputeBound},
		{"no work, no overhead", half, Job{}, 0, ComputeBound},
		{"no work is just overhead", Model{0.5, 0.8, 10_000}, Job{}, 10_000, ComputeBound},
		{"memory exactly at capacity fits", half, Job{FLOPs: 5000, MemBytes: 8e9}, 1, ComputeBound},
	}
	for _, tt := range tests {
		ns, bound, err := tt.m.Duration(toy, tt.j)
		if err != nil || ns != tt.wantNs || bound != tt.wantBound {
			t.Errorf("%s: Duration = %d ns, %v, %v; want %d ns, %v, nil", tt.name, ns, bound, err, tt.wantNs, tt.wantBound)
		}
	}
}

func TestDurationCatalogPrecision(t *testing.T) {
	h100, _ := Lookup("h100")
	m := Model{ComputeEfficiency: 1, MemoryEfficiency: 1}
	fp32, _, _ := m.Duration(h100, Job{FLOPs: 67e12, Precision: FP32})
	fp16, _, _ := m.Duration(h100, Job{FLOPs: 989.4e12, Precision: FP16})
	// A second of peak work in each precision.
	if fp32 != 1e9 || fp16 != 1e9 {
		t.Errorf("h100 at peak: fp32 %d ns, fp16 %d ns; want 1e9 each", fp32, fp16)
	}
}

func TestDurationNoMemory(t *testing.T) {
	rtx3060, _ := Lookup("rtx3060")
	_, _, err := DefaultModel.Duration(rtx3060, Job{Kind: "train-step", FLOPs: 1e12, MemBytes: 30e9})
	if !errors.Is(err, ErrNoMemory) {
		t.Fatalf("err = %v, want ErrNoMemory", err)
	}
	if got, want := err.Error(), "gpu: job needs 30.0 GB, rtx3060 has 12.0 GB"; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
	var me *MemoryError
	if !errors.As(err, &me) || me.NeedBytes != 30e9 || me.HaveBytes != 12e9 || me.Class != "rtx3060" {
		t.Errorf("MemoryError = %+v", me)
	}
	if _, _, err := DefaultModel.Duration(rtx3060, Job{MemBytes: 12e9 + 1}); !errors.Is(err, ErrNoMemory) {
		t.Errorf("one byte over capacity: err = %v, want ErrNoMemory", err)
	}
	if errors.Is(err, ErrInvalidJob) {
		t.Error("ErrNoMemory also matches ErrInvalidJob")
	}
}

func TestDurationInvalidJob(t *testing.T) {
	tests := []struct {
		name string
		j    Job
		want string
	}{
		{"negative FLOPs", Job{Kind: "k", FLOPs: -1}, `gpu: invalid job: "k" has FLOPs -1, want a finite number >= 0`},
		{"negative Bytes", Job{Bytes: -1}, "Bytes -1"},
		{"NaN FLOPs", Job{FLOPs: math.NaN()}, "FLOPs NaN"},
		{"infinite Bytes", Job{Bytes: math.Inf(1)}, "Bytes +Inf"},
		{"unknown precision", Job{Precision: 7}, "unknown precision 7"},
		{"negative MemBytes", Job{MemBytes: -1}, "MemBytes -1"},
		{"beyond int64 ns", Job{FLOPs: 1e30}, "beyond the"},
	}
	for _, tt := range tests {
		ns, _, err := DefaultModel.Duration(toy, tt.j)
		if !errors.Is(err, ErrInvalidJob) || !strings.Contains(err.Error(), tt.want) || ns != 0 {
			t.Errorf("%s: Duration = %d, %v; want 0, ErrInvalidJob containing %q", tt.name, ns, err, tt.want)
		}
	}
	// The largest job that still fits is accepted: the limit is not off by a factor.
	if _, _, err := (Model{1, 1, 0}).Duration(toy, Job{FLOPs: 1e4 * (1 << 61)}); err != nil {
		t.Errorf("2^61 ns job: %v", err)
	}
}

func TestDurationRejectsBadModelAndClass(t *testing.T) {
	for _, m := range []Model{
		{},
		{ComputeEfficiency: 1.5, MemoryEfficiency: 0.8},
		{ComputeEfficiency: 0.5, MemoryEfficiency: math.NaN()},
		{ComputeEfficiency: 0.5, MemoryEfficiency: 0.8, LaunchOverheadNs: -1},
	} {
		if _, _, err := m.Duration(toy, Job{FLOPs: 1}); err == nil || !strings.Contains(err.Error(), "gpu: model") {
			t.Errorf("%+v: err = %v, want a model error", m, err)
		}
	}
	bad := toy
	bad.MemBandwidthGBs = 0
	if _, _, err := DefaultModel.Duration(bad, Job{Bytes: 1}); err == nil {
		t.Error("zero-bandwidth class: no error")
	}
	if err := DefaultModel.Validate(); err != nil {
		t.Errorf("DefaultModel: %v", err)
	}
}

func TestEnergy(t *testing.T) {
	h100, _ := Lookup("h100")
	if got := DefaultModel.Energy(h100, 200_000_000); got != 140 {
		t.Errorf("h100 for 200 ms = %v J, want 700 W × 0.2 s = 140 J", got)
	}
	if got := DefaultModel.Energy(h100, 0); got != 0 {
		t.Errorf("zero duration = %v J", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("negative duration did not panic")
		}
	}()
	DefaultModel.Energy(h100, -1)
}

func TestRun(t *testing.T) {
	m := Model{ComputeEfficiency: 0.5, MemoryEfficiency: 0.8, LaunchOverheadNs: 10_000_000}
	got := m.Run(toy, Job{FLOPs: 1e12, Work: nil})
	// 200 ms of work + 10 ms overhead at 200 W.
	if got.DurationNs != 210_000_000 || got.EnergyJ != 42 || got.Err != "" || got.Output != nil {
		t.Errorf("Run = %+v, want 210 ms, 42 J", got)
	}
	got = m.Run(toy, Job{MemBytes: 30e9})
	if got.Err != "gpu: job needs 30.0 GB, toy has 8.0 GB" || got.DurationNs != 0 || got.EnergyJ != 0 {
		t.Errorf("Run of an oversized job = %+v", got)
	}
}

func TestBoundString(t *testing.T) {
	if ComputeBound.String() != "compute-bound" || MemoryBound.String() != "memory-bound" || Bound(9).String() != "bound(?)" {
		t.Errorf("Bound strings: %v %v %v", ComputeBound, MemoryBound, Bound(9))
	}
}

// TestDurationOracle checks Duration against exact rational arithmetic on
// random classes and jobs. The float quotient may land a hair either side
// of an integer, so the rounded result may differ from the exact ceiling by
// 1 ns plus float64's relative error; the bound must agree wherever the two
// roofs differ by more than float noise.
func TestDurationOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	logUniform := func(lo, hi float64) float64 {
		return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
	}
	rat := func(f float64) *big.Rat { return new(big.Rat).SetFloat64(f) }
	for i := range 20000 {
		fp32 := logUniform(0.1, 100)
		c := Class{Name: "r", FP32TFLOPS: fp32, FP16TFLOPS: fp32 * logUniform(1, 16),
			MemoryGB: 80, MemBandwidthGBs: logUniform(50, 5000), TDPW: 300, IdleW: 30}
		m := Model{ComputeEfficiency: logUniform(0.05, 1), MemoryEfficiency: logUniform(0.05, 1), LaunchOverheadNs: r.Int64N(100_000)}
		j := Job{FLOPs: math.Floor(logUniform(1, 1e18)), Bytes: math.Floor(logUniform(1, 1e14)), Precision: Precision(r.IntN(2))}

		ns, bound, err := m.Duration(c, j)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		// Same association as the model: peak × 1e3 × efficiency, each
		// product exact in big.Rat.
		rate := new(big.Rat).Mul(new(big.Rat).Mul(rat(c.PeakTFLOPS(j.Precision)), rat(1e3)), rat(m.ComputeEfficiency))
		compute := new(big.Rat).Quo(rat(j.FLOPs), rate)
		bw := new(big.Rat).Mul(rat(c.MemBandwidthGBs), rat(m.MemoryEfficiency))
		memory := new(big.Rat).Quo(rat(j.Bytes), bw)
		work, wantBound := compute, ComputeBound
		if memory.Cmp(compute) > 0 {
			work, wantBound = memory, MemoryBound
		}
		want := ceilRat(work) + m.LaunchOverheadNs
		// Three roundings of 2^-53 each, then the ceiling; above 2^53 ns
		// float64 cannot hold every integer at all.
		slack := 1 + int64(float64(want)*1e-15)
		if d := ns - want; d < -slack || d > slack {
			t.Fatalf("case %d: %+v on %+v with %+v: %d ns, exact ceiling %d (slack %d)", i, j, c, m, ns, want, slack)
		}
		cf, _ := compute.Float64()
		mf, _ := memory.Float64()
		if math.Abs(cf-mf) > 1e-9*math.Max(cf, mf) && bound != wantBound {
			t.Fatalf("case %d: bound %v, want %v (compute %g ns, memory %g ns)", i, bound, wantBound, cf, mf)
		}
	}
}

func ceilRat(x *big.Rat) int64 {
	q, rem := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if rem.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}
