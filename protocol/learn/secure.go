package learn

import (
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/secagg"
	"github.com/dais-sim/dais/protocol/wire"
)

// Secure aggregation (protocol/secagg, Bonawitz et al. 2017) in a round:
// the coordinator learns the sum of the learners' updates and nothing
// about any one of them.
//
//	Coordinator ──Model──▶ Learners: train, and at once ──Keys──▶
//	Coordinator ──KeyList──▶ Learners ──Shares──▶ Coordinator ──SharesFor──▶ each Learner
//	Learner, trained and holding its shares ──Masked{w·Δ, w}──▶ Coordinator
//	Coordinator ──Survivors──▶ Learners ──Unmask──▶ Coordinator: Σ w·Δ / Σ w → Committed
//
// Keys and shares are exchanged while the learners train. An input is a
// learner's update weighted by its sample count, with the count as one
// more coordinate (fixed point, SecureConfig.FracBits), so the sum
// decodes to FedAvg's weighted mean; with DP (SecureLearner.Clip) each
// learner clips its update, adds its part of the Gaussian noise and
// weighs it 1, so the sum decodes to DP-FedAvg's noisy mean.
//
// Which rules work: FedAvg and DP-FedAvg with noise added by learners —
// rules that need only the sum. Krum, median, trimmed mean and FoolsGold
// compare individual updates, which the coordinator no longer sees; so
// do the validators' per-update scores, the score filter and the norm
// bound, so payouts under secure aggregation split each round's pot
// equally among the learners whose inputs are in the sum. That is the
// robustness the privacy costs: a poisoned update goes into the sum
// unseen.

// SecureConfig turns secure aggregation on for a coordinator.
type SecureConfig struct {
	// Threshold is t as a share of a round's selected learners: t =
	// ⌈Threshold·n⌉, at least secagg.MinThreshold(n). A round survives
	// up to n − t learners dropping out after sharing.
	Threshold float64
	// FracBits is the fixed-point precision of inputs.
	FracBits int
	// StepTimeout bounds the key, share and unmasking phases; the masked
	// inputs are awaited until RoundTimeout from the round's start.
	StepTimeout protocol.Duration
	// KA is the key agreement; nil is X25519.
	KA secagg.KeyAgreement
}

// SecureLearner turns secure aggregation on for a learner.
type SecureLearner struct {
	FracBits int
	// Clip and Sigma, if Clip > 0, make the learner's input DP-FedAvg's:
	// its update clipped to an L2 norm of Clip, plus Gaussian noise of sd
	// Sigma·Clip/√m, m the learners in the round's KeyList, weight 1: the
	// sum of m such inputs carries noise of sd Sigma·Clip, as central
	// DP-FedAvg adds (fewer, when learners drop out).
	Clip, Sigma float64
	// Entropy is the learner's randomness (keys, seeds, noise); nil draws
	// from env.Rand, the simulator's seeded stream. A live node passes
	// crypto/rand.Reader.
	Entropy io.Reader
	KA      secagg.KeyAgreement
}

// SecureRound is emitted by the coordinator when a securely aggregated
// round ends: how many learners reached each phase, and where it failed.
type SecureRound struct {
	Round     uint64
	Selected  int
	Threshold int
	// Keys, Shared, Masked and Unmasked count the learners that
	// advertised keys (U1), shared (U2), sent a masked input (U3) and
	// answered the unmasking (U5).
	Keys, Shared, Masked, Unmasked int
	// Failed is the phase the round failed at (secagg.Phase*), "" if the
	// sum was unmasked.
	Failed string
}

// Kind implements metrics.Event.
func (SecureRound) Kind() string { return "learn.secure_round" }

// SecureWork is emitted by a learner or the coordinator after each step
// of secure aggregation: the operations it performed, whose time a
// simulator charges (secagg.Cost); live, the time is simply spent.
type SecureWork struct {
	Round uint64
	// Step is the step just done: for a learner SecureKeys, SecureShared,
	// SecureReceived, SecureMasked or SecureUnmasked; for the coordinator
	// the secagg phase it closed.
	Step string
	Work secagg.Work
}

