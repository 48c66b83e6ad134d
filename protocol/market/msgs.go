package market

import (
	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/verify"
	"github.com/dais-sim/dais/protocol/wire"
)

// Hash is a result, checkpoint or root hash.
type Hash = verify.Hash

const hashSize = len(Hash{})

func init() {
	reg := func(k wire.Kind, name string, dec func(*reader) wire.Msg) {
		wire.Register(k, name, func(body []byte) (wire.Msg, error) {
			r := newReader(body)
			m := dec(r)
			if err := r.done(); err != nil {
				return nil, err
			}
			return m, nil
		})
	}
	reg(wire.KindJobPost, "market.PostJob", decodePostJob)
	reg(wire.KindJobStatus, "market.JobStatus", decodeJobStatus)
	reg(wire.KindJobCancel, "market.Cancel", decodeCancel)
	reg(wire.KindJoin, "market.Join", decodeJoin)
	reg(wire.KindLeave, "market.Leave", func(*reader) wire.Msg { return &Leave{} })
	reg(wire.KindAssign, "market.Assign", decodeAssign)
	reg(wire.KindResult, "market.Result", decodeResult)
	reg(wire.KindReplay, "market.Replay", decodeReplay)
	reg(wire.KindVerdict, "market.Verdict", decodeVerdict)
	reg(wire.KindDisputeQuery, "market.DisputeQuery", decodeDisputeQuery)
	reg(wire.KindDisputeReveal, "market.DisputeReveal", decodeDisputeReveal)
	reg(wire.KindFetch, "market.Fetch", decodeFetch)
	reg(wire.KindData, "market.Data", decodeData)
	reg(wire.KindRelease, "market.Release", decodeRelease)
}

// PostJob is a requester's job post. It stands for the requester's signed
// chain.JobPost transaction (signatures are modeled): the committee, which
// proposes every block, includes it with the requester's next nonce, and
// the job's ID is chain.JobIDFor(requester, nonce).
type PostJob struct {
	// Seq is the requester's own number for the job, echoed in JobStatus.
	Seq uint64
	// Posted is when the requester posted it: completion times count
	// from here.
	Posted protocol.Time
	Budget uint64 // base units escrowed
	Spec   Spec
}

func (*PostJob) Kind() wire.Kind { return wire.KindJobPost }
func (m *PostJob) AppendBody(b []byte) []byte {
	return m.Spec.appendTo(appendU(b, m.Seq, uint64(m.Posted), m.Budget))
}
func (m *PostJob) WireSize() int {
	return wire.HeaderSize(wire.KindJobPost) + sizeU(m.Seq, uint64(m.Posted), m.Budget) + m.Spec.size()
}
func decodePostJob(r *reader) wire.Msg {
	m := &PostJob{Seq: r.u64(), Posted: protocol.Time(r.i63()), Budget: r.u64()}
	m.Spec = readSpec(r)
	return m
}

// Status is where a job stands.
type Status uint8

// Statuses.
const (
	Opened    Status = iota + 1 // the job post is on chain; units are being scheduled
	Done                        // every unit verified; settled
	Expired                     // the deadline passed; verified units paid, the rest refunded
	Cancelled                   // the requester cancelled; the same settlement
	Refused                     // the post did not apply (budget above the balance)
	numStatuses
)

var statusNames = [...]string{"", "opened", "done", "expired", "cancelled", "refused"}

func (s Status) String() string {
	if s >= Opened && s < numStatuses {
		return statusNames[s]
	}
	return "Status(?)"
}

// JobStatus tells a requester its job's ledger ID (Opened) or outcome.
type JobStatus struct {
	Seq      uint64
	Job      JobID
	Status   Status
	Verified uint32 // units verified
	Refund   uint64 // base units returned to the requester
}

