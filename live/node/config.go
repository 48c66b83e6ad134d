package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus/bft"
)

// ErrConfig wraps every problem with a configuration: the CLI reports it
// as bad input.
var ErrConfig = errors.New("node: invalid config")

// NetworkFile is the name of the network description in a testnet
// directory; Config.NetworkFile may name the directory instead of the file.
const NetworkFile = "testnet.json"

// Roles a member of the network plays.
const (
	RoleValidator = "validator"
	RoleFollower  = "follower"
)

// DefaultStake is a validator's stake when its Member gives none: the
// simulator's default (sim/consensusrun), so live and simulated runs weigh
// validators alike.
const DefaultStake = 1_000_000

// DefaultBalance is every account's genesis balance in base units when the
// Network gives none: 1,000 tokens, as in the simulator.
const DefaultBalance = 1000 * chain.Token

// Config is one node's configuration file (YAML or JSON; see LoadConfig).
// Paths in it are relative to the file's directory.
type Config struct {
	// ID is this node's identity: its index among Network.Nodes.
	ID protocol.NodeID `json:"id" yaml:"id"`
	// DataDir holds the store (chain.db), the log (node.log), the events
	// file (events.jsonl) and status.addr. Required.
	DataDir string `json:"data_dir" yaml:"data_dir"`
	// NetworkFile is the path of a network description (a testnet.json,
	// or the testnet directory holding one); give it or Network.
	NetworkFile string `json:"network_file,omitempty" yaml:"network_file,omitempty"`
	// Network describes every node of the network inline.
	Network *Network `json:"network,omitempty" yaml:"network,omitempty"`
	// Listen are the multiaddrs the libp2p host binds; empty means this
	// node's Addrs in the Network. A node the Network gives no Addrs must
	// say where it listens; /ip4/127.0.0.1/tcp/0 takes a port the OS picks,
	// and the other nodes learn it through bootstrap discovery.
	Listen []string `json:"listen,omitempty" yaml:"listen,omitempty"`
	// Bootstrap are more bootstrap addresses for this node, as
	// Network.Bootstrap.
	Bootstrap []string `json:"bootstrap,omitempty" yaml:"bootstrap,omitempty"`
	// StatusAddr is the host:port of the HTTP server for /metrics and
	// /status. Empty means 127.0.0.1:0: loopback only, a free port, which
	// the node writes to DataDir/status.addr. Anything but loopback must
	// be asked for: the endpoints are read-only but unauthenticated.
	StatusAddr string `json:"status_addr,omitempty" yaml:"status_addr,omitempty"`
	// LogLevel is debug, info (default), warn or error.
	LogLevel string `json:"log_level,omitempty" yaml:"log_level,omitempty"`
	// KeyFile is the node's key file (dais node keygen, keys.go); empty
	// means node.key in DataDir.
	KeyFile string `json:"key_file,omitempty" yaml:"key_file,omitempty"`
	// Keys, if set, are the node's keys, and KeyFile is not read: for
	// nodes a program runs in its own process.
	Keys *Keys `json:"-" yaml:"-"`

	// dir is the directory the file was read from; paths resolve against it.
	dir string
}

