// Package mux runs several protocol machines as one protocol.Node: an
// engine (consensus) and Apps beside it (the marketplace's roles,
// federated training), so that one node plays several roles without any
// of them knowing the others. The live node (live/node) and the
// simulator (sim/marketrun's committee on a BFT chain) compose their
// nodes with it, so a role runs the same way under both drivers.
//
// Routing is by what an input is: a message goes to every App whose Kinds
// hold its wire kind, in the order the Apps are listed (everything else to
// the engine), so several roles of one node may take one kind (the
// learning coordinator and a scoring validator both take updates); a timer
// fires in the App that set it and a job finishes in the App that
// submitted it, by ID; Start and Stop go to all. So a role of another
// protocol needs no change to the engine, and each App sees the Env it
// would see alone. A message an App sends to its own node goes through
// the driver, which hands it back to the node, so one node may play roles
// that talk to each other.
package mux

import (
	"slices"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
)

// App is one protocol machine running beside the engine, on the node's
// Env.
type App struct {
	// Name labels the App (logs, Started).
	Name string
	Node protocol.Node
	// Kinds are the wire kinds routed to the App. Apps of one node may
	// share a kind: each gets the message, in the order the Apps are
	// listed. A kind an App claims never reaches the engine.
	Kinds []wire.Kind
	// Ready, if not nil, holds the App's Start back until it reports
	// true; it is asked after the engine's Start and then every
	// Options.Poll. Messages for the App that arrive before are held (at
	// most Options.MaxHeld) and handed over after its Start. A role that
	// must not lose its first messages waits for the network.
	Ready func() bool
	// Observe, if not nil, sees each event the App emits, after the
	// node's sink has it; env is the App's Env, so Observe may act on
	// what it sees (send, emit).
	Observe func(env protocol.Env, ev metrics.Event)
}

// Options tune a Mux; the zero value is usable.
type Options struct {
	// Poll is how often an App that is not Ready is asked again; 0 means
	// 200 ms.
	Poll protocol.Duration
	// MaxHeld bounds the messages held for an App that has not started;
	// 0 means 1,024.
	MaxHeld int
	// Started, if not nil, is told when an App starts and how many
	// messages were held for it.
	Started func(name string, held int)
}

// Mux runs an engine and Apps as one protocol.Node (see the package doc).
type Mux struct {
	engine protocol.Node
	opts   Options
	apps   []*app
	byKind map[wire.Kind][]*app
	timers map[protocol.TimerID]*app
	jobs   map[protocol.JobID]*app
	poll   protocol.TimerID // 0: none set
}

type app struct {
	App
	started bool
	held    []protocol.Recv
}

// New returns the Mux of engine and apps.
func New(engine protocol.Node, apps []App, opts Options) *Mux {
	if opts.Poll <= 0 {
		opts.Poll = 200 * protocol.Millisecond
	}
	if opts.MaxHeld <= 0 {
		opts.MaxHeld = 1024
	}
	m := &Mux{engine: engine, opts: opts, byKind: map[wire.Kind][]*app{},
		timers: map[protocol.TimerID]*app{}, jobs: map[protocol.JobID]*app{}}
	for _, a := range apps {
		ma := &app{App: a}
		for _, k := range a.Kinds {
			if !slices.Contains(m.byKind[k], ma) {
				m.byKind[k] = append(m.byKind[k], ma)
			}
		}
		m.apps = append(m.apps, ma)
	}
	return m
}

// AppEnv is env as the App named name sees it (its timers and jobs come
// back to it), for a driver that hands the App something outside an
// input, between inputs; nil if no started App has that name.
func (m *Mux) AppEnv(env protocol.Env, name string) protocol.Env {
	for _, a := range m.apps {
		if a.Name == name && a.started {
			return &appEnv{Env: env, m: m, a: a}
		}
	}
	return nil
}

// Engine is the engine the Mux routes to.
func (m *Mux) Engine() protocol.Node { return m.engine }

// Handle implements protocol.Node.
func (m *Mux) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		if in.Rejoin {
			// The node was down: the driver dropped its timers and jobs,
			// the poll's among them. The started Apps rejoin with it.
			m.poll = 0
			clear(m.timers)
			clear(m.jobs)
		}
		m.engine.Handle(env, in)
		if in.Rejoin {
			for _, a := range m.apps {
				if a.started {
					m.deliver(env, a, in)
				}
			}
		}
		m.startReady(env)
	case protocol.Recv:
		apps, ok := m.byKind[in.Msg.Kind()]
		if !ok {
			m.engine.Handle(env, in)
			return
		}
		for _, a := range apps {
			switch {
			case a.started:
				m.deliver(env, a, in)
			case len(a.held) < m.opts.MaxHeld:
				a.held = append(a.held, in)
			}
		}
	case protocol.TimerFired:
		if in.ID == m.poll && m.poll != 0 {
			m.poll = 0
			m.startReady(env)
			return
		}
		if a, ok := m.timers[in.ID]; ok {
			delete(m.timers, in.ID)
			m.deliver(env, a, in)
			return
		}
		m.engine.Handle(env, in)
	case protocol.JobDone:
		if a, ok := m.jobs[in.ID]; ok {
			delete(m.jobs, in.ID)
			m.deliver(env, a, in)
			return
		}
		m.engine.Handle(env, in)
	case protocol.Stop:
		m.engine.Handle(env, in)
		for _, a := range m.apps {
			if a.started {
				m.deliver(env, a, in)
			}
		}
	default:
		m.engine.Handle(env, in)
	}
}

// startReady starts the Apps that are ready, and polls again for the rest.
func (m *Mux) startReady(env protocol.Env) {
	waiting := false
	for _, a := range m.apps {
		if a.started {
			continue
		}
		if a.Ready != nil && !a.Ready() {
			waiting = true
			continue
		}
		a.started = true
		if m.opts.Started != nil {
			m.opts.Started(a.Name, len(a.held))
		}
		m.deliver(env, a, protocol.Start{})
		held := a.held
		a.held = nil
		for _, r := range held {
			m.deliver(env, a, r)
		}
	}
	if waiting && m.poll == 0 {
		m.poll = env.SetTimer(m.opts.Poll, 0)
	}
}

func (m *Mux) deliver(env protocol.Env, a *app, in protocol.Input) {
	a.Node.Handle(&appEnv{Env: env, m: m, a: a}, in)
}

// appEnv is the Env an App sees: the node's, noting which timers and jobs
// are the App's.
type appEnv struct {
	protocol.Env
	m *Mux
	a *app
}

func (e *appEnv) SetTimer(after protocol.Duration, tag uint64) protocol.TimerID {
	id := e.Env.SetTimer(after, tag)
	e.m.timers[id] = e.a
	return id
}

func (e *appEnv) CancelTimer(id protocol.TimerID) {
	if e.m.timers[id] == e.a {
		delete(e.m.timers, id)
		e.Env.CancelTimer(id)
	}
}

func (e *appEnv) Emit(ev metrics.Event) {
	e.Env.Emit(ev)
	if e.a.Observe != nil {
		e.a.Observe(e, ev)
	}
}

func (e *appEnv) Submit(j gpu.Job) protocol.JobID {
	id := e.Env.Submit(j)
	e.m.jobs[id] = e.a
	return id
}

// KindRange is the wire kinds from first to last.
func KindRange(first, last wire.Kind) []wire.Kind {
	var ks []wire.Kind
	for k := first; k <= last; k++ {
		ks = append(ks, k)
	}
	return ks
}
