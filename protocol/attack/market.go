package attack

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/verify"
	"github.com/dais-sim/dais/protocol/wire"
)

// Marketplace attacks. They wrap an honest market.Provider or
// market.Validator:
//
//   - LazyWork skips a fraction of its units and answers with a result it
//     did not compute: random, or stale (its last real result). With the
//     fraction at 1 and stale results it is a free rider: it collects
//     assignments and computes nothing. When a unit's checkpoints are
//     asked for (bisection), it commits a trajectory that is honest up to
//     a random step and invented after it, so it can play its dispute —
//     and lose it on that step.
//   - ApproveRing makes a validator vouch for its ring's results without
//     re-executing them: colluding validators approving each other's
//     (or their providers') bad work.
//
// Sybil identities need no decorator: they are honest providers that
// share one GPU, which is how the runner builds them.

// LazyConfig sets up LazyWork.
type LazyConfig struct {
	// Fraction of assignments faked, in [0, 1].
	Fraction float64
	// Stale answers with the last result really computed (random until
	// there is one).
	Stale bool
	// Start is when faking begins.
	Start protocol.Time
}

// Faked is the ground truth of one faked result, for measuring detection.
type Faked struct {
	Job   market.JobID
	Unit  uint32
	Stale bool
}

// Kind implements metrics.Event.
func (Faked) Kind() string { return "attack.faked_result" }

// LazyWork wraps a provider so that it fakes a fraction of its units.
func LazyWork(inner protocol.Node, cfg LazyConfig) protocol.Node {
	l := &lazy{inner: inner, cfg: cfg, fakes: map[fakeKey][]verify.Hash{}}
	l.env.send = l.send
	return l
}

type fakeKey struct {
	job  market.JobID
	unit uint32
}

type lazy struct {
	inner protocol.Node
	cfg   LazyConfig
	env   hookEnv
	last  verify.Hash
	have  bool
	// fakes holds the committed fake trajectory of each faked unit, for
	// its dispute.
	fakes map[fakeKey][]verify.Hash
}

func (l *lazy) Handle(env protocol.Env, in protocol.Input) {
	if r, ok := in.(protocol.Recv); ok {
		switch m := r.Msg.(type) {
		case *market.Assign:
			if env.Now() >= l.cfg.Start && env.Rand().Float64() < l.cfg.Fraction {
				l.fake(env, r.From, m)
				return
			}
		case *market.DisputeQuery:
			if tr, ok := l.fakes[fakeKey{m.Job, m.Unit}]; ok {
				env.Send(r.From, market.Reveal(m, tr))
				return
			}
		}
	}
	l.env.run(l.inner, env, in)
}

// send remembers the last real result on its way out.
func (l *lazy) send(env protocol.Env, to protocol.NodeID, m wire.Msg) {
	if r, ok := m.(*market.Result); ok && !r.Failed {
		l.last, l.have = r.Result, true
	}
	env.Send(to, m)
}

// fake answers an assignment at once with a result it did not compute.
func (l *lazy) fake(env protocol.Env, committee protocol.NodeID, a *market.Assign) {
	rnd := env.Rand()
	steps := a.Spec.Steps
	tr := verify.Trajectory(a.Job, a.Unit, steps)
	from := 1 + uint32(rnd.IntN(int(steps))) // the first invented checkpoint
	var salt [8]byte
	binary.LittleEndian.PutUint64(salt[:], rnd.Uint64())
	for i := from; i <= steps; i++ {
		h := sha256.New()
		h.Write(salt[:])
		h.Write(tr[i][:])
		h.Sum(tr[i][:0])
	}
	stale := l.cfg.Stale && l.have
	if stale {
		tr[steps] = l.last
	}
	res := &market.Result{Job: a.Job, Unit: a.Unit, Result: tr[steps]}
	if a.Root {
		res.Root = verify.Root(tr)
		l.fakes[fakeKey{a.Job, a.Unit}] = tr
	}
	env.Emit(Faked{Job: a.Job, Unit: a.Unit, Stale: stale})
	env.Send(committee, res)
}

// Approved is the ground truth of one approval a ring validator gave
// without re-executing (a false approval when the claim was faked).
type Approved struct {
	Job      market.JobID
	Unit     uint32
	Provider protocol.NodeID
}

// Kind implements metrics.Event.
func (Approved) Kind() string { return "attack.ring_approval" }

// ApproveRing wraps a validator so that it answers any whole-unit replay
// of a ring member's result with that result (the claim is public on
// chain), at once and without computing; other replays it runs honestly.
func ApproveRing(inner protocol.Node, ring []protocol.NodeID) protocol.Node {
	r := slices.Clone(ring)
	slices.Sort(r)
	return &approveRing{inner: inner, ring: r}
}

type approveRing struct {
	inner protocol.Node
	ring  []protocol.NodeID
}

func (a *approveRing) Handle(env protocol.Env, in protocol.Input) {
	if r, ok := in.(protocol.Recv); ok {
		if m, ok := r.Msg.(*market.Replay); ok && m.Whole {
			if _, member := slices.BinarySearch(a.ring, m.Provider); member {
				env.Emit(Approved{Job: m.Job, Unit: m.Unit, Provider: m.Provider})
				env.Send(r.From, &market.Verdict{Check: m.Check, Result: m.Claimed})
				return
			}
		}
	}
	a.inner.Handle(env, in)
}
