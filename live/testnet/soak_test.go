package testnet_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/protocol"
)

// soakEnv runs TestSoak for the duration it gives (live/testnet/soak.sh);
// without it the soak is skipped: it takes minutes, and its figures go in
// BENCHMARKS.md, not in make test.
const soakEnv = "DAIS_SOAK"

// SoakResult is what TestSoak measured, written as JSON to $DAIS_SOAK_OUT.
type SoakResult struct {
	Validators int     `json:"validators"`
	TxRate     float64 `json:"tx_rate"`
	BeforeS    float64 `json:"before_s"`
	DuringS    float64 `json:"during_s"`
	Kills      int     `json:"kills"`
	Heights    uint64  `json:"heights"` // the lowest final height of the nodes
	Forks      int     `json:"forks"`   // heights where two nodes stored different blocks
	LostBlocks int     `json:"lost_blocks"`
	// SplitNs is the protocol time of the first kill: before it, "before".
	SplitNs int64 `json:"split_ns"`
	// Finality is the network's: each height at the first node that
	// committed it. FinalityAtNodes is every node's, each height once per
	// node: a node restarted after a kill commits what it missed late,
	// when it catches up, and that lag is in these.
	FinalityBefore        Quants `json:"finality_ms_before"`
	FinalityDuring        Quants `json:"finality_ms_during"`
	FinalityAtNodesBefore Quants `json:"finality_at_nodes_ms_before"`
	FinalityAtNodesDuring Quants `json:"finality_at_nodes_ms_during"`
	TxsCommitted          int    `json:"txs_committed"`
}

// Quants are a sample's size, median, 99th percentile and maximum.
type Quants struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func quants(xs []float64) Quants {
	if len(xs) == 0 {
		return Quants{}
	}
	slices.Sort(xs)
	q := func(p float64) float64 { return xs[min(len(xs)-1, int(p*float64(len(xs))))] }
	return Quants{N: len(xs), P50: q(0.5), P99: q(0.99), Max: xs[len(xs)-1]}
}

