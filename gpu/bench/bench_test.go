package bench_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/bench"
	"github.com/dais-sim/dais/gpu/profile"
)

func quick(name, fit string) bench.Options {
	return bench.Options{Name: name, Fit: fit, GEMMSizes: []int{16, 48}, StreamElements: 1 << 12, MinTime: time.Millisecond,
		GPUs: []profile.GPU{{Name: "NVIDIA Test GPU", MemoryGB: 16, PowerLimitW: 70}}}
}

// The fitted class makes gpu.DefaultModel reproduce the measured MLP
// step: the roofline's duration of the step's job is the measured median
// (to the 4 significant digits the profile keeps) plus the model's fixed
// overhead.
func TestFitTrainReproducesTheStep(t *testing.T) {
	p, err := bench.Run(quick("quick_box", ""))
	if err != nil {
		t.Fatal(err)
	}
	if p.Fit != profile.FitTrain {
		t.Errorf("default fit = %q, want train", p.Fit)
	}
	if len(p.Measured.GEMM) != 4 || len(p.Measured.Stream) != 2 || len(p.Measured.Train) != 2 {
		t.Fatalf("measured %d GEMMs, %d streams, %d training steps; want 4, 2, 2", len(p.Measured.GEMM), len(p.Measured.Stream), len(p.Measured.Train))
	}
	for _, g := range p.Measured.GEMM {
		if !(g.GFLOPS > 0) || g.Runs < 3 {
			t.Errorf("GEMM %+v", g)
		}
	}
	mlp := p.Measured.Train[0]
	if mlp.Model != "mlp" || mlp.Batch != 32 || !(mlp.StepUsP50 >= mlp.StepUsMin) || mlp.StepUsMin <= 0 {
		t.Fatalf("MLP step %+v", mlp)
	}
	job := gpu.Job{Kind: "train", FLOPs: mlp.FLOPsPerStep, Precision: gpu.FP32}
	ns, bound, err := gpu.DefaultModel.Duration(p.GPUClass(), job)
	if err != nil {
		t.Fatal(err)
	}
	want := mlp.StepUsP50*1e3 + float64(gpu.DefaultModel.LaunchOverheadNs)
	if bound != gpu.ComputeBound || math.Abs(float64(ns)-want) > 2e-3*want {
		t.Errorf("roofline step = %d ns (%s), measured %.0f ns + overhead = %.0f", ns, bound, mlp.StepUsP50*1e3, want)
	}
	var triad float64
	for _, s := range p.Measured.Stream {
		if s.Kernel == "triad" {
			triad = s.GBs
		}
	}
	if got := p.Class.MemBandwidthGBs * gpu.DefaultModel.MemoryEfficiency; math.Abs(got-triad) > 1e-3*triad {
		t.Errorf("achieved bandwidth %v, measured triad %v", got, triad)
	}
	notes := strings.Join(p.Notes, "\n")
	for _, w := range []string{"ran on the CPU", "NVIDIA Test GPU, which these measurements did not use", "estimates"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes do not say %q:\n%s", w, notes)
		}
	}
	if len(p.Host.GPUs) != 1 || p.Host.Ran != "cpu" || p.Host.GoVersion == "" || p.Host.GOMAXPROCS < 1 {
		t.Errorf("host %+v", p.Host)
	}
	if _, err := p.Marshal(); err != nil {
		t.Errorf("the measured profile does not marshal: %v", err)
	}
}

func TestFitGEMM(t *testing.T) {
	o := quick("gemm_box", profile.FitGEMM)
	o.TDPW = 100
	p, err := bench.Run(o)
	if err != nil {
		t.Fatal(err)
	}
	var best float64
	for _, g := range p.Measured.GEMM {
		if g.Precision == "fp32" {
			best = max(best, g.GFLOPS)
		}
	}
	if got := p.Class.FP32TFLOPS * 1e3 * gpu.DefaultModel.ComputeEfficiency; math.Abs(got-best) > 1e-3*best {
		t.Errorf("achieved FP32 rate %v GFLOP/s, best GEMM %v", got, best)
	}
	if p.Class.TDPW != 100 || p.Class.IdleW != 30 || p.Class.FP16TFLOPS != p.Class.FP32TFLOPS {
		t.Errorf("class %+v: want TDP 100 W as given, idle 30 W, FP16 = FP32", p.Class)
	}
}

func TestRunRejects(t *testing.T) {
	for _, o := range []bench.Options{
		{Name: "h100"}, {Name: "Bad Name"}, {Name: "x", Fit: "guess"}, {Name: "x", GEMMSizes: []int{0}},
		{Name: "x", TDPW: 10, IdleW: 20},
	} {
		if _, err := bench.Run(o); !errors.Is(err, bench.ErrOptions) {
			t.Errorf("Run(%+v): err = %v, want ErrOptions", o, err)
		}
	}
}

// Fit matmul makes gpu.DefaultModel reproduce the live market's unit: the
// roofline's duration of a unit of the kernel's FLOPs is the measured
// mean of gpu/kernel.MatMul runs (plus the model's fixed overhead).
func TestFitMatMulReproducesTheUnit(t *testing.T) {
	o := quick("unit_box", profile.FitMatMul)
	o.KernelFLOPs, o.KernelWorkers, o.KernelBatch = 2e5, 2, 3
	p, err := bench.Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Measured.Kernel) != 1 {
		t.Fatalf("measured %d kernels, want 1", len(p.Measured.Kernel))
	}
	k := p.Measured.Kernel[0]
	if k.N != 46 || k.Rounds != 1 || k.FLOPs != 2*46*46*46 || !(k.MsP50 >= k.MsMin) || !(k.MsMean >= k.MsMin) || k.MsMin <= 0 {
		t.Fatalf("kernel %+v, want a 46×46 product of one round", k)
	}
	if k.Workers != 2 || k.Batch != 3 || k.Runs < 9 || k.Runs%3 != 0 {
		t.Errorf("kernel %+v: want whole batches of 3 runs on 2 workers, at least 3 batches", k)
	}
	ns, bound, err := gpu.DefaultModel.Duration(p.GPUClass(), gpu.Job{Kind: "compute", FLOPs: k.FLOPs, Precision: gpu.FP32})
	if err != nil {
		t.Fatal(err)
	}
	want := k.MsMean*1e6 + float64(gpu.DefaultModel.LaunchOverheadNs)
	if bound != gpu.ComputeBound || math.Abs(float64(ns)-want) > 2e-3*want {
		t.Errorf("roofline unit = %d ns (%s), measured mean %.0f ns + overhead = %.0f", ns, bound, k.MsMean*1e6, want)
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "unit kernel") {
		t.Errorf("notes do not name the fit:\n%s", strings.Join(p.Notes, "\n"))
	}
	if _, err := p.Marshal(); err != nil {
		t.Errorf("the measured profile does not marshal: %v", err)
	}
}
