package node_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus/bft"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newKeys makes a node's keys.
func newKeys(t testing.TB) *node.Keys {
	t.Helper()
	k, err := node.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keysYAML are the public keys of fresh keys as YAML flow-map entries
// of a member.
func keysYAML(t testing.TB) string {
	t.Helper()
	p, err := newKeys(t).Public()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("peer_id: %s, account_key: %s, validator_key: %s", p.PeerID, p.AccountKey, p.ValidatorKey)
}

func TestLoadConfigYAMLWithNetworkDir(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, node.NetworkFile), `
name: yaml-net
seed: 9
epoch: 2026-01-02T03:04:05Z
timeouts: {propose: 250ms, commit: 1.5s}
tx_rate: 2
nodes:
  - {id: 0, role: validator, stake: 5, addrs: [/ip4/127.0.0.1/tcp/4001], `+keysYAML(t)+`}
  - {id: 1, role: follower, addrs: [/ip4/127.0.0.1/tcp/4002], `+keysYAML(t)+`}
`)
	write(t, filepath.Join(dir, "node-1", "config.yaml"), "id: 1\ndata_dir: data\nnetwork_file: ..\n")
	cfg, err := node.LoadConfig(filepath.Join(dir, "node-1", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Dir(), filepath.Join(dir, "node-1", "data"); got != want {
		t.Errorf("data dir %s, want %s (relative to the config file)", got, want)
	}
	n := cfg.Network
	if n.Name != "yaml-net" || n.Seed != 9 || !n.Epoch.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || n.TxRate != 2 {
		t.Errorf("network %+v", n)
	}
	to := n.Timeouts.BFT()
	def := bft.DefaultTimeouts()
	if to.Propose != 250*protocol.Millisecond || to.Commit != 1500*protocol.Millisecond || to.Prevote != def.Prevote {
		t.Errorf("timeouts %+v: the given ones, defaults for the rest", to)
	}
	if v := n.Validators(); len(v) != 1 || v[0] != 0 || n.Nodes[0].StakeOf() != 5 || n.Nodes[1].StakeOf() != node.DefaultStake {
		t.Errorf("validators %v, stakes %d and %d", v, n.Nodes[0].StakeOf(), n.Nodes[1].StakeOf())
	}
}

func TestLoadConfigJSONInline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.json")
	p, _ := newKeys(t).Public()
	write(t, path, `{"id": 0, "data_dir": "/var/dais", "status_addr": "127.0.0.1:9100",
		"network": {"name": "j", "seed": 1, "epoch": "2026-01-01T00:00:00Z",
		"nodes": [{"id": 0, "role": "validator", "addrs": ["/ip4/127.0.0.1/udp/4001/quic-v1"],
		"peer_id": "`+p.PeerID+`", "account_key": "`+p.AccountKey+`", "validator_key": "`+p.ValidatorKey+`"}]}}`)
	cfg, err := node.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir() != "/var/dais" || cfg.StatusAddr != "127.0.0.1:9100" || cfg.Network.Name != "j" {
		t.Errorf("config %+v", cfg)
	}
}

func TestConfigErrors(t *testing.T) {
	k0, k1 := keysYAML(t), keysYAML(t)
	nodes := `nodes: [{id: 0, role: validator, addrs: [/ip4/127.0.0.1/tcp/1], ` + k0 + `}]`
	member := func(role, addrs, keys string) string {
		return "id: 0\ndata_dir: d\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, nodes: [{id: 0, role: " + role + ", addrs: [" + addrs + "], " + keys + "}]}"
	}
	p, _ := newKeys(t).Public()
	for _, c := range []struct{ name, text, want string }{
		{"unknown key", "id: 0\ndata_dir: d\ndata_dri: e\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, " + nodes + "}", "data_dri"},
		{"no network", "id: 0\ndata_dir: d\n", "network_file"},
		{"no data dir", "id: 0\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, " + nodes + "}", "data_dir"},
		{"id out of range", "id: 3\ndata_dir: d\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, " + nodes + "}", "id 3"},
		{"bad role", member("miner", "/ip4/127.0.0.1/tcp/1", k0), "miner"},
		{"no validator", member("follower", "/ip4/127.0.0.1/tcp/1", k0), "no validator"},
		{"bad addr", member("validator", "127.0.0.1:1", k0), "addr"},
		{"no peer id", member("validator", "/ip4/127.0.0.1/tcp/1", "account_key: "+p.AccountKey+", validator_key: "+p.ValidatorKey), "no peer_id"},
		{"bad peer id", member("validator", "/ip4/127.0.0.1/tcp/1", "peer_id: 12D3Koo, account_key: "+p.AccountKey+", validator_key: "+p.ValidatorKey), "peer_id"},
		{"no account key", member("validator", "/ip4/127.0.0.1/tcp/1", "peer_id: "+p.PeerID+", validator_key: "+p.ValidatorKey), "account_key"},
		{"no validator key", member("validator", "/ip4/127.0.0.1/tcp/1", "peer_id: "+p.PeerID+", account_key: "+p.AccountKey), "validator_key"},
		{"short account key", member("validator", "/ip4/127.0.0.1/tcp/1", "peer_id: "+p.PeerID+", account_key: abcd, validator_key: "+p.ValidatorKey), "2-byte"},
		{"one peer id twice", "id: 0\ndata_dir: d\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, nodes: [{id: 0, role: validator, addrs: [/ip4/127.0.0.1/tcp/1], " + k1 + "}, {id: 1, role: validator, addrs: [/ip4/127.0.0.1/tcp/2], " + k1 + "}]}", "same peer_id"},
		{"no epoch", "id: 0\ndata_dir: d\nnetwork: {seed: 1, " + nodes + "}", "epoch"},
		{"bad duration", "id: 0\ndata_dir: d\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, timeouts: {commit: fast}, " + nodes + "}", "fast"},
		{"bad log level", "id: 0\ndata_dir: d\nlog_level: loud\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, " + nodes + "}", "loud"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			write(t, path, c.text)
			_, err := node.LoadConfig(path)
			if !errors.Is(err, node.ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrConfig mentioning %q", err, c.want)
			}
		})
	}
}