// TestSoak runs four validator processes with the default BFT timeouts at
// 50 signed transfers a second: first untouched for DAIS_SOAK_BEFORE
// (default 2m), then for DAIS_SOAK (say 10m) while one validator after
// another is SIGKILLed every 30 s and restarted 10 s later on its data
// dir. It fails on a fork (two nodes storing different blocks at a
// height), on a lost block (a node that after its restart stores fewer
// heights than it had committed before the kill), and on a node that does
// not come back; it reports finality before and during the kills.
func TestSoak(t *testing.T) {
	spec := os.Getenv(soakEnv)
	if spec == "" {
		t.Skipf("set %s=10m to soak (live/testnet/soak.sh)", soakEnv)
	}
	during, err := time.ParseDuration(spec)
	if err != nil {
		t.Fatalf("%s=%q: %v", soakEnv, spec, err)
	}
	before := 2 * time.Minute
	if s := os.Getenv("DAIS_SOAK_BEFORE"); s != "" {
		if before, err = time.ParseDuration(s); err != nil {
			t.Fatal(err)
		}
	}
	const (
		validators = 4
		txRate     = 50
		every      = 30 * time.Second
		down       = 10 * time.Second
	)
	livetest.RequireLoopback(t)
	dir := t.TempDir()
	if d := os.Getenv("DAIS_SOAK_DIR"); d != "" {
		dir = d // kept, to read the nodes' logs afterwards
	}
	tn, err := testnet.Create(testnet.Options{Dir: dir, Nodes: validators, Seed: 3, TxRate: txRate})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, tn, 32<<10)
	if err := tn.Start(launcher); err != nil {
		t.Fatal(err)
	}
	ctx := livetest.Context(t)
	if err := tn.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	sleep := func(d time.Duration) {
		select {
		case <-ctx.Done():
			t.Fatal("out of time")
		case <-time.After(d):
		}
	}
	sleep(before)
	res := SoakResult{Validators: validators, TxRate: txRate, BeforeS: before.Seconds(), DuringS: during.Seconds()}
	split := time.Since(tn.Network.Epoch).Nanoseconds() // protocol time of the first kill
	res.SplitNs = split
	start := time.Now()
	for i := 0; time.Since(start) < during; i++ {
		tick := time.Now()
		victim := protocol.NodeID(i % validators)
		had := heightOf(t, tn, victim)
		if err := tn.Kill(victim); err != nil {
			t.Fatal(err)
		}
		res.Kills++
		sleep(down)
		if err := tn.Start(launcher, victim); err != nil {
			t.Fatal(err)
		}
		if err := tn.WaitReady(ctx, victim); err != nil {
			t.Fatalf("node %d did not come back after its kill: %v", victim, err)
		}
		if st := tn.Status(ctx)[victim].Status; st == nil || st.StoreHeight < had {
			res.LostBlocks++
			t.Errorf("node %d had committed height %d before its kill; after the restart its store holds %v", victim, had, st)
		}
		sleep(every - time.Since(tick))
	}
	if err := tn.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	// Forks: every pair of stored chains agrees where both have a block.
	chains := make([][]string, validators)
	res.Heights = 1 << 62
	for id := range validators {
		_, chains[id] = storedBlocks(t, tn, protocol.NodeID(id))
		res.Heights = min(res.Heights, uint64(len(chains[id])))
	}
	for h := range res.Heights {
		for id := 1; id < validators; id++ {
			if chains[id][h] != chains[0][h] {
				res.Forks++
				t.Errorf("height %d: node 0 stored %.12s…, node %d %.12s…", h+1, chains[0][h], id, chains[id][h])
				break
			}
		}
	}
	// Finality at each node, each height once (a height committed again
	// in a replay after a kill counts once), split at the first kill.
	var fBefore, fDuring []float64
	type commit struct{ at, latency int64 }
	first := map[uint64]commit{}
	for id := range validators {
		evs, err := tn.Events(protocol.NodeID(id))
		if err != nil {
			t.Fatal(err)
		}
		seen, applied := map[uint64]bool{}, map[uint64]bool{}
		for _, ev := range evs {
			if ev.Kind == node.EventApplied && id == 0 && !applied[ev.Height] {
				applied[ev.Height] = true
				res.TxsCommitted += ev.Txs
			}
			if ev.Kind != node.EventCommitted || seen[ev.Height] {
				continue
			}
			seen[ev.Height] = true
			if c, ok := first[ev.Height]; !ok || ev.AtNs < c.at {
				first[ev.Height] = commit{ev.AtNs, ev.LatencyNs}
			}
			ms := float64(ev.LatencyNs) / 1e6
			if ev.AtNs < split {
				fBefore = append(fBefore, ms)
			} else {
				fDuring = append(fDuring, ms)
			}
		}
	}
	res.FinalityAtNodesBefore, res.FinalityAtNodesDuring = quants(fBefore), quants(fDuring)
	fBefore, fDuring = nil, nil
	for _, c := range first {
		if c.at < split {
			fBefore = append(fBefore, float64(c.latency)/1e6)
		} else {
			fDuring = append(fDuring, float64(c.latency)/1e6)
		}
	}
	res.FinalityBefore, res.FinalityDuring = quants(fBefore), quants(fDuring)
	if _, violations, err := tn.Report(); err != nil || len(violations) > 0 {
		t.Errorf("the report: %v; violations: %s", err, strings.Join(violations, "; "))
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	t.Logf("soak: %s", b)
	if out := os.Getenv("DAIS_SOAK_OUT"); out != "" {
		if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
			t.Error(err)
		}
	}
	fmt.Fprintf(os.Stderr, "soak: %d kills, %d heights, %d forks, %d lost blocks; finality p50/p99 %.0f/%.0f ms before, %.0f/%.0f ms during (at every node: %.0f/%.0f, %.0f/%.0f ms)\n",
		res.Kills, res.Heights, res.Forks, res.LostBlocks, res.FinalityBefore.P50, res.FinalityBefore.P99, res.FinalityDuring.P50, res.FinalityDuring.P99,
		res.FinalityAtNodesBefore.P50, res.FinalityAtNodesBefore.P99, res.FinalityAtNodesDuring.P50, res.FinalityAtNodesDuring.P99)
}
