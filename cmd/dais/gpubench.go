package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/gpu/bench"
	"github.com/dais-sim/dais/gpu/profile"
	"github.com/dais-sim/dais/gpu/telemetry"
	"github.com/dais-sim/dais/reports"
)

func newGPUBenchCmd() *cobra.Command {
	var out, name, fit string
	var minTime time.Duration
	var tdp, idle float64
	var quick bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure this machine and write a hardware profile the simulator can run on",
		Long: `Bench measures this machine: dense matrix-multiply throughput (gonum BLAS, FP32 and FP64,
n = 64, 256, 512), memory bandwidth (streaming copy and triad over 32 MiB arrays), and the real
SGD step time of the gpu/models MLP and softmax on optdigits batches of 32, and the live
marketplace's unit kernel (gpu/kernel.MatMul, one thread, a unit of 2·10⁷ FLOPs). It prints the
figures and, with -o, writes a hardware profile (YAML): a GPU class named --name, the raw
measurements, the host and the date.

All of it runs on the CPU, in pure Go, on GOMAXPROCS threads. Where NVML finds an NVIDIA GPU,
bench lists it beside the figures, but the GPU is not what they measured.

The class states the rates the simulator's roofline (gpu.DefaultModel) must assume to
reproduce what ran here: its FP32 rate is the measured one (--fit train: the MLP training
step; --fit gemm: the best FP32 GEMM; --fit matmul: the live market's unit kernel, what
dais calibrate uses) divided by the model's compute efficiency, its
bandwidth the triad's divided by the memory efficiency. A CPU benchmark cannot measure
power: give --tdp-w and --idle-w, or the profile says its figures are estimates.

A scenario runs on the profile with
  population:
    hardware_profiles: [this_box.yaml]        # relative to the scenario file
    groups: [{name: mine, gpu: this_box, count: 4}]`,
		Example: `  dais gpu bench
  dais gpu bench -o profiles/this_box.yaml --name this_box --tdp-w 65 --idle-w 10`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				name = defaultProfileName()
			}
			o := bench.Options{Name: name, Fit: fit, MinTime: minTime, TDPW: tdp, IdleW: idle}
			if quick {
				o.GEMMSizes, o.StreamElements, o.MinTime = []int{32, 64}, 1<<16, 20*time.Millisecond
			}
			gpus, gpuNote := nvmlGPUs()
			o.GPUs = gpus
			stdout := cmd.OutOrStdout()
			fmt.Fprintln(stdout, "measuring on the CPU (pure Go); "+gpuNote)
			p, err := bench.Run(o)
			if errors.Is(err, bench.ErrOptions) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			printProfile(stdout, p)
			if out != "" {
				if err := p.Write(out); err != nil {
					return fmt.Errorf("writing the profile: %w", err)
				}
				fmt.Fprintf(stdout, "\nwrote %s (class %s)\n", out, p.Class.Name)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "write the hardware profile (YAML) to this file")
	f.StringVar(&name, "name", "", "the measured class's name (default: from the host name)")
	f.StringVar(&fit, "fit", profile.FitTrain, "what sets the class's compute rate: train (the MLP training step), gemm (the best FP32 GEMM) or matmul (the live market's unit kernel)")
	f.DurationVar(&minTime, "min-time", 300*time.Millisecond, "how long each measurement repeats at least")
	f.Float64Var(&tdp, "tdp-w", 0, "the machine's power under load in watts (default: an estimate)")
	f.Float64Var(&idle, "idle-w", 0, "the machine's idle power in watts (default: an estimate)")
	f.BoolVar(&quick, "quick", false, "small sizes and short runs: a smoke test, not a measurement")
	return cmd
}

var notName = regexp.MustCompile(`[^a-z0-9]+`)

// defaultProfileName is the host name made into a class name.
func defaultProfileName() string {
	h, _ := os.Hostname()
	n := strings.Trim(notName.ReplaceAllString(strings.ToLower(h), "_"), "_")
	if n == "" {
		n = "this_box"
	}
	return "host_" + n
}

// nvmlGPUs are the NVIDIA GPUs NVML reports, and a line saying what was
// found.
func nvmlGPUs() ([]profile.GPU, string) {
	lib, err := telemetry.Open()
	if errors.Is(err, telemetry.ErrNoDriver) {
		return nil, "NVML: no NVIDIA driver, no GPU listed"
	}
	if err != nil {
		return nil, "NVML: " + err.Error()
	}
	defer lib.Close()
	devs, err := lib.Devices()
	if err != nil {
		return nil, "NVML: " + err.Error()
	}
	var gs []profile.GPU
	var names []string
	for _, d := range devs {
		gs = append(gs, profile.GPU{Name: d.Name, MemoryGB: float64(d.MemoryTotalB) / 1e9, PowerLimitW: d.PowerLimitW})
		names = append(names, d.Name)
	}
	if len(gs) == 0 {
		return nil, "NVML: driver loaded, no GPU"
	}
	return gs, fmt.Sprintf("NVML lists %s: not what these figures measure", strings.Join(names, ", "))
}

func printProfile(w io.Writer, p *profile.Profile) {
	h := p.Host
	fmt.Fprintf(w, "host: %s, %d logical CPUs, GOMAXPROCS %d, %.1f GB, %s %s/%s\n\n", h.CPU, h.Cores, h.GOMAXPROCS, h.MemoryGB, h.GoVersion, h.OS, h.Arch)
	t := reports.NewTable(w)
	t.Header("measurement", "size", "runs", "result")
	for _, g := range p.Measured.GEMM {
		_ = t.Append([]string{"GEMM " + g.Precision, fmt.Sprintf("%d×%d", g.N, g.N), fmt.Sprint(g.Runs), fmt.Sprintf("%.3g GFLOP/s", g.GFLOPS)})
	}
	for _, s := range p.Measured.Stream {
		_ = t.Append([]string{"stream " + s.Kernel, humanize.IBytes(uint64(s.Elements)*8) + " arrays", fmt.Sprint(s.Runs), fmt.Sprintf("%.3g GB/s", s.GBs)})
	}
	for _, tr := range p.Measured.Train {
		_ = t.Append([]string{"train step " + tr.Model, fmt.Sprintf("batch %d", tr.Batch), fmt.Sprint(tr.Steps),
			fmt.Sprintf("%.0f µs p50 (%.0f min), %.3g GFLOP/s", tr.StepUsP50, tr.StepUsMin, tr.GFLOPS)})
	}
	for _, k := range p.Measured.Kernel {
		_ = t.Append([]string{"market unit " + k.Name, fmt.Sprintf("%d×%d, %d round", k.N, k.N, k.Rounds), fmt.Sprint(k.Runs),
			fmt.Sprintf("%.3g ms mean (%.3g p50, %.3g min), %.3g GFLOP/s; %d at a time on %d workers", k.MsMean, k.MsP50, k.MsMin, k.GFLOPS, k.Batch, k.Workers)})
	}
	_ = t.Render()
	c := p.Class
	fmt.Fprintf(w, "\nclass %s (fit: %s): FP32 %.4g TFLOP/s, FP16 %.4g TFLOP/s, %.4g GB/s, %.4g GB, TDP %.4g W, idle %.4g W\n",
		c.Name, p.Fit, c.FP32TFLOPS, c.FP16TFLOPS, c.MemBandwidthGBs, c.MemoryGB, c.TDPW, c.IdleW)
	for _, n := range p.Notes {
		fmt.Fprintln(w, "  - "+n)
	}
}