// Network is what every node of a network shares: who the nodes are, where
// they listen, the seed their keys derive from, and the protocol settings.
// dais testnet up writes one as testnet.json.
type Network struct {
	// Name labels logs, metrics and reports.
	Name string `json:"name" yaml:"name"`
	// Seed is the root seed of what the simulator would draw: each node's
	// random stream, the load clients' transfers, the federated job's
	// data split. No key derives from it: each node's keys are its own
	// (Keys), and the members list their public halves.
	Seed uint64 `json:"seed" yaml:"seed"`
	// Epoch is the instant protocol time 0 stands for; every node of the
	// network, restarted or not, measures time from it, so latencies
	// (proposal on one node, commit on another) compare across processes
	// up to the hosts' clock skew.
	Epoch time.Time `json:"epoch" yaml:"epoch"`
	// Nodes are every node of the network, by ID 0…len−1.
	Nodes []Member `json:"nodes" yaml:"nodes"`
	// Bootstrap are multiaddrs ending in /p2p/<peer ID> of network nodes
	// every node dials first; from the nodes it reaches it learns the
	// others' addresses (the /dais/peers/1.0.0 protocol, live/p2p), so
	// members may leave Addrs out. Every peer ID must be a member's.
	Bootstrap []string `json:"bootstrap,omitempty" yaml:"bootstrap,omitempty"`
	// Engine is the consensus engine: bft (the default) or longest_chain
	// (longest.go), whose settings are LongestChainSpec.
	Engine           string            `json:"engine,omitempty" yaml:"engine,omitempty"`
	LongestChainSpec *LongestChainSpec `json:"longest_chain,omitempty" yaml:"longest_chain,omitempty"`
	// Timeouts are the BFT timeouts; a zero field takes CometBFT's default
	// (bft.DefaultTimeouts).
	Timeouts Timeouts `json:"timeouts" yaml:"timeouts"`
	// TxRate is signed transfers per second, all nodes together: every node
	// runs a chain.Client that submits its share to the validators. 0
	// sends none.
	TxRate float64 `json:"tx_rate,omitempty" yaml:"tx_rate,omitempty"`
	// Balance is every account's genesis balance in base units; 0 means
	// DefaultBalance.
	Balance uint64 `json:"balance,omitempty" yaml:"balance,omitempty"`
	// Scenario is the scenario file the network was made from, if any,
	// for reports.
	Scenario string `json:"scenario,omitempty" yaml:"scenario,omitempty"`
	// HardwareProfiles are hardware profiles (dais gpu bench), by absolute
	// path: their measured classes join the catalog the network's GPU
	// class names resolve in (GPUCatalog).
	HardwareProfiles []string `json:"hardware_profiles,omitempty" yaml:"hardware_profiles,omitempty"`
	// Market, if set, runs the compute marketplace beside consensus (market.go).
	Market *MarketSpec `json:"market,omitempty" yaml:"market,omitempty"`
	// Learning, if set, runs a federated training job beside consensus (learning.go).
	Learning *LearningSpec `json:"learning,omitempty" yaml:"learning,omitempty"`
}

// Member is one node of the network.
type Member struct {
	ID protocol.NodeID `json:"id" yaml:"id"`
	// Role is validator or follower (a full node that checks and applies
	// the validators' commits).
	Role string `json:"role" yaml:"role"`
	// Stake is a validator's stake in base units; 0 means DefaultStake.
	Stake uint64 `json:"stake,omitempty" yaml:"stake,omitempty"`
	// Addrs are the multiaddrs the node listens on and the others dial.
	// They may be left out where the node's Config.Listen says where it
	// listens and the others find it through Bootstrap.
	Addrs []string `json:"addrs,omitempty" yaml:"addrs,omitempty"`
	// PeerID is the node's libp2p peer ID: what the others' address books
	// accept its connections, streams and publications as. Required.
	PeerID string `json:"peer_id" yaml:"peer_id"`
	// ValidatorKey is the hex ed25519 public key the node's proposals and
	// votes are checked against; required of a validator.
	ValidatorKey string `json:"validator_key,omitempty" yaml:"validator_key,omitempty"`
	// AccountKey is the hex ed25519 public key of the node's account (its
	// genesis balance and stake, its transactions) and of its service
	// messages' signatures. Required.
	AccountKey string `json:"account_key" yaml:"account_key"`
}

// SetKeys sets the member's public keys.
func (m *Member) SetKeys(p PublicKeys) {
	m.PeerID, m.AccountKey = p.PeerID, p.AccountKey
	m.ValidatorKey = ""
	if m.Role == RoleValidator {
		m.ValidatorKey = p.ValidatorKey
	}
}

// Timeouts are bft.Timeouts in a file: durations such as "500ms".
type Timeouts struct {
	Propose        Duration `json:"propose,omitempty" yaml:"propose,omitempty"`
	ProposeDelta   Duration `json:"propose_delta,omitempty" yaml:"propose_delta,omitempty"`
	Prevote        Duration `json:"prevote,omitempty" yaml:"prevote,omitempty"`
	PrevoteDelta   Duration `json:"prevote_delta,omitempty" yaml:"prevote_delta,omitempty"`
	Precommit      Duration `json:"precommit,omitempty" yaml:"precommit,omitempty"`
	PrecommitDelta Duration `json:"precommit_delta,omitempty" yaml:"precommit_delta,omitempty"`
	Commit         Duration `json:"commit,omitempty" yaml:"commit,omitempty"`
}

