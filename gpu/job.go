package gpu

// Precision is the arithmetic a job runs in; it picks the peak throughput
// the duration model uses.
type Precision uint8

// Precisions.
const (
	FP32 Precision = iota
	FP16
)

func (p Precision) String() string {
	switch p {
	case FP32:
		return "fp32"
	case FP16:
		return "fp16"
	}
	return "precision(?)"
}

// Job is a unit of GPU work as a protocol sees it: its cost, and optionally
// the real computation. In the simulator the duration comes from the node's
// hardware model (Class.Duration); in live mode the work runs and is timed.
type Job struct {
	// Kind labels the job in metrics ("train-step", "infer", "render").
	Kind string
	// FLOPs is the arithmetic the job performs.
	FLOPs float64
	// Bytes is the memory traffic between device memory and the cores.
	Bytes float64
	// MemBytes is the device memory the job needs resident; a class with
	// less memory cannot run it.
	MemBytes int64
	// Precision selects the peak throughput used.
	Precision Precision
	// Work is the real computation, or nil when only the cost is modeled.
	Work Work
}

// Work is real computation carried by a Job. Run must be deterministic for
// a given Job: the simulator may run it ahead of time on a worker pool and
// hand the result to the node in event order.
type Work interface {
	Run() (output any, err error)
}

// Result is what a finished job reports back to the node.
type Result struct {
	// Err is non-empty when the job failed (for example, not enough memory).
	Err string
	// DurationNs is how long the job took: modeled in sim, measured live.
	DurationNs int64
	// EnergyJ is the energy the job used, in joules.
	EnergyJ float64
	// Output is what Work.Run returned, or nil.
	Output any
}
