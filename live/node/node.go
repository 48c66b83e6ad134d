package node

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dais-sim/dais/live"
	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/live/p2p"
	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/wire"
)

// Files in a node's data dir.
const (
	StoreFile  = "chain.db"    // the store (live/store)
	LogFile    = "node.log"    // slog text lines
	StatusFile = "status.addr" // host:port of /metrics and /status, while the node runs
)

// PresenceTopic is a gossipsub topic every node subscribes to and nobody
// publishes on: the peers gossipsub lists under it are the dais nodes this
// node is connected to (Status.Peers, dais_p2p_peers).
const PresenceTopic wire.Topic = "presence"

// DefaultStatusAddr keeps /metrics and /status on the loopback interface.
const DefaultStatusAddr = "127.0.0.1:0"

// dialTimeout bounds a dial to a peer. Frames leave from a goroutine per
// peer (appsend.go), so a dial holds up only the frames behind it to that
// peer; p2p's default of 10 s would hold a validator's messages to a
// restarted peer for several rounds.
const dialTimeout = 3 * time.Second

// Options are what a node takes from its process rather than its config.
type Options struct {
	// Logger, if not nil, receives the node's logs instead of DataDir/node.log.
	Logger *slog.Logger
	// Stderr, if not nil, also receives the logs (text), at debug level
	// when Verbose.
	Stderr  io.Writer
	Verbose bool
	// Version labels dais_node_info and /status.
	Version string
	// Sink, if not nil, also receives every event the node emits, on the
	// node goroutine.
	Sink metrics.Sink

	// The composition points for protocols that join the chain later (the
	// marketplace, federated training): WrapApp wraps the node's App (the
	// ledger, made durable) before the engine gets it, and must forward
	// consensus.TxSink and consensus.Reporter if it hides them; WrapNode
	// wraps the node's protocol.Node (the engine, inside its load client)
	// and may route inputs to other state machines beside it; Topics are
	// the gossipsub topics those publish on, which the host subscribes to.
	WrapApp  func(id protocol.NodeID, app consensus.App) consensus.App
	WrapNode func(id protocol.NodeID, n protocol.Node) protocol.Node
	Topics   []wire.Topic
	// Observers are libp2p peers outside the network that may connect to
	// the node (a monitoring host that pings it); they can send it nothing
	// (p2p.Config.Observers).
	Observers []peer.ID
}

// Status is what /status serves: a node's view of itself.
type Status struct {
	Network string          `json:"network"`
	ID      protocol.NodeID `json:"id"`
	Role    string          `json:"role"`
	PeerID  string          `json:"peer_id"`
	Addrs   []string        `json:"addrs"`
	// Height is the last height committed, Tip its block's hash.
	Height uint64 `json:"height"`
	Tip    string `json:"tip"`
	// Round is a validator's current round at Height+1.
	Round      int32      `json:"round"`
	LastCommit *time.Time `json:"last_commit,omitempty"`
	// Peers are the dais nodes this node is connected to.
	Peers   []protocol.NodeID `json:"peers"`
	Mempool Mempool           `json:"mempool"`
	// Ready is false until the node has replayed its store and taken
	// part in consensus: until then Height is not its chain's.
	Ready bool `json:"ready"`
	// StoreHeight is the highest height on disk; Replayed how many the
	// node replayed from it when it started.
	StoreHeight uint64    `json:"store_height"`
	Replayed    uint64    `json:"replayed"`
	Started     time.Time `json:"started"`
	UptimeS     float64   `json:"uptime_s"`
	Version     string    `json:"version"`
	// Failed says why the node stopped making progress, if it did.
	Failed string `json:"failed,omitempty"`
	// Market is the node's part in the marketplace, if the network runs
	// one (market.go).
	Market *MarketStatus `json:"market,omitempty"`
	// Learning is the node's part in the federated job, if it has one
	// (learning.go).
	Learning *LearningStatus `json:"learning,omitempty"`
	// LongestChain is the chain a longest-chain node follows (longest.go).
	LongestChain *LongestChainStatus `json:"longest_chain,omitempty"`
}

// Mempool is the size of a node's mempool.
type Mempool struct {
	Txs   int `json:"txs"`
	Bytes int `json:"bytes"`
}

