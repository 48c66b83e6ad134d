// Package bench measures this machine and writes what it measured as a
// hardware profile (gpu/profile) the simulator can run on: dense matrix
// multiply throughput (gonum BLAS, FP32 and FP64, several sizes), memory
// bandwidth (streaming copy and triad), the real SGD step time of the
// gpu/models MLP and softmax on optdigits batches, and the live
// marketplace's unit kernel (gpu/kernel.MatMul) at the unit's size.
//
//	p, err := bench.Run(bench.Options{Name: "this-box"})
//	err = p.Write("profiles/this-box.yaml")
//
// Everything here is pure Go and runs on the CPU, on all GOMAXPROCS
// threads: a GPU that NVML reports is recorded beside the measurements
// (Options.GPUs) but is not what they measured. The package does not
// import NVML; the caller passes what gpu/telemetry found.
package bench

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
	"github.com/dais-sim/dais/gpu/kernel"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/gpu/profile"
)

// ErrOptions is returned by Run for options it cannot use.
var ErrOptions = errors.New("bench: invalid options")

// Options say what to measure and how long.
type Options struct {
	// Name is the measured class's name (profile.NameRE: snake_case).
	// Required.
	Name string
	// Fit is profile.FitTrain (default), profile.FitGEMM or
	// profile.FitMatMul: which measurement sets the class's compute rate.
	Fit string
	// KernelFLOPs sizes the market unit kernel measured (FitMatMul's);
	// 0 means DefaultKernelFLOPs. KernelWorkers and KernelBatch shape it
	// as a market runs it (see Kernel); 0 means 1.
	KernelFLOPs                float64
	KernelWorkers, KernelBatch int
	// GEMMSizes are the matrix orders to multiply; nil means 64, 256, 512.
	GEMMSizes []int
	// StreamElements is the length of each streaming array (float64);
	// 0 means 1<<22 (32 MiB an array, beyond the caches of most CPUs).
	StreamElements int
	// MinTime is how long each measurement repeats at least; 0 means
	// 300 ms. Each figure is the best (GEMM, stream) or median (training
	// step) of the repetitions.
	MinTime time.Duration
	// TDPW and IdleW are the machine's power in watts, which a CPU
	// benchmark cannot measure; 0 means an estimate (10 W and 3 W per
	// logical CPU), which the profile's notes call one.
	TDPW, IdleW float64
	// GPUs are the NVIDIA GPUs gpu/telemetry reported, recorded beside the
	// measurements.
	GPUs []profile.GPU
	// Now is the clock that dates the profile; nil means time.Now.
	Now func() time.Time
}

// DefaultKernelFLOPs is the unit size dais calibrate's live market runs
// (a 215×215 float32 product).
const DefaultKernelFLOPs = 2e7

