package attack

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/wire"
)

// Federated-learning attacks. Each wraps an honest learn.Learner (or
// learn.Validator) and changes what it submits to its GPU or sends, so
// the honest node code stays free of attack branches:
//
//   - PoisonData swaps the training job for one the driver builds over
//     poisoned data: label flipping (source class relabelled as the
//     target class), and Sybil label flipping when k identities share one
//     poisoned shard;
//   - ScaleUpdates multiplies the honest delta by s: sign flipping with
//     s < 0, boosting with s > 1;
//   - LittleIsEnough sends mean − z·σ of the honest updates (Baruch et
//     al. 2019);
//   - FreeRide trains nothing and sends a zero or stale update;
//   - InflateScores makes a validator report its coalition's updates as
//     the best it scored.

// learnEnv is an Env whose Send and Submit go through the decorator that
// owns it (nil hooks pass through). Like hookEnv, one value per decorator
// is pointed at the driver's Env for the length of each Handle call.
type learnEnv struct {
	protocol.Env
	send   func(env protocol.Env, to protocol.NodeID, m wire.Msg)
	submit func(env protocol.Env, job gpu.Job) protocol.JobID
}

func (h *learnEnv) Send(to protocol.NodeID, m wire.Msg) {
	if h.send == nil {
		h.Env.Send(to, m)
		return
	}
	h.send(h.Env, to, m)
}

func (h *learnEnv) Submit(job gpu.Job) protocol.JobID {
	if h.submit == nil {
		return h.Env.Submit(job)
	}
	return h.submit(h.Env, job)
}

func (h *learnEnv) run(inner protocol.Node, env protocol.Env, in protocol.Input) {
	h.Env = env
	inner.Handle(h, in)
	h.Env = nil
}

// roundView is what a wrapped learner has seen of the rounds: the newest
// announced model and the one before it.
type roundView struct {
	round        uint64
	version      learn.Hash
	global, prev []float64
}

// see records a Model arriving, before the inner node handles it.
func (v *roundView) see(in protocol.Input) {
	if r, ok := in.(protocol.Recv); ok {
		if m, ok := r.Msg.(*learn.Model); ok && m.Round > v.round {
			v.round, v.version, v.prev, v.global = m.Round, m.Version, v.global, m.Params
		}
	}
}

// PoisonData wraps a learner so that each training job it submits is
// replaced by poisoned(self, round, global): the same round and model,
// over data the driver poisoned. The data lives in the driver, so the
// poison does too; the decorator only decides that the poisoned job runs.
// Label flipping is a poisoned factory that relabels the source class as
// the target class; Sybil label flipping is k identities wrapped with one
// factory over one shared poisoned shard, so their updates agree.
func PoisonData(inner protocol.Node, poisoned learn.TrainFunc) protocol.Node {
	p := &poisonData{inner: inner, poisoned: poisoned}
	p.env.submit = p.submit
	return p
}

type poisonData struct {
	inner    protocol.Node
	poisoned learn.TrainFunc
	env      learnEnv
	view     roundView
}

func (p *poisonData) Handle(env protocol.Env, in protocol.Input) {
	p.view.see(in)
	p.env.run(p.inner, env, in)
}

func (p *poisonData) submit(env protocol.Env, job gpu.Job) protocol.JobID {
	if p.view.global == nil {
		return env.Submit(job)
	}
	return env.Submit(p.poisoned(env.Self(), p.view.round, p.view.global))
}

// mapUpdates is the shared part of the decorators that rewrite a
// learner's update: the delta its training job returns is rewritten
// before the inner learner sees it, so the learner sends the rewritten
// update wherever it sends one — the same message to every receiver in
// clear, and masked into its input under secure aggregation, where no
// one but the learner ever sees the update.
type mapUpdates struct {
	inner protocol.Node
	env   learnEnv
	view  roundView
	f     func(u *learn.LocalUpdate, view *roundView) *learn.LocalUpdate
}

func newMapUpdates(inner protocol.Node, f func(*learn.LocalUpdate, *roundView) *learn.LocalUpdate) *mapUpdates {
	return &mapUpdates{inner: inner, f: f}
}

func (m *mapUpdates) Handle(env protocol.Env, in protocol.Input) {
	m.view.see(in)
	if d, ok := in.(protocol.JobDone); ok && d.Result.Err == "" && m.view.global != nil {
		if delta, ok := d.Result.Output.([]float64); ok {
			d.Result.Output = m.f(&learn.LocalUpdate{Round: m.view.round, Base: m.view.version, Delta: delta}, &m.view).Delta
			in = d
		}
	}
	m.env.run(m.inner, env, in)
}

// withDelta is u with another delta; u itself is shared and stays as is.
func withDelta(u *learn.LocalUpdate, d []float64) *learn.LocalUpdate {
	c := *u
	c.Delta = d
	return &c
}

// ScaleUpdates wraps a learner so that its update is s times the honest
// delta. s = −1 is sign flipping, which pushes the model up the loss;
// s = −10 flips and boosts; s = 10 boosts an update so it dominates a mean.
func ScaleUpdates(inner protocol.Node, s float64) protocol.Node {
	return newMapUpdates(inner, func(u *learn.LocalUpdate, _ *roundView) *learn.LocalUpdate {
		d := slices.Clone(u.Delta)
		for i := range d {
			d[i] *= s
		}
		return withDelta(u, d)
	})
}

// SignFlip is ScaleUpdates with −s: the honest delta reversed and scaled
// by s > 0.
func SignFlip(inner protocol.Node, s float64) protocol.Node { return ScaleUpdates(inner, -s) }

