package node_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol"
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

func TestLoadConfigYAMLWithNetworkDir(t *testing.T) {
	dir := t.TempDir()
	pid, err := node.PeerIDFor(9, 1)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, node.NetworkFile), `
name: yaml-net
seed: 9
epoch: 2026-01-02T03:04:05Z
timeouts: {propose: 250ms, commit: 1.5s}
tx_rate: 2
nodes:
  - {id: 0, role: validator, stake: 5, addrs: [/ip4/127.0.0.1/tcp/4001]}
  - {id: 1, role: follower, addrs: [/ip4/127.0.0.1/tcp/4002], peer_id: `+pid.String()+`}
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
	write(t, path, `{"id": 0, "data_dir": "/var/dais", "status_addr": "127.0.0.1:9100",
		"network": {"name": "j", "seed": 1, "epoch": "2026-01-01T00:00:00Z",
		"nodes": [{"id": 0, "role": "validator", "addrs": ["/ip4/127.0.0.1/udp/4001/quic-v1"]}]}}`)
	cfg, err := node.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir() != "/var/dais" || cfg.StatusAddr != "127.0.0.1:9100" || cfg.Network.Name != "j" {
		t.Errorf("config %+v", cfg)
	}
}

func TestConfigErrors(t *testing.T) {
	const nodes = `nodes: [{id: 0, role: validator, addrs: [/ip4/127.0.0.1/tcp/1]}]`
	for _, c := range []struct{ name, text, want string }{
		{"unknown key", "id: 0\ndata_dir: d\ndata_dri: e\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, " + nodes + "}", "data_dri"},
		{"no network", "id: 0\ndata_dir: d\n", "network_file"},
		{"no data dir", "id: 0\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, " + nodes + "}", "data_dir"},
		{"id out of range", "id: 3\ndata_dir: d\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, " + nodes + "}", "id 3"},
		{"bad role", "id: 0\ndata_dir: d\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, nodes: [{id: 0, role: miner, addrs: [/ip4/127.0.0.1/tcp/1]}]}", "miner"},
		{"no validator", "id: 0\ndata_dir: d\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, nodes: [{id: 0, role: follower, addrs: [/ip4/127.0.0.1/tcp/1]}]}", "no validator"},
		{"bad addr", "id: 0\ndata_dir: d\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, nodes: [{id: 0, role: validator, addrs: [127.0.0.1:1]}]}", "addr"},
		{"wrong peer id", "id: 0\ndata_dir: d\nnetwork: {seed: 1, epoch: 2026-01-01T00:00:00Z, nodes: [{id: 0, role: validator, addrs: [/ip4/127.0.0.1/tcp/1], peer_id: 12D3KooWGnd2Wj323LRivfbsi4gigyRuYzQvaGuJFNosXPDAJzYH}]}", "another seed"},
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

// TestPeerIDsAreDerived: every node computes every other node's peer ID
// from the seed, and the IDs differ between nodes and seeds.
func TestPeerIDsAreDerived(t *testing.T) {
	a, _ := node.PeerIDFor(1, 0)
	b, _ := node.PeerIDFor(1, 0)
	c, _ := node.PeerIDFor(1, 1)
	d, _ := node.PeerIDFor(2, 0)
	if a != b || a == c || a == d {
		t.Errorf("peer IDs %s %s %s %s: want a function of (seed, id)", a, b, c, d)
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
