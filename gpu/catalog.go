package gpu

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Class is a kind of hardware as the duration model sees it: peak
// throughput, memory and power from the vendor's datasheet. The catalog
// holds common classes; custom hardware is a Class literal checked with
// Validate.
//
// GB is 10^9 bytes throughout, as datasheets use it.
type Class struct {
	// Name is the catalog key ("h100"): lower case, matched case-insensitively.
	Name string
	// Model is the marketing name ("NVIDIA H100 SXM5 80GB").
	Model string
	// FP32TFLOPS is the peak dense FP32 rate without tensor cores.
	FP32TFLOPS float64
	// FP16TFLOPS is the peak dense FP16 tensor-core rate with FP32
	// accumulate where the datasheet gives it (that is what mixed-precision
	// training runs), else dense FP16. Never a sparsity figure: jobs here
	// are dense.
	FP16TFLOPS float64
	// MemoryGB is device memory; a job whose MemBytes exceed it cannot run.
	MemoryGB float64
	// MemBandwidthGBs is peak device-memory bandwidth in GB/s.
	MemBandwidthGBs float64
	// TDPW is the board power limit in watts.
	TDPW float64
	// IdleW is board power when idle, in watts. Datasheets rarely state it,
	// so catalog values are estimates, noted beside each entry.
	IdleW float64
	// Source names the document the figures come from.
	Source string
}

// catalog is sorted by Name. Figures are datasheet peaks at boost clock;
// the Model's efficiencies turn them into achieved rates.
var catalog = []Class{
	{
		Name:            "a100",
		Model:           "NVIDIA A100 SXM4 80GB",
		FP32TFLOPS:      19.5,
		FP16TFLOPS:      312,
		MemoryGB:        80,
		MemBandwidthGBs: 2039,
		TDPW:            400,
		IdleW:           55, // estimate: nvidia-smi on idle HGX A100 boards reads 50–60 W
		Source:          "NVIDIA A100 Tensor Core GPU datasheet (A100 80GB SXM column)",
	},
	{
		// A 16-core AVX2/FMA server CPU, standing in for nodes without a GPU.
		// Modeled on AMD EPYC 7302 (Zen 2): each core has two 256-bit FMA
		// pipes, so 16 cores × 2 FMA × 8 fp32 lanes × 2 FLOPs × 3.0 GHz
		// all-core base clock = 1.536 TFLOPS. Frameworks run fp16 jobs in
		// fp32 on such CPUs, so FP16 = FP32. Memory is 8 channels of
		// DDR4-3200 (8 × 25.6 GB/s = 204.8 GB/s) with one 16 GB DIMM per
		// channel.
		Name:            "cpu",
		Model:           "16-core AVX2 server CPU (AMD EPYC 7302 class)",
		FP32TFLOPS:      1.536,
		FP16TFLOPS:      1.536,
		MemoryGB:        128,
		MemBandwidthGBs: 204.8,
		TDPW:            155,
		IdleW:           50, // estimate: Zen 2 EPYC package power at idle is dominated by the IO die
		Source:          "AMD EPYC 7302 product specifications (16 cores, 3.0 GHz base, 155 W, 8× DDR4-3200); Zen 2 core: 2× 256-bit FMA",
	},
	{
		Name:            "h100",
		Model:           "NVIDIA H100 SXM5 80GB",
		FP32TFLOPS:      67,
		FP16TFLOPS:      989.4,
		MemoryGB:        80,
		MemBandwidthGBs: 3350,
		TDPW:            700,
		IdleW:           70, // estimate: nvidia-smi on idle HGX H100 boards reads 60–75 W
		Source:          "NVIDIA H100 Tensor Core GPU datasheet (H100 SXM column); FP16 dense from NVIDIA H100 Tensor Core GPU Architecture whitepaper, Table 3",
	},
	{
		Name:            "l40s",
		Model:           "NVIDIA L40S 48GB",
		FP32TFLOPS:      91.6,
		FP16TFLOPS:      362.05,
		MemoryGB:        48,
		MemBandwidthGBs: 864,
		TDPW:            350,
		IdleW:           35, // estimate: reported idle (P8) draw of 30–37 W
		Source:          "NVIDIA L40S GPU datasheet",
	},
	{
		// GA106 is not in the Ampere whitepaper. Its tensor figure is derived
		// from the GA10x per-tensor-core rate the GA102 whitepaper gives
		// (256 dense FP16 FLOPs per clock with FP16 accumulate, half that
		// with FP32 accumulate on GeForce): 112 tensor cores × 128 × 1.777 GHz
		// = 25.48 TFLOPS. FP32: 3584 cores × 2 × 1.777 GHz = 12.74 TFLOPS.
		Name:            "rtx3060",
		Model:           "NVIDIA GeForce RTX 3060 12GB",
		FP32TFLOPS:      12.74,
		FP16TFLOPS:      25.48,
		MemoryGB:        12,
		MemBandwidthGBs: 360,
		TDPW:            170,
		IdleW:           15, // estimate: desktop reviews measure 13–17 W idle
		Source:          "NVIDIA GeForce RTX 3060 family specifications (3584 CUDA cores, 1.777 GHz boost, 12 GB 192-bit GDDR6 at 15 Gbps, 170 W); tensor rate per NVIDIA Ampere GA102 GPU Architecture whitepaper",
	},
	{
		Name:            "rtx3090",
		Model:           "NVIDIA GeForce RTX 3090 24GB",
		FP32TFLOPS:      35.6,
		FP16TFLOPS:      71,
		MemoryGB:        24,
		MemBandwidthGBs: 936,
		TDPW:            350,
		IdleW:           30, // estimate: desktop reviews measure 25–35 W idle
		Source:          "NVIDIA Ampere GA102 GPU Architecture whitepaper, GeForce RTX 3090 column",
	},
	{
		Name:            "rtx4090",
		Model:           "NVIDIA GeForce RTX 4090 24GB",
		FP32TFLOPS:      82.6,
		FP16TFLOPS:      165.2,
		MemoryGB:        24,
		MemBandwidthGBs: 1008,
		TDPW:            450,
		IdleW:           25, // estimate: desktop reviews measure 20–30 W idle
		Source:          "NVIDIA Ada GPU Architecture whitepaper, GeForce RTX 4090 column",
	},
	{
		Name:            "t4",
		Model:           "NVIDIA T4 16GB",
		FP32TFLOPS:      8.1,
		FP16TFLOPS:      65,
		MemoryGB:        16,
		MemBandwidthGBs: 320,
		TDPW:            70,
		IdleW:           10, // estimate: nvidia-smi on idle T4s (P8) reads 9–11 W
		Source:          "NVIDIA T4 Tensor Core GPU datasheet",
	},
}