func (*JobStatus) Kind() wire.Kind { return wire.KindJobStatus }
func (m *JobStatus) AppendBody(b []byte) []byte {
	b = appendU(b, m.Seq)
	b = append(b, m.Job[:]...)
	b = append(b, byte(m.Status))
	return appendU(b, uint64(m.Verified), m.Refund)
}
func (m *JobStatus) WireSize() int {
	return wire.HeaderSize(wire.KindJobStatus) + sizeU(m.Seq) + len(m.Job) + 1 + sizeU(uint64(m.Verified), m.Refund)
}
func decodeJobStatus(r *reader) wire.Msg {
	m := &JobStatus{Seq: r.u64()}
	r.fixed(m.Job[:])
	m.Status = Status(r.byte())
	m.Verified, m.Refund = r.u32(), r.u64()
	if m.Status < Opened || m.Status >= numStatuses {
		r.fail(wire.ErrTooLarge)
	}
	return m
}

// Cancel asks the committee to stop a job: its verified units are paid,
// the rest refunded.
type Cancel struct{ Job JobID }

func (*Cancel) Kind() wire.Kind              { return wire.KindJobCancel }
func (m *Cancel) AppendBody(b []byte) []byte { return append(b, m.Job[:]...) }
func (m *Cancel) WireSize() int              { return wire.HeaderSize(wire.KindJobCancel) + len(m.Job) }
func decodeCancel(r *reader) wire.Msg {
	m := &Cancel{}
	r.fixed(m.Job[:])
	return m
}

// Role is what a joining node offers.
type Role uint8

// Roles.
const (
	RoleProvider Role = iota + 1
	RoleValidator
)

// Join offers a node's hardware: a provider's to run units, a validator's
// to re-execute them. It is sent at every Start, so a node that rejoins
// after a crash tells the committee that its old assignments are gone.
// Capability is declared (in a deployed network, attested or learned
// from measured throughput); the committee schedules by it.
type Join struct {
	Role Role
	// Class is the hardware as the duration model sees it. Peaks are in
	// milli-TFLOPS and bandwidth in MB/s on the wire.
	Class gpu.Class
	// Slots is how many units the node accepts at once (one runs, the
	// others wait in its queue, hiding the network round trip).
	Slots uint32
	// DownBps and UpBps are the node's access link, bits per second (0:
	// not declared): the committee adds a unit's input and output
	// transfer to the time it expects the unit to take.
	DownBps, UpBps uint64
}

func milli(x float64) uint64 { return uint64(x*1000 + 0.5) }

func (*Join) Kind() wire.Kind { return wire.KindJoin }
func (m *Join) fields() []uint64 {
	c := m.Class
	return []uint64{milli(c.FP32TFLOPS), milli(c.FP16TFLOPS), milli(c.MemoryGB), milli(c.MemBandwidthGBs), milli(c.TDPW), milli(c.IdleW), uint64(m.Slots),
		m.DownBps, m.UpBps}
}
func (m *Join) AppendBody(b []byte) []byte {
	b = append(b, byte(m.Role))
	b = wire.AppendBytes(b, []byte(m.Class.Name))
	return appendU(b, m.fields()...)
}
func (m *Join) WireSize() int {
	return wire.HeaderSize(wire.KindJoin) + 1 + wire.BytesSize(len(m.Class.Name)) + sizeU(m.fields()...)
}

const maxClassName = 64

func decodeJoin(r *reader) wire.Msg {
	m := &Join{Role: Role(r.byte())}
	n := r.u64()
	if n > maxClassName || int(n) > len(r.b) {
		r.fail(wire.ErrTooLarge)
		return m
	}
	if r.err == nil {
		m.Class.Name = string(r.b[:n])
		r.b = r.b[n:]
	}
	const max = 1 << 40
	f := func() float64 { return float64(r.bounded(max, "capability")) / 1000 }
	m.Class.FP32TFLOPS, m.Class.FP16TFLOPS, m.Class.MemoryGB = f(), f(), f()
	m.Class.MemBandwidthGBs, m.Class.TDPW, m.Class.IdleW = f(), f(), f()
	m.Slots = r.u32()
	m.DownBps, m.UpBps = r.u64(), r.u64()
	if m.Role != RoleProvider && m.Role != RoleValidator {
		r.fail(wire.ErrTooLarge)
	}
	return m
}