// TestKeyFiles: keys are random, their file is its owner's alone and is
// never overwritten, and a file others may read, or the keys of another
// node, keep a node from starting.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := newKeys(t), newKeys(t)
	pa, _ := a.Public()
	pb, _ := b.Public()
	if pa.PeerID == pb.PeerID || pa.AccountKey == pb.AccountKey || pa.ValidatorKey == pb.ValidatorKey || pa.AccountKey == pa.ValidatorKey {
		t.Fatalf("two key sets share a key: %+v %+v", pa, pb)
	}
	path := filepath.Join(dir, node.KeyFile)
	if err := node.WriteKeys(path, a); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if err := node.WriteKeys(path, b); err == nil {
		t.Error("WriteKeys replaced a key file")
	}
	back, err := node.LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if pback, _ := back.Public(); pback != pa {
		t.Errorf("loaded %+v, wrote %+v", pback, pa)
	}
	os.Chmod(path, 0o644)
	if _, err := node.LoadKeys(path); !errors.Is(err, node.ErrConfig) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("loading a key file others may read: %v", err)
	}
	os.Chmod(path, 0o600)

	netw := testNetwork(t, 2, 0, 0)
	_, err = node.New(&node.Config{ID: 1, DataDir: dir, KeyFile: path, Network: netw}, node.Options{})
	if !errors.Is(err, node.ErrConfig) || !strings.Contains(err.Error(), "peer_id") {
		t.Errorf("a node started with another's keys: %v", err)
	}
}

// TestNetworkIdentity: a data dir is bound to the chain, not to ports.
func TestNetworkIdentity(t *testing.T) {
	n := testNetwork(t, 2, 1, 0)
	moved := *n
	moved.Nodes = append([]node.Member(nil), n.Nodes...)
	moved.Nodes[0].Addrs = []string{"/ip4/127.0.0.1/tcp/1"}
	moved.Timeouts = node.Timeouts{}
	if string(moved.Identity()) != string(n.Identity()) {
		t.Error("moving a node to another port changed the network's identity")
	}
	reseeded := moved
	reseeded.Seed++
	restaked := moved
	restaked.Nodes = append([]node.Member(nil), n.Nodes...)
	restaked.Nodes[1].Stake = 7
	for _, o := range []*node.Network{&reseeded, &restaked} {
		if string(o.Identity()) == string(n.Identity()) {
			t.Errorf("network %+v has the identity of %+v", o, n)
		}
	}
}

// The learning coordinator may not be a node that signs the market's
// chain transactions: the two would sign from one account with two nonce
// counters.
func TestCoordinatorApartFromMarketSigners(t *testing.T) {
	netw := testNetwork(t, 4, 0, 0)
	netw.Market = node.DefaultMarket(4) // committee and requester: node 0
	netw.Learning = node.DefaultLearning(4)
	netw.Learning.Pot = chain.Token
	if err := netw.Validate(); !errors.Is(err, node.ErrConfig) || !strings.Contains(err.Error(), "learning.coordinator") {
		t.Fatalf("coordinator on the committee's node: %v, want an ErrConfig naming learning.coordinator", err)
	}
	netw.Market.Settlement = node.SettleCommittee
	if err := netw.Validate(); err != nil {
		t.Errorf("the same off the chain: %v", err)
	}
}