// A learner's steps, as SecureWork names them.
const (
	SecureKeys     = "keys"
	SecureShared   = "shared"
	SecureReceived = "received"
	SecureMasked   = "masked"
	SecureUnmasked = "unmasked"
)

// Kind implements metrics.Event.
func (SecureWork) Kind() string { return "learn.secure_work" }

// secureCoord is the coordinator's secure-aggregation state in a round.
type secureCoord struct {
	round   uint64
	server  *secagg.Server
	t       int
	phase   string // the secagg phase being collected
	started protocol.Time
	work    secagg.Work
}

func (c *Coordinator) secureStart(env protocol.Env) {
	s := c.cfg.Secure
	n := len(c.selected)
	t := min(max(int(math.Ceil(s.Threshold*float64(n))), secagg.MinThreshold(n)), n)
	c.sec = &secureCoord{round: c.round, t: t, phase: secagg.PhaseKeys, started: env.Now(),
		server: secagg.NewServer(secagg.ServerConfig{Round: c.round, Threshold: t, Dim: len(c.params) + 1, KA: s.KA})}
	c.timer = env.SetTimer(s.StepTimeout, tag(c.round, collecting))
}

// emitWork emits the server's work since the last call, for the phase
// just closed.
func (sc *secureCoord) emitWork(env protocol.Env, phase string) {
	w := sc.server.Work()
	d := w.Sub(sc.work)
	sc.work = w
	if d != (secagg.Work{}) {
		env.Emit(SecureWork{Round: sc.round, Step: phase, Work: d})
	}
}

// secureRecv takes a learner's secure-aggregation message; it reports
// whether m was one.
func (c *Coordinator) secureRecv(env protocol.Env, from protocol.NodeID, m wire.Msg) bool {
	sc := c.sec
	var err error
	var all bool
	switch m := m.(type) {
	case *secagg.Keys:
		if sc == nil || sc.phase != secagg.PhaseKeys || !contains(c.selected, from) {
			return true
		}
		err = sc.server.AddKeys(from, m)
		u1, _, _, _ := sc.server.Counts()
		all = u1 == len(c.selected)
	case *secagg.Shares:
		if sc == nil || sc.phase != secagg.PhaseShares {
			return true
		}
		err = sc.server.AddShares(from, m)
		u1, u2, _, _ := sc.server.Counts()
		all = u2 == u1
	case *secagg.Masked:
		if sc == nil || sc.phase != secagg.PhaseMasked {
			c.rejectLate(env, from, m.Round)
			return true
		}
		err = sc.server.AddMasked(from, m)
		_, u2, u3, _ := sc.server.Counts()
		all = u3 == u2
	case *secagg.Unmask:
		if sc == nil || sc.phase != secagg.PhaseUnmask {
			return true
		}
		err = sc.server.AddUnmask(from, m)
		_, _, u3, u5 := sc.server.Counts()
		all = u5 == u3
	default:
		return false
	}
	if err == nil && all {
		env.CancelTimer(c.timer)
		c.secureClose(env)
	}
	return true
}

func (c *Coordinator) rejectLate(env protocol.Env, from protocol.NodeID, round uint64) {
	env.Emit(Rejected{Round: round, Learner: from, Reason: RejectLate})
}

