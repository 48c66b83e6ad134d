package node_test

import (
	"crypto/ed25519"
	"math"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/datasets/optdigits"
	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/live/api/client"
	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/market"
)

// TestUserAPI drives four in-process validators and a follower through the SDK, as a
// user would: a job submitted at one node is committed by the chain and
// listed by every node with its escrow; a job the balance cannot pay is
// refused and changes nothing; the coordinator of a federated job lists
// the versions it committed and answers paid inference with the model's
// real predictions, refusing an asker whose balance is short.
func TestUserAPI(t *testing.T) {
	livetest.RequireLoopback(t)
	netw := testNetwork(t, 4, 1, 0) // the follower's account is the user's: it earns no block rewards
	l := node.DefaultLearning(4)
	l.Rounds, l.Model = 3, "softmax"
	l.RoundGap, l.RoundTimeout = node.Duration(300*time.Millisecond), node.Duration(4*time.Second)
	l.InferencePrice = chain.Token / 100
	netw.Learning = l
	nodes, _ := startAll(t, netw)
	ctx := livetest.Context(t)
	sdk := func(i int, key ed25519.PrivateKey) *client.Client {
		return client.New("http://"+nodes[i].n.StatusAddr(), key)
	}
	user := keysOf(t, netw, 4).Account
	at1, at2 := sdk(1, user), sdk(2, user)
	livetest.WaitFor(t, "node 1 to commit a height", func() bool { return nodes[1].height() >= 1 })

	before, err := at1.Account(ctx, chain.Address{})
	if err != nil {
		t.Fatal(err)
	}
	spec := market.Spec{Kind: market.Compute, Units: 4, UnitFLOPs: 1e9, Steps: 1, Precision: gpu.FP32}
	id, err := at1.SubmitJob(ctx, spec, 5*chain.Token)
	if err != nil {
		t.Fatal(err)
	}
	var job api.Job
	livetest.WaitFor(t, "node 2 to list the job", func() bool {
		job, err = at2.Job(ctx, id)
		return err == nil
	})
	if job.Poster != at1.Address() || job.Budget != 5*chain.Token || job.Units != 4 || job.State != api.JobPending {
		t.Errorf("job at node 2: %+v", job)
	}
	after, err := at2.Account(ctx, chain.Address{})
	if err != nil {
		t.Fatal(err)
	}
	fee := before.Balance - after.Balance - 5*chain.Token
	if after.NextNonce != before.NextNonce+1 || before.Balance-after.Balance < 5*chain.Token || fee > chain.Token/100 {
		t.Errorf("account before %+v, after %+v: want the budget and a fee spent", before, after)
	}

	// A budget over the balance: refused at admission, nothing changes.
	if _, err := at1.SubmitJob(ctx, spec, after.Balance+1); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Errorf("a job over the balance: %v, want failed precondition", err)
	}
	if now, _ := at1.Account(ctx, chain.Address{}); now.Balance != after.Balance || now.NextNonce != after.NextNonce {
		t.Errorf("a refused job changed the account: %+v, then %+v", after, now)
	}

	// A request signed an hour ago is refused before it reaches the node.
	stale := client.New("http://"+nodes[1].n.StatusAddr(), user, client.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	if _, err := stale.Account(ctx, chain.Address{}); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("a request signed an hour ago: %v, want unauthenticated", err)
	}
	// Node 1 counted each answer: the job, the refused job, the stale
	// request.
	fams := scrape(t, nodes[1].n.StatusAddr())
	for _, c := range []struct {
		proc, code string
		want       float64
	}{{"SubmitJob", "ok", 1}, {"SubmitJob", "failed_precondition", 1}, {"GetAccount", "unauthenticated", 1}} {
		if got := sample(fams, node.MetricAPIRequests, map[string]string{"procedure": c.proc, "code": c.code}); got != c.want {
			t.Errorf("%s{procedure=%s,code=%s} = %v, want %v", node.MetricAPIRequests, c.proc, c.code, got, c.want)
		}
	}

	// Inference on the federated job's versions, at the coordinator.
	coord := sdk(0, user)
	livetest.WaitFor(t, "the federated job to finish", func() bool {
		l := nodes[0].n.Status().Learning
		return l != nil && l.Done
	})
	versions, err := coord.ModelVersions(ctx)
	if err != nil || len(versions) < l.Rounds {
		t.Fatalf("the coordinator lists %d versions after %d rounds: %v", len(versions), l.Rounds, err)
	}
	last := versions[len(versions)-1]
	if last.Price != l.InferencePrice || last.Provider != netw.AccountOf(0) || last.Inputs != 64 || last.Model != "softmax" {
		t.Errorf("the last version: %+v", last)
	}
	_, test, err := optdigits.Load()
	if err != nil {
		t.Fatal(err)
	}
	const asks = 12
	start, _ := coord.Account(ctx, chain.Address{})
	right := 0
	for i := range asks {
		x := make([]float32, len(test.X[i]))
		for j, v := range test.X[i] {
			x[j] = float32(v)
		}
		res, err := coord.Infer(ctx, last.Hash, x)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, p := range res.Probabilities {
			sum += p
		}
		if len(res.Probabilities) != 10 || math.Abs(sum-1) > 1e-9 || res.Probabilities[res.Class] < res.Probabilities[(res.Class+1)%10] {
			t.Errorf("inference %d: %+v", i, res)
		}
		if int(res.Class) == test.Y[i] {
			right++
		}
	}
	// After 3 rounds the softmax model classifies most digits (the round-3
	// accuracy the coordinator measured is its test accuracy).
	if right < asks*3/4 || last.TestAccuracy < 0.75 {
		t.Errorf("%d of %d test digits right (version test accuracy %.3f)", right, asks, last.TestAccuracy)
	}
	// Account reads the committed state (NextNonce counts the mempool too).
	var paid api.Account
	livetest.WaitFor(t, "the inference payments to commit", func() bool {
		paid, err = coord.Account(ctx, chain.Address{})
		return err == nil && start.Balance-paid.Balance >= asks*l.InferencePrice
	})
	if spent := start.Balance - paid.Balance; spent < asks*l.InferencePrice || spent > asks*(l.InferencePrice+chain.Token/100) {
		t.Errorf("the asker spent %d base units on %d inferences at %d", spent, asks, l.InferencePrice)
	}

	// An asker with nothing: refused with the ledger's reason, no answer.
	var seed [ed25519.SeedSize]byte
	seed[0] = 42
	poor := sdk(0, ed25519.NewKeyFromSeed(seed[:]))
	_, err = poor.Infer(ctx, last.Hash, make([]float32, 64))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "payment") {
		t.Errorf("inference from an empty account: %v, want a refused payment", err)
	}
}