// HonestStats returns the coordinate-wise mean and standard deviation of
// the honest learners' updates in a round trained from base, or ok=false
// if they are not known.
type HonestStats func(round uint64, base learn.Hash) (mean, sd []float64, ok bool)

// LittleIsEnough wraps a learner so that it sends mean − z·σ of the
// honest updates, coordinate by coordinate ("A little is enough", Baruch,
// Baruch & Goldberg 2019): a shift small enough that median, trimmed mean
// and Krum take the colluders for honest, large enough, round after
// round, to stall training. The colluders need the honest statistics; as
// in the paper's threat model they are taken to know them, and stats is
// where the driver supplies them (in dais, from the honest learners'
// actual updates of the round). When stats has none, the honest update
// goes out. ALIEZ gives the paper's z for n learners and m colluders.
func LittleIsEnough(inner protocol.Node, z float64, stats HonestStats) protocol.Node {
	return newMapUpdates(inner, func(u *learn.LocalUpdate, _ *roundView) *learn.LocalUpdate {
		mean, sd, ok := stats(u.Round, u.Base)
		if !ok || len(mean) != len(u.Delta) || len(sd) != len(u.Delta) {
			return u
		}
		d := make([]float64, len(mean))
		for i := range d {
			d[i] = mean[i] - z*sd[i]
		}
		return withDelta(u, d)
	})
}

// ALIEZ is z_max of Baruch et al. (2019) for n learners of which m
// collude: the colluders need s = ⌊n/2+1⌋ − m honest learners to sit
// farther from the mean than they do, so z = Φ⁻¹((n−s)/n). It is 0 when
// s ≥ n/2 (too few colluders to shift anything) and capped at
// Φ⁻¹(1 − 1/(2n)) when m reaches a majority.
func ALIEZ(n, m int) float64 {
	if n <= 0 {
		return 0
	}
	s := n/2 + 1 - m
	p := float64(n-s) / float64(n)
	p = math.Min(math.Max(p, 0.5), 1-1/(2*float64(n)))
	return distuv.UnitNormal.Quantile(p)
}

// FreeRideConfig configures a free rider.
type FreeRideConfig struct {
	// Stale sends the change between the last two announced models (what
	// the federation itself learned last round) instead of zeros: a free
	// rider's camouflage (Lin et al. 2019).
	Stale bool
	// Delay is how long it pretends to train before sending.
	Delay protocol.Duration
}

// FreeRide wraps a learner so that it never trains: its training job is
// swallowed and, Delay later, the learner is handed a zero (or stale)
// delta as if the job had finished. It still claims its sample count, so
// a weighted mean dilutes the honest updates with nothing, and it saves
// its GPU time while asking for the reward.
func FreeRide(inner protocol.Node, cfg FreeRideConfig) protocol.Node {
	f := &freeRide{inner: inner, cfg: cfg, pending: map[protocol.TimerID]fakeJob{}}
	f.env.submit = f.submit
	return f
}

type fakeJob struct {
	id    protocol.JobID
	delta []float64
}

type freeRide struct {
	inner   protocol.Node
	cfg     FreeRideConfig
	env     learnEnv
	view    roundView
	next    protocol.JobID
	pending map[protocol.TimerID]fakeJob
}

// fakeJobBase keeps the free rider's job IDs apart from any the driver
// gives out (drivers count up from 1).
const fakeJobBase protocol.JobID = 1 << 63

func (f *freeRide) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		if in.Rejoin {
			clear(f.pending) // its timers died with it
		}
	case protocol.TimerFired:
		if j, ok := f.pending[in.ID]; ok {
			delete(f.pending, in.ID)
			f.env.run(f.inner, env, protocol.JobDone{ID: j.id, Result: gpu.Result{Output: j.delta}})
			return
		}
	}
	f.view.see(in)
	f.env.run(f.inner, env, in)
}

func (f *freeRide) submit(env protocol.Env, _ gpu.Job) protocol.JobID {
	f.next++
	id := fakeJobBase + f.next
	d := make([]float64, len(f.view.global))
	if f.cfg.Stale && len(f.view.prev) == len(d) {
		for i := range d {
			d[i] = f.view.global[i] - f.view.prev[i]
		}
	}
	f.pending[env.SetTimer(f.cfg.Delay, 0)] = fakeJob{id: id, delta: d}
	return id
}

// InflateScores wraps a validator so that, in every Scores message it
// sends, each coalition member it scored gets the highest score it gave
// anyone in that message: colluding validators vouching for their
// coalition's (poisoned or empty) updates to win them the reward and,
// with a score filter, a place in the aggregate. coalition must be
// ascending. The coordinator takes the median over validators, so a
// minority of colluding validators cannot move a learner's score past
// the honest validators' range.
func InflateScores(inner protocol.Node, coalition []protocol.NodeID) protocol.Node {
	v := &inflate{inner: inner, coalition: slices.Clone(coalition)}
	v.env.send = v.send
	return v
}

type inflate struct {
	inner     protocol.Node
	coalition []protocol.NodeID
	env       learnEnv
}

func (v *inflate) Handle(env protocol.Env, in protocol.Input) { v.env.run(v.inner, env, in) }

func (v *inflate) send(env protocol.Env, to protocol.NodeID, m wire.Msg) {
	s, ok := m.(*learn.Scores)
	if !ok || len(s.Scores) == 0 {
		env.Send(to, m)
		return
	}
	top := math.Inf(-1)
	for _, x := range s.Scores {
		if x > top { // skips NaN, which slices.Max would return
			top = x
		}
	}
	c := *s
	c.Scores = slices.Clone(s.Scores)
	for i, l := range s.Learners {
		if _, member := slices.BinarySearch(v.coalition, l); member {
			c.Scores[i] = top
		}
	}
	env.Send(to, &c)
}
