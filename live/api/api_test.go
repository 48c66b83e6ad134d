package api_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/live/api/client"
	"github.com/dais-sim/dais/live/api/gen/daisv1"
	"github.com/dais-sim/dais/live/api/gen/daisv1/daisv1connect"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/market"
)

// ledgerBackend serves the API from a real chain.Ledger: submissions go
// through its mempool admission, commit makes and commits a block.
type ledgerBackend struct {
	mu       sync.Mutex
	l        *chain.Ledger
	provider chain.Address
	version  api.ModelVersion
	calls    int // Backend calls that reached it
}

func newLedgerBackend(t testing.TB, accounts ...chain.Account) *ledgerBackend {
	t.Helper()
	l, err := chain.NewLedger(chain.Config{Genesis: accounts, Params: chain.DefaultParams()})
	if err != nil {
		t.Fatal(err)
	}
	return &ledgerBackend{l: l}
}

func (b *ledgerBackend) commit() {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.l.Height() + 1
	block, hash := b.l.MakeBlock(h, b.l.Tip(), 0, 0)
	b.l.Commit(h, block, hash, 0)
}

func (b *ledgerBackend) Account(a chain.Address) (api.Account, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	acc := b.l.Account(a)
	return api.Account{Address: a, Balance: acc.Balance, Stake: acc.Stake, NextNonce: acc.Nonce, Height: b.l.Height()}, nil
}

func (b *ledgerBackend) Params() chain.Params { return chain.DefaultParams() }

func (b *ledgerBackend) Submit(tx *chain.Tx) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if err := b.l.AddTx(tx); err != nil {
		return fmt.Errorf("%w: %v", api.ErrRefused, err)
	}
	return nil
}

func (b *ledgerBackend) Job(id chain.JobID) (api.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	j, ok := b.l.Job(id)
	if !ok {
		return api.Job{}, fmt.Errorf("%w: job %x", api.ErrNotFound, id)
	}
	post, _ := market.DecodePost(j.Spec)
	return api.Job{ID: id, State: api.JobRunning, Poster: j.Poster, Budget: j.Escrow, Units: post.Spec.Units, PostedHeight: j.Posted}, nil
}

func (b *ledgerBackend) Results(id chain.JobID) ([]api.UnitResult, error) {
	return []api.UnitResult{{Unit: 0, Output: []byte("out")}}, nil
}

func (b *ledgerBackend) ModelVersions() []api.ModelVersion { return []api.ModelVersion{b.version} }

func (b *ledgerBackend) Infer(_ context.Context, asker chain.Address, version [32]byte, input []float32, pay *chain.Tx) (api.Inference, error) {
	if version != b.version.Hash {
		return api.Inference{}, fmt.Errorf("%w: version %x", api.ErrNotFound, version)
	}
	if err := b.Submit(pay); err != nil {
		return api.Inference{}, err
	}
	return api.Inference{Class: 3, Probabilities: []float64{0.1, 0.9}, Provider: b.provider, Payment: pay.Hash()}, nil
}

func key(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s)
}

