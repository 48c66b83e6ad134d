package node

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/wire"
)

// Services: protocols that run on a live node beside consensus (the
// marketplace, federated training). Each lives in its own file, which
// registers a builder from an init func (registerService); New asks every
// builder for its Service, routes the Services' Apps with the engine
// through one mux, subscribes the host to their topics, serves their
// collectors at /metrics and lets them fill their part of /status.
//
// The routing (mux) is by what an input is: a message goes to every App
// whose Kinds hold its wire kind, in the order the Apps are listed
// (everything else to the engine), so several roles of one node may take
// one kind (the learning coordinator and a scoring validator both take
// updates); a timer fires in the App that set it and a job finishes in
// the App that submitted it, by ID; Start and Stop go to all. So a role
// of another protocol needs no change to the engine, and each App sees
// the Env it would see alone. A message an App sends to its own node goes
// through the p2p host, which hands it back to the node's inbox
// (p2p.Host.Send), so one node may play roles that talk to each other.

// App is one protocol machine running beside the engine, on the node
// goroutine and the node's Env.
type App struct {
	// Name labels logs.
	Name string
	Node protocol.Node
	// Kinds are the wire kinds routed to the App. Apps of one node may
	// share a kind: each gets the message, in the order the Apps are
	// listed. A kind an App claims never reaches the engine.
	Kinds []wire.Kind
	// Ready, if not nil, holds the App's Start back until it reports
	// true; it runs on the node goroutine, after the engine's Start and
	// then every appPoll. Messages for the App that arrive before are
	// held (at most maxHeld) and handed over after its Start. A role
	// that must not lose its first messages waits for the network.
	Ready func() bool
	// Observe, if not nil, sees each event the App emits, on the node
	// goroutine, after the node's sink has it; env is the App's Env, so
	// Observe may act on what it sees (send, emit).
	Observe func(env protocol.Env, ev metrics.Event)
}

// Service is what one protocol brings to a node.
type Service struct {
	Name string
	Apps []App
	// Topics are the gossipsub topics the Apps publish on.
	Topics []wire.Topic
	// Sends are the wire kinds the Apps send: frames of these kinds (and
	// of the kinds the Apps take) leave through a queue per peer, off the
	// node goroutine (appsend.go), so a peer that hangs cannot hold up
	// consensus.
	Sends []wire.Kind
	// Collectors are registered with the node's /metrics registry.
	Collectors []prometheus.Collector
	// Status, if not nil, fills the service's part of a Status. It is
	// called from any goroutine, so it must read a snapshot the Apps
	// publish under a lock, never their state.
	Status func(*Status)
}

// ServiceContext is what a service builder may use of the node.
type ServiceContext struct {
	Network *Network
	ID      protocol.NodeID
	Log     *slog.Logger
	// Height is the node's committed consensus height; call it on the
	// node goroutine only (from an App or a Ready func).
	Height func() uint64
	// Connected reports whether the node is connected to a peer; safe
	// anywhere.
	Connected func(protocol.NodeID) bool
	// Ledger is the node's ledger and mempool, Store its store; use them
	// on the node goroutine only.
	Ledger *chain.Ledger
	Store  *store.Store
	// AccountKey is the node's account key, for a service that signs
	// transactions.
	AccountKey ed25519.PrivateKey
	// ModelCommitted offers a committed model version to the user API's
	// inference (the node's model registry); safe anywhere.
	ModelCommitted func(api.ModelVersion, models.Spec, []float64)
}

// serviceBuilder returns the service a network asks this node to run, or
// nil when the network has no section for it.
type serviceBuilder func(ctx ServiceContext) (*Service, error)

var serviceBuilders []serviceBuilder

// registerService adds a builder; call it from an init func.
func registerService(b serviceBuilder) { serviceBuilders = append(serviceBuilders, b) }