// Run measures this machine and returns its profile.
func Run(o Options) (*profile.Profile, error) {
	if !profile.NameRE.MatchString(o.Name) {
		return nil, fmt.Errorf("%w: name %q: use lower-case letters and digits, words joined by '_' (snake_case)", ErrOptions, o.Name)
	}
	if _, ok := gpu.Lookup(o.Name); ok {
		return nil, fmt.Errorf("%w: name %q is a class of the built-in catalog; give this machine its own name", ErrOptions, o.Name)
	}
	if o.Fit == "" {
		o.Fit = profile.FitTrain
	}
	if o.Fit != profile.FitTrain && o.Fit != profile.FitGEMM && o.Fit != profile.FitMatMul {
		return nil, fmt.Errorf("%w: fit %q, want %s, %s or %s", ErrOptions, o.Fit, profile.FitTrain, profile.FitGEMM, profile.FitMatMul)
	}
	if o.KernelFLOPs == 0 {
		o.KernelFLOPs = DefaultKernelFLOPs
	}
	if !(o.KernelFLOPs > 0 && o.KernelFLOPs <= 1e12) {
		return nil, fmt.Errorf("%w: kernel FLOPs %g, want (0, 1e12]", ErrOptions, o.KernelFLOPs)
	}
	o.KernelWorkers, o.KernelBatch = max(o.KernelWorkers, 1), max(o.KernelBatch, 1)
	if o.KernelWorkers > 256 || o.KernelBatch > 4096 {
		return nil, fmt.Errorf("%w: kernel workers %d, batch %d: want at most 256 and 4096", ErrOptions, o.KernelWorkers, o.KernelBatch)
	}
	if o.GEMMSizes == nil {
		o.GEMMSizes = []int{64, 256, 512}
	}
	for _, n := range o.GEMMSizes {
		if n < 1 || n > 8192 {
			return nil, fmt.Errorf("%w: GEMM size %d, want 1..8192", ErrOptions, n)
		}
	}
	if o.StreamElements == 0 {
		o.StreamElements = 1 << 22
	}
	if o.StreamElements < 1 || o.StreamElements > 1<<28 {
		return nil, fmt.Errorf("%w: stream elements %d, want 1..%d", ErrOptions, o.StreamElements, 1<<28)
	}
	if o.MinTime <= 0 {
		o.MinTime = 300 * time.Millisecond
	}
	if o.TDPW < 0 || o.IdleW < 0 || (o.TDPW > 0 && o.IdleW > o.TDPW) {
		return nil, fmt.Errorf("%w: power %v W idle, %v W TDP: want 0 <= idle <= TDP", ErrOptions, o.IdleW, o.TDPW)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &profile.Profile{Version: profile.Version, Fit: o.Fit, Host: DescribeHost(), Date: o.Now().UTC().Truncate(time.Second)}
	p.Host.GPUs = o.GPUs
	for _, prec := range []string{"fp32", "fp64"} {
		for _, n := range o.GEMMSizes {
			p.Measured.GEMM = append(p.Measured.GEMM, GEMM(prec, n, o.MinTime))
		}
	}
	for _, k := range []string{"copy", "triad"} {
		p.Measured.Stream = append(p.Measured.Stream, Stream(k, o.StreamElements, o.MinTime))
	}
	for _, kind := range []string{models.KindMLP, models.KindSoftmax} {
		t, err := TrainStep(kind, o.MinTime)
		if err != nil {
			return nil, err
		}
		p.Measured.Train = append(p.Measured.Train, t)
	}
	p.Measured.Kernel = append(p.Measured.Kernel, Kernel(o.KernelFLOPs, o.KernelWorkers, o.KernelBatch, o.MinTime))
	p.Class, p.Notes = fit(o, p)
	if err := p.GPUClass().Validate(); err != nil {
		return nil, fmt.Errorf("bench: the measured class does not validate: %w", err)
	}
	return p, nil
}

// fit derives the class from the measurements. The roofline runs a job at
// peak × efficiency (gpu.DefaultModel), so the class states the measured
// rates divided by the efficiencies: DefaultModel then reproduces what
// ran here.
func fit(o Options, p *profile.Profile) (profile.Class, []string) {
	m := gpu.DefaultModel
	var gemm32 float64
	for _, g := range p.Measured.GEMM {
		if g.Precision == "fp32" {
			gemm32 = max(gemm32, g.GFLOPS)
		}
	}
	var bw float64
	for _, s := range p.Measured.Stream {
		if s.Kernel == "triad" {
			bw = s.GBs
		}
	}
	mlp := p.Measured.Train[0]
	rate, what := gemm32, "the best FP32 GEMM"
	switch o.Fit {
	case profile.FitTrain:
		rate, what = mlp.GFLOPS, fmt.Sprintf("the %s training step (batch %d, median)", mlp.Model, mlp.Batch)
	case profile.FitMatMul:
		k := p.Measured.Kernel[0]
		rate, what = k.GFLOPS, fmt.Sprintf("the live market's unit kernel (gpu/kernel.MatMul %d×%d, %d round; batches of %d runs on %d workers; mean %.3g ms a run)", k.N, k.N, k.Rounds, k.Batch, k.Workers, k.MsMean)
	}
	h := p.Host
	c := profile.Class{
		Name:            o.Name,
		Model:           fmt.Sprintf("%s, %d threads (measured by dais gpu bench on the CPU)", h.CPU, h.GOMAXPROCS),
		FP32TFLOPS:      round4(rate / 1e3 / m.ComputeEfficiency),
		MemoryGB:        round4(h.MemoryGB),
		MemBandwidthGBs: round4(bw / m.MemoryEfficiency),
		TDPW:            o.TDPW,
		IdleW:           o.IdleW,
	}
	// Go has no FP16 arithmetic: half-precision jobs run in FP32 here.
	c.FP16TFLOPS = c.FP32TFLOPS
	if c.MemoryGB <= 0 {
		c.MemoryGB = 1
	}
	notes := []string{
		fmt.Sprintf("compute ran on the CPU (%s) in pure Go on %d threads: gonum BLAS for GEMM, gorgonia for training; %s", h.CPU, h.GOMAXPROCS, gpusNote(h.GPUs)),
		fmt.Sprintf("fp32_tflops = %s, %.3g GFLOP/s, ÷ gpu.DefaultModel.ComputeEfficiency %.2g; fp16_tflops = fp32_tflops (no FP16 arithmetic in Go)", what, rate, m.ComputeEfficiency),
		fmt.Sprintf("mem_bandwidth_gbs = triad %.3g GB/s ÷ gpu.DefaultModel.MemoryEfficiency %.2g", bw, m.MemoryEfficiency),
		fmt.Sprintf("best FP32 GEMM %.3g GFLOP/s; the MLP training step reaches %.3g GFLOP/s (%.0f%% of it)", gemm32, mlp.GFLOPS, 100*mlp.GFLOPS/gemm32),
	}
	if c.TDPW == 0 {
		cores := float64(h.GOMAXPROCS)
		c.TDPW, c.IdleW = 10*cores, 3*cores
		if o.IdleW > 0 && o.IdleW <= c.TDPW {
			c.IdleW = o.IdleW
		}
		notes = append(notes, "tdp_w and idle_w are estimates (10 W and 3 W per thread), not measured: give --tdp-w and --idle-w")
		c.Source = "measured: dais gpu bench (compute, bandwidth); power estimated"
	} else {
		if c.IdleW == 0 {
			c.IdleW = 0.3 * c.TDPW
			notes = append(notes, "idle_w is an estimate (30% of tdp_w), not measured")
		}
		c.Source = "measured: dais gpu bench (compute, bandwidth); power as given"
	}
	return c, notes
}

func gpusNote(gs []profile.GPU) string {
	if len(gs) == 0 {
		return "NVML reported no NVIDIA GPU"
	}
	var names []string
	for _, g := range gs {
		names = append(names, g.Name)
	}
	return "NVML reported " + strings.Join(names, ", ") + ", which these measurements did not use"
}

func round4(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	scale := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*scale) / scale
}