// BFT returns the engine's timeouts, defaults filled in.
func (t Timeouts) BFT() bft.Timeouts {
	d := bft.DefaultTimeouts()
	pick := func(v Duration, def protocol.Duration) protocol.Duration {
		if v <= 0 {
			return def
		}
		return protocol.Duration(v)
	}
	return bft.Timeouts{
		Propose: pick(t.Propose, d.Propose), ProposeDelta: pick(t.ProposeDelta, d.ProposeDelta),
		Prevote: pick(t.Prevote, d.Prevote), PrevoteDelta: pick(t.PrevoteDelta, d.PrevoteDelta),
		Precommit: pick(t.Precommit, d.Precommit), PrecommitDelta: pick(t.PrecommitDelta, d.PrecommitDelta),
		Commit: pick(t.Commit, d.Commit),
	}
}

// Duration is a time.Duration written as text ("1.5s") in config files.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %s", b)
	}
	*d = Duration(v)
	return nil
}

// LoadConfig reads a node's configuration (JSON if the file starts with
// '{', YAML otherwise; unknown keys are errors), and the network file it
// names. Problems are ErrConfig.
func LoadConfig(path string) (*Config, error) {
	var cfg Config
	if err := decodeFile(path, &cfg); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	cfg.dir = filepath.Dir(abs)
	if cfg.NetworkFile != "" {
		if cfg.Network != nil {
			return nil, fmt.Errorf("%w: %s: give network_file or network, not both", ErrConfig, path)
		}
		nf := cfg.resolve(cfg.NetworkFile)
		if fi, err := os.Stat(nf); err == nil && fi.IsDir() {
			nf = filepath.Join(nf, NetworkFile)
		}
		net, err := LoadNetwork(nf)
		if err != nil {
			return nil, err
		}
		cfg.Network = net
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &cfg, nil
}

// LoadNetwork reads a network description (JSON or YAML).
func LoadNetwork(path string) (*Network, error) {
	var n Network
	if err := decodeFile(path, &n); err != nil {
		return nil, err
	}
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &n, nil
}

// WriteFile writes v (a Config or a Network) as indented JSON, atomically:
// a reader never sees half a file.
func WriteFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func decodeFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
		}
		return nil
	}
	if err := yaml.UnmarshalWithOptions(b, v, yaml.DisallowUnknownField()); err != nil {
		return fmt.Errorf("%w: %s: %s", ErrConfig, path, yaml.FormatError(err, false, true))
	}
	return nil
}

// resolve makes a path in the file relative to the file's directory.
func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}

// Dir is the resolved data directory.
func (c *Config) Dir() string { return c.resolve(c.DataDir) }

