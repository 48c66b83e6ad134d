// Package client is the Go SDK of a dais node's user API (live/api): it
// signs every request with the account's ed25519 key, builds and signs
// the transactions that mutate (job posts, inference payments) with the
// right nonce and fee, and turns the wire messages into Go values.
//
//	c := client.New("http://127.0.0.1:7001", key)
//	id, err := c.SubmitJob(ctx, spec, budget)
//	job, err := c.WaitJob(ctx, id, 200*time.Millisecond)
//	res, err := c.Results(ctx, id)
//
// A Client is safe for concurrent use; transactions from one account are
// numbered by the node's view of its next nonce, so concurrent
// submissions from one account may collide (one is refused).
package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/live/api/gen/daisv1"
	"github.com/dais-sim/dais/live/api/gen/daisv1/daisv1connect"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/market"
)

// Client talks to one node.
type Client struct {
	svc daisv1connect.NodeServiceClient
	key ed25519.PrivateKey
	now func() time.Time
}

// Option tunes a Client.
type Option func(*Client, *[]connect.ClientOption, **http.Client)

// WithHTTPClient uses hc for requests (http.DefaultClient otherwise).
func WithHTTPClient(hc *http.Client) Option {
	return func(_ *Client, _ *[]connect.ClientOption, h **http.Client) { *h = hc }
}

// WithClock signs with now instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *Client, _ *[]connect.ClientOption, _ **http.Client) { c.now = now }
}

// WithJSON speaks the Connect protocol's JSON encoding instead of
// protobuf (what curl users see).
func WithJSON() Option {
	return func(_ *Client, o *[]connect.ClientOption, _ **http.Client) { *o = append(*o, connect.WithProtoJSON()) }
}

// New returns a client of the node serving baseURL (http://host:port),
// acting as the account of key.
func New(baseURL string, key ed25519.PrivateKey, opts ...Option) *Client {
	c := &Client{key: key, now: time.Now}
	var co []connect.ClientOption
	hc := http.DefaultClient
	for _, o := range opts {
		o(c, &co, &hc)
	}
	c.svc = daisv1connect.NewNodeServiceClient(hc, baseURL, co...)
	return c
}

// Address is the client's account.
func (c *Client) Address() chain.Address { return chain.AddressOf(c.key) }

func sign[T any](c *Client, procedure string, msg *T) *connect.Request[T] {
	m, ok := any(msg).(api.Authed)
	if !ok {
		panic("client: request without auth")
	}
	if err := api.SignRequest(c.key, procedure, c.now(), m); err != nil {
		panic(fmt.Sprintf("client: signing %s: %v", procedure, err)) // only a proto encoding error, never the caller's
	}
	return connect.NewRequest(msg)
}

// Account is addr's state; the zero address asks for the client's own.
func (c *Client) Account(ctx context.Context, addr chain.Address) (api.Account, error) {
	req := &daisv1.GetAccountRequest{}
	if addr != (chain.Address{}) {
		req.Address = addr[:]
	}
	res, err := c.svc.GetAccount(ctx, sign(c, daisv1connect.NodeServiceGetAccountProcedure, req))
	if err != nil {
		return api.Account{}, err
	}
	a := api.Account{Balance: res.Msg.Balance, Stake: res.Msg.Stake, NextNonce: res.Msg.NextNonce, Height: res.Msg.Height}
	copy(a.Address[:], res.Msg.Address)
	return a, nil
}

// signTx numbers, prices and signs a transaction of the client's account.
func (c *Client) signTx(ctx context.Context, t chain.TxType, body any) (*chain.Tx, error) {
	acct, err := c.Account(ctx, chain.Address{})
	if err != nil {
		return nil, fmt.Errorf("client: reading the account's nonce: %w", err)
	}
	fees, err := c.svc.GetFees(ctx, sign(c, daisv1connect.NodeServiceGetFeesProcedure, &daisv1.GetFeesRequest{}))
	if err != nil {
		return nil, fmt.Errorf("client: reading the fees: %w", err)
	}
	// The fee is part of what is priced: size the transaction with the
	// largest fee's encoding, then price it.
	probe := chain.Sign(c.key, chain.NewTx(t, acct.NextNonce, math.MaxUint64, body))
	gas := fees.Msg.BaseGas[t.String()] + fees.Msg.GasPerByte*uint64(len(probe.Encoded()))
	return chain.Sign(c.key, chain.NewTx(t, acct.NextNonce, gas*fees.Msg.MinGasPrice, body)), nil
}

