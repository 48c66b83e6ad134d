package testnet_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/live/api/client"
	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/wire"
)

// TestChainMarketSurvivesSIGKILLedLeader runs four BFT validators (node 0
// leads the market's committee, node 3 posts a job) and two providers
// (followers 4 and 5) as processes, the market settling on the BFT chain.
// Once the committee has verified a unit of the job, and before it
// settles, it SIGKILLs the committee's node and starts it again on its
// data dir: the restarted committee must rebuild the job from the stored
// chain, the providers join it again, and the job completes. Then, from
// the chain each node stored: every node stored the same blocks; the
// job's post, result roots and settlement are on it, signed by the
// requester and by the committee's account; the job's escrow is released
// in full, each provider's balance is its genesis balance plus what the
// chain credited it, and tokens are conserved.
func TestChainMarketSurvivesSIGKILLedLeader(t *testing.T) { chainMarket(t, false) }

// TestChainMarketJobThroughTheAPI is the same with the job submitted by a
// user through the SDK (live/api/client) at node 1, signed with node 3's
// account key, no node running a requester: the job is followed and its
// results fetched through the API, at node 2 and at the committee's node.
func TestChainMarketJobThroughTheAPI(t *testing.T) { chainMarket(t, true) }

func chainMarket(t *testing.T, viaAPI bool) {
	livetest.RequireLoopback(t)
	t.Parallel() // its nodes are processes; it mostly waits
	if raceEnabled {
		t.Skip("a heavy claim test (six processes, real work): skipped under the race detector")
	}
	const (
		leader    = 0
		requester = 3
		units     = 4
	)
	requesters := []protocol.NodeID{requester}
	if viaAPI {
		requesters = nil
	}
	spec := &node.MarketSpec{Committee: leader, Providers: []protocol.NodeID{4, 5}, Requesters: requesters,
		Verification: "redundancy", Replicas: 2, Units: units, UnitFLOPs: 2e9, Budget: 10 * chain.Token,
		Settlement: node.SettleChain, BlockInterval: node.Duration(200 * time.Millisecond), CommitDelay: node.Duration(time.Millisecond)}
	tn, err := testnet.Create(testnet.Options{Dir: t.TempDir(), Nodes: 6, Validators: 4, Seed: 9, Timeouts: fast, Market: spec})
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
	marketOf := func(id protocol.NodeID) *node.MarketStatus {
		if st := tn.Status(context.Background())[id].Status; st != nil {
			return st.Market
		}
		return nil
	}
	sdk := func(id protocol.NodeID) *client.Client {
		t.Helper()
		addr, err := os.ReadFile(filepath.Join(tn.DataDir(id), node.StatusFile))
		if err != nil {
			t.Fatal(err)
		}
		keys, err := node.LoadKeys(filepath.Join(tn.DataDir(requester), node.KeyFile))
		if err != nil {
			t.Fatal(err)
		}
		return client.New("http://"+strings.TrimSpace(string(addr)), keys.Account)
	}
	var apiJob chain.JobID
	if viaAPI {
		apiJob, err = sdk(1).SubmitJob(ctx, market.Spec{Kind: market.Compute, Units: units, UnitFLOPs: 2e9, Steps: 1, Precision: gpu.FP32}, 10*chain.Token)
		if err != nil {
			t.Fatal(err)
		}
	}
	livetest.WaitFor(t, "the committee to verify a unit", func() bool {
		m := marketOf(leader)
		return m != nil && m.Verified >= 1
	})
	if err := tn.Kill(leader); err != nil {
		t.Fatal(err)
	}
	// Mid-job: the post is on the chain the leader stored, its settlement
	// is not.
	posts, settles := jobTxs(t, tn, leader)
	if len(posts) != 1 || len(settles) != 0 {
		t.Fatalf("the killed leader had stored %d job posts and %d settlements, want 1 and 0: not mid-job", len(posts), len(settles))
	}
	if err := tn.Start(launcher, leader); err != nil {
		t.Fatal(err)
	}
	if viaAPI {
		var j api.Job
		livetest.WaitFor(t, "the job to be done, asked at node 2", func() bool {
			j, err = sdk(2).Job(ctx, apiJob)
			return err == nil && j.State == api.JobDone
		})
		if j.Paid == 0 || j.Paid+j.Refunded > 10*chain.Token || j.Units != units {
			t.Errorf("the job at node 2: %+v", j)
		}
		livetest.WaitFor(t, "the committee to close the job", func() bool {
			m := marketOf(leader)
			return m != nil && m.Settled >= 1
		})
		livetest.WaitFor(t, "the committee's node to report every unit verified", func() bool {
			j, err = sdk(leader).Job(ctx, apiJob)
			return err == nil && j.Verified == units
		})
		if j.Assigned != units || j.Computed < units {
			t.Errorf("the job at the committee's node: %d units assigned and %d computed, want %d and at least %d", j.Assigned, j.Computed, units, units)
		}
		rs, err := sdk(leader).Results(ctx, apiJob)
		if err != nil || len(rs) == 0 {
			t.Fatalf("results at the committee's node: %v, %v", rs, err)
		}
		for _, r := range rs {
			if r.Commitment == (chain.Hash{}) || (r.Provider != tn.Network.AccountOf(4) && r.Provider != tn.Network.AccountOf(5)) {
				t.Errorf("result %+v: want a commitment by a provider", r)
			}
		}
	} else {
		livetest.WaitFor(t, "the requester's job to finish", func() bool {
			m := marketOf(requester)
			return m != nil && m.Finished >= 1
		})
		job := marketOf(requester).Jobs[0]
		if job.Status != "done" || job.Verified != units {
			t.Errorf("the job ended %+v, want done with %d units verified", job, units)
		}
	}
	if m := marketOf(leader); m.Settled != 1 {
		t.Errorf("the restarted committee settled %d jobs, want 1", m.Settled)
	}
	// The chain goes on after the settlement, and the nodes stop one by
	// one: the three still running commit on. So every node is first
	// waited for to reach the height the committee had once it settled,
	// and every stored chain must then be a prefix of the longest.
	settledAt := tn.Status(ctx)[leader].Status.Height
	livetest.WaitFor(t, fmt.Sprintf("every node to reach height %d, where the committee had settled", settledAt), func() bool {
		for _, ns := range tn.Status(ctx) {
			if ns.Status == nil || ns.Status.Height < settledAt {
				return false
			}
		}
		return true
	})
	if err := tn.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	netw := tn.Network
	settler, req := netw.AccountOf(leader), netw.AccountOf(requester)
	stored := map[protocol.NodeID][]string{}
	var longest protocol.NodeID
	for _, id := range tn.IDs() {
		_, stored[id] = storedBlocks(t, tn, id)
		if len(stored[id]) > len(stored[longest]) {
			longest = id
		}
	}
	for _, id := range tn.IDs() {
		hashes, ref := stored[id], stored[longest]
		if uint64(len(hashes)) < settledAt || !slices.Equal(hashes, ref[:len(hashes)]) {
			t.Fatalf("node %d stored %d blocks, node %d %d: not a prefix of it, or short of height %d", id, len(hashes), longest, len(ref), settledAt)
		}
		posts, settles := jobTxs(t, tn, id)
		if len(posts) != 1 || posts[0].From() != req {
			t.Fatalf("node %d stored %d job posts, want the requester's one", id, len(posts))
		}
		jobID := chain.JobIDFor(req, posts[0].Nonce)
		if viaAPI && jobID != apiJob {
			t.Fatalf("the stored post is not the job the SDK submitted")
		}
		budget := posts[0].Body().(chain.JobPost).Budget
		credited := map[chain.Address]uint64{}
		var released uint64
		closed := false
		for _, tx := range settles {
			if tx.From() != settler {
				t.Errorf("node %d: a settlement from %s, not the committee's account %s", id, tx.From(), settler)
			}
			for _, r := range tx.Body().(chain.Settle).Jobs {
				if r.Job != jobID {
					continue
				}
				closed = closed || r.Close
				released += r.Burn
				for _, c := range r.Pay {
					credited[c.To] += c.Amount
					released += c.Amount
				}
			}
		}
		if !closed || released > budget {
			t.Fatalf("node %d: the job was closed %v, releasing %d of its %d budget", id, closed, released, budget)
		}
		l, err := node.StoredLedger(netw, filepath.Join(tn.DataDir(id), node.StoreFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := l.CheckSupply(); err != nil {
			t.Errorf("node %d's stored chain: %v", id, err)
		}
		if j, ok := l.Job(jobID); !ok || j.Escrow != 0 {
			t.Errorf("node %d: job escrow %+v after its settlement, want 0", id, j)
		}
		payouts := creditsOf(t, tn, id)
		for _, p := range spec.Providers {
			a := netw.AccountOf(p)
			got := l.Account(a).Balance
			if credited[a] == 0 || got != node.DefaultBalance+credited[a]+payouts[a] {
				t.Errorf("node %d: provider %d holds %d, want genesis %d + job fees %d + payouts %d, the fees > 0",
					id, p, got, node.DefaultBalance, credited[a], payouts[a])
			}
		}
	}
}

// storedTxs are the transactions of every block node id stored.
func storedTxs(t *testing.T, tn *testnet.Testnet, id protocol.NodeID) []*chain.Tx {
	t.Helper()
	s, err := store.Open(filepath.Join(tn.DataDir(id), node.StoreFile), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var txs []*chain.Tx
	err = s.Range(1, s.Height(), func(h uint64, rec []byte) error {
		m, err := wire.Decode(bytes.Clone(rec))
		if err != nil {
			return err
		}
		b, err := chain.DecodeBlock(m.(*bft.Commit).Block)
		if err != nil {
			return err
		}
		txs = append(txs, b.Txs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return txs
}

// jobTxs are the job posts and settlements node id stored.
func jobTxs(t *testing.T, tn *testnet.Testnet, id protocol.NodeID) (posts, settles []*chain.Tx) {
	t.Helper()
	for _, tx := range storedTxs(t, tn, id) {
		switch tx.Type {
		case chain.TxJobPost:
			posts = append(posts, tx)
		case chain.TxSettle:
			settles = append(settles, tx)
		}
	}
	return posts, settles
}

// creditsOf sums what the Payouts node id stored credited, by account.
func creditsOf(t *testing.T, tn *testnet.Testnet, id protocol.NodeID) map[chain.Address]uint64 {
	t.Helper()
	out := map[chain.Address]uint64{}
	for _, tx := range storedTxs(t, tn, id) {
		if p, ok := tx.Body().(chain.Payout); ok {
			for _, c := range p.Pay {
				out[c.To] += c.Amount
			}
		}
	}
	return out
}
