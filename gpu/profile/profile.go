// Package profile reads and writes hardware profiles: YAML files, written
// by dais gpu bench, that describe one machine as a gpu.Class the
// simulator can run on, with the measurements the class was derived from,
// the host and the date. Scenarios name profile files
// (population.hardware_profiles) and their groups then name the class.
//
//	p, err := profile.Load("profiles/this-box.yaml") // errors name file:line:col and key
//	class := p.GPUClass()                             // gpu.Class, validated by Load
//	err = p.Write("profiles/this-box.yaml")
//
// The package reads files and nothing else: no measuring (gpu/bench), no
// NVML (gpu/telemetry).
package profile

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/dais-sim/dais/gpu"
)

// Version is the profile format this package writes and reads.
const Version = 1

// MaxFileBytes bounds a profile file; anything larger is not one.
const MaxFileBytes = 1 << 20

// ErrProfile wraps every problem with a profile file.
var ErrProfile = errors.New("profile: invalid hardware profile")

// Profile is one machine, measured.
type Profile struct {
	// Version is the file format, Version.
	Version int `yaml:"version"`
	// Class is what the simulator runs on: see Class and Fit.
	Class Class `yaml:"class"`
	// Fit says which measurement the class's compute rate was fitted to:
	// FitTrain, FitGEMM or FitMatMul.
	Fit string `yaml:"fit"`
	// Host is the machine the measurements ran on.
	Host Host `yaml:"host"`
	// Date is when the measurements were taken (UTC).
	Date time.Time `yaml:"date"`
	// Measured are the raw measurements.
	Measured Measured `yaml:"measured"`
	// Notes say what was measured and what was assumed, one line each.
	Notes []string `yaml:"notes,omitempty"`
}

// Fits.
const (
	// FitTrain fits the compute rate to the training step of the
	// gpu/models MLP, the work live nodes run.
	FitTrain = "train"
	// FitGEMM fits it to the best dense FP32 matrix multiply.
	FitGEMM = "gemm"
	// FitMatMul fits it to the live marketplace's unit kernel
	// (gpu/kernel.MatMul, one thread) at the unit's size: the work a
	// live provider runs, so the roofline reproduces a live unit.
	FitMatMul = "matmul"
)

// Class is a gpu.Class in a file, with units in the key names.
type Class struct {
	Name            string  `yaml:"name"`
	Model           string  `yaml:"model"`
	FP32TFLOPS      float64 `yaml:"fp32_tflops"`
	FP16TFLOPS      float64 `yaml:"fp16_tflops"`
	MemoryGB        float64 `yaml:"memory_gb"`
	MemBandwidthGBs float64 `yaml:"mem_bandwidth_gbs"`
	TDPW            float64 `yaml:"tdp_w"`
	IdleW           float64 `yaml:"idle_w"`
	Source          string  `yaml:"source"`
}

// Host is the machine that was measured.
type Host struct {
	// CPU is the processor's model name; Cores the logical CPUs the OS
	// shows; GOMAXPROCS the ones the measurements could use.
	CPU        string  `yaml:"cpu"`
	Cores      int     `yaml:"cores"`
	GOMAXPROCS int     `yaml:"gomaxprocs"`
	MemoryGB   float64 `yaml:"memory_gb"`
	GoVersion  string  `yaml:"go_version"`
	OS         string  `yaml:"os"`
	Arch       string  `yaml:"arch"`
	// Ran is the device the measured compute ran on. The measuring code is
	// pure Go, so it is the CPU even where GPUs lists an NVIDIA GPU.
	Ran string `yaml:"ran"`
	// GPUs are the NVIDIA GPUs NVML reported, if any: beside the
	// measurements, not measured by them.
	GPUs []GPU `yaml:"gpus,omitempty"`
}

// GPU is a device NVML reported.
type GPU struct {
	Name        string  `yaml:"name"`
	MemoryGB    float64 `yaml:"memory_gb"`
	PowerLimitW float64 `yaml:"power_limit_w"`
}

