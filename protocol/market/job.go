package market

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/wire"
)

// JobID is a job's ledger ID (chain.JobIDFor its post).
type JobID = chain.JobID

// Kind is what a job computes.
type Kind uint8

// Kinds of job.
const (
	// Inference is batch inference: each unit is a batch of requests,
	// one step (a forward pass has no intermediate state worth disputing).
	Inference Kind = iota + 1
	// Compute is generic GPU work split into units (rendering frames,
	// simulation chunks), each a few steps.
	Compute
	// Training is a compute job whose unit is one learner's local round
	// (many optimizer steps, each a checkpoint). Its cost is the learning
	// cost model's (gpu/models: FLOPs per sample × samples × epochs), given
	// as the unit's FLOPs; the federated protocol (protocol/learn) runs
	// rounds itself, and this kind is how such work is bought on the
	// marketplace.
	Training
	numKinds
)

var kindNames = [...]string{"", "inference", "compute", "training"}

func (k Kind) String() string { return name(kindNames[:], k, "Kind") }

// ParseKind reads a kind's name.
func ParseKind(s string) (Kind, error) { return parseName[Kind](kindNames[:], s, "job kind") }

// name is an enum value's name in names ("" where it has none: the
// zero value), or Type(n).
func name[T ~uint8](names []string, v T, typ string) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, uint8(v))
}

// parseName reads an enum value by its name in names.
func parseName[T ~uint8](names []string, s, what string) (T, error) {
	for v, n := range names {
		if n != "" && n == s {
			return T(v), nil
		}
	}
	var known []string
	for _, n := range names {
		if n != "" {
			known = append(known, n)
		}
	}
	return 0, fmt.Errorf("market: unknown %s %q (%s)", what, s, strings.Join(known, ", "))
}

// Spec is a job as posted: how many units, what each costs, how long the
// requester waits. All units of a job cost the same (the frames of one
// render, the rounds of one training job); job types with different sizes
// post different jobs. A Spec travels in the job post (chain.JobPost's
// Spec bytes) and, per unit, in every assignment.
type Spec struct {
	Kind  Kind
	Units uint32
	// UnitFLOPs, UnitBytes (memory traffic) and MemBytes (resident
	// memory) are one unit's cost, as gpu.Job states it.
	UnitFLOPs uint64
	UnitBytes uint64
	MemBytes  uint64
	// Steps is how many checkpoints a unit has (≥ 1): the granularity of
	// a bisection dispute.
	Steps     uint32
	Precision gpu.Precision
	// Deadline is the time from posting after which the job stops: its
	// unverified units are refunded. 0: none.
	Deadline protocol.Duration
	// InputBytes a provider fetches from the requester before it can run a
	// unit, and OutputBytes it sends back after: moved over the network
	// model on the two nodes' own links (0: none, and no message).
	InputBytes, OutputBytes uint64
	// Stream makes the job a session: its escrow covers Units units, but
	// each unit arrives on its own (a Release from the requester: a
	// request to an inference service, say) and is schedulable from then;
	// the session ends when the requester says it is done (or runs out of
	// units) and every released unit is resolved. Unreleased units are
	// refunded.
	Stream bool
}

// MaxUnits bounds a job's units, MaxSteps a unit's steps and MaxData a
// unit's input or output, on the wire.
const (
	MaxUnits = 1 << 24
	MaxSteps = 1 << 16
	MaxData  = 1 << 40
)

// Validate reports a spec no provider could run or the ledger store.
func (s Spec) Validate() error {
	switch {
	case s.Kind < Inference || s.Kind >= numKinds:
		return fmt.Errorf("market: job kind %d", s.Kind)
	case s.Units < 1 || s.Units > MaxUnits:
		return fmt.Errorf("market: %d units, want 1 … %d", s.Units, MaxUnits)
	case s.Steps < 1 || s.Steps > MaxSteps:
		return fmt.Errorf("market: units of %d steps, want 1 … %d", s.Steps, MaxSteps)
	case s.Precision != gpu.FP32 && s.Precision != gpu.FP16:
		return fmt.Errorf("market: precision %d", s.Precision)
	case s.Deadline < 0:
		return fmt.Errorf("market: negative deadline")
	case s.MemBytes > 1<<62:
		return fmt.Errorf("market: %d bytes of memory", s.MemBytes)
	case s.InputBytes > MaxData || s.OutputBytes > MaxData:
		return fmt.Errorf("market: units of %d input and %d output bytes, want at most %d", s.InputBytes, s.OutputBytes, uint64(MaxData))
	}
	return nil
}

// Unit is the gpu.Job of one unit.
func (s Spec) Unit() gpu.Job {
	return gpu.Job{Kind: s.Kind.String(), FLOPs: float64(s.UnitFLOPs), Bytes: float64(s.UnitBytes),
		MemBytes: int64(s.MemBytes), Precision: s.Precision}
}

// Step is the gpu.Job of one step of a unit: what a referee re-executes.
func (s Spec) Step() gpu.Job {
	j := s.Unit()
	j.Kind += "-step"
	j.FLOPs /= float64(s.Steps)
	j.Bytes /= float64(s.Steps)
	return j
}

// TotalFLOPs is the job's arithmetic, all units once.
func (s Spec) TotalFLOPs() float64 { return float64(s.UnitFLOPs) * float64(s.Units) }

// TrainingFLOPs is the learning cost model's arithmetic of one local round
// (gpu/models: FLOPs per sample × samples × epochs), for a Training unit.
func TrainingFLOPs(flopsPerSample, samples, epochs uint64) uint64 {
	return flopsPerSample * samples * epochs
}

func (s Spec) appendTo(b []byte) []byte {
	b = append(b, byte(s.Kind)|streamBit(s.Stream), byte(s.Precision))
	for _, x := range s.fields() {
		b = binary.AppendUvarint(b, x)
	}
	return b
}

func (s Spec) fields() [8]uint64 {
	return [8]uint64{uint64(s.Units), s.UnitFLOPs, s.UnitBytes, s.MemBytes, uint64(s.Steps), uint64(s.Deadline), s.InputBytes, s.OutputBytes}
}

func (s Spec) size() int {
	n := 2
	for _, x := range s.fields() {
		n += wire.UvarintSize(x)
	}
	return n
}

// Encode returns the spec's canonical encoding (the JobPost's Spec bytes).
func (s Spec) Encode() []byte { return s.appendTo(nil) }

// streamBit is the Stream flag, carried in the kind's byte (kinds are
// small): a session's spec costs no extra byte.
func streamBit(on bool) byte {
	if on {
		return 0x80
	}
	return 0
}

func readSpec(r *reader) Spec {
	var s Spec
	k := r.byte()
	s.Kind, s.Stream, s.Precision = Kind(k&0x7f), k&0x80 != 0, gpu.Precision(r.byte())
	s.Units = r.u32()
	s.UnitFLOPs, s.UnitBytes, s.MemBytes = r.u64(), r.u64(), r.u64()
	s.Steps = r.u32()
	s.Deadline = protocol.Duration(r.i63())
	s.InputBytes, s.OutputBytes = r.u64(), r.u64()
	if r.err == nil {
		if err := s.Validate(); err != nil {
			r.err = fmt.Errorf("%w: %v", wire.ErrTooLarge, err)
		}
	}
	return s
}

// DecodeSpec reads a spec from untrusted bytes.
func DecodeSpec(p []byte) (Spec, error) {
	r := newReader(p)
	s := readSpec(r)
	return s, r.done()
}