// secureClose ends the phase being collected and starts the next, or
// ends the round.
func (c *Coordinator) secureClose(env protocol.Env) {
	sc := c.sec
	srv := sc.server
	step := c.cfg.Secure.StepTimeout
	phase := sc.phase
	var err error
	switch sc.phase {
	case secagg.PhaseKeys:
		var l *secagg.KeyList
		if l, err = srv.CloseKeys(); err == nil {
			for _, id := range l.Clients {
				env.Send(id, l)
			}
			sc.phase = secagg.PhaseShares
			c.timer = env.SetTimer(step, tag(c.round, collecting))
		}
	case secagg.PhaseShares:
		var ds []secagg.Delivery
		if ds, err = srv.CloseShares(); err == nil {
			for _, d := range ds {
				env.Send(d.To, d.Msg)
			}
			sc.phase = secagg.PhaseMasked
			wait := max(sc.started.Add(c.cfg.RoundTimeout).Sub(env.Now()), step)
			c.timer = env.SetTimer(wait, tag(c.round, collecting))
		}
	case secagg.PhaseMasked:
		var sv *secagg.Survivors
		if sv, err = srv.CloseMasked(); err == nil {
			for _, id := range sv.Clients {
				env.Send(id, sv)
			}
			sc.phase = secagg.PhaseUnmask
			c.timer = env.SetTimer(step, tag(c.round, collecting))
		}
	case secagg.PhaseUnmask:
		var sum []uint64
		sum, err = srv.Sum()
		if err == nil {
			sc.emitWork(env, phase)
			c.secureCommit(env, secagg.Decode(sum, c.cfg.Secure.FracBits))
			return
		}
	}
	sc.emitWork(env, phase)
	if err != nil {
		c.secureEnd(env, err)
		ev := Committed{Round: c.round, Parent: c.parent, Skipped: true, Final: c.final()}
		c.commit(env, ev)
	}
}

// secureEnd emits the round's SecureRound.
func (c *Coordinator) secureEnd(env protocol.Env, err error) {
	u1, u2, u3, u5 := c.sec.server.Counts()
	ev := SecureRound{Round: c.round, Selected: len(c.selected), Threshold: c.sec.t,
		Keys: u1, Shared: u2, Masked: u3, Unmasked: u5}
	if f, ok := err.(*secagg.Failure); ok {
		ev.Failed = f.Phase
	} else if err != nil {
		ev.Failed = secagg.PhaseRebuild
	}
	env.Emit(ev)
	c.sec = nil
}

func (c *Coordinator) final() bool { return c.cfg.Rounds > 0 && c.round >= c.cfg.Rounds }

// secureCommit pays the learners in the sum equally, applies the sum's
// weighted mean and commits.
func (c *Coordinator) secureCommit(env protocol.Env, sum []float64) {
	u3 := slices.Clone(c.sec.server.U3())
	c.secureEnd(env, nil)
	ev := Committed{Round: c.round, Parent: c.version, Updates: len(u3), Accepted: len(u3), Final: c.final()}
	if c.cfg.Pot > 0 {
		ones := make([]float64, len(u3))
		for i := range ones {
			ones[i] = 1
		}
		pay, _ := Payouts(ones, c.cfg.Pot)
		for i, l := range u3 {
			env.Emit(Scored{Round: c.round, Learner: l, Accepted: true, Payout: pay[i], Pot: c.cfg.Pot})
			if c.chain != nil {
				c.pay = append(c.pay, credit{learner: l, amount: pay[i]})
			}
		}
	}
	d := len(c.params)
	w := sum[d]
	if !(w > 0) || len(u3) < max(c.cfg.MinUpdates, 1) {
		ev.Skipped, ev.Parent = true, c.parent
		c.commit(env, ev)
		return
	}
	next := make([]float64, d)
	for i := range next {
		next[i] = c.params[i] + sum[i]/w
	}
	c.parent, c.params = c.version, next
	c.version = VersionOf(c.parent, c.params)
	c.commit(env, ev)
}

// secureLearner is a learner's state in the round it takes part in.
type secureLearner struct {
	round    uint64
	client   *secagg.Client
	m        int       // learners in the KeyList
	delta    []float64 // its update, once trained
	received bool
	sent     bool
	work     secagg.Work
}

func (l *Learner) entropy(env protocol.Env) io.Reader {
	if e := l.cfg.Secure.Entropy; e != nil {
		return e
	}
	return secagg.StreamReader{R: env.Rand()}
}