// Node is one live node: a BFT validator or follower with its ledger,
// driven by a live.Runtime over a p2p.Host, its committed chain in a
// store, serving /metrics and /status. New builds it, Start runs it, Close
// stops it; Fatal reports a failure that stopped it. Methods are safe for
// concurrent use.
type Node struct {
	cfg     *Config
	net     *Network
	self    Member
	keys    *Keys
	opts    Options
	log     *slog.Logger
	logFile *os.File

	store     *store.Store
	events    *eventLog
	ledger    *chain.Ledger
	validator *bft.Validator // nil for a follower
	lc        *longest       // a longest-chain node's engine and store (longest.go); nil for BFT
	durable   *durable
	host      *p2p.Host
	set       *consensus.ValidatorSet
	in        *inbound
	rt        atomic.Pointer[live.Runtime]
	tel       *telemetry
	services  []*Service     // protocols beside consensus (apps.go)
	index     *api.Index     // committed jobs and results, for the user API
	models    *modelRegistry // committed model versions this node answers for
	appSend   *appSender     // sends their messages (appsend.go)
	conSend   *peerSender    // sends every other frame (appsend.go)
	failed    atomic.Bool
	fatal     chan error

	ln      net.Listener
	srv     *http.Server
	srvDone chan struct{}

	ctx    context.Context // cancelled by Close: ends the connect loop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	st      Status
	state   int // 0 new, 1 started, 2 closed
	cleanup []func() error
}

// New builds the node cfg describes: it opens the data dir (creating it),
// the store and the log, rebuilds nothing yet (Start replays the store),
// starts the libp2p host and binds the status server. Configuration
// problems are ErrConfig.
func New(cfg *Config, opts Options) (n *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	netw := cfg.Network
	n = &Node{cfg: cfg, net: netw, self: netw.Nodes[cfg.ID], opts: opts, fatal: make(chan error, 1),
		index: api.NewIndex(), models: &modelRegistry{}}
	built := n // a failing return sets n to nil
	defer func() {
		if err != nil {
			built.closeAll()
		}
	}()
	dir := cfg.Dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("node: creating the data dir: %w", err)
	}
	if err := n.openLog(dir); err != nil {
		return nil, err
	}
	if n.store, err = store.Open(filepath.Join(dir, StoreFile), store.Options{}); err != nil {
		return nil, err
	}
	n.cleanup = append(n.cleanup, n.store.Close)
	if err := n.store.SetIdentity(netw.Identity()); err != nil {
		return nil, fmt.Errorf("%w: %w (remove %s to start this node afresh)", ErrConfig, err, dir)
	}
	if n.events, err = openEventLog(filepath.Join(dir, EventsFile)); err != nil {
		return nil, err
	}
	n.cleanup = append(n.cleanup, n.events.close)

	if n.keys, err = cfg.loadKeys(); err != nil {
		return nil, err
	}
	pid := netw.PeerIDOf(cfg.ID)
	inner, app, err := n.buildProtocol()
	if err != nil {
		return nil, err
	}
	hooks := durableHooks{after: n.afterInput, stored: n.onStored, started: n.onStarted, suppressed: n.onSuppressed, fail: n.onFail}
	var root protocol.Node
	if n.lc != nil {
		root = n.lc.wrap(inner, app, n.store, cfg.ID, hooks)
	} else if n.durable, err = newDurable(inner, app, n.store, cfg.ID, n.self.Role == RoleValidator, hooks); err != nil {
		return nil, err
	} else {
		root = n.durable
	}
	if err := n.startHost(); err != nil {
		return nil, err
	}
	n.tel = newTelemetry(n.log, n.events, opts.Sink, infoLabels(netw.Name, uint32(cfg.ID), n.self.Role, pid.String(), opts.Version),
		frameSource{host: n.host, app: n.appSend, con: n.conSend, rt: n.rt.Load, peers: func() int { return len(n.host.TopicPeers(PresenceTopic)) }, started: time.Now()})
	if n.lc != nil {
		n.lc.register(n.tel.reg)
	}
	if err := n.registerServices(); err != nil {
		return nil, err
	}
	identity, key := netw.Identity(), n.keys.Account
	rt, err := live.New(root, live.Config{ID: cfg.ID, Seed: netw.Seed, Epoch: netw.Epoch,
		Transport: gate{h: n.host, app: n.appSend, con: n.conSend, failed: &n.failed, signed: n.in.signed,
			seal: func(frame []byte) []byte { return seal(identity, cfg.ID, key, frame) }},
		Sink: n.tel, OnError: func(err error) { n.log.Debug("transport", "err", err) }})
	if err != nil {
		return nil, err
	}
	n.rt.Store(rt)
	n.in.rt = rt
	n.host.SetReceiver(n.in)
	if err := n.listenStatus(dir); err != nil {
		return nil, err
	}
	n.st = Status{Network: netw.Name, ID: cfg.ID, Role: n.self.Role, PeerID: pid.String(), Version: opts.Version,
		StoreHeight: n.store.Height()}
	for _, a := range n.host.AddrInfo().Addrs {
		n.st.Addrs = append(n.st.Addrs, a.String())
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	return n, nil
}

