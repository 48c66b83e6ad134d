package testnet

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol"
)

// MaxNodes bounds a local testnet: each node is a process with its own
// libp2p host, and a few dozen already load a laptop.
const MaxNodes = 64

// Errors callers may check with errors.Is.
var (
	// ErrExists is Create on a directory that already holds a testnet.
	ErrExists = errors.New("testnet: a testnet already exists there")
	// ErrNoTestnet is Open on a directory that holds none.
	ErrNoTestnet = errors.New("testnet: no testnet here")
	// ErrOptions is invalid Options or an unusable scenario.
	ErrOptions = errors.New("testnet: invalid options")
	// ErrRunning is Start of a testnet whose nodes run already.
	ErrRunning = errors.New("testnet: nodes already running")
)

// Options describe a new testnet.
type Options struct {
	// Dir is the testnet directory; it is created.
	Dir string
	// Name labels the network; empty means the directory's base name.
	Name string
	// Nodes is how many nodes; Validators how many of them (the first
	// ones) validate, 0 meaning all. Stakes, if given, are the validators'
	// stakes in base units, one each.
	Nodes, Validators int
	Stakes            []uint64
	Seed              uint64
	// Timeouts are the BFT timeouts (zero fields: CometBFT's defaults).
	Timeouts node.Timeouts
	// Engine is the consensus engine (node.EngineBFT, the default, or
	// node.EngineLongestChain, whose settings LongestChain gives; nil:
	// node's defaults).
	Engine       string
	LongestChain *node.LongestChainSpec
	// TxRate is transfers per second over the whole testnet.
	TxRate float64
	// QUIC makes nodes listen on QUIC as well as TCP. Off by default: a
	// dial over QUIC to a node that is down waits for a handshake timeout
	// where TCP is refused at once, and testnets stop nodes on purpose.
	QUIC bool
	// Discovery writes only node 0's address into the network, as its
	// bootstrap address; the other nodes listen on ports the OS picks and
	// find one another through node 0 (bootstrap discovery, live/p2p).
	Discovery bool
	// Scenario is the file the options came from (FromScenario), recorded
	// for reports.
	Scenario string
	// Market, if not nil, runs the compute marketplace beside consensus
	// (node.MarketSpec; node.DefaultMarket is one small paid job).
	Market *node.MarketSpec
	// Learning, if not nil, runs a federated training job beside
	// consensus (node.LearningSpec; node.DefaultLearning is node 0
	// coordinating, the others learning).
	Learning *node.LearningSpec
}

// Testnet is a testnet directory.
type Testnet struct {
	Dir     string
	Network *node.Network
}

// Create writes a new testnet directory: testnet.json with free loopback
// ports for every node and their public keys, each node's config, and
// each node's keys (node.GenerateKeys) in its data dir, readable by this
// user only. The epoch is now.
func Create(o Options) (*Testnet, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	netFile := filepath.Join(o.Dir, node.NetworkFile)
	if _, err := os.Stat(netFile); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, netFile)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("testnet: creating %s: %w", o.Dir, err)
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = filepath.Base(abs)
	}
	if o.Scenario != "" {
		// Reports read it later, perhaps from another directory.
		if o.Scenario, err = filepath.Abs(o.Scenario); err != nil {
			return nil, err
		}
	}
	validators := o.Validators
	if validators == 0 {
		validators = o.Nodes
	}
	netw := &node.Network{Name: name, Seed: o.Seed, Epoch: time.Now().UTC().Truncate(time.Millisecond),
		Timeouts: o.Timeouts, TxRate: o.TxRate, Scenario: o.Scenario, Market: o.Market,
		Learning: o.Learning, Engine: o.Engine, LongestChainSpec: o.LongestChain}
	per := 1
	if o.QUIC {
		per = 2
	}
	withPorts := o.Nodes
	if o.Discovery {
		withPorts = 1
	}
	ports, err := FreePorts(withPorts * per)
	if err != nil {
		return nil, err
	}
	keys := make([]*node.Keys, o.Nodes)
	for i := range o.Nodes {
		id := protocol.NodeID(i)
		m := node.Member{ID: id, Role: node.RoleFollower}
		if i < withPorts {
			m.Addrs = listenAddrs(o.QUIC, ports[per*i], ports[min(per*i+1, len(ports)-1)])
		}
		if i < validators {
			m.Role = node.RoleValidator
			if o.Stakes != nil {
				m.Stake = o.Stakes[i]
			}
		}
		if keys[i], err = node.GenerateKeys(); err != nil {
			return nil, err
		}
		pub, err := keys[i].Public()
		if err != nil {
			return nil, err
		}
		m.SetKeys(pub)
		netw.Nodes = append(netw.Nodes, m)
		if o.Discovery && i == 0 {
			for _, a := range m.Addrs {
				netw.Bootstrap = append(netw.Bootstrap, a+"/p2p/"+m.PeerID)
			}
		}
	}
	if err := netw.Validate(); err != nil {
		return nil, err
	}
	if netw.Market != nil {
		if err := netw.Market.Validate(netw); err != nil {
			return nil, err
		}
	}
	tn := &Testnet{Dir: o.Dir, Network: netw}
	for _, m := range netw.Nodes {
		if err := os.MkdirAll(tn.DataDir(m.ID), 0o755); err != nil {
			return nil, fmt.Errorf("testnet: creating node %d's directory: %w", m.ID, err)
		}
		// A key file without a network file is left from a Create that
		// failed: no network names its keys.
		keyPath := filepath.Join(tn.DataDir(m.ID), node.KeyFile)
		os.Remove(keyPath)
		if err := node.WriteKeys(keyPath, keys[m.ID]); err != nil {
			return nil, err
		}
		cfg := &node.Config{ID: m.ID, DataDir: "data", NetworkFile: filepath.Join("..", node.NetworkFile)}
		if len(m.Addrs) == 0 {
			cfg.Listen = listenAddrs(o.QUIC, 0, 0) // ports the OS picks
		}
		if err := node.WriteFile(tn.ConfigPath(m.ID), cfg); err != nil {
			return nil, fmt.Errorf("testnet: writing node %d's config: %w", m.ID, err)
		}
	}
	// The network file last: a directory without it is not a testnet, so
	// a Create that failed half way can simply be run again.
	if err := node.WriteFile(netFile, netw); err != nil {
		return nil, fmt.Errorf("testnet: writing %s: %w", netFile, err)
	}
	return tn, nil
}