// buildServices asks every registered builder for its service and wraps
// engine in the mux that routes to their Apps.
func (n *Node) buildServices(engine protocol.Node) (protocol.Node, error) {
	ctx := ServiceContext{Network: n.net, ID: n.cfg.ID, Log: n.log, Ledger: n.ledger, Store: n.store, AccountKey: n.keys.Account,
		Height: func() uint64 { return n.ledger.Height() },
		ModelCommitted: func(v api.ModelVersion, spec models.Spec, params []float64) {
			if err := n.models.add(v, spec, params); err != nil {
				n.log.Error("api: registering a model version", "round", v.Round, "err", err)
			}
		},
		Connected: func(id protocol.NodeID) bool {
			return n.host != nil && slices.Contains(n.host.TopicPeers(PresenceTopic), id)
		}}
	var apps []App
	for _, b := range serviceBuilders {
		s, err := b(ctx)
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		n.services = append(n.services, s)
		apps = append(apps, s.Apps...)
	}
	if len(apps) == 0 {
		return engine, nil
	}
	return newMux(engine, n.log, apps)
}

// serviceTopics are the topics of every service.
func (n *Node) serviceTopics() []wire.Topic {
	var ts []wire.Topic
	for _, s := range n.services {
		ts = append(ts, s.Topics...)
	}
	return ts
}

// registerServices adds the services' collectors to /metrics.
func (n *Node) registerServices() error {
	for _, s := range n.services {
		for _, c := range s.Collectors {
			if err := n.tel.reg.Register(c); err != nil {
				return fmt.Errorf("node: service %s: registering its metrics: %w", s.Name, err)
			}
		}
	}
	return nil
}

// serviceStatus lets every service fill its part of st.
func (n *Node) serviceStatus(st *Status) {
	for _, s := range n.services {
		if s.Status != nil {
			s.Status(st)
		}
	}
}

// appPoll is how often an App's Ready is asked again; maxHeld bounds the
// messages held for an App that has not started.
const (
	appPoll = 200 * time.Millisecond
	maxHeld = 1024
)

// mux runs an engine and Apps as one protocol.Node (see Services above).
type mux struct {
	engine protocol.Node
	log    *slog.Logger
	apps   []*muxApp
	byKind map[wire.Kind][]*muxApp
	timers map[protocol.TimerID]*muxApp
	jobs   map[protocol.JobID]*muxApp
	poll   protocol.TimerID // 0: none set
}

type muxApp struct {
	App
	started bool
	held    []protocol.Recv
}

func newMux(engine protocol.Node, log *slog.Logger, apps []App) (*mux, error) {
	if len(apps) == 0 {
		return nil, fmt.Errorf("%w: a mux without apps", ErrConfig)
	}
	m := &mux{engine: engine, log: log, byKind: map[wire.Kind][]*muxApp{},
		timers: map[protocol.TimerID]*muxApp{}, jobs: map[protocol.JobID]*muxApp{}}
	for _, a := range apps {
		ma := &muxApp{App: a}
		for _, k := range a.Kinds {
			if !slices.Contains(m.byKind[k], ma) {
				m.byKind[k] = append(m.byKind[k], ma)
			}
		}
		m.apps = append(m.apps, ma)
	}
	return m, nil
}

// Handle implements protocol.Node.
func (m *mux) Handle(env protocol.Env, in protocol.Input) {
	switch in := in.(type) {
	case protocol.Start:
		m.engine.Handle(env, in)
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
			case len(a.held) < maxHeld:
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
func (m *mux) startReady(env protocol.Env) {
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
		m.log.Debug("app started", "app", a.Name, "held", len(a.held))
		m.deliver(env, a, protocol.Start{})
		held := a.held
		a.held = nil
		for _, r := range held {
			m.deliver(env, a, r)
		}
	}
	if waiting && m.poll == 0 {
		m.poll = env.SetTimer(protocol.Duration(appPoll), 0)
	}
}

func (m *mux) deliver(env protocol.Env, a *muxApp, in protocol.Input) {
	a.Node.Handle(&appEnv{Env: env, m: m, a: a}, in)
}

// appEnv is the Env an App sees: the node's, noting which timers and jobs
// are the App's.
type appEnv struct {
	protocol.Env
	m *mux
	a *muxApp
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

// kindRange is the wire kinds from first to last.
func kindRange(first, last wire.Kind) []wire.Kind {
	var ks []wire.Kind
	for k := first; k <= last; k++ {
		ks = append(ks, k)
	}
	return ks
}