func (n *Node) openLog(dir string) error {
	level := slog.LevelInfo
	switch strings.ToLower(n.cfg.LogLevel) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	if n.opts.Verbose {
		level = slog.LevelDebug
	}
	var hs []slog.Handler
	if n.opts.Logger != nil {
		hs = append(hs, n.opts.Logger.Handler())
	} else {
		f, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("node: opening the log: %w", err)
		}
		n.logFile = f
		n.cleanup = append(n.cleanup, f.Close)
		hs = append(hs, slog.NewTextHandler(f, &slog.HandlerOptions{Level: level}))
	}
	if n.opts.Stderr != nil {
		hs = append(hs, slog.NewTextHandler(n.opts.Stderr, &slog.HandlerOptions{Level: level}))
	}
	n.log = slog.New(slog.NewMultiHandler(hs...)).With("node", n.cfg.ID)
	return nil
}

// buildProtocol makes the ledger, the engine and its load client: the
// same pieces, wired the same way, as the simulator's consensus runs
// (sim/consensusrun), so a testnet and a simulation of it differ only in
// their drivers.
func (n *Node) buildProtocol() (protocol.Node, *chainApp, error) {
	netw, id := n.net, n.cfg.ID
	var cands []consensus.Validator
	for _, m := range netw.Nodes {
		if m.Role == RoleValidator {
			cands = append(cands, consensus.Validator{ID: m.ID, Stake: m.StakeOf(), PubKey: netw.ValidatorKeyOf(m.ID)})
		}
	}
	ledger, addrs, err := newLedger(netw)
	if err != nil {
		return nil, nil, err
	}
	params := chain.DefaultParams()
	n.ledger = ledger
	set, err := consensus.NewValidatorSet(cands, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the validator set: %w", ErrConfig, err)
	}
	n.set = set
	app := &chainApp{Ledger: ledger, index: n.index, log: n.log}
	var engineApp consensus.App = app
	if n.opts.WrapApp != nil {
		engineApp = n.opts.WrapApp(id, app)
	}
	validators, followers := netw.Validators(), netw.Followers()
	var engine protocol.Node
	if netw.LongestChain() {
		if engine, err = n.buildLongest(engineApp); err != nil {
			return nil, nil, err
		}
	} else if n.self.Role == RoleValidator {
		n.validator = bft.NewValidator(bft.Config{Set: set, Signer: consensus.Signer{Key: n.keys.Validator},
			App: engineApp, Timeouts: netw.Timeouts.BFT(), Followers: followers})
		engine = n.validator
	} else {
		engine = bft.NewFollower(bft.FollowerConfig{Set: set, App: engineApp, Peers: others(followers, id)})
	}
	// The learning coordinator pays each round from its account with
	// nonces of its own (learning.go), as the market's committee and
	// requesters sign from theirs when it settles on the chain
	// (marketchain.go); a load client signing from the same account would
	// take the same nonces, and the mempool would drop one of the two:
	// such a node sends no load.
	payer := netw.Learning != nil && netw.Learning.Pot > 0 && netw.Learning.Coordinator == id || signsMarketTxs(netw, id)
	if netw.TxRate > 0 && !payer {
		fanout := 2
		if n.self.Role == RoleValidator {
			fanout = 0 // validators do not relay what other validators send them
		}
		engine = chain.NewClient(chain.ClientConfig{Key: n.keys.Account, Rate: netw.TxRate / float64(len(netw.Nodes)),
			Targets: validators, Fanout: fanout, Recipients: addrs, Params: params, Ledger: ledger, Inner: engine})
	}
	if engine, err = n.buildServices(engine); err != nil {
		return nil, nil, err
	}
	if n.opts.WrapNode != nil {
		engine = n.opts.WrapNode(id, engine)
	}
	return &apiGate{Node: engine, self: id}, app, nil
}