// repeat runs f until minTime has passed (at least 3 times) and returns
// each run's duration.
func repeat(minTime time.Duration, f func()) []time.Duration {
	var ds []time.Duration
	start := time.Now()
	for len(ds) < 3 || time.Since(start) < minTime {
		t := time.Now()
		f()
		ds = append(ds, time.Since(t))
	}
	return ds
}

// GEMM multiplies two n×n matrices of precision ("fp32" or "fp64") with
// gonum's BLAS for at least minTime and reports the best run.
func GEMM(precision string, n int, minTime time.Duration) profile.GEMM {
	var f func()
	switch precision {
	case "fp32":
		a := blas32.General{Rows: n, Cols: n, Stride: n, Data: fill32(n * n)}
		b := blas32.General{Rows: n, Cols: n, Stride: n, Data: fill32(n * n)}
		c := blas32.General{Rows: n, Cols: n, Stride: n, Data: make([]float32, n*n)}
		f = func() { blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, a, b, 0, c) }
	case "fp64":
		a := blas64.General{Rows: n, Cols: n, Stride: n, Data: fill64(n * n)}
		b := blas64.General{Rows: n, Cols: n, Stride: n, Data: fill64(n * n)}
		c := blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)}
		f = func() { blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, a, b, 0, c) }
	default:
		panic("bench: GEMM precision " + precision)
	}
	f() // warm up
	ds := repeat(minTime, f)
	best := slices.Min(ds).Seconds()
	return profile.GEMM{Precision: precision, N: n, Runs: len(ds), GFLOPS: round4(2 * math.Pow(float64(n), 3) / best / 1e9)}
}

func fill32(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i%7) * 0.25
	}
	return v
}

func fill64(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i%7) * 0.25
	}
	return v
}

// Stream runs a streaming kernel over arrays of n float64s, split over
// GOMAXPROCS goroutines, for at least minTime and reports the best run:
// copy (a = b, 16 bytes an element) or triad (a = b + 3c, 24 bytes).
func Stream(kernel string, n int, minTime time.Duration) profile.Stream {
	a, b, c := make([]float64, n), fill64(n), fill64(n)
	var bytesPer float64
	var body func(lo, hi int)
	switch kernel {
	case "copy":
		bytesPer = 16
		body = func(lo, hi int) { copy(a[lo:hi], b[lo:hi]) }
	case "triad":
		bytesPer = 24
		body = func(lo, hi int) {
			aa, bb, cc := a[lo:hi], b[lo:hi], c[lo:hi]
			for i := range aa {
				aa[i] = bb[i] + 3*cc[i]
			}
		}
	default:
		panic("bench: stream kernel " + kernel)
	}
	workers := min(runtime.GOMAXPROCS(0), n)
	f := func() {
		var wg sync.WaitGroup
		for w := range workers {
			lo, hi := w*n/workers, (w+1)*n/workers
			wg.Go(func() { body(lo, hi) })
		}
		wg.Wait()
	}
	f()
	ds := repeat(minTime, f)
	best := slices.Min(ds).Seconds()
	return profile.Stream{Kernel: kernel, Elements: n, Runs: len(ds), GBs: round4(bytesPer * float64(n) / best / 1e9)}
}