// secureJoin starts the learner's part in round r: its keys go to the
// coordinator while it trains.
func (l *Learner) secureJoin(env protocol.Env, r uint64, dim int) {
	c, keys, err := secagg.NewClient(secagg.ClientConfig{ID: env.Self(), Round: r, Dim: dim + 1, KA: l.cfg.Secure.KA}, l.entropy(env))
	if err != nil {
		l.sec = nil
		return
	}
	l.sec = &secureLearner{round: r, client: c}
	l.secureWork(env, SecureKeys)
	env.Send(l.cfg.Coordinator, keys)
}

// secureRecv takes the coordinator's secure-aggregation messages; it
// reports whether m was one. A step the client refuses ends its part in
// the round.
func (l *Learner) secureRecv(env protocol.Env, m wire.Msg) bool {
	s := l.sec
	var err error
	var step string
	switch m := m.(type) {
	case *secagg.KeyList:
		if s == nil || m.Round != s.round {
			return true
		}
		var sh *secagg.Shares
		if sh, err = s.client.Share(m, l.entropy(env)); err == nil {
			s.m, step = len(m.Clients), SecureShared
			env.Send(l.cfg.Coordinator, sh)
		}
	case *secagg.SharesFor:
		if s == nil || m.Round != s.round {
			return true
		}
		if err = s.client.Receive(m); err == nil {
			s.received, step = true, SecureReceived
			l.secureWork(env, step)
			l.secureMask(env)
			return true
		}
	case *secagg.Survivors:
		if s == nil || m.Round != s.round {
			return true
		}
		var u *secagg.Unmask
		if u, err = s.client.Unmask(m); err == nil {
			step = SecureUnmasked
			env.Send(l.cfg.Coordinator, u)
		}
	default:
		return false
	}
	l.secureWork(env, step)
	if err != nil {
		l.sec = nil
	}
	return true
}

// secureTrained takes the learner's update for the round.
func (l *Learner) secureTrained(env protocol.Env, round uint64, delta []float64) {
	if s := l.sec; s != nil && s.round == round {
		s.delta = delta
		l.secureMask(env)
	}
}

// secureMask sends the masked input once the learner has both its update
// and its shares.
func (l *Learner) secureMask(env protocol.Env) {
	s := l.sec
	if s == nil || s.delta == nil || !s.received || s.sent {
		return
	}
	cfg := l.cfg.Secure
	in := make([]float64, len(s.delta)+1)
	if cfg.Clip > 0 {
		copy(in, ClipNorm(s.delta, cfg.Clip))
		var seed [32]byte
		if _, err := io.ReadFull(l.entropy(env), seed[:]); err != nil {
			l.sec = nil
			return
		}
		GaussianNoise(in[:len(s.delta)], cfg.Sigma*math.Sqrt(float64(s.m)), cfg.Clip, s.m, rand.New(rand.NewChaCha8(seed)))
		in[len(s.delta)] = 1
	} else {
		w := float64(max(l.cfg.Samples, 1))
		for i, x := range s.delta {
			in[i] = w * x
		}
		in[len(s.delta)] = w
	}
	x, err := secagg.Encode(in, cfg.FracBits)
	if err != nil {
		l.sec = nil // an update out of the fixed-point range: the learner sits the round out
		return
	}
	m, err := s.client.Mask(x)
	if err != nil {
		l.sec = nil
		return
	}
	s.sent = true
	l.secureWork(env, SecureMasked)
	env.Send(l.cfg.Coordinator, m)
}

// secureWork emits the learner's step and the work it took; a step
// refused (step "") emits nothing.
func (l *Learner) secureWork(env protocol.Env, step string) {
	s := l.sec
	if s == nil || step == "" {
		return
	}
	w := s.client.Work()
	d := w.Sub(s.work)
	s.work = w
	env.Emit(SecureWork{Round: s.round, Step: step, Work: d})
}
