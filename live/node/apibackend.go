package node

import (
	"context"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dais-sim/dais/gpu/models"
	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/wire"
)

// The user API on a node (live/api): the node serves it beside /status,
// on the same loopback listener. Reads of the ledger and submissions run
// on the node goroutine (an apiCall delivered to the node itself), so the
// API never races the engine; job progress and results come from an index
// of the committed chain (api.Index), fed on every commit and rebuilt by
// the replay when the node restarts; model versions are the ones this
// node's federated role committed (the coordinator) and holds the
// parameters of.

// apiCallTimeout bounds how long a request waits for the node goroutine:
// a node that is replaying a long store, or has failed, answers
// Unavailable instead of holding the client.
const apiCallTimeout = 10 * time.Second

// apiCall runs fn on the node goroutine. It is a wire.Msg only to travel
// the runtime's input queue: its kind is registered with no decoder, so no
// peer can send one, and apiGate consumes it before any protocol sees it.
type apiCall struct {
	fn   func(env protocol.Env)
	done chan struct{}
	// state is callPending until the node goroutine takes the call
	// (callRunning) or its caller gives up on it first (callAbandoned):
	// whichever moves it first decides, so an abandoned call never runs
	// later (a timed-out submission does not land behind its caller's
	// back, and fn never writes what its caller has stopped reading).
	state atomic.Int32
}

const (
	callPending = iota
	callRunning
	callAbandoned
)

// kindAPICall is outside every registered range (protocol/wire/kinds.go).
const kindAPICall wire.Kind = 65000

func (*apiCall) Kind() wire.Kind            { return kindAPICall }
func (*apiCall) AppendBody(b []byte) []byte { return b }
func (*apiCall) WireSize() int              { return 0 }

// apiGate is the outermost protocol.Node under durable: it runs the API's
// calls and passes everything else on.
type apiGate struct {
	protocol.Node
	self protocol.NodeID
}

func (g *apiGate) Handle(env protocol.Env, in protocol.Input) {
	if r, ok := in.(protocol.Recv); ok && r.From == g.self {
		if c, ok := r.Msg.(*apiCall); ok {
			if c.state.CompareAndSwap(callPending, callRunning) {
				c.fn(env)
				close(c.done)
			}
			return
		}
	}
	g.Node.Handle(env, in)
}

// modelVersion is a committed model version this node can answer for.
type modelVersion struct {
	api.ModelVersion
	spec   models.Spec
	params []float64 // read-only once registered
}

// modelRegistry holds the model versions the node's learning role
// committed, newest last.
type modelRegistry struct {
	mu       sync.Mutex
	versions []*modelVersion
}

func (r *modelRegistry) add(v api.ModelVersion, spec models.Spec, params []float64) error {
	if len(params) != spec.NumParams() {
		return fmt.Errorf("model version %x has %d parameters, its model %d", v.Hash[:8], len(params), spec.NumParams())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.ContainsFunc(r.versions, func(o *modelVersion) bool { return o.Hash == v.Hash }) {
		return nil
	}
	r.versions = append(r.versions, &modelVersion{ModelVersion: v, spec: spec, params: slices.Clone(params)})
	return nil
}

func (r *modelRegistry) list() []api.ModelVersion {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]api.ModelVersion, len(r.versions))
	for i, v := range r.versions {
		out[i] = v.ModelVersion
	}
	return out
}

func (r *modelRegistry) predict(version [32]byte, x []float64) (api.ModelVersion, []float64, bool) {
	r.mu.Lock()
	var v *modelVersion
	if i := slices.IndexFunc(r.versions, func(v *modelVersion) bool { return v.Hash == version }); i >= 0 {
		v = r.versions[i]
	}
	r.mu.Unlock()
	if v == nil {
		return api.ModelVersion{}, nil, false
	}
	// Outside the lock: a version's parameters never change.
	return v.ModelVersion, models.Probabilities(v.spec, v.params, x), true
}

// MetricAPIRequests counts the user API's requests by procedure and the
// code each was answered with ("ok", "unauthenticated" for a bad or
// replayed signature, "invalid_argument", "failed_precondition" for a
// transaction the ledger refused, …).
const MetricAPIRequests = "dais_api_requests_total"

