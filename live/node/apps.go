package node

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/mux"
	"github.com/dais-sim/dais/protocol/wire"
)

// Services: protocols that run on a live node beside consensus (the
// marketplace, federated training). Each lives in its own file, which
// registers a builder from an init func (registerService); New asks every
// builder for its Service, routes the Services' Apps with the engine
// through one mux, subscribes the host to their topics, serves their
// collectors at /metrics and lets them fill their part of /status.
//
// The routing is protocol/mux's, the simulator's too: by what an input
// is (a message by its wire kind, a timer and a job by ID). A message an
// App sends to its own node goes through the p2p host, which hands it
// back to the node's inbox (p2p.Host.Send), so one node may play roles
// that talk to each other.

// App is one protocol machine running beside the engine, on the node
// goroutine and the node's Env (protocol/mux, whose Ready is asked every
// appPoll).
type App = mux.App

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
	// JobView, if not nil, is what the service's market committee
	// verified of a job, its settlement and how many of its units it
	// assigned, for the user API; from any goroutine, like Status.
	JobView func(id chain.JobID) (units []MarketUnit, settled *MarketSettlement, assigned uint32)
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

// newMux routes the node's inputs to engine and apps.
func newMux(engine protocol.Node, log *slog.Logger, apps []App) (*mux.Mux, error) {
	if len(apps) == 0 {
		return nil, fmt.Errorf("%w: a mux without apps", ErrConfig)
	}
	return mux.New(engine, apps, mux.Options{Poll: protocol.Duration(appPoll), MaxHeld: maxHeld,
		Started: func(name string, held int) { log.Debug("app started", "app", name, "held", held) }}), nil
}

// kindRange is the wire kinds from first to last.
var kindRange = mux.KindRange
