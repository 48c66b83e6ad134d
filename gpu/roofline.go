package gpu

import (
	"errors"
	"fmt"
	"math"
)

// ErrNoMemory means a job needs more device memory than the class has. The
// error Duration returns is a *MemoryError carrying the figures; errors.Is
// matches it to ErrNoMemory.
var ErrNoMemory = errors.New("gpu: not enough device memory")

// ErrInvalidJob means a job's cost cannot be modeled: a negative, NaN or
// infinite figure, an unknown precision, or a duration beyond int64 ns.
var ErrInvalidJob = errors.New("gpu: invalid job")

// MemoryError is the ErrNoMemory a job gets on a class too small for it;
// a scheduler reads the figures with errors.As.
type MemoryError struct {
	Class     string
	NeedBytes int64
	HaveBytes int64
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("gpu: job needs %.1f GB, %s has %.1f GB",
		float64(e.NeedBytes)/1e9, e.Class, float64(e.HaveBytes)/1e9)
}

func (e *MemoryError) Unwrap() error { return ErrNoMemory }

// Bound says which roof limited a job.
type Bound uint8

// Bounds.
const (
	ComputeBound Bound = iota
	MemoryBound
)

func (b Bound) String() string {
	switch b {
	case ComputeBound:
		return "compute-bound"
	case MemoryBound:
		return "memory-bound"
	}
	return "bound(?)"
}

// Model turns a job's cost into time on a class with the roofline model:
// a job takes as long as the slower of its arithmetic at the achieved
// FLOP rate and its memory traffic at the achieved bandwidth, plus a fixed
// overhead. Achieved rates are datasheet peaks scaled by the efficiencies,
// because real kernels never reach the peaks.
//
// Model is a value with no hidden state; the same inputs give the same
// duration on every run and platform.
type Model struct {
	// ComputeEfficiency is the fraction of peak FLOPs a job achieves, in (0, 1].
	ComputeEfficiency float64
	// MemoryEfficiency is the fraction of peak bandwidth a job achieves, in (0, 1].
	MemoryEfficiency float64
	// LaunchOverheadNs is added to every job: dispatch, kernel launches and
	// the final synchronization that no amount of work hides.
	LaunchOverheadNs int64
}

// DefaultModel holds stated assumptions, not measurements, until
// calibration (`dais gpu bench`) replaces them per class:
//   - ComputeEfficiency 0.5: well-tuned training reaches roughly 40–60% of
//     dense tensor peak (model FLOPs utilization), small kernels less.
//   - MemoryEfficiency 0.8: streaming kernels reach 80–90% of peak bandwidth.
//   - LaunchOverheadNs 10 µs: a few kernel launches and one device sync.
//
// Treat it as read-only: simulations share it.
var DefaultModel = Model{
	ComputeEfficiency: 0.5,
	MemoryEfficiency:  0.8,
	LaunchOverheadNs:  10_000,
}

// maxDurationNs (about 146 years) bounds a modeled duration so that adding
// the overhead, and later a start time, cannot overflow int64.
const maxDurationNs = 1 << 62

// Validate reports a Model whose durations would be meaningless.
func (m Model) Validate() error {
	if !(m.ComputeEfficiency > 0 && m.ComputeEfficiency <= 1) {
		return fmt.Errorf("gpu: model ComputeEfficiency is %v, want (0, 1]", m.ComputeEfficiency)
	}
	if !(m.MemoryEfficiency > 0 && m.MemoryEfficiency <= 1) {
		return fmt.Errorf("gpu: model MemoryEfficiency is %v, want (0, 1]", m.MemoryEfficiency)
	}
	if m.LaunchOverheadNs < 0 || m.LaunchOverheadNs >= maxDurationNs {
		return fmt.Errorf("gpu: model LaunchOverheadNs is %d, want [0, %d)", m.LaunchOverheadNs, int64(maxDurationNs))
	}
	return nil
}

// Duration is how long the job takes on the class:
//
//	max(FLOPs / (peak(precision) × ComputeEfficiency),
//	    Bytes / (bandwidth × MemoryEfficiency)) + LaunchOverheadNs
//
// rounded up to a whole nanosecond, so a job with any work takes at least
// 1 ns and events it triggers never share the submit instant. bound names
// the larger term; a job exactly at the ridge is ComputeBound, since it
// runs at peak FLOPs. The error is a *MemoryError (ErrNoMemory) when the
// job does not fit, ErrInvalidJob for a job that cannot be costed, or a
// plain error for an invalid Model or Class.
func (m Model) Duration(c Class, j Job) (ns int64, bound Bound, err error) {
	if err := m.Validate(); err != nil {
		return 0, 0, err
	}
	if err := c.Validate(); err != nil {
		return 0, 0, err
	}
	if err := checkJob(j); err != nil {
		return 0, 0, err
	}
	if !c.Fits(j) {
		return 0, 0, &MemoryError{Class: c.Name, NeedBytes: j.MemBytes, HaveBytes: c.MemoryBytes()}
	}
	// TFLOPS × 1e3 is FLOPs per ns and GB/s is bytes per ns, so both
	// quotients are already in ns.
	computeNs := j.FLOPs / (c.PeakTFLOPS(j.Precision) * 1e3 * m.ComputeEfficiency)
	memoryNs := j.Bytes / (c.MemBandwidthGBs * m.MemoryEfficiency)
	workNs, bound := computeNs, ComputeBound
	if memoryNs > computeNs {
		workNs, bound = memoryNs, MemoryBound
	}
	workNs = math.Ceil(workNs)
	if workNs >= maxDurationNs-float64(m.LaunchOverheadNs) {
		return 0, 0, fmt.Errorf("%w: %q would take %.3g s on %s, beyond the %d ns limit",
			ErrInvalidJob, j.Kind, workNs/1e9, c.Name, int64(maxDurationNs))
	}
	return int64(workNs) + m.LaunchOverheadNs, bound, nil
}

func checkJob(j Job) error {
	if j.Precision != FP32 && j.Precision != FP16 {
		return fmt.Errorf("%w: %q has unknown precision %d", ErrInvalidJob, j.Kind, uint8(j.Precision))
	}
	for _, f := range []struct {
		key string
		v   float64
	}{{"FLOPs", j.FLOPs}, {"Bytes", j.Bytes}} {
		if !(f.v >= 0) || math.IsInf(f.v, 1) {
			return fmt.Errorf("%w: %q has %s %v, want a finite number >= 0", ErrInvalidJob, j.Kind, f.key, f.v)
		}
	}
	if j.MemBytes < 0 {
		return fmt.Errorf("%w: %q has MemBytes %d, want >= 0", ErrInvalidJob, j.Kind, j.MemBytes)
	}
	return nil
}

// Energy is the joules a class uses over durationNs of work: TDPW ×
// seconds. Boards under sustained load sit at their power limit, so this
// is an upper bound for real jobs; IdleW is for accounting the time a node
// has no job. A negative duration is a caller bug and panics.
func (m Model) Energy(c Class, durationNs int64) float64 {
	if durationNs < 0 {
		panic(fmt.Sprintf("gpu: Energy of negative duration %d ns on %s", durationNs, c.Name))
	}
	return c.TDPW * float64(durationNs) / 1e9
}

// Run costs the job on the class as the simulator reports it: DurationNs
// and EnergyJ, or Err with both zero. Work is not run; the driver does
// that.
func (m Model) Run(c Class, j Job) Result {
	ns, _, err := m.Duration(c, j)
	if err != nil {
		return Result{Err: err.Error()}
	}
	return Result{DurationNs: ns, EnergyJ: m.Energy(c, ns)}
}