// Measured are the raw figures of a bench run.
type Measured struct {
	GEMM   []GEMM   `yaml:"gemm"`
	Stream []Stream `yaml:"stream"`
	Train  []Train  `yaml:"train"`
	// Kernel is the live market's unit kernel; profiles written before
	// it was measured lack it.
	Kernel []Kernel `yaml:"kernel,omitempty"`
}

// Kernel is gpu/kernel.MatMul, the real work of a live market unit, at
// one size, run as a live market runs its units: batches of Batch runs
// (a job's unit replicas) spread over Workers goroutines (providers, one
// unit at a time each), each run on one thread, repeated.
type Kernel struct {
	Name   string `yaml:"name"` // matmul
	N      int    `yaml:"size"`
	Rounds int    `yaml:"rounds"`
	// FLOPs is what one run computes (2·N³·Rounds).
	FLOPs   float64 `yaml:"flops"`
	Workers int     `yaml:"workers"`
	Batch   int     `yaml:"batch"`
	Runs    int     `yaml:"runs"`
	MsMean  float64 `yaml:"ms_mean"`
	MsP50   float64 `yaml:"ms_p50"`
	MsMin   float64 `yaml:"ms_min"`
	GFLOPS  float64 `yaml:"gflops"` // FLOPs over the mean run
}

// GEMM is a dense n×n by n×n matrix multiply (2n³ FLOPs), repeated.
type GEMM struct {
	Precision string  `yaml:"precision"` // fp32 or fp64
	N         int     `yaml:"size"`
	Runs      int     `yaml:"runs"`
	GFLOPS    float64 `yaml:"gflops"` // best run
}

// Stream is a streaming kernel over arrays larger than the caches.
type Stream struct {
	Kernel   string  `yaml:"kernel"` // copy (a = b) or triad (a = b + s·c)
	Elements int     `yaml:"elements"`
	Runs     int     `yaml:"runs"`
	GBs      float64 `yaml:"gbs"` // best run, bytes read and written
}

// Train is the SGD step of a gpu/models classifier on optdigits rows.
type Train struct {
	Model     string  `yaml:"model"` // mlp or softmax
	Batch     int     `yaml:"batch"`
	Steps     int     `yaml:"steps"`
	StepUsP50 float64 `yaml:"step_us_p50"`
	StepUsMin float64 `yaml:"step_us_min"`
	// FLOPsPerStep is what the step's gpu.Job states (models.TrainJob.Job).
	FLOPsPerStep float64 `yaml:"flops_per_step"`
	// GFLOPS is FLOPsPerStep over the median step.
	GFLOPS float64 `yaml:"gflops"`
}

// GPUClass is the class the simulator runs on.
func (p *Profile) GPUClass() gpu.Class {
	c := p.Class
	return gpu.Class{Name: c.Name, Model: c.Model, FP32TFLOPS: c.FP32TFLOPS, FP16TFLOPS: c.FP16TFLOPS,
		MemoryGB: c.MemoryGB, MemBandwidthGBs: c.MemBandwidthGBs, TDPW: c.TDPW, IdleW: c.IdleW, Source: c.Source}
}

// FromGPUClass is c in a file's terms.
func FromGPUClass(c gpu.Class) Class {
	return Class{Name: c.Name, Model: c.Model, FP32TFLOPS: c.FP32TFLOPS, FP16TFLOPS: c.FP16TFLOPS,
		MemoryGB: c.MemoryGB, MemBandwidthGBs: c.MemBandwidthGBs, TDPW: c.TDPW, IdleW: c.IdleW, Source: c.Source}
}

// NameRE is what a measured class may be called: lower-case snake_case,
// as catalog names are, because runs build metric keys from class names
// (utilization_<class>).
var NameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Marshal is the profile as YAML, with a header comment.
func (p *Profile) Marshal() ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrProfile, err.msg)
	}
	b, err := yaml.MarshalWithOptions(p, yaml.UseLiteralStyleIfMultiline(false))
	if err != nil {
		return nil, err
	}
	head := "# dais hardware profile (dais gpu bench). A scenario uses it with\n" +
		"#   population.hardware_profiles: [this file]   and   gpu: " + p.Class.Name + "\n"
	return append([]byte(head), b...), nil
}