// newLedger makes the genesis ledger of netw's chain, and returns it with
// every node's account address.
func newLedger(netw *Network) (*chain.Ledger, []chain.Address, error) {
	genesis := make([]chain.Account, len(netw.Nodes))
	var addrs []chain.Address
	for i, m := range netw.Nodes {
		genesis[i] = chain.Account{Address: netw.AccountOf(m.ID), Balance: netw.balance()}
		if m.Role == RoleValidator {
			genesis[i].Stake = m.StakeOf()
		}
		addrs = append(addrs, genesis[i].Address)
	}
	// A block's reward and fees go to its proposer's account.
	lc := chain.Config{Genesis: genesis, Params: chain.DefaultParams(), ProposerAddress: func(id protocol.NodeID) chain.Address {
		if int(id) < len(addrs) {
			return addrs[id]
		}
		return chain.Address{}
	}}
	var ledger *chain.Ledger
	marketChainRules(netw, &lc, func() *chain.Ledger { return ledger })
	ledger, err := chain.NewLedger(lc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the genesis: %w", ErrConfig, err)
	}
	return ledger, addrs, nil
}

func (n *Node) startHost() error {
	listen := n.cfg.Listen
	if len(listen) == 0 {
		listen = n.self.Addrs // Validate made sure one of them is set
	}
	limits, maxFrame := frameLimits(n.net, chain.DefaultParams())
	h, err := p2p.New(p2p.Config{Self: n.cfg.ID, Key: n.keys.Peer, ListenAddrs: listen, DialTimeout: dialTimeout,
		MaxFrameBytes: maxFrame, KindLimits: limits, Observers: n.opts.Observers,
		UserAgent: "dais/" + cmp.Or(n.opts.Version, "unknown"), Log: n.log})
	if err != nil {
		return err
	}
	n.host = h
	n.in = newInbound(n.net, n.set, h.Refusals(), limits)
	var kinds []wire.Kind
	for _, s := range n.services {
		kinds = append(kinds, s.Sends...)
		for _, a := range s.Apps {
			kinds = append(kinds, a.Kinds...)
		}
	}
	// Closed after the host (cleanup runs last first), so that a dial in
	// flight ends at once.
	n.appSend = newAppSender(h, n.log, kinds)
	n.conSend = newConsensusSender(h, n.log)
	n.cleanup = append(n.cleanup, n.appSend.close, n.conSend.close, h.Close)
	book, err := n.net.addrBook(n.cfg.Bootstrap)
	if err != nil {
		return err
	}
	if err := h.AddPeers(book); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	for _, t := range append(append([]wire.Topic{PresenceTopic}, n.opts.Topics...), n.serviceTopics()...) {
		if err := h.Subscribe(t); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) listenStatus(dir string) error {
	addr := n.cfg.StatusAddr
	if addr == "" {
		addr = DefaultStatusAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("node: listening for /status on %s: %w", addr, err)
	}
	n.ln = ln
	n.cleanup = append(n.cleanup, func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.tel.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /status", n.serveStatus)
	// The user API (live/api), on the same loopback listener.
	mux.Handle(n.apiServer().Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if n.failed.Load() {
			http.Error(w, "failed", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	n.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := writeAtomic(filepath.Join(dir, StatusFile), []byte(ln.Addr().String()+"\n")); err != nil {
		return fmt.Errorf("node: writing %s: %w", StatusFile, err)
	}
	return nil
}

func (n *Node) serveStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(n.Status())
}

// Start runs the node: its goroutine replays the store, then takes part in
// consensus; the status server serves; the host dials the other nodes.
// Only the first call does anything.
func (n *Node) Start() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state != 0 {
		return
	}
	n.state = 1
	now := time.Now()
	n.st.Started = now
	n.rt.Load().Start()
	n.srvDone = make(chan struct{})
	go func() {
		defer close(n.srvDone)
		if err := n.srv.Serve(n.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("status server", "err", err)
		}
	}()
	n.wg.Add(1)
	go n.connectLoop()
	n.log.Info("node started", "network", n.net.Name, "role", n.self.Role, "peer_id", n.st.PeerID,
		"addrs", strings.Join(n.st.Addrs, ","), "status", "http://"+n.ln.Addr().String())
}

// connectLoop keeps the host connected to every other node: gossipsub
// reaches only connected peers, and a node that restarts is otherwise
// noticed only when someone next sends to it. While a node is missing, it
// also asks the nodes it reaches for the addresses of the nodes they reach
// (bootstrap discovery, p2p.Host.FindPeers), so members without Addrs in
// the network are found from the bootstrap nodes.
func (n *Node) connectLoop() {
	defer n.wg.Done()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for round := 0; ; round++ {
		connected := map[protocol.NodeID]bool{}
		for _, id := range n.host.TopicPeers(PresenceTopic) {
			connected[id] = true
		}
		if missing := n.dial(connected); len(missing) > 0 && n.findPeers(connected, round) > 0 {
			n.dial(connected)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// dial connects to every node not in connected, in parallel, adds those it
// reached, and returns those it did not.
func (n *Node) dial(connected map[protocol.NodeID]bool) []protocol.NodeID {
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		reached, missing []protocol.NodeID
	)
	for _, m := range n.net.Nodes {
		if m.ID == n.cfg.ID || connected[m.ID] {
			continue
		}
		wg.Add(1)
		go func(id protocol.NodeID) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(n.ctx, dialTimeout)
			defer cancel()
			err := n.host.Connect(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				n.log.Debug("connect", "peer", id, "err", err)
				missing = append(missing, id)
				return
			}
			reached = append(reached, id)
		}(m.ID)
	}
	wg.Wait()
	for _, id := range reached {
		connected[id] = true
	}
	return missing
}

// askPeers is how many connected nodes a round of the connect loop asks
// for peers, at most: enough to route around one that answers nothing
// useful, few enough that a node that is down does not cost every node a
// stream to every other every round.
const askPeers = 3

// findPeers asks up to askPeers connected nodes, starting at an offset
// that moves each round, for the addresses of the nodes they reach, and
// returns how many signed records it took in.
func (n *Node) findPeers(connected map[protocol.NodeID]bool, round int) int {
	var ids []protocol.NodeID
	for _, m := range n.net.Nodes {
		if connected[m.ID] {
			ids = append(ids, m.ID)
		}
	}
	took := 0
	for i := range min(askPeers, len(ids)) {
		id := ids[(round+i)%len(ids)]
		k, err := n.host.FindPeers(n.ctx, id)
		if err != nil {
			n.log.Debug("find peers", "peer", id, "err", err)
		}
		took += k
	}
	return took
}

// Fatal delivers the error that stopped the node making progress (a store
// write failed, the stored chain did not replay). The node then sends
// nothing more; Close it.
func (n *Node) Fatal() <-chan error { return n.fatal }

// Close stops the node gracefully: the status and API server shuts down
// (answering the requests in flight), the node goroutine ends (the engine
// gets Stop), the host closes, the files close.
// It returns when every goroutine the node started has ended. Closing twice
// is a no-op.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.state == 2 {
		n.mu.Unlock()
		return nil
	}
	started := n.state == 1
	n.state = 2
	n.mu.Unlock()
	n.cancel()
	n.wg.Wait()
	var errs []error
	if started {
		// The status and API server first, while the node goroutine still
		// runs: a request in flight is answered, not left to time out on a
		// stopped runtime.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		errs = append(errs, n.srv.Shutdown(ctx))
		cancel()
		<-n.srvDone
	}
	if rt := n.rt.Load(); rt != nil {
		rt.Stop()
	}
	if started {
		n.events.write(&Event{Kind: EventStop, AtNs: int64(n.rt.Load().Now()), Height: n.ledger.Height()})
	}
	os.Remove(filepath.Join(n.cfg.Dir(), StatusFile))
	n.log.Info("node stopped", "height", n.ledger.Height())
	errs = append(errs, n.closeAll())
	return errors.Join(errs...)
}

// closeAll closes what New opened, last first.
func (n *Node) closeAll() error {
	var errs []error
	for i := len(n.cleanup) - 1; i >= 0; i-- {
		errs = append(errs, n.cleanup[i]())
	}
	n.cleanup = nil
	return errors.Join(errs...)
}

// Status returns the node's view of itself.
func (n *Node) Status() Status {
	n.mu.Lock()
	st := n.st
	n.mu.Unlock()
	st.Addrs = slices.Clone(st.Addrs)
	st.Peers = n.host.TopicPeers(PresenceTopic)
	if st.Peers == nil {
		st.Peers = []protocol.NodeID{}
	}
	st.StoreHeight = n.store.Height()
	if !st.Started.IsZero() {
		st.UptimeS = time.Since(st.Started).Seconds()
	}
	n.serviceStatus(&st)
	return st
}

// StatusAddr is the host:port of the status server.
func (n *Node) StatusAddr() string { return n.ln.Addr().String() }

// AddrInfo is the node's libp2p peer ID and listen addresses.
func (n *Node) AddrInfo() peer.AddrInfo { return n.host.AddrInfo() }

// PeerStats are the node's p2p counters, bootstrap discovery's included.
func (n *Node) PeerStats() p2p.Stats { return n.host.Stats() }

// ID is the node's identity.
func (n *Node) ID() protocol.NodeID { return n.cfg.ID }

// afterInput publishes the node's status; it runs on the node goroutine
// after every input, so it may read the ledger and the engine.
func (n *Node) afterInput() {
	h := n.ledger.Height()
	n.in.height.Store(h)
	txs, bytes := n.ledger.PoolSize()
	n.tel.mempoolTxs.Set(float64(txs))
	n.tel.mempoolBytes.Set(float64(bytes))
	n.mu.Lock()
	defer n.mu.Unlock()
	if h != n.st.Height {
		now := time.Now()
		tip := n.ledger.Tip()
		n.st.Height, n.st.Tip, n.st.LastCommit = h, hex.EncodeToString(tip[:]), &now
	}
	if n.validator != nil {
		n.st.Round = n.validator.Round()
	}
	if n.lc != nil {
		n.st.LongestChain = n.lc.status()
	}
	n.st.Mempool = Mempool{Txs: txs, Bytes: bytes}
}

func (n *Node) onStored(h uint64, took time.Duration) {
	n.tel.storeWrite.Observe(took.Seconds())
	n.tel.storeHeight.Set(float64(h))
}

func (n *Node) onStarted(replayed uint64, took time.Duration) {
	n.tel.replayed.Set(float64(replayed))
	n.tel.storeHeight.Set(float64(n.store.Height()))
	n.tel.height.Set(float64(n.ledger.Height()))
	n.events.write(&Event{Kind: EventStart, AtNs: int64(n.rt.Load().Now()), Height: n.ledger.Height(), Replayed: replayed, Role: n.self.Role})
	n.mu.Lock()
	n.st.Replayed, n.st.Ready = replayed, true
	n.mu.Unlock()
	if replayed > 0 {
		n.log.Info("replayed the store", "heights", replayed, "took", took.Round(time.Millisecond))
	}
}

func (n *Node) onSuppressed(m wire.Msg) {
	n.tel.suppressed.Inc()
	n.log.Warn("withheld an own message for a round signed before the restart", "msg", wire.Name(m.Kind()))
}

func (n *Node) onFail(err error) {
	n.failed.Store(true)
	n.mu.Lock()
	n.st.Failed = err.Error()
	n.mu.Unlock()
	n.log.Error("node failed", "err", err)
	select {
	case n.fatal <- err:
	default:
	}
}

// errFailed is what the gate answers once the node has failed.
var errFailed = errors.New("node: failed; sending nothing more")

// gate is the node's transport: the host, until the node fails; the
// services' messages sealed in Signed envelopes (signed kinds), and sent
// through app, every other frame through con (appsend.go), so that no
// send holds up the node goroutine. Publish goes to gossipsub, which
// queues of its own.
type gate struct {
	h      *p2p.Host
	app    *appSender
	con    *peerSender
	failed *atomic.Bool
	signed map[wire.Kind]bool
	seal   func(frame []byte) []byte
}

func (g gate) Send(to protocol.NodeID, frame []byte) error {
	if g.failed.Load() {
		return errFailed
	}
	app := g.app.takes(frame)
	if g.signed[kindOf(frame)] {
		frame = g.seal(frame)
	}
	if app {
		return g.app.send(to, frame)
	}
	return g.con.send(to, frame)
}

func (g gate) Publish(t wire.Topic, frame []byte) error {
	if g.failed.Load() {
		return errFailed
	}
	if g.signed[kindOf(frame)] {
		frame = g.seal(frame)
	}
	return g.h.Publish(t, frame)
}

// Run runs the node cfg describes until ctx is done (SIGINT, SIGTERM) or
// the node fails, then closes it.
func Run(ctx context.Context, cfg *Config, opts Options) error {
	n, err := New(cfg, opts)
	if err != nil {
		return err
	}
	n.Start()
	var ferr error
	select {
	case <-ctx.Done():
		n.log.Info("shutting down", "cause", context.Cause(ctx))
	case ferr = <-n.Fatal():
	}
	return errors.Join(ferr, n.Close())
}
