// Package api is the user API of a live dais node: a versioned RPC
// service (Connect: gRPC, gRPC-Web, and plain HTTP/JSON POSTs on one
// handler) generated from proto/dais/v1/node.proto. A user submits a job
// with a budget, follows it, fetches its results, queries accounts and
// model versions, and pays for inference on a committed model version.
//
// The server authenticates every request by the asker's ed25519 account
// key (Auth, see SignRequest) and hands the work to a Backend, which a
// node implements over its ledger, market and learning roles. The Go SDK
// is live/api/client; `dais job` and `dais infer` are built on it.
//
//	srv := api.NewServer(backend, api.Options{})
//	path, h := srv.Handler()
//	mux.Handle(path, h) // served on loopback by default
package api

import (
	"context"
	"errors"

	"github.com/dais-sim/dais/protocol/chain"
)

// Errors a Backend returns; the server maps them to RPC codes, and keeps
// the backend's message.
var (
	// ErrNotFound: no such job, model version or account state.
	ErrNotFound = errors.New("not found")
	// ErrRefused: the ledger refused a transaction (bad nonce, fee too
	// low, balance short, malformed); nothing changed.
	ErrRefused = errors.New("refused")
	// ErrUnavailable: the node cannot serve this now (no provider holds
	// the model, the node is not synced).
	ErrUnavailable = errors.New("unavailable")
)

// Backend is what a node gives the API. Its methods are called from many
// goroutines at once and must not block on the node's own event loop for
// longer than a request may take.
type Backend interface {
	// Account is addr's state at the last committed height.
	Account(addr chain.Address) (Account, error)
	// Params are the ledger's rules (fees).
	Params() chain.Params
	// Submit checks tx against the node's ledger and pending transactions
	// and relays it to the validators; a refusal wraps ErrRefused and
	// changes nothing.
	Submit(tx *chain.Tx) error
	// Job is a job's progress; ErrNotFound when the node knows no job by
	// that ID (it may still be in flight).
	Job(id chain.JobID) (Job, error)
	// Results are the job's verified unit results.
	Results(id chain.JobID) ([]UnitResult, error)
	// ModelVersions are the versions federated jobs committed, oldest
	// first.
	ModelVersions() []ModelVersion
	// Infer runs version on input, paid by payment (a signed transfer from
	// asker to the version's provider, nil for an open version). It
	// submits the payment first: a refused payment (balance short) wraps
	// ErrRefused and nothing runs.
	Infer(ctx context.Context, asker chain.Address, version [32]byte, input []float32, payment *chain.Tx) (Inference, error)
}

// Account is an account's state.
type Account struct {
	Address   chain.Address
	Balance   uint64
	Stake     uint64
	NextNonce uint64
	Height    uint64
}

// JobState is where a job is.
type JobState int

// Job states, as the API reports them.
const (
	JobPending JobState = iota + 1
	JobRunning
	JobDone
	JobFailed
)

// Job is a job's progress.
type Job struct {
	ID                                  chain.JobID
	State                               JobState
	Poster                              chain.Address
	Budget                              uint64
	Units, Assigned, Computed, Verified uint32
	Paid, Refunded                      uint64
	PostedHeight, SettledHeight         uint64
}

// UnitResult is a verified unit's result.
type UnitResult struct {
	Unit       uint32
	Commitment chain.Hash
	// Output is the unit's output when the node holds it (its SHA-256 is
	// Commitment), else nil: nil today, nodes keep commitments only.
	Output   []byte
	Provider chain.Address
}

// ModelVersion is a committed model version.
type ModelVersion struct {
	Hash, Parent [32]byte
	Round        uint32
	TestAccuracy float64
	// Price of one inference in base units (0: open), paid to Provider.
	Price    uint64
	Provider chain.Address
	Model    string
	Inputs   uint32
}

// Inference is an answered inference request.
type Inference struct {
	Class         uint32
	Probabilities []float64
	Provider      chain.Address
	Payment       chain.Hash
}