// Leave says a provider is leaving gracefully: its assignments go back to
// the queue at once instead of timing out.
type Leave struct{}

func (*Leave) Kind() wire.Kind            { return wire.KindLeave }
func (*Leave) AppendBody(b []byte) []byte { return b }
func (*Leave) WireSize() int              { return wire.HeaderSize(wire.KindLeave) }

// Assign gives a provider one unit to run. Root asks for the Merkle root
// of the unit's checkpoints with the result (bisection verification).
// Source holds the unit's input and takes its output (the requester):
// with Spec.InputBytes > 0 the provider fetches the input from it first.
type Assign struct {
	Job    JobID
	Unit   uint32
	Spec   Spec
	Root   bool
	Source protocol.NodeID
}

func (*Assign) Kind() wire.Kind { return wire.KindAssign }
func (m *Assign) AppendBody(b []byte) []byte {
	b = append(b, m.Job[:]...)
	b = m.Spec.appendTo(appendU(b, uint64(m.Unit)))
	return appendU(appendFlag(b, m.Root), uint64(m.Source))
}
func (m *Assign) WireSize() int {
	return wire.HeaderSize(wire.KindAssign) + len(m.Job) + sizeU(uint64(m.Unit)) + m.Spec.size() + 1 + sizeU(uint64(m.Source))
}
func decodeAssign(r *reader) wire.Msg {
	m := &Assign{}
	r.fixed(m.Job[:])
	m.Unit = r.u32()
	m.Spec = readSpec(r)
	m.Root = r.flag()
	m.Source = protocol.NodeID(r.u32())
	return m
}

// Release hands the committee the next unit of a session (a job whose
// Spec.Stream is set), posted by the requester at Posted, or with End says
// the session has no more units. Seq is the session's PostJob.Seq, so a
// requester can release units before it knows the job's ID.
type Release struct {
	Seq    uint64
	Unit   uint32
	Posted protocol.Time
	// FLOPs is this unit's own size (0: the session's Spec.UnitFLOPs):
	// requests to a service differ.
	FLOPs uint64
	End   bool
}

func (*Release) Kind() wire.Kind { return wire.KindRelease }
func (m *Release) AppendBody(b []byte) []byte {
	return appendFlag(appendU(b, m.Seq, uint64(m.Unit), uint64(m.Posted), m.FLOPs), m.End)
}
func (m *Release) WireSize() int {
	return wire.HeaderSize(wire.KindRelease) + sizeU(m.Seq, uint64(m.Unit), uint64(m.Posted), m.FLOPs) + 1
}
func decodeRelease(r *reader) wire.Msg {
	m := &Release{Seq: r.u64(), Unit: r.u32(), Posted: protocol.Time(r.i63()), FLOPs: r.u64()}
	m.End = r.flag()
	return m
}

// Fetch asks a unit's source (its requester) for the unit's input, Bytes
// long (the job's Spec.InputBytes).
type Fetch struct {
	Job   JobID
	Unit  uint32
	Bytes uint64
}

func (*Fetch) Kind() wire.Kind { return wire.KindFetch }
func (m *Fetch) AppendBody(b []byte) []byte {
	return appendU(append(b, m.Job[:]...), uint64(m.Unit), m.Bytes)
}
func (m *Fetch) WireSize() int {
	return wire.HeaderSize(wire.KindFetch) + len(m.Job) + sizeU(uint64(m.Unit), m.Bytes)
}
func decodeFetch(r *reader) wire.Msg {
	m := &Fetch{}
	r.fixed(m.Job[:])
	m.Unit, m.Bytes = r.u32(), r.u64()
	if m.Bytes > MaxData {
		r.fail(wire.ErrTooLarge)
	}
	return m
}