// listenAddrs are a testnet node's loopback multiaddrs: TCP, and QUIC if
// asked for; port 0 lets the OS pick.
func listenAddrs(quic bool, tcpPort, udpPort int) []string {
	addrs := []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", tcpPort)}
	if quic {
		addrs = append(addrs, fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", udpPort))
	}
	return addrs
}

func (o *Options) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrOptions}, a...)...)
	}
	validators := o.Validators
	if validators == 0 {
		validators = o.Nodes
	}
	switch {
	case o.Dir == "":
		return bad("no directory")
	case o.Nodes < 1 || o.Nodes > MaxNodes:
		return bad("%d nodes: a local testnet has 1 to %d", o.Nodes, MaxNodes)
	case o.Validators < 0 || o.Validators > o.Nodes:
		return bad("%d validators among %d nodes", o.Validators, o.Nodes)
	case o.Stakes != nil && len(o.Stakes) != validators:
		return bad("%d stakes for %d validators", len(o.Stakes), validators)
	case !(o.TxRate >= 0):
		return bad("tx rate %g", o.TxRate)
	}
	for i, s := range o.Stakes {
		if s == 0 {
			return bad("validator %d has no stake: BFT validators vote by stake, and a longest-chain stake lottery draws by it", i)
		}
	}
	return nil
}

// Open reads the testnet in dir.
func Open(dir string) (*Testnet, error) {
	path := filepath.Join(dir, node.NetworkFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s (create one with dais testnet up)", ErrNoTestnet, dir, node.NetworkFile)
	}
	netw, err := node.LoadNetwork(path)
	if err != nil {
		return nil, err
	}
	return &Testnet{Dir: dir, Network: netw}, nil
}

// NodeDir is node id's directory.
func (t *Testnet) NodeDir(id protocol.NodeID) string {
	return filepath.Join(t.Dir, fmt.Sprintf("node-%d", id))
}

// ConfigPath is node id's config file.
func (t *Testnet) ConfigPath(id protocol.NodeID) string {
	return filepath.Join(t.NodeDir(id), "config.yaml")
}

// DataDir is node id's data directory.
func (t *Testnet) DataDir(id protocol.NodeID) string { return filepath.Join(t.NodeDir(id), "data") }

// LogPath is node id's log.
func (t *Testnet) LogPath(id protocol.NodeID) string {
	return filepath.Join(t.DataDir(id), node.LogFile)
}

// OutputPath is where node id's process writes stdout and stderr (a panic
// lands there, not in the log).
func (t *Testnet) OutputPath(id protocol.NodeID) string {
	return filepath.Join(t.NodeDir(id), "output.log")
}

func (t *Testnet) pidPath(id protocol.NodeID) string { return filepath.Join(t.NodeDir(id), "pid") }

// IDs are the nodes' IDs, ascending.
func (t *Testnet) IDs() []protocol.NodeID {
	ids := make([]protocol.NodeID, len(t.Network.Nodes))
	for i, m := range t.Network.Nodes {
		ids[i] = m.ID
	}
	return ids
}

func (t *Testnet) has(id protocol.NodeID) bool { return slices.Contains(t.IDs(), id) }

// FreePorts returns n distinct TCP ports that were free on 127.0.0.1 (and
// for UDP, which QUIC listens on) a moment ago. They are held open
// together while picked, so they differ. They are drawn below the
// kernel's ephemeral range (ip_local_port_range), where no process's
// outgoing connection or ":0" listener is given a port: one picked there
// was taken by another test's connection before its node bound it, under
// load. Another process may still bind one on purpose before a node does;
// that node then fails to start and says so. Where the range cannot be
// read or leaves no room below it, the OS picks (":0").
func FreePorts(n int) ([]int, error) {
	var held []io.Closer
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	lo, hi := 10000, ephemeralLow()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		port := 0
		if hi-lo >= 4*n && tries < 64*n {
			port = lo + rand.IntN(hi-lo)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			if port != 0 {
				continue // taken: draw again
			}
			return nil, fmt.Errorf("testnet: finding a free port on 127.0.0.1: %w", err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		held = append(held, l)
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		held = append(held, u)
		ports = append(ports, port)
	}
	return ports, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range, or 0
// where it cannot be read (not Linux).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	low, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return low
}