// Validate checks the config and its network.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	if c.DataDir == "" {
		return bad("data_dir is required")
	}
	if c.Network == nil {
		return bad("give network_file (a testnet.json or its directory) or network")
	}
	if err := c.Network.Validate(); err != nil {
		return err
	}
	if int(c.ID) >= len(c.Network.Nodes) {
		return bad("id %d: the network has nodes 0…%d", c.ID, len(c.Network.Nodes)-1)
	}
	for _, a := range c.Listen {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return bad("listen %q: %v", a, err)
		}
	}
	if len(c.Listen) == 0 && len(c.Network.Nodes[c.ID].Addrs) == 0 {
		return bad("node %d has no addrs in the network: give listen (e.g. /ip4/127.0.0.1/tcp/0)", c.ID)
	}
	if _, err := c.Network.bootstrap("bootstrap", c.Bootstrap); err != nil {
		return err
	}
	if c.StatusAddr != "" {
		if _, _, err := net.SplitHostPort(c.StatusAddr); err != nil {
			return bad("status_addr %q: %v", c.StatusAddr, err)
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "", "debug", "info", "warn", "error":
	default:
		return bad("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// KeyPath is the resolved key file.
func (c *Config) KeyPath() string {
	if c.KeyFile != "" {
		return c.resolve(c.KeyFile)
	}
	return filepath.Join(c.Dir(), KeyFile)
}

// loadKeys returns the node's keys (Keys, or the key file's) once they are
// checked against the public keys the network lists for it.
func (c *Config) loadKeys() (*Keys, error) {
	k := c.Keys
	where := "the keys given"
	if k == nil {
		var err error
		if k, err = LoadKeys(c.KeyPath()); err != nil {
			return nil, err
		}
		where = c.KeyPath()
	}
	pub, err := k.Public()
	if err != nil {
		return nil, err
	}
	m := c.Network.Nodes[c.ID]
	for _, f := range []struct{ key, want, got string }{
		{"peer_id", m.PeerID, pub.PeerID},
		{"account_key", m.AccountKey, pub.AccountKey},
		{"validator_key", m.ValidatorKey, pub.ValidatorKey},
	} {
		if f.key == "validator_key" && m.Role != RoleValidator {
			continue
		}
		if f.want != f.got {
			return nil, fmt.Errorf("%w: node %d: the network's %s is %s, but %s holds %s (keys of another node, or a network file for other keys?)",
				ErrConfig, c.ID, f.key, f.want, where, f.got)
		}
	}
	return k, nil
}

// Validate checks a network description: nodes numbered 0…n−1, known
// roles, at least one validator, well-formed addresses, and peer IDs (where
// given) that match the seed.
func (n *Network) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	if len(n.Nodes) == 0 {
		return bad("the network has no nodes")
	}
	if n.Epoch.IsZero() {
		return bad("the network has no epoch")
	}
	if !(n.TxRate >= 0) {
		return bad("tx_rate %g: want ≥ 0", n.TxRate)
	}
	validators := 0
	peers := map[peer.ID]protocol.NodeID{}
	for i, m := range n.Nodes {
		if int(m.ID) != i {
			return bad("nodes[%d] has id %d: nodes are listed by id, from 0", i, m.ID)
		}
		switch m.Role {
		case RoleValidator:
			validators++
		case RoleFollower:
		default:
			return bad("node %d: role %q: want validator or follower", i, m.Role)
		}
		for _, a := range m.Addrs {
			if _, err := ma.NewMultiaddr(a); err != nil {
				return bad("node %d: addr %q: %v", i, a, err)
			}
		}
		if m.PeerID == "" {
			return bad("node %d has no peer_id (network files from before keys were secret derived them from the seed: make the testnet afresh, or give each node a key with dais node keygen)", i)
		}
		pid, err := peer.Decode(m.PeerID)
		if err != nil {
			return bad("node %d: peer_id %q: %v", i, m.PeerID, err)
		}
		if j, ok := peers[pid]; ok {
			return bad("nodes %d and %d have the same peer_id %s", j, i, pid)
		}
		peers[pid] = m.ID
		if _, err := publicKey(m.AccountKey); err != nil {
			return bad("node %d: account_key %q: %v", i, m.AccountKey, err)
		}
		if m.Role == RoleValidator {
			if _, err := publicKey(m.ValidatorKey); err != nil {
				return bad("node %d: validator_key %q: %v", i, m.ValidatorKey, err)
			}
		}
	}
	if validators == 0 {
		return bad("the network has no validator")
	}
	if _, err := n.bootstrap("bootstrap", n.Bootstrap); err != nil {
		return err
	}
	if n.Learning != nil {
		if err := n.Learning.validate(n); err != nil {
			return err
		}
	}
	if l := n.Learning; l != nil && l.Pot > 0 && signsMarketTxs(n, l.Coordinator) {
		// The coordinator's payouts and the market's transactions would
		// be signed from one account by two nonce counters.
		return fmt.Errorf("%w: learning.coordinator: node %d also signs the market's transactions on the chain (its committee or a requester); pick another coordinator, or settlement: committee", ErrConfig, l.Coordinator)
	}
	return n.validateEngine()
}

// Validators returns the IDs of the validators, ascending.
func (n *Network) Validators() []protocol.NodeID {
	var ids []protocol.NodeID
	for _, m := range n.Nodes {
		if m.Role == RoleValidator {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// Followers returns the IDs of the followers, ascending.
func (n *Network) Followers() []protocol.NodeID {
	var ids []protocol.NodeID
	for _, m := range n.Nodes {
		if m.Role == RoleFollower {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// StakeOf is a member's stake, the default filled in.
func (m Member) StakeOf() uint64 {
	if m.Stake == 0 {
		return DefaultStake
	}
	return m.Stake
}

func (n *Network) balance() uint64 {
	if n.Balance == 0 {
		return DefaultBalance
	}
	return n.Balance
}

// Identity fingerprints what the chain's blocks depend on (the seed, the
// members' roles, stakes and public keys, which fix the genesis and the
// validator set), for store.SetIdentity: a data dir made for one network
// refuses to start in another. Addresses and timeouts are left out, so a
// network can move to other ports and keep its chain. Service messages'
// signatures cover it too, so that one network's cannot be replayed in
// another.
func (n *Network) Identity() []byte {
	h := sha256.New()
	h.Write([]byte("dais/network/v2\x00"))
	var b []byte
	b = binary.BigEndian.AppendUint64(b, n.Seed)
	b = binary.BigEndian.AppendUint64(b, n.balance())
	b = binary.BigEndian.AppendUint64(b, uint64(len(n.Nodes)))
	for _, m := range n.Nodes {
		for _, f := range []string{m.Role, m.PeerID, m.AccountKey, m.ValidatorKey} {
			b = append(b, f...)
			b = append(b, 0)
		}
		if m.Role == RoleValidator {
			b = binary.BigEndian.AppendUint64(b, m.StakeOf())
		}
	}
	if n.LongestChain() {
		// Its store holds another kind of record; a BFT network's
		// identity is left as it was, so existing data dirs still open.
		b = append(b, EngineLongestChain...)
	}
	h.Write(b)
	return h.Sum(nil)[:16]
}

// PeerIDOf is node id's peer ID; the network must be valid.
func (n *Network) PeerIDOf(id protocol.NodeID) peer.ID {
	pid, _ := peer.Decode(n.Nodes[id].PeerID)
	return pid
}

// AccountKeyOf is node id's account key; the network must be valid.
func (n *Network) AccountKeyOf(id protocol.NodeID) chain.PubKey {
	k, _ := publicKey(n.Nodes[id].AccountKey)
	return chain.PubKey(k)
}

// AccountOf is node id's account address; the network must be valid.
func (n *Network) AccountOf(id protocol.NodeID) chain.Address { return n.AccountKeyOf(id).Address() }

// ValidatorKeyOf is validator id's vote key (nil for a follower); the
// network must be valid.
func (n *Network) ValidatorKeyOf(id protocol.NodeID) ed25519.PublicKey {
	k, _ := publicKey(n.Nodes[id].ValidatorKey)
	return k
}

// bootstrap parses bootstrap addresses (key names them in errors) into
// the members they reach, by ID: each must end in /p2p/<peer ID> of a
// member.
func (n *Network) bootstrap(key string, addrs []string) (map[protocol.NodeID][]ma.Multiaddr, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	members := make(map[peer.ID]protocol.NodeID, len(n.Nodes))
	for _, m := range n.Nodes {
		members[n.PeerIDOf(m.ID)] = m.ID
	}
	out := map[protocol.NodeID][]ma.Multiaddr{}
	for i, a := range addrs {
		addr, err := ma.NewMultiaddr(a)
		if err != nil {
			return nil, fmt.Errorf("%w: %s[%d] %q: %v", ErrConfig, key, i, a, err)
		}
		transport, pid := peer.SplitAddr(addr)
		if pid == "" || transport == nil {
			return nil, fmt.Errorf("%w: %s[%d] %q: want a transport address ending in /p2p/<peer ID>", ErrConfig, key, i, a)
		}
		id, ok := members[pid]
		if !ok {
			return nil, fmt.Errorf("%w: %s[%d] %q: peer %s is no node of the network", ErrConfig, key, i, a, pid)
		}
		out[id] = append(out[id], transport)
	}
	return out, nil
}

// addrBook is the p2p address book of every node of the network: each
// member's Addrs and the bootstrap addresses that reach it (the network's
// and extra, a node config's).
func (n *Network) addrBook(extra []string) (map[protocol.NodeID]peer.AddrInfo, error) {
	boot, err := n.bootstrap("bootstrap", slices.Concat(n.Bootstrap, extra))
	if err != nil {
		return nil, err
	}
	book := make(map[protocol.NodeID]peer.AddrInfo, len(n.Nodes))
	for _, m := range n.Nodes {
		info := peer.AddrInfo{ID: n.PeerIDOf(m.ID)}
		for _, a := range m.Addrs {
			addr, err := ma.NewMultiaddr(a)
			if err != nil {
				return nil, fmt.Errorf("%w: node %d: addr %q: %w", ErrConfig, m.ID, a, err)
			}
			info.Addrs = append(info.Addrs, addr)
		}
		info.Addrs = append(info.Addrs, boot[m.ID]...)
		book[m.ID] = info
	}
	return book, nil
}

// others returns ids without self.
func others(ids []protocol.NodeID, self protocol.NodeID) []protocol.NodeID {
	return slices.DeleteFunc(slices.Clone(ids), func(id protocol.NodeID) bool { return id == self })
}