// Lookup returns the catalog class with the given name, ignoring case.
func Lookup(name string) (Class, bool) {
	for _, c := range catalog {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Class{}, false
}

// Classes returns the catalog sorted by name. The slice is the caller's.
func Classes() []Class {
	return slices.Clone(catalog)
}

// Names returns the catalog's names, sorted. The slice is the caller's.
func Names() []string {
	names := make([]string, len(catalog))
	for i, c := range catalog {
		names[i] = c.Name
	}
	return names
}

// PeakTFLOPS is the datasheet peak for the precision, or 0 for a precision
// the catalog has no figure for.
func (c Class) PeakTFLOPS(p Precision) float64 {
	switch p {
	case FP32:
		return c.FP32TFLOPS
	case FP16:
		return c.FP16TFLOPS
	}
	return 0
}

// MemoryBytes is MemoryGB in bytes, the capacity a Job's MemBytes is held to.
func (c Class) MemoryBytes() int64 {
	return int64(c.MemoryGB * 1e9)
}

// Fits reports whether the job's resident memory fits on the class.
func (c Class) Fits(j Job) bool {
	return j.MemBytes <= c.MemoryBytes()
}

// RidgePoint is the arithmetic intensity, in FLOPs per byte, at which the
// datasheet compute and memory rooflines meet: jobs above it are limited by
// arithmetic, jobs below by memory bandwidth. It uses peak figures; under a
// Model the ridge moves to RidgePoint × ComputeEfficiency / MemoryEfficiency.
func (c Class) RidgePoint(p Precision) float64 {
	return c.PeakTFLOPS(p) * 1e3 / c.MemBandwidthGBs
}

// maxMemoryGB (an exabyte) keeps MemoryBytes well inside int64.
const maxMemoryGB = 1e9

// Validate reports the first figure that cannot describe real hardware.
// The duration model divides by these figures, so a Class that fails here
// would yield infinite or negative durations.
func (c Class) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("gpu: class has no name")
	}
	for _, f := range []struct {
		key string
		v   float64
	}{
		{"FP32TFLOPS", c.FP32TFLOPS},
		{"FP16TFLOPS", c.FP16TFLOPS},
		{"MemoryGB", c.MemoryGB},
		{"MemBandwidthGBs", c.MemBandwidthGBs},
		{"TDPW", c.TDPW},
		{"IdleW", c.IdleW},
	} {
		if !(f.v > 0) || math.IsInf(f.v, 1) {
			return fmt.Errorf("gpu: class %s: %s is %v, want a finite number > 0", c.Name, f.key, f.v)
		}
	}
	if c.MemoryGB > maxMemoryGB {
		return fmt.Errorf("gpu: class %s: MemoryGB is %v, want at most %v", c.Name, c.MemoryGB, maxMemoryGB)
	}
	// Where native FP16 is slower than FP32 (consumer Pascal, CPUs),
	// frameworks run half-precision jobs in FP32, so the figure to give is
	// the FP32 one; a lower figure would mean a mistake in the entry.
	if c.FP16TFLOPS < c.FP32TFLOPS {
		return fmt.Errorf("gpu: class %s: FP16TFLOPS %v is below FP32TFLOPS %v; give the FP32 figure where FP16 is not faster", c.Name, c.FP16TFLOPS, c.FP32TFLOPS)
	}
	if c.IdleW > c.TDPW {
		return fmt.Errorf("gpu: class %s: IdleW %v exceeds TDPW %v", c.Name, c.IdleW, c.TDPW)
	}
	return nil
}
