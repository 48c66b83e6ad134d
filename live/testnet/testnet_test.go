package testnet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/dais-sim/dais/live/livetest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/wire"
	"github.com/dais-sim/dais/reports"
	"github.com/dais-sim/dais/scenarios"
)

// nodeEnv makes the test binary run one node (as dais node does) instead
// of the tests: the testnet's processes are this binary, so the test needs
// no go build.
const nodeEnv = "DAIS_TESTNET_TEST_NODE"

func TestMain(m *testing.M) {
	testnet.RunChild(nodeEnv, "test")
	os.Exit(m.Run())
}

var launcher = testnet.SelfLauncher(nodeEnv)

var fast = testnet.FastTimeouts

func heightOf(t *testing.T, tn *testnet.Testnet, id protocol.NodeID) uint64 {
	t.Helper()
	st := tn.Status(context.Background())[id]
	if st.Status == nil {
		return 0
	}
	return st.Status.Height
}

// storedBlocks reads the store of a node that is not running: its records
// and their blocks' hashes.
func storedBlocks(t *testing.T, tn *testnet.Testnet, id protocol.NodeID) (recs []string, hashes []string) {
	t.Helper()
	s, err := store.Open(filepath.Join(tn.DataDir(id), node.StoreFile), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Range(1, s.Height(), func(h uint64, rec []byte) error {
		m, err := wire.Decode(bytes.Clone(rec))
		if err != nil {
			return err
		}
		c, ok := m.(*bft.Commit)
		if !ok || c.Height != h || h != uint64(len(recs)+1) {
			return fmt.Errorf("height %d: %T", h, m)
		}
		recs = append(recs, string(rec))
		hashes = append(hashes, fmt.Sprintf("%x", c.BlockHash))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, hashes
}

// TestSIGKILLedNodeRestartsAndCatchesUp runs a testnet of five processes
// (four validators, one follower), SIGKILLs a validator, lets the other
// three go on, restarts it on its data dir, and checks that it kept every
// block it had committed, caught up, and that the report of the run sees
// one chain and one restart.
func TestSIGKILLedNodeRestartsAndCatchesUp(t *testing.T) {
	livetest.RequireLoopback(t)
	t.Parallel() // its nodes are processes (or goroutines no other test counts); it mostly waits
	tn, err := testnet.Create(testnet.Options{Dir: t.TempDir(), Nodes: 5, Validators: 4, Seed: 11, Timeouts: fast, TxRate: 8})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, tn, 16<<10)
	if err := tn.Start(launcher); err != nil {
		t.Fatal(err)
	}
	if err := tn.Start(launcher, 2); !errors.Is(err, testnet.ErrRunning) {
		t.Errorf("starting a running node: %v, want ErrRunning", err)
	}
	ctx := livetest.Context(t)
	if err := tn.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	livetest.WaitFor(t, "every node to reach height 4", func() bool {
		for _, ns := range tn.Status(ctx) {
			if ns.Status == nil || ns.Status.Height < 4 {
				return false
			}
		}
		return true
	})

	const victim = 3
	if err := tn.Kill(victim); err != nil {
		t.Fatal(err)
	}
	if _, ok := tn.Running()[victim]; ok {
		t.Fatal("the killed node still runs")
	}
	before, _ := storedBlocks(t, tn, victim)
	if len(before) < 3 {
		t.Fatalf("the killed node had stored %d heights", len(before))
	}
	resume := heightOf(t, tn, 0) + 4
	livetest.WaitFor(t, fmt.Sprintf("three validators to reach height %d", resume), func() bool {
		return heightOf(t, tn, 0) >= resume && heightOf(t, tn, 4) >= resume
	})

	if err := tn.Start(launcher, victim); err != nil {
		t.Fatal(err)
	}
	if err := tn.WaitReady(ctx, victim); err != nil {
		t.Fatal(err)
	}
	st := tn.Status(ctx)[victim].Status
	if st == nil || st.Replayed != uint64(len(before)) {
		t.Fatalf("the restarted node replayed %+v, want the %d heights it had stored", st, len(before))
	}
	goal := heightOf(t, tn, 0) + 2
	livetest.WaitFor(t, fmt.Sprintf("the restarted node to reach height %d", goal), func() bool {
		return heightOf(t, tn, victim) >= goal
	})

	if err := tn.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if r := tn.Running(); len(r) != 0 {
		t.Fatalf("still running after Stop: %v", r)
	}
	after, hashes := storedBlocks(t, tn, victim)
	for h, rec := range before {
		if after[h] != rec {
			t.Fatalf("height %d changed in the killed node's store", h+1)
		}
	}
	_, ref := storedBlocks(t, tn, 0)
	_, fol := storedBlocks(t, tn, 4)
	for h := range min(len(ref), len(hashes), len(fol)) {
		if hashes[h] != ref[h] || fol[h] != ref[h] {
			t.Fatalf("height %d: node 0 has block %.12s, node 3 %.12s, the follower %.12s", h+1, ref[h], hashes[h], fol[h])
		}
	}
	noPanics(t, tn)

	t.Run("report", func(t *testing.T) {
		run, violations, err := tn.Report()
		if err != nil {
			t.Fatal(err)
		}
		if len(violations) != 0 {
			t.Errorf("violations: %v", violations)
		}
		for key, check := range map[string]func(float64) bool{
			"heights_finalized":       func(v float64) bool { return v >= float64(goal) },
			"invariant_failures":      func(v float64) bool { return v == 0 },
			"node_restarts":           func(v float64) bool { return v == 1 },
			"finality_count":          func(v float64) bool { return v >= 4*float64(goal)-10 },
			"finality_ms_p50":         func(v float64) bool { return v > 0 && v < 5000 },
			"follower_finality_count": func(v float64) bool { return v >= float64(goal)-2 },
			"txs_committed":           func(v float64) bool { return v > 0 },
		} {
			f, ok := run.Figure(key)
			if !ok || !check(f.Value) {
				t.Errorf("%s = %v (present %v)", key, f.Value, ok)
			}
		}
		dir := filepath.Join(t.TempDir(), "report")
		if err := reports.Write(dir, run); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{reports.MetricsFile, reports.HTMLFile, reports.MarkdownFile, reports.TimeseriesFile, reports.HostFile} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		var b bytes.Buffer
		if err := tn.Logs(context.Background(), &b, false, victim); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "replayed the store") || strings.Contains(b.String(), "node-3 | ") {
			t.Errorf("node 3's log (no prefix for one node) lacks the replay:\n%.2000s", b.String())
		}
		b.Reset()
		if err := tn.Logs(context.Background(), &b, false); err != nil {
			t.Fatal(err)
		}
		for _, id := range tn.IDs() {
			if !strings.Contains(b.String(), fmt.Sprintf("node-%d | ", id)) {
				t.Errorf("the testnet's logs have no line of node %d", id)
			}
		}
	})
}

// noPanics fails the test if any node process printed a panic or a data
// race.
func noPanics(t *testing.T, tn *testnet.Testnet) {
	t.Helper()
	for _, id := range tn.IDs() {
		if out := mustRead(t, tn.OutputPath(id)); strings.Contains(out, "panic") || strings.Contains(out, "DATA RACE") {
			t.Errorf("node %d's output:\n%s", id, out)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateAndOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	tn, err := testnet.Create(testnet.Options{Dir: dir, Nodes: 3, Validators: 2, Stakes: []uint64{5, 9}, Seed: 4, QUIC: true, TxRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	back, err := testnet.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := back.Network
	if n.Name != "net" || n.Seed != 4 || len(n.Nodes) != 3 || n.Nodes[1].Stake != 9 || n.Nodes[2].Role != node.RoleFollower {
		t.Errorf("network read back: %+v", n)
	}
	if len(n.Nodes[0].Addrs) != 2 || !strings.Contains(n.Nodes[0].Addrs[1], "/quic-v1") {
		t.Errorf("addrs %v, want TCP and QUIC", n.Nodes[0].Addrs)
	}
	seen := map[string]bool{}
	for _, m := range n.Nodes {
		for _, a := range m.Addrs {
			if seen[a] {
				t.Errorf("address %s given twice", a)
			}
			seen[a] = true
		}
	}
	cfg, err := node.LoadConfig(tn.ConfigPath(1))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ID != 1 || cfg.Dir() != mustAbs(t, tn.DataDir(1)) || cfg.Network.Seed != 4 {
		t.Errorf("node 1's config: id %d, data dir %s, seed %d", cfg.ID, cfg.Dir(), cfg.Network.Seed)
	}
	if _, err := testnet.Create(testnet.Options{Dir: dir, Nodes: 3}); !errors.Is(err, testnet.ErrExists) {
		t.Errorf("creating over a testnet: %v, want ErrExists", err)
	}
	if _, err := testnet.Open(t.TempDir()); !errors.Is(err, testnet.ErrNoTestnet) {
		t.Errorf("opening an empty dir: %v, want ErrNoTestnet", err)
	}
	if len(tn.Running()) != 0 {
		t.Errorf("a testnet never started runs %v", tn.Running())
	}
	if _, _, err := tn.Report(); !errors.Is(err, testnet.ErrNoTestnet) {
		t.Errorf("report before any node ran: %v", err)
	}
	for _, o := range []testnet.Options{
		{Dir: t.TempDir(), Nodes: 0},
		{Dir: t.TempDir(), Nodes: testnet.MaxNodes + 1},
		{Dir: t.TempDir(), Nodes: 2, Validators: 3},
		{Dir: t.TempDir(), Nodes: 2, Stakes: []uint64{1}},
		{Dir: t.TempDir(), Nodes: 2, Stakes: []uint64{1, 0}},
		{Dir: t.TempDir(), Nodes: 2, TxRate: -1},
	} {
		if _, err := testnet.Create(o); !errors.Is(err, testnet.ErrOptions) {
			t.Errorf("Create(%+v): %v, want ErrOptions", o, err)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestFromScenario(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "small.yaml")
	os.WriteFile(path, []byte(`run: {name: small-bft, seed: 42}
population:
  groups:
    - {name: vals, count: 3, stake: 2000, roles: [validator]}
    - {name: full, count: 2}
protocol:
  consensus: {engine: bft, timeouts: {propose: 300ms, commit: 250ms}}
adversaries: [{kind: silent_validator, count: 1}]
`), 0o644)
	sc, err := scenarios.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	o, notes, err := testnet.FromScenario(sc)
	if err != nil {
		t.Fatal(err)
	}
	if o.Nodes != 5 || o.Validators != 3 || o.Seed != 42 || o.Name != "small-bft" || len(o.Stakes) != 3 || o.Stakes[0] != 2000*1e9 {
		t.Errorf("options %+v", o)
	}
	if to := o.Timeouts.BFT(); to.Propose != 300*protocol.Millisecond || to.Commit != 250*protocol.Millisecond {
		t.Errorf("timeouts %+v", to)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "adversaries") {
		t.Errorf("notes %q do not say the adversaries are not applied", notes)
	}

	os.WriteFile(path, []byte("run: {name: gossip}\npopulation: {nodes: 4}\n"), 0o644)
	sc, err = scenarios.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := testnet.FromScenario(sc); !errors.Is(err, testnet.ErrOptions) {
		t.Errorf("a scenario without consensus: %v, want ErrOptions", err)
	}
}

func TestLogsFollow(t *testing.T) {
	tn, err := testnet.Create(testnet.Options{Dir: t.TempDir(), Nodes: 2})
	if err != nil {
		t.Fatal(err)
	}
	log1 := tn.LogPath(1)
	os.WriteFile(log1, []byte("first\nsecond wh"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan error)
	go func() { done <- tn.Logs(ctx, &out, true) }()
	livetest.WaitFor(t, "the first line", func() bool { return strings.Contains(out.String(), "node-1 | first\n") })
	f, _ := os.OpenFile(log1, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("ole\nthird\n")
	f.Close()
	os.WriteFile(tn.LogPath(0), []byte("zero\n"), 0o644)
	livetest.WaitFor(t, "the appended lines", func() bool {
		s := out.String()
		return strings.Contains(s, "node-1 | second whole\nnode-1 | third\n") && strings.Contains(s, "node-0 | zero\n")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "node-1 | second wh\n") {
		t.Errorf("a half-written line was printed:\n%s", out.String())
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FreePorts draws distinct ports below the kernel's ephemeral range, where
// no other process is handed one for an outgoing connection.
func TestFreePortsAvoidTheEphemeralRange(t *testing.T) {
	ports, err := testnet.FreePorts(40)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Skip("no ip_local_port_range here: the OS picks the ports")
	}
	var low int
	if _, err := fmt.Sscan(string(b), &low); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] || p < 10000 || (low > 10000+160 && p >= low) {
			t.Fatalf("ports %v: want 40 distinct ones in [10000, %d)", ports, low)
		}
		seen[p] = true
	}
}