func serve(t *testing.T, b api.Backend, opt api.Options) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(api.NewServer(b, opt).Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

var spec = market.Spec{Kind: market.Compute, Units: 4, UnitFLOPs: 1e9, Steps: 1, Precision: gpu.FP32}

// A job submitted through the SDK is admitted by the ledger, gets the ID
// the ledger gives it, and shows up once a block commits it; its escrow is
// the budget, and the account paid budget and fee.
func TestSubmitJobThroughSDK(t *testing.T) {
	alice := key(1)
	b := newLedgerBackend(t, chain.Account{Address: chain.AddressOf(alice), Balance: 100 * chain.Token})
	srv := serve(t, b, api.Options{})
	for _, json := range []bool{false, true} {
		var opts []client.Option
		if json {
			opts = append(opts, client.WithJSON())
		}
		c := client.New(srv.URL, alice, opts...)
		ctx := context.Background()
		before, err := c.Account(ctx, chain.Address{})
		if err != nil {
			t.Fatal(err)
		}
		id, err := c.SubmitJob(ctx, spec, 5*chain.Token)
		if err != nil {
			t.Fatal(err)
		}
		if id != chain.JobIDFor(c.Address(), before.NextNonce) {
			t.Errorf("job ID %x, want the ledger's %x", id, chain.JobIDFor(c.Address(), before.NextNonce))
		}
		if _, err := c.Job(ctx, id); connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("job before its block: %v, want not found", err)
		}
		b.commit()
		j, err := c.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Poster != c.Address() || j.Budget != 5*chain.Token || j.Units != 4 || j.PostedHeight != b.l.Height() {
			t.Errorf("job %+v", j)
		}
		after, _ := c.Account(ctx, chain.Address{})
		if after.NextNonce != before.NextNonce+1 || before.Balance-after.Balance <= 5*chain.Token || before.Balance-after.Balance > 5*chain.Token+chain.Token/1000 {
			t.Errorf("account before %+v, after %+v", before, after)
		}
		res, err := c.Results(ctx, id)
		if err != nil || len(res) != 1 || string(res[0].Output) != "out" {
			t.Errorf("results: %v %v", res, err)
		}
	}
}

// Bad requests get clear errors and change nothing.
func TestRefusals(t *testing.T) {
	alice, bob, mallory := key(1), key(2), key(3)
	b := newLedgerBackend(t,
		chain.Account{Address: chain.AddressOf(alice), Balance: 100 * chain.Token},
		chain.Account{Address: chain.AddressOf(bob), Balance: 1000})
	srv := serve(t, b, api.Options{})
	ctx := context.Background()
	ca, cb := client.New(srv.URL, alice), client.New(srv.URL, bob)
	id, err := ca.SubmitJob(ctx, spec, chain.Token)
	if err != nil {
		t.Fatal(err)
	}
	b.commit()
	state := b.l.StateRoot()

	// Bob cannot afford the budget: refused by the ledger, with its reason.
	_, err = cb.SubmitJob(ctx, spec, chain.Token)
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "refused") {
		t.Errorf("budget beyond the balance: %v", err)
	}
	// Only the poster fetches results.
	if _, err := cb.Results(ctx, id); connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "only its poster") {
		t.Errorf("results by another account: %v", err)
	}
	// A job post signed by Mallory sent under Alice's auth.
	tx := chain.Sign(mallory, chain.NewJobPost(0, 100_000, chain.Token, spec.Encode()))
	raw := daisv1connect.NewNodeServiceClient(http.DefaultClient, srv.URL)
	req := &daisv1.SubmitJobRequest{Tx: tx.Encoded()}
	if err := api.SignRequest(alice, daisv1connect.NodeServiceSubmitJobProcedure, time.Now(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.SubmitJob(ctx, connect.NewRequest(req)); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("someone else's transaction: %v", err)
	}
	// The same signed request sent twice: the second is a replay.
	if _, err := raw.SubmitJob(ctx, connect.NewRequest(req)); connect.CodeOf(err) != connect.CodeUnauthenticated || !errors.Is(err, api.ErrReplayed) && !strings.Contains(err.Error(), "already used") {
		t.Errorf("replayed request: %v", err)
	}
	// A signature for another method, a tampered body, an old signature,
	// no auth at all.
	get := &daisv1.GetJobRequest{JobId: id[:]}
	if err := api.SignRequest(alice, daisv1connect.NodeServiceGetAccountProcedure, time.Now(), get); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.GetJob(ctx, connect.NewRequest(get)); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("signature for another method: %v", err)
	}
	if err := api.SignRequest(alice, daisv1connect.NodeServiceGetJobProcedure, time.Now(), get); err != nil {
		t.Fatal(err)
	}
	get.JobId = make([]byte, 16)
	if _, err := raw.GetJob(ctx, connect.NewRequest(get)); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("tampered request: %v", err)
	}
	if err := api.SignRequest(alice, daisv1connect.NodeServiceGetJobProcedure, time.Now().Add(-time.Hour), get); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.GetJob(ctx, connect.NewRequest(get)); connect.CodeOf(err) != connect.CodeUnauthenticated || !strings.Contains(err.Error(), "window") {
		t.Errorf("hour-old signature: %v", err)
	}
	if _, err := raw.GetJob(ctx, connect.NewRequest(&daisv1.GetJobRequest{JobId: id[:]})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("no auth: %v", err)
	}
	// Malformed fields.
	short := &daisv1.GetJobRequest{JobId: []byte{1, 2}}
	if err := api.SignRequest(alice, daisv1connect.NodeServiceGetJobProcedure, time.Now(), short); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.GetJob(ctx, connect.NewRequest(short)); connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "job_id has 2 bytes, want 16") {
		t.Errorf("short job ID: %v", err)
	}
	if b.l.StateRoot() != state {
		t.Error("a refused request changed the ledger")
	}
	if txs, _ := b.l.PoolSize(); txs != 0 {
		t.Errorf("%d refused transactions in the mempool", txs)
	}
}