// Write writes the profile to path.
func (p *Profile) Write(path string) error {
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Load reads and checks the profile in path.
func Load(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrProfile, path, err)
	}
	return Parse(path, b)
}

// Parse is Load on bytes already read; file names them in errors. Every
// error is ErrProfile and names file:line:col and the key.
func Parse(file string, data []byte) (*Profile, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %s: %d bytes; a profile is at most %d", ErrProfile, file, len(data), MaxFileBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: %s: the file is empty", ErrProfile, file)
	}
	var p Profile
	if err := yaml.UnmarshalWithOptions(data, &p, yaml.DisallowUnknownField()); err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			tk := ye.GetToken()
			return nil, fmt.Errorf("%w: %s:%d:%d: %s%s", ErrProfile, file, tk.Position.Line, tk.Position.Column, keyOf(tk), ye.GetMessage())
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrProfile, file, err)
	}
	if e := p.validate(); e != nil {
		return nil, fmt.Errorf("%w: %s: %s: %s", ErrProfile, where(file, data, e.key), e.key, e.msg)
	}
	return &p, nil
}

type problem struct{ key, msg string }

func (p *Profile) validate() *problem {
	if p.Version != Version {
		return &problem{"version", fmt.Sprintf("%d, want %d (this dais reads version %d profiles)", p.Version, Version, Version)}
	}
	c := p.Class
	if !NameRE.MatchString(c.Name) {
		return &problem{"class.name", fmt.Sprintf("%q: use lower-case letters and digits, words joined by '_' (snake_case)", c.Name)}
	}
	if _, ok := gpu.Lookup(c.Name); ok {
		return &problem{"class.name", fmt.Sprintf("%q is a class of the built-in catalog; give the measured machine its own name", c.Name)}
	}
	for _, f := range []struct {
		key string
		v   float64
	}{
		{"class.fp32_tflops", c.FP32TFLOPS}, {"class.fp16_tflops", c.FP16TFLOPS}, {"class.memory_gb", c.MemoryGB},
		{"class.mem_bandwidth_gbs", c.MemBandwidthGBs}, {"class.tdp_w", c.TDPW}, {"class.idle_w", c.IdleW},
	} {
		if !(f.v > 0) || math.IsInf(f.v, 1) {
			return &problem{f.key, fmt.Sprintf("%v, want a finite number > 0", f.v)}
		}
	}
	if err := p.GPUClass().Validate(); err != nil {
		key := "class"
		switch {
		case strings.Contains(err.Error(), "FP16TFLOPS"):
			key = "class.fp16_tflops"
		case strings.Contains(err.Error(), "IdleW"):
			key = "class.idle_w"
		case strings.Contains(err.Error(), "MemoryGB"):
			key = "class.memory_gb"
		}
		return &problem{key, strings.TrimPrefix(err.Error(), "gpu: ")}
	}
	switch p.Fit {
	case FitTrain, FitGEMM:
	case FitMatMul:
		if len(p.Measured.Kernel) == 0 {
			return &problem{"measured.kernel", "missing: fit matmul is fitted to it"}
		}
	default:
		return &problem{"fit", fmt.Sprintf("%q, want %s, %s or %s", p.Fit, FitTrain, FitGEMM, FitMatMul)}
	}
	return nil
}

// keyOf is "key: " for a value token that follows a key on its line,
// else "".
func keyOf(tk *token.Token) string {
	for t := tk.Prev; t != nil && t.Position.Line == tk.Position.Line; t = t.Prev {
		if t.Type == token.MappingValueType && t.Prev != nil {
			return t.Prev.Value + ": "
		}
	}
	return ""
}

// where is the position of a key path ("class.tdp_w") in the file, or of
// its nearest parent that is there.
func where(file string, data []byte, key string) string {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return file
	}
	for k := key; k != ""; {
		path, err := yaml.PathString("$." + k)
		if err == nil {
			if n, err := path.FilterFile(f); err == nil && n != nil && n.GetToken() != nil {
				pos := n.GetToken().Position
				return fmt.Sprintf("%s:%d:%d", file, pos.Line, pos.Column)
			}
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return file
}