// SubmitJob posts a job of spec with budget base units in escrow and
// returns its ID.
func (c *Client) SubmitJob(ctx context.Context, spec market.Spec, budget uint64) (chain.JobID, error) {
	if err := spec.Validate(); err != nil {
		return chain.JobID{}, err
	}
	tx, err := c.signTx(ctx, chain.TxJobPost, chain.JobPost{Budget: budget, Spec: spec.Encode()})
	if err != nil {
		return chain.JobID{}, err
	}
	res, err := c.svc.SubmitJob(ctx, sign(c, daisv1connect.NodeServiceSubmitJobProcedure, &daisv1.SubmitJobRequest{Tx: tx.Encoded()}))
	if err != nil {
		return chain.JobID{}, err
	}
	var id chain.JobID
	copy(id[:], res.Msg.JobId)
	return id, nil
}

// Job is a job's progress.
func (c *Client) Job(ctx context.Context, id chain.JobID) (api.Job, error) {
	res, err := c.svc.GetJob(ctx, sign(c, daisv1connect.NodeServiceGetJobProcedure, &daisv1.GetJobRequest{JobId: id[:]}))
	if err != nil {
		return api.Job{}, err
	}
	m := res.Msg
	j := api.Job{ID: id, State: api.JobState(m.State), Budget: m.Budget, Units: m.Units, Assigned: m.UnitsAssigned,
		Computed: m.UnitsComputed, Verified: m.UnitsVerified, Paid: m.Paid, Refunded: m.Refunded,
		PostedHeight: m.PostedHeight, SettledHeight: m.SettledHeight}
	copy(j.Poster[:], m.Poster)
	return j, nil
}

// WaitJob polls the job every poll until it is done or failed, or ctx
// ends. A job the node does not know yet (its post in flight) is waited
// for too.
func (c *Client) WaitJob(ctx context.Context, id chain.JobID, poll time.Duration) (api.Job, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		j, err := c.Job(ctx, id)
		switch {
		case err == nil && (j.State == api.JobDone || j.State == api.JobFailed):
			return j, nil
		case err != nil && connect.CodeOf(err) != connect.CodeNotFound:
			return j, err
		}
		select {
		case <-ctx.Done():
			return j, fmt.Errorf("client: waiting for job %x: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// Results are a job's verified unit results (only its poster may ask).
func (c *Client) Results(ctx context.Context, id chain.JobID) ([]api.UnitResult, error) {
	res, err := c.svc.GetJobResult(ctx, sign(c, daisv1connect.NodeServiceGetJobResultProcedure, &daisv1.GetJobResultRequest{JobId: id[:]}))
	if err != nil {
		return nil, err
	}
	var out []api.UnitResult
	for _, u := range res.Msg.Units {
		r := api.UnitResult{Unit: u.Unit, Output: u.Output}
		copy(r.Commitment[:], u.Commitment)
		copy(r.Provider[:], u.Provider)
		out = append(out, r)
	}
	return out, nil
}

// ModelVersions lists the committed model versions, oldest first.
func (c *Client) ModelVersions(ctx context.Context) ([]api.ModelVersion, error) {
	res, err := c.svc.ListModelVersions(ctx, sign(c, daisv1connect.NodeServiceListModelVersionsProcedure, &daisv1.ListModelVersionsRequest{}))
	if err != nil {
		return nil, err
	}
	var out []api.ModelVersion
	for _, v := range res.Msg.Versions {
		mv := api.ModelVersion{Round: v.Round, TestAccuracy: v.TestAccuracy, Price: v.Price, Model: v.Model, Inputs: v.Inputs}
		copy(mv.Hash[:], v.Hash)
		copy(mv.Parent[:], v.Parent)
		copy(mv.Provider[:], v.Provider)
		out = append(out, mv)
	}
	return out, nil
}

// ErrNoVersion is returned by Infer for a version the node does not list.
var ErrNoVersion = errors.New("client: the node lists no such model version")

// Infer pays for and runs one inference of version on input: it signs a
// transfer of the version's price to its provider (none for an open
// version).
func (c *Client) Infer(ctx context.Context, version [32]byte, input []float32) (api.Inference, error) {
	versions, err := c.ModelVersions(ctx)
	if err != nil {
		return api.Inference{}, err
	}
	var mv *api.ModelVersion
	for i := range versions {
		if versions[i].Hash == version {
			mv = &versions[i]
		}
	}
	if mv == nil {
		return api.Inference{}, fmt.Errorf("%w: %x", ErrNoVersion, version)
	}
	req := &daisv1.InferRequest{Version: version[:], Input: input}
	if mv.Price > 0 {
		pay, err := c.signTx(ctx, chain.TxTransfer, chain.Transfer{To: mv.Provider, Amount: mv.Price})
		if err != nil {
			return api.Inference{}, err
		}
		req.PaymentTx = pay.Encoded()
	}
	res, err := c.svc.Infer(ctx, sign(c, daisv1connect.NodeServiceInferProcedure, req))
	if err != nil {
		return api.Inference{}, err
	}
	out := api.Inference{Class: res.Msg.Class, Probabilities: res.Msg.Probabilities}
	copy(out.Provider[:], res.Msg.Provider)
	copy(out.Payment[:], res.Msg.PaymentTxHash)
	return out, nil
}