// Data is a unit's input (from its source to the provider) or output
// (Output: back to the source), Bytes long. The bytes are modeled: on the
// wire they are Bytes zero bytes, so the network charges their size, and
// what they hold is the result hash's business.
type Data struct {
	Job    JobID
	Unit   uint32
	Output bool
	Bytes  uint64
}

func (*Data) Kind() wire.Kind { return wire.KindData }
func (m *Data) AppendBody(b []byte) []byte {
	b = appendFlag(appendU(append(b, m.Job[:]...), uint64(m.Unit)), m.Output)
	b = appendU(b, m.Bytes)
	return append(b, make([]byte, m.Bytes)...)
}
func (m *Data) WireSize() int {
	return wire.HeaderSize(wire.KindData) + len(m.Job) + sizeU(uint64(m.Unit)) + 1 + sizeU(m.Bytes) + int(m.Bytes)
}
func decodeData(r *reader) wire.Msg {
	m := &Data{}
	r.fixed(m.Job[:])
	m.Unit = r.u32()
	m.Output = r.flag()
	m.Bytes = r.u64()
	if r.err == nil && m.Bytes != uint64(len(r.b)) {
		r.fail(wire.ErrShort)
	}
	for _, x := range r.b {
		if x != 0 {
			r.fail(wire.ErrNonCanonical)
			break
		}
	}
	r.b = nil
	return m
}

// Result is a provider's result for a unit. It stands for the provider's
// signed chain.ResultCommit transaction (signatures are modeled): the
// committee includes it with the provider's next nonce, so the result
// hash is on chain and the result itself is delivered off chain. Failed
// says the unit could not run (not enough memory); Root is the Merkle root
// of the checkpoints when the assignment asked for it.
type Result struct {
	Job    JobID
	Unit   uint32
	Result Hash
	Root   Hash
	Failed bool
}

func (*Result) Kind() wire.Kind { return wire.KindResult }
func (m *Result) AppendBody(b []byte) []byte {
	b = append(b, m.Job[:]...)
	b = appendU(b, uint64(m.Unit))
	b = append(b, m.Result[:]...)
	b = append(b, m.Root[:]...)
	return appendFlag(b, m.Failed)
}
func (m *Result) WireSize() int {
	return wire.HeaderSize(wire.KindResult) + len(m.Job) + sizeU(uint64(m.Unit)) + 2*hashSize + 1
}
func decodeResult(r *reader) wire.Msg {
	m := &Result{}
	r.fixed(m.Job[:])
	m.Unit = r.u32()
	r.fixed(m.Result[:])
	r.fixed(m.Root[:])
	m.Failed = r.flag()
	return m
}

// Replay asks a validator to re-execute a unit (Whole) or its one step
// from checkpoint Step to Step+1 (a dispute's referee), and answer with
// the checkpoint it reaches. Provider and Claimed are public (the claim
// is on chain): an honest validator ignores them; a colluding one reads
// them.
type Replay struct {
	Check    uint64
	Job      JobID
	Unit     uint32
	Spec     Spec
	Whole    bool
	Step     uint32
	Provider protocol.NodeID
	Claimed  Hash
}

func (*Replay) Kind() wire.Kind { return wire.KindReplay }
func (m *Replay) AppendBody(b []byte) []byte {
	b = appendU(b, m.Check)
	b = append(b, m.Job[:]...)
	b = m.Spec.appendTo(appendU(b, uint64(m.Unit)))
	b = appendFlag(b, m.Whole)
	b = appendU(b, uint64(m.Step), uint64(m.Provider))
	return append(b, m.Claimed[:]...)
}
func (m *Replay) WireSize() int {
	return wire.HeaderSize(wire.KindReplay) + sizeU(m.Check) + len(m.Job) + sizeU(uint64(m.Unit)) + m.Spec.size() + 1 +
		sizeU(uint64(m.Step), uint64(m.Provider)) + hashSize
}
func decodeReplay(r *reader) wire.Msg {
	m := &Replay{Check: r.u64()}
	r.fixed(m.Job[:])
	m.Unit = r.u32()
	m.Spec = readSpec(r)
	m.Whole = r.flag()
	m.Step, m.Provider = r.u32(), protocol.NodeID(r.u32())
	r.fixed(m.Claimed[:])
	return m
}

