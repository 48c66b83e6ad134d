package testnet_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus/nakamoto"
	"github.com/dais-sim/dais/protocol/wire"
	"github.com/dais-sim/dais/scenarios"
)

// storedLongest reads a stopped longest-chain node's store: its records,
// each a nakamoto.Block of its height.
func storedLongest(t *testing.T, tn *testnet.Testnet, id int) [][]byte {
	t.Helper()
	s, err := store.Open(filepath.Join(tn.DataDir(protocol.NodeID(id)), node.StoreFile), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var recs [][]byte
	err = s.Range(1, s.Height(), func(h uint64, rec []byte) error {
		m, err := wire.Decode(bytes.Clone(rec))
		if err != nil {
			return err
		}
		if b, ok := m.(*nakamoto.Block); !ok || b.Height != h || h != uint64(len(recs)+1) {
			return fmt.Errorf("height %d: %T", h, m)
		}
		recs = append(recs, bytes.Clone(rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestLongestChainTestnet runs four longest-chain miners as processes,
// SIGKILLs one, lets the others go on, restarts it on its data dir, and
// checks that it kept what it had made final, caught up without forking
// it, and that the report reads one chain with its longest-chain figures.
func TestLongestChainTestnet(t *testing.T) {
	livetest.RequireLoopback(t)
	t.Parallel() // its nodes are processes; it mostly waits
	tn, err := testnet.Create(testnet.Options{Dir: t.TempDir(), Nodes: 4, Seed: 5, TxRate: 8, Engine: node.EngineLongestChain,
		LongestChain: &node.LongestChainSpec{Interval: node.Duration(250 * time.Millisecond), Confirmations: 3}})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, tn, 16<<10)
	if err := tn.Start(launcher); err != nil {
		t.Fatal(err)
	}
	ctx := livetest.Context(t)
	if err := tn.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	first := uint64(6)
	if raceEnabled {
		first = 3
	}
	livetest.WaitFor(t, fmt.Sprintf("every node to make height %d final", first), func() bool {
		for _, ns := range tn.Status(ctx) {
			if ns.Status == nil || ns.Status.Height < first {
				return false
			}
		}
		return true
	})
	const victim = 2
	if err := tn.Kill(victim); err != nil {
		t.Fatal(err)
	}
	before := storedLongest(t, tn, victim)
	resume := heightOf(t, tn, 0) + 3
	livetest.WaitFor(t, fmt.Sprintf("the others to reach height %d", resume), func() bool {
		return heightOf(t, tn, 0) >= resume && heightOf(t, tn, 3) >= resume
	})
	if err := tn.Start(launcher, victim); err != nil {
		t.Fatal(err)
	}
	if err := tn.WaitReady(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if st := tn.Status(ctx)[victim].Status; st == nil || st.Replayed != uint64(len(before)) || st.LongestChain == nil {
		t.Fatalf("the restarted node: %+v, want %d heights replayed", st, len(before))
	}
	goal := heightOf(t, tn, 0) + 2
	livetest.WaitFor(t, fmt.Sprintf("the restarted node to reach height %d", goal), func() bool {
		return heightOf(t, tn, victim) >= goal
	})
	for _, ns := range tn.Status(ctx) {
		if lc := ns.Status.LongestChain; lc == nil || lc.SupplyError != "" || lc.SupplyChecked == 0 {
			t.Errorf("node %d: conservation %+v", ns.ID, lc)
		}
	}
	if err := tn.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	chains := make([][][]byte, 4)
	for id := range chains {
		chains[id] = storedLongest(t, tn, id)
	}
	if len(chains[victim]) < int(goal) {
		t.Errorf("the restarted node stored %d blocks, want ≥ %d", len(chains[victim]), goal)
	}
	for h, rec := range before {
		if !bytes.Equal(chains[victim][h], rec) {
			t.Fatalf("height %d changed in the killed node's store", h+1)
		}
	}
	for id := 1; id < 4; id++ {
		for h := range min(len(chains[0]), len(chains[id])) {
			if !bytes.Equal(chains[0][h], chains[id][h]) {
				t.Fatalf("height %d: nodes 0 and %d stored different blocks", h+1, id)
			}
		}
	}
	noPanics(t, tn)

	run, violations, err := tn.Report()
	if err != nil {
		t.Fatal(err)
	}
	if len(violations) != 0 {
		t.Errorf("violations: %v", violations)
	}
	for key, check := range map[string]func(float64) bool{
		"heights_finalized":  func(v float64) bool { return v >= float64(goal) },
		"invariant_failures": func(v float64) bool { return v == 0 },
		"node_restarts":      func(v float64) bool { return v == 1 },
		"confirmations":      func(v float64) bool { return v == 3 },
		// Every final height was mined by someone who reported it.
		"blocks_mined":    func(v float64) bool { return v >= float64(goal) },
		"stale_rate":      func(v float64) bool { return v >= 0 && v < 1 },
		"deep_forks":      func(v float64) bool { return v == 0 },
		"finality_ms_p50": func(v float64) bool { return v > 0 },
		"txs_committed":   func(v float64) bool { return v > 0 },
	} {
		f, ok := run.Figure(key)
		if !ok || !check(f.Value) {
			t.Errorf("%s = %v (present %v)", key, f.Value, ok)
		}
	}
	for _, key := range []string{"timeouts", "consensus_messages_per_block", "rounds_per_height_p50"} {
		if _, ok := run.Figure(key); ok {
			t.Errorf("a longest-chain report has the BFT figure %s", key)
		}
	}
	if run.Meta.Params["engine"] != node.EngineLongestChain {
		t.Errorf("report params %v do not name the engine", run.Meta.Params)
	}
}

// TestFromScenarioLongestChain: protocol.consensus.engine longest_chain
// maps onto the testnet's engine, interval, confirmations and mining.
func TestFromScenarioLongestChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lc.yaml")
	os.WriteFile(path, []byte(`run: {name: small-lc, seed: 3}
population:
  groups:
    - {name: big, count: 1, gpu: h100, roles: [validator]}
    - {name: small, count: 2, gpu: a100, roles: [validator]}
    - {name: full, count: 1}
protocol:
  consensus: {engine: longest_chain, longest_chain: {interval: 500ms, confirmations: 4, mining: pow}}
`), 0o644)
	sc, err := scenarios.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := testnet.FromScenario(sc)
	if err != nil {
		t.Fatal(err)
	}
	lc := o.LongestChain
	if o.Engine != node.EngineLongestChain || lc == nil || time.Duration(lc.Interval) != 500*time.Millisecond ||
		lc.Confirmations != 4 || lc.Mining != node.MiningPoW || strings.Join(lc.GPUs, ",") != "h100,a100,a100" || o.Validators != 3 {
		t.Fatalf("options %+v, longest chain %+v", o, lc)
	}
	o.Dir = t.TempDir()
	tn, err := testnet.Create(o)
	if err != nil {
		t.Fatalf("the mapped options make no testnet: %v", err)
	}
	if !tn.Network.LongestChain() || len(tn.Network.Followers()) != 1 {
		t.Errorf("network engine %q, %d followers", tn.Network.Engine, len(tn.Network.Followers()))
	}
}