// An inference is paid by a transfer of the version's price; without the
// balance, it is refused and nothing runs.
func TestInferPaid(t *testing.T) {
	alice, poor := key(1), key(2)
	b := newLedgerBackend(t,
		chain.Account{Address: chain.AddressOf(alice), Balance: 100 * chain.Token},
		chain.Account{Address: chain.AddressOf(poor), Balance: 10})
	b.provider = chain.AddressOf(key(9))
	b.version = api.ModelVersion{Hash: [32]byte{7}, Round: 3, Price: chain.Token, Provider: b.provider, Model: "mlp", Inputs: 64}
	srv := serve(t, b, api.Options{})
	ctx := context.Background()
	res, err := client.New(srv.URL, alice).Infer(ctx, b.version.Hash, make([]float32, 64))
	if err != nil {
		t.Fatal(err)
	}
	if res.Class != 3 || res.Provider != b.provider {
		t.Errorf("inference %+v", res)
	}
	b.commit()
	if got := b.l.Account(b.provider).Balance; got != chain.Token {
		t.Errorf("provider holds %d, want the price %d", got, chain.Token)
	}
	_, err = client.New(srv.URL, poor).Infer(ctx, b.version.Hash, make([]float32, 64))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Errorf("inference without the balance: %v", err)
	}
	if _, err := client.New(srv.URL, alice).Infer(ctx, [32]byte{8}, make([]float32, 64)); !errors.Is(err, client.ErrNoVersion) {
		t.Errorf("unknown version: %v", err)
	}
}

// Requests connect refuses before decoding them (too large, not a
// message, an unknown procedure) are counted too, unknown procedures
// under one label.
func TestRefusalsBeforeDecodingAreCounted(t *testing.T) {
	b := newLedgerBackend(t)
	var mu sync.Mutex
	got := map[string]int{}
	srv := serve(t, b, api.Options{Observe: func(proc string, code connect.Code) {
		mu.Lock()
		got[proc+" "+code.String()]++
		mu.Unlock()
	}})
	post := func(path, body string) int {
		t.Helper()
		res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	submit := daisv1connect.NodeServiceSubmitJobProcedure
	post(submit, `{"tx": `+strings.Repeat(" ", api.MaxRequestBytes)+`""}`)
	post(submit, `not json`)
	post("/dais.v1.NodeService/"+strings.Repeat("x", 40), `{}`)
	post("/dais.v1.NodeService/Other", `{}`)
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{
		submit + " resource_exhausted": 1,
		submit + " invalid_argument":   1,
		"unknown unimplemented":        2,
	}
	if !maps.Equal(got, want) {
		t.Errorf("counted %v, want %v", got, want)
	}
}
