package node

import (
	"crypto/sha256"
	"encoding/binary"
	"math"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/kernel"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/verify"
	"github.com/dais-sim/dais/protocol/wire"
)

// Real work for the marketplace's units. In the protocol a unit's result
// is a modeled hash (verify.Honest: a pure function of the unit); live, a
// provider really computes, and the hash it commits is the hash of what it
// computed, so that verification (replicas agreeing, a validator's
// re-execution) compares real outputs.

// MatMul is the real computation standing for a work unit (gpu/kernel,
// where gpu/bench times the same code for a hardware profile); its output
// is the kernel's digest as the protocol's hash.
type MatMul struct{ kernel.MatMul }

// Run implements gpu.Work: the product's digest, a verify.Hash.
func (w MatMul) Run() (any, error) { return verify.Hash(w.Sum()), nil }

// DefaultMaxWorkFLOPs caps the real work of one unit (MarketSpec's
// max_work_flops): a unit that states more FLOPs computes this many, and
// its measured duration is of what ran.
const DefaultMaxWorkFLOPs = 4e9

// UnitWork is the MatMul of one unit (step 0) or one step of it (a
// referee's replay: step+1), sized to flops (at most maxFLOPs).
func UnitWork(job chain.JobID, unit, step uint32, flops, maxFLOPs float64) MatMul {
	b := append([]byte("dais/live-work\x00"), job[:]...)
	b = binary.BigEndian.AppendUint32(b, unit)
	b = binary.BigEndian.AppendUint32(b, step)
	h := sha256.Sum256(b)
	return MatMul{kernel.ForFLOPs(binary.BigEndian.Uint64(h[:8]), math.Min(flops, maxFLOPs))}
}

// LiveResult is the result hash a live provider commits for a unit whose
// real output hashed to digest (and a validator's verdict on a whole
// unit it re-executed): replicas agree exactly when their outputs do.
func LiveResult(job chain.JobID, unit uint32, digest verify.Hash) verify.Hash {
	var b [16 + len(job) + 4 + len(digest)]byte
	copy(b[:], "dais/live-result")
	copy(b[16:], job[:])
	binary.BigEndian.PutUint32(b[16+len(job):], unit)
	copy(b[20+len(job):], digest[:])
	return sha256.Sum256(b[:])
}

// realWork decorates a market.Provider or market.Validator: the units it
// submits carry their MatMul, and the result hash it sends for a unit (or
// the verdict on a whole unit it replayed) becomes LiveResult of the
// output. A step replay (a bisection referee) runs its step's MatMul, but
// its verdict stays the modeled checkpoint, since the provider's
// checkpoints are modeled: MarketSpec therefore refuses bisection.
type realWork struct {
	inner    protocol.Node
	maxFLOPs float64

	cur  *workRef // the unit the input being handled asks for
	subs map[protocol.JobID]workRef
	out  *workRef // the unit whose JobDone is being handled
	// tamper, for tests, changes every output digest: a provider that
	// computes something else.
	tamper bool
}

type workRef struct {
	job    chain.JobID
	unit   uint32
	whole  bool
	digest verify.Hash
}

func newRealWork(inner protocol.Node, maxFLOPs float64) *realWork {
	if maxFLOPs <= 0 {
		maxFLOPs = DefaultMaxWorkFLOPs
	}
	return &realWork{inner: inner, maxFLOPs: maxFLOPs, subs: map[protocol.JobID]workRef{}}
}

// Handle implements protocol.Node.
func (w *realWork) Handle(env protocol.Env, in protocol.Input) {
	e := &realWorkEnv{Env: env, w: w}
	switch in := in.(type) {
	case protocol.Recv:
		switch m := in.Msg.(type) {
		case *market.Assign:
			w.cur = &workRef{job: m.Job, unit: m.Unit, whole: true}
		case *market.Replay:
			w.cur = &workRef{job: m.Job, unit: m.Unit, whole: m.Whole}
		}
		w.inner.Handle(e, in)
		w.cur = nil
		return
	case protocol.JobDone:
		ref, ok := w.subs[in.ID]
		delete(w.subs, in.ID)
		if ok && in.Result.Err == "" {
			if d, isHash := in.Result.Output.(verify.Hash); isHash {
				ref.digest = d
				if w.tamper {
					ref.digest[0] ^= 1
				}
				w.out = &ref
			}
		}
		w.inner.Handle(e, in)
		w.out = nil
		return
	}
	w.inner.Handle(e, in)
}

type realWorkEnv struct {
	protocol.Env
	w *realWork
}

func (e *realWorkEnv) Submit(j gpu.Job) protocol.JobID {
	cur := e.w.cur
	if cur == nil {
		return e.Env.Submit(j)
	}
	var step uint32
	if !cur.whole {
		step = 1 // a step replay's work differs from the unit's
	}
	j.Work = UnitWork(cur.job, cur.unit, step, j.FLOPs, e.w.maxFLOPs)
	id := e.Env.Submit(j)
	e.w.subs[id] = *cur
	return id
}

func (e *realWorkEnv) Send(to protocol.NodeID, m wire.Msg) {
	if o := e.w.out; o != nil {
		switch m := m.(type) {
		case *market.Result:
			if m.Job == o.job && m.Unit == o.unit && !m.Failed {
				m.Result = LiveResult(o.job, o.unit, o.digest)
			}
		case *market.Verdict:
			if o.whole {
				m.Result = LiveResult(o.job, o.unit, o.digest)
			}
		}
	}
	e.Env.Send(to, m)
}