// Kernel times gpu/kernel.MatMul sized to flops (a live market unit of
// that many FLOPs) as a live market runs a job's units: batches of batch
// runs, each with its own seed, taken by workers goroutines one run at a
// time (providers with one slot), repeated for at least minTime (and 3
// batches). A run is timed alone, on its goroutine, as a live provider
// times a unit; the figures are per run, and the rate is FLOPs over the
// mean run. One worker and a batch of one is the kernel alone.
func Kernel(flops float64, workers, batch int, minTime time.Duration) profile.Kernel {
	w := kernel.ForFLOPs(1, flops)
	var mu sync.Mutex
	var ds []time.Duration
	seed := uint64(0)
	runBatch := func() {
		next := make(chan kernel.MatMul, batch)
		for range batch {
			seed++
			k := w
			k.Seed = seed
			next <- k
		}
		close(next)
		var wg sync.WaitGroup
		for range min(workers, batch) {
			wg.Go(func() {
				for k := range next {
					t := time.Now()
					if _, err := k.Run(); err != nil {
						panic("bench: the kernel failed: " + err.Error())
					}
					d := time.Since(t)
					mu.Lock()
					ds = append(ds, d)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	runBatch() // warm up
	ds = ds[:0]
	repeat(minTime, runBatch)
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	mean := sum.Seconds() / float64(len(ds))
	return profile.Kernel{Name: "matmul", N: w.N, Rounds: w.Rounds, FLOPs: w.FLOPs(), Workers: workers, Batch: batch, Runs: len(ds),
		MsMean: round4(mean * 1e3), MsP50: round4(ds[len(ds)/2].Seconds() * 1e3), MsMin: round4(ds[0].Seconds() * 1e3),
		GFLOPS: round4(w.FLOPs() / mean / 1e9)}
}

// TrainStep times SGD steps of the gpu/models classifier kind on one
// batch of optdigits training rows (the Optdigits spec's batch size) for at
// least minTime.
func TrainStep(kind string, minTime time.Duration) (profile.Train, error) {
	train, _, err := optdigits.Load()
	if err != nil {
		return profile.Train{}, err
	}
	spec := models.Optdigits(kind)
	rows := make([]int, spec.BatchSize)
	for i := range rows {
		rows[i] = i
	}
	batch := train.Subset(rows)
	m, err := models.New(spec)
	if err != nil {
		return profile.Train{}, err
	}
	job, err := models.TrainJob{Spec: spec, Data: batch, Epochs: 1}.Job()
	if err != nil {
		return profile.Train{}, err
	}
	var stepErr error
	step := func() {
		if _, err := m.Train(batch, 1); err != nil && stepErr == nil {
			stepErr = err
		}
	}
	for range 5 {
		step()
	}
	ds := repeat(minTime, step)
	if stepErr != nil {
		return profile.Train{}, fmt.Errorf("bench: training %s: %w", kind, stepErr)
	}
	slices.Sort(ds)
	p50 := ds[len(ds)/2].Seconds()
	return profile.Train{Model: kind, Batch: spec.BatchSize, Steps: len(ds),
		StepUsP50: round4(p50 * 1e6), StepUsMin: round4(ds[0].Seconds() * 1e6),
		FLOPsPerStep: job.FLOPs, GFLOPS: round4(job.FLOPs / p50 / 1e9)}, nil
}

// DescribeHost is this machine: CPU model, threads, memory, Go version.
func DescribeHost() profile.Host {
	h := profile.Host{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OS: runtime.GOOS, Arch: runtime.GOARCH, Ran: "cpu", CPU: runtime.GOARCH + " CPU"}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		h.CPU = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64)
		if err == nil {
			h.MemoryGB = round4(kb * 1024 / 1e9)
		}
	}
	return h
}

// procField is the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