// apiServer is the user API over this node, counting every answer.
func (n *Node) apiServer() *api.Server {
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricAPIRequests,
		Help: "User API requests by procedure and answer code (every refusal included)."}, []string{"procedure", "code"})
	n.tel.reg.MustRegister(reqs)
	return api.NewServer(apiBackend{n}, api.Options{Observe: func(proc string, code connect.Code) {
		c := "ok"
		if code != 0 {
			c = code.String()
		}
		reqs.WithLabelValues(path.Base(proc), c).Inc()
	}})
}

// apiBackend is the Node as an api.Backend.
type apiBackend struct{ n *Node }

var _ api.Backend = apiBackend{}

// call runs fn on the node goroutine and waits for it.
func (b apiBackend) call(ctx context.Context, fn func(env protocol.Env)) error {
	rt := b.n.rt.Load()
	if rt == nil || b.n.failed.Load() {
		return fmt.Errorf("%w: the node is not running", api.ErrUnavailable)
	}
	c := &apiCall{fn: fn, done: make(chan struct{})}
	rt.DeliverMsg(b.n.cfg.ID, c)
	return c.await(ctx, apiCallTimeout)
}

// await waits for the node goroutine to run c, until ctx ends or timeout
// passes; then c is abandoned, unless the node goroutine took it first, in
// which case await waits for it to finish. An error means c never ran and
// never will.
func (c *apiCall) await(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	var err error
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		err = fmt.Errorf("%w: %w", api.ErrUnavailable, ctx.Err())
	case <-t.C:
		err = fmt.Errorf("%w: the node did not take the request within %v (replaying, stopped or failed)", api.ErrUnavailable, timeout)
	}
	if c.state.CompareAndSwap(callPending, callAbandoned) {
		return err // it will never run
	}
	<-c.done // the node goroutine took it just now: it finishes
	return nil
}

func (b apiBackend) Account(addr chain.Address) (api.Account, error) {
	var out api.Account
	err := b.call(context.Background(), func(protocol.Env) {
		l := b.n.ledger
		acc := l.Account(addr)
		out = api.Account{Address: addr, Balance: acc.Balance, Stake: acc.Stake, NextNonce: acc.Nonce, Height: l.Height()}
		// The next nonce counts the sender's transactions waiting in the
		// mempool, so that a client signs its next one after them.
		for _, tx := range l.Pending() {
			if tx.From() == addr && tx.Nonce >= out.NextNonce {
				out.NextNonce = tx.Nonce + 1
			}
		}
	})
	return out, err
}

func (b apiBackend) Params() chain.Params { return chain.DefaultParams() }

// Submit admits tx to the node's mempool and sends it to every validator
// (a validator's own proposals take it from its mempool).
func (b apiBackend) Submit(tx *chain.Tx) error {
	var refused error
	err := b.call(context.Background(), func(env protocol.Env) { refused = b.n.submitTx(env, tx) })
	if err != nil {
		return err
	}
	return refused
}

// submitTx runs on the node goroutine.
func (n *Node) submitTx(env protocol.Env, tx *chain.Tx) error {
	if err := n.ledger.AddTx(tx); err != nil {
		return fmt.Errorf("%w: %w", api.ErrRefused, err)
	}
	for _, v := range n.net.Validators() {
		if v != n.cfg.ID {
			env.Send(v, tx)
		}
	}
	n.log.Info("api: transaction admitted", "type", tx.Type.String(), "from", tx.From().String(), "nonce", tx.Nonce)
	return nil
}

func (b apiBackend) Job(id chain.JobID) (api.Job, error) {
	j, ok := b.n.index.Job(id)
	if !ok {
		return api.Job{}, fmt.Errorf("%w: no job %x committed up to height %d (a job is listed once its post commits)", api.ErrNotFound, id[:], b.n.index.Height())
	}
	// The market's committee batches results on chain (ResultRoot), so
	// the units it verified are known at its node: that node overlays
	// them.
	if units, settled, assigned := b.n.committeeView(id); len(units) > 0 || settled != nil || assigned > 0 {
		verified := uint32(len(units))
		if settled != nil {
			verified = settled.Verified
		}
		j.Verified = max(j.Verified, verified)
		j.Computed = max(j.Computed, verified)
		j.Assigned = max(j.Assigned, assigned)
		if j.State == api.JobPending && (verified > 0 || assigned > 0) {
			j.State = api.JobRunning
		}
	}
	// A unit computed was assigned: elsewhere than at the committee's
	// node that is all that is known of assignments.
	j.Assigned = max(j.Assigned, j.Computed)
	return j, nil
}