// Target is the checkpoint a replay reaches: the result for a whole unit,
// Step+1 for a referee's one step.
func (m *Replay) Target() uint32 {
	if m.Whole {
		return m.Spec.Steps
	}
	return m.Step + 1
}

// Verdict is a validator's re-executed checkpoint for a Replay.
type Verdict struct {
	Check  uint64
	Result Hash
}

func (*Verdict) Kind() wire.Kind { return wire.KindVerdict }
func (m *Verdict) AppendBody(b []byte) []byte {
	return append(appendU(b, m.Check), m.Result[:]...)
}
func (m *Verdict) WireSize() int {
	return wire.HeaderSize(wire.KindVerdict) + sizeU(m.Check) + hashSize
}
func decodeVerdict(r *reader) wire.Msg {
	m := &Verdict{Check: r.u64()}
	r.fixed(m.Result[:])
	return m
}

// DisputeQuery asks a party to a dispute for its checkpoint at Step of a
// unit of Steps steps.
type DisputeQuery struct {
	Job         JobID
	Unit        uint32
	Step, Steps uint32
}

func (*DisputeQuery) Kind() wire.Kind { return wire.KindDisputeQuery }
func (m *DisputeQuery) AppendBody(b []byte) []byte {
	return appendU(append(b, m.Job[:]...), uint64(m.Unit), uint64(m.Step), uint64(m.Steps))
}
func (m *DisputeQuery) WireSize() int {
	return wire.HeaderSize(wire.KindDisputeQuery) + len(m.Job) + sizeU(uint64(m.Unit), uint64(m.Step), uint64(m.Steps))
}
func decodeDisputeQuery(r *reader) wire.Msg {
	m := &DisputeQuery{}
	r.fixed(m.Job[:])
	m.Unit, m.Step, m.Steps = r.u32(), r.u32(), r.u32()
	return m
}

// MaxProof bounds a Merkle proof's length (a tree of 2⁶⁴ leaves).
const MaxProof = 64

// DisputeReveal is a party's checkpoint at Step with its Merkle proof
// against the root it committed with its result.
type DisputeReveal struct {
	Job        JobID
	Unit, Step uint32
	Checkpoint Hash
	Proof      []Hash
}

func (*DisputeReveal) Kind() wire.Kind { return wire.KindDisputeReveal }
func (m *DisputeReveal) AppendBody(b []byte) []byte {
	b = appendU(append(b, m.Job[:]...), uint64(m.Unit), uint64(m.Step))
	b = append(b, m.Checkpoint[:]...)
	b = appendU(b, uint64(len(m.Proof)))
	for _, h := range m.Proof {
		b = append(b, h[:]...)
	}
	return b
}
func (m *DisputeReveal) WireSize() int {
	return wire.HeaderSize(wire.KindDisputeReveal) + len(m.Job) + sizeU(uint64(m.Unit), uint64(m.Step)) + hashSize +
		sizeU(uint64(len(m.Proof))) + len(m.Proof)*hashSize
}
func decodeDisputeReveal(r *reader) wire.Msg {
	m := &DisputeReveal{}
	r.fixed(m.Job[:])
	m.Unit, m.Step = r.u32(), r.u32()
	r.fixed(m.Checkpoint[:])
	n := r.bounded(MaxProof, "proof length")
	if r.err == nil && n > 0 {
		m.Proof = make([]Hash, n)
		for i := range m.Proof {
			r.fixed(m.Proof[i][:])
		}
	}
	return m
}
