package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/reports"
)

// asDaisEnv makes the test binary act as the dais binary: dais testnet up
// starts os.Executable() as "dais node", which in a test is this binary.
const asDaisEnv = "DAIS_CLI_TEST_AS_DAIS"

func TestMain(m *testing.M) {
	if os.Getenv(asDaisEnv) != "" {
		// A node started by a test dies with the test: its parent is the
		// test process, and a test that times out runs no cleanup.
		parent := os.Getppid()
		go func() {
			for range time.Tick(500 * time.Millisecond) {
				if os.Getppid() != parent {
					os.Exit(3)
				}
			}
		}()
		os.Exit(runCtx(context.Background(), liveRoot(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// liveRoot is the CLI with the live commands, whether or not newRoot has
// them yet.
func liveRoot() *cobra.Command {
	root := newRoot()
	have := map[string]bool{}
	for _, c := range root.Commands() {
		have[c.Name()] = true
	}
	if !have["node"] {
		root.AddCommand(newNodeCmd())
	}
	if !have["testnet"] {
		root.AddCommand(newTestnetCmd())
	}
	return root
}

// runCtx is run for a given root, context and streams.
func runCtx(ctx context.Context, root *cobra.Command, args []string, stdout, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "dais:", err)
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		return exitBadInput
	}
	return exitFailed
}

// cli runs the CLI (with the live commands) in this process.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runCtx(context.Background(), liveRoot(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func requireLoopback(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("skipping: the OS refuses to bind a loopback TCP port (%v)", err)
	}
	l.Close()
}

func TestNodeCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("id: 0\ndata_dir: d\nnetwork_fiel: x\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"node"}, exitBadInput, "--config FILE is required"},
		{[]string{"node", "--config", filepath.Join(dir, "missing.yaml")}, exitBadInput, "no such file"},
		{[]string{"node", "--config", bad}, exitBadInput, "network_fiel"},
		{[]string{"node", "extra", "--config", bad}, exitBadInput, "unknown command"},
		{[]string{"testnet", "status", "-d", dir}, exitBadInput, "no testnet here"},
		{[]string{"testnet", "up", "-d", filepath.Join(dir, "tn"), "-n", "0"}, exitBadInput, "0 nodes"},
		{[]string{"testnet", "up", "-d", filepath.Join(dir, "tn"), "--consensus", "pbft"}, exitBadInput, `--consensus "pbft"`},
		{[]string{"testnet", "up", "-d", filepath.Join(dir, "tn"), "--confirmations", "3"}, exitBadInput, "longest-chain settings"},
		{[]string{"testnet", "up", "-d", filepath.Join(dir, "tn"), "--consensus", "longest_chain", "--mining", "vdf"}, exitBadInput, `longest_chain.mining "vdf"`},
		{[]string{"testnet", "up", "-d", filepath.Join(dir, "tn"), "--consensus", "longest_chain", "--market"}, exitBadInput, "run on a BFT chain"},
		{[]string{"testnet", "logs", "-d", dir}, exitBadInput, "no testnet here"},
		{[]string{"testnet", "up", "-d", filepath.Join(dir, "tn2"), "-n", "3", "--settlement", "chain"}, exitBadInput, "--settlement needs --market"},
	} {
		code, _, stderr := cli(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.err) {
			t.Errorf("dais %s: exit %d, stderr %q; want %d and %q", strings.Join(c.args, " "), code, stderr, c.code, c.err)
		}
	}
}