func (b apiBackend) Results(id chain.JobID) ([]api.UnitResult, error) {
	rs, ok := b.n.index.Results(id)
	if !ok {
		return nil, fmt.Errorf("%w: no job %x committed up to height %d", api.ErrNotFound, id[:], b.n.index.Height())
	}
	// The committee's verified results come first: any account may
	// commit a result to a unit on chain, and on a chain that settles by
	// result roots the honest providers' results are not there one by one.
	units, _, _ := b.n.committeeView(id)
	if len(units) == 0 {
		return rs, nil
	}
	rs = nil
	for _, u := range units {
		r := api.UnitResult{Unit: u.Unit}
		if h, err := hex.DecodeString(u.Result); err == nil {
			copy(r.Commitment[:], h)
		}
		if len(u.Payees) > 0 {
			r.Provider = b.n.net.AccountOf(u.Payees[0])
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b api.UnitResult) int { return int(a.Unit) - int(b.Unit) })
	return rs, nil
}

// committeeView is what this node's market committee, if it runs one,
// verified of job id (since it started), its settlement, if any, and how
// many of its units it assigned.
func (n *Node) committeeView(id chain.JobID) (units []MarketUnit, settled *MarketSettlement, assigned uint32) {
	for _, s := range n.services {
		if s.JobView != nil {
			if units, settled, assigned = s.JobView(id); len(units) > 0 || settled != nil || assigned > 0 {
				return units, settled, assigned
			}
		}
	}
	return nil, nil, 0
}

func (b apiBackend) ModelVersions() []api.ModelVersion { return b.n.models.list() }

// Infer answers with the version's prediction once the payment is
// admitted: a transfer of the version's price from the asker to the
// version's provider (this node's account), checked here and by the
// ledger (a short balance is refused, and nothing runs).
func (b apiBackend) Infer(ctx context.Context, asker chain.Address, version [32]byte, input []float32, pay *chain.Tx) (api.Inference, error) {
	versions := b.n.models.list()
	i := slices.IndexFunc(versions, func(v api.ModelVersion) bool { return v.Hash == version })
	if i < 0 {
		return api.Inference{}, fmt.Errorf("%w: model version %x is not held by this node (ListModelVersions lists those it holds)", api.ErrNotFound, version[:])
	}
	mv := versions[i]
	if len(input) != int(mv.Inputs) {
		return api.Inference{}, fmt.Errorf("%w: input has %d features, model version %x takes %d", api.ErrRefused, len(input), version[:8], mv.Inputs)
	}
	var paid chain.Hash
	if mv.Price > 0 {
		if pay == nil {
			return api.Inference{}, fmt.Errorf("%w: model version %x costs %d base units and the request carries no payment", api.ErrRefused, version[:8], mv.Price)
		}
		t, _ := pay.Body().(chain.Transfer)
		if t.To != mv.Provider || t.Amount < mv.Price {
			return api.Inference{}, fmt.Errorf("%w: the payment sends %d to %s; model version %x costs %d, paid to %s", api.ErrRefused, t.Amount, t.To, version[:8], mv.Price, mv.Provider)
		}
		var refused error
		if err := b.call(ctx, func(env protocol.Env) { refused = b.n.submitTx(env, pay) }); err != nil {
			return api.Inference{}, err
		}
		if refused != nil {
			return api.Inference{}, fmt.Errorf("payment: %w", refused)
		}
		paid = pay.Hash()
	}
	x := make([]float64, len(input))
	for i, v := range input {
		x[i] = float64(v)
	}
	_, probs, ok := b.n.models.predict(version, x)
	if !ok {
		return api.Inference{}, fmt.Errorf("%w: model version %x", api.ErrNotFound, version[:8])
	}
	class := 0
	for i, p := range probs {
		if p > probs[class] {
			class = i
		}
	}
	b.n.log.Info("api: inference answered", "version", fmt.Sprintf("%x", version[:8]), "asker", asker.String(), "class", class, "paid", mv.Price)
	return api.Inference{Class: uint32(class), Probabilities: probs, Provider: mv.Provider, Payment: paid}, nil
}