// TestNodeCommand runs a one-validator network with dais node in this
// process until its context is cancelled, as SIGTERM would.
func TestNodeCommand(t *testing.T) {
	requireLoopback(t)
	dir := t.TempDir()
	ports, err := testnet.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "data", node.KeyFile)
	code, stdout, stderr := cli(t, "node", "keygen", "-o", keyFile)
	var pub node.PublicKeys
	if err := json.Unmarshal([]byte(stdout), &pub); code != exitOK || err != nil || pub.PeerID == "" {
		t.Fatalf("node keygen: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v, %v; want mode 0600", fi, err)
	}
	if code, _, stderr := cli(t, "node", "keygen", "-o", keyFile); code != exitFailed || !strings.Contains(stderr, "exists") {
		t.Errorf("keygen over a key file: exit %d, %s; want it refused", code, stderr)
	}
	cfg := filepath.Join(dir, "node.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`id: 0
data_dir: data
network:
  name: solo
  seed: 5
  epoch: %s
  timeouts: {commit: 50ms}
  nodes: [{id: 0, role: validator, addrs: [/ip4/127.0.0.1/tcp/%d], peer_id: %s, account_key: %s, validator_key: %s}]
`, time.Now().UTC().Format(time.RFC3339Nano), ports[0], pub.PeerID, pub.AccountKey, pub.ValidatorKey)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int)
	var out, errb bytes.Buffer
	go func() { done <- runCtx(ctx, liveRoot(), []string{"node", "--config", cfg}, &out, &errb) }()
	addrFile := filepath.Join(dir, "data", node.StatusFile)
	livetest.WaitFor(t, "the node to reach height 3", func() bool {
		addr, err := os.ReadFile(addrFile)
		if err != nil {
			return false
		}
		resp, err := http.Get("http://" + strings.TrimSpace(string(addr)) + "/status")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st node.Status
		return json.NewDecoder(resp.Body).Decode(&st) == nil && st.Height >= 3
	})
	userAPI(t, filepath.Join(dir, "data"), keyFile)
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("dais node exited %d: %s", code, errb.String())
		}
	case <-livetest.Context(t).Done():
		t.Fatal("dais node did not stop when its context ended")
	}
	log, _ := os.ReadFile(filepath.Join(dir, "data", node.LogFile))
	if !strings.Contains(string(log), "node stopped") {
		t.Errorf("the log does not end with the stop:\n%s", log)
	}
	if _, err := os.Stat(addrFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("status.addr outlived the node: %v", err)
	}
}

// TestTestnetCommands drives a testnet of three processes through the CLI:
// up (from a scenario), status, logs, report, down, and up again.
func TestTestnetCommands(t *testing.T) {
	requireLoopback(t)
	t.Setenv(asDaisEnv, "1") // for the node processes, not this one
	root := t.TempDir()
	dir := filepath.Join(root, "tn")
	sc := filepath.Join(root, "live.yaml")
	os.WriteFile(sc, []byte(`run: {name: live-three, seed: 21}
population:
  groups: [{name: vals, count: 3, stake: 1000, roles: [validator]}]
protocol:
  consensus:
    engine: bft
    timeouts: {propose: 400ms, propose_delta: 200ms, prevote: 200ms, precommit: 200ms, commit: 100ms}
network: {loss: 1%}
`), 0o644)
	t.Cleanup(func() {
		if code, _, stderr := cli(t, "testnet", "down", "-d", dir, "--timeout", "3s"); code != exitOK {
			t.Errorf("cleanup: testnet down: %s", stderr)
		}
	})
	code, stdout, stderr := cli(t, "testnet", "up", "-d", dir, "--scenario", sc, "--tx-rate", "6", "--wait", "5m")
	if code != exitOK {
		t.Fatalf("testnet up: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"note: network", "created a testnet of 3 nodes", "http://127.0.0.1:", "validator"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("testnet up printed no %q:\n%s", want, stdout)
		}
	}
	if code, _, stderr := cli(t, "testnet", "up", "-d", dir); code != exitBadInput || !strings.Contains(stderr, "already running") {
		t.Errorf("up on a running testnet: exit %d, %s", code, stderr)
	}
	if code, _, stderr := cli(t, "testnet", "up", "-d", dir, "-n", "5"); code != exitBadInput || !strings.Contains(stderr, "holds a testnet already") {
		t.Errorf("up -n on an existing testnet: exit %d, %s", code, stderr)
	}

	livetest.WaitFor(t, "every node to reach height 4", func() bool {
		_, out, _ := cli(t, "testnet", "status", "-d", dir, "--json")
		var sts []testnet.NodeStatus
		if err := json.Unmarshal([]byte(out), &sts); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		if len(sts) != 3 {
			t.Fatalf("status lists %d nodes", len(sts))
		}
		return !slices.ContainsFunc(sts, func(ns testnet.NodeStatus) bool { return ns.Status == nil || ns.Status.Height < 4 })
	})
	if _, out, _ := cli(t, "testnet", "status", "-d", dir); !strings.Contains(out, "3 of 3 nodes up") {
		t.Errorf("status:\n%s", out)
	}
	if _, out, _ := cli(t, "testnet", "logs", "-d", dir, "-n", "1"); !strings.Contains(out, "msg=\"node started\" node=1") || strings.Contains(out, "node=0") {
		t.Errorf("logs -n 1:\n%.1500s", out)
	}

	report := filepath.Join(root, "report")
	code, stdout, stderr = cli(t, "testnet", "report", "-d", dir, "-o", report)
	if code != exitOK || !strings.Contains(stdout, "finality_ms_p50") {
		t.Fatalf("testnet report: exit %d\n%s%s", code, stdout, stderr)
	}
	run, err := reports.Load(report)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := run.Figure("heights_finalized"); f.Value < 4 {
		t.Errorf("the report counts %v heights", f.Value)
	}
	if run.Meta.Scenario != "live-three" || !strings.Contains(run.Meta.ScenarioText, "live-three") {
		t.Errorf("the report's meta names %q", run.Meta.Scenario)
	}

	if code, stdout, _ := cli(t, "testnet", "down", "-d", dir); code != exitOK || !strings.Contains(stdout, "stopped 3 node(s)") {
		t.Errorf("down: exit %d, %s", code, stdout)
	}
	if _, stdout, _ := cli(t, "testnet", "down", "-d", dir); !strings.Contains(stdout, "no node is running") {
		t.Errorf("down again: %s", stdout)
	}
	if code, stdout, stderr := cli(t, "testnet", "status", "-d", dir); code != exitFailed || !strings.Contains(stdout, "0 of 3 nodes up") ||
		!strings.Contains(stderr, "none of the 3 nodes") {
		t.Errorf("status with every node down: exit %d\n%s%s", code, stdout, stderr)
	}
	// Up again: the same testnet, each node replaying its chain.
	if code, stdout, stderr := cli(t, "testnet", "up", "-d", dir, "--wait", "5m"); code != exitOK || !strings.Contains(stdout, "nodes [0 1 2] of the testnet") {
		t.Fatalf("up again: exit %d\n%s%s", code, stdout, stderr)
	}
	_, out, _ := cli(t, "testnet", "status", "-d", dir, "--json")
	var sts []testnet.NodeStatus
	json.Unmarshal([]byte(out), &sts)
	for _, ns := range sts {
		if ns.Status == nil || ns.Status.Replayed < 4 {
			t.Errorf("node %d after up again: %+v, want its chain replayed", ns.ID, ns.Status)
		}
	}
}

// userAPI drives a running one-validator network's user API through the
// CLI: dais account, dais job submit|status|result, dais infer, and their
// errors.
func userAPI(t *testing.T, dataDir, keyFile string) {
	t.Helper()
	api := func(args ...string) (int, string, string) {
		return cli(t, append(args, "--node", dataDir, "--key", keyFile)...)
	}
	code, stdout, stderr := api("account", "--json")
	var acc struct{ Balance, NextNonce uint64 }
	if err := json.Unmarshal([]byte(stdout), &acc); code != exitOK || err != nil || acc.Balance == 0 {
		t.Fatalf("dais account: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	code, stdout, stderr = api("job", "submit", "--units", "2", "--unit-gflops", "0.5", "--budget", "1.5")
	id := strings.TrimSpace(stdout)
	if code != exitOK || len(id) != 2*len(chain.JobID{}) {
		t.Fatalf("dais job submit: exit %d\n%s%s", code, stdout, stderr)
	}
	var job struct {
		State         string
		Budget, Units uint64
		PostedHeight  uint64 `json:"posted_height"`
	}
	livetest.WaitFor(t, "the job to commit", func() bool {
		code, stdout, _ = api("job", "status", id, "--json")
		return code == exitOK && json.Unmarshal([]byte(stdout), &job) == nil
	})
	if job.State != "pending" || job.Budget != 1_500_000_000 || job.Units != 2 || job.PostedHeight == 0 {
		t.Errorf("dais job status: %s", stdout)
	}
	if code, stdout, stderr = api("job", "status", id); code != exitOK || !strings.Contains(stdout, "PENDING") && !strings.Contains(stdout, "pending") {
		t.Errorf("dais job status (table): exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr = api("job", "result", id, "--json"); code != exitOK || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("dais job result of a job nobody ran: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"job", "status", "zz"}, exitBadInput, "32 hex digits"},
		{[]string{"job", "submit", "--budget", "-1"}, exitBadInput, "number of tokens"},
		{[]string{"job", "submit", "--budget", "1e30"}, exitBadInput, "too large"},
		{[]string{"job", "submit", "--budget", "100000000"}, exitFailed, "overdraft"},
		{[]string{"job", "status", strings.Repeat("ab", 16)}, exitFailed, "no job"},
		{[]string{"infer", "--digit", "3"}, exitFailed, "holds no model version"},
		{[]string{"infer"}, exitBadInput, "--input"},
	} {
		code, _, stderr := api(c.args...)
		if code != c.code || !strings.Contains(stderr, c.err) {
			t.Errorf("dais %s: exit %d, stderr %q; want %d and %q", strings.Join(c.args, " "), code, stderr, c.code, c.err)
		}
	}
	if code, _, stderr := cli(t, "account"); code != exitBadInput || !strings.Contains(stderr, "--node") {
		t.Errorf("dais account without --node: exit %d, %s", code, stderr)
	}
}
