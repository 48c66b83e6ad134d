package node

import (
	"bytes"
	"fmt"
	"log/slog"
	"time"

	"github.com/dais-sim/dais/live/api"
	"github.com/dais-sim/dais/live/store"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/wire"
)

// chainApp is the ledger as the engine's App, noting the heights committed
// during the current input so that durable can store them before the
// input's effects leave the node. The embedded Ledger supplies MakeBlock,
// CheckBlock and the optional consensus.TxSink and consensus.Reporter.
type chainApp struct {
	*chain.Ledger
	committed []uint64
	// index, if set, reads every committed block for the user API; log
	// says once if it stops following the chain.
	index      *api.Index
	log        *slog.Logger
	indexStuck bool
}

// Commit implements consensus.App.
func (a *chainApp) Commit(height uint64, block []byte, hash consensus.Hash, now protocol.Time) {
	a.Ledger.Commit(height, block, hash, now)
	a.committed = append(a.committed, height)
	if a.index != nil {
		// The engine checked the block before committing it, so it decodes.
		b, err := chain.DecodeBlock(block)
		if err == nil {
			err = a.index.Apply(height, b)
		}
		if err != nil && !a.indexStuck && a.log != nil {
			a.indexStuck = true
			a.log.Error("api: the job index stopped following the chain; the user API answers as of its last height", "height", height, "err", err)
		}
	}
}

// durable wraps a node's engine (a bft.Validator or bft.Follower, perhaps
// inside a chain.Client) and makes what it commits survive a crash:
//
//   - After every input that committed heights, it fetches from the engine
//     the commit message of each (the block and its +2/3 precommits:
//     exactly what a peer catching up would get) and appends it to the
//     store, fsynced, before the input's sends reach the network: the
//     runtime hands sends to the transport only after Handle returns.
//   - On Start it first replays the stored commits through the engine, as
//     if a peer had sent them, so the ledger, the proposer rotation and the
//     engine's height are rebuilt by the code that built them, without the
//     network; consensus resumes at the next height, and bft's catch-up
//     (BlockReq, Commit) fetches whatever was decided while the node was
//     down.
//   - It answers a BlockReq the engine leaves unanswered (a height older
//     than the engine's memory of recent commits) from the store, so a node
//     that was down for long still catches up.
//   - It records the height and round of every proposal or vote this node
//     signs before the message leaves, and after a restart drops its own
//     messages for those rounds, which it may already have signed
//     differently: a restarted validator goes silent for the rounds it
//     lost, and never equivocates.
//
// A store write that fails stops the node (fail): its sends are refused
// from then on, since an acknowledged block that could be lost breaks the
// promise above.
type durable struct {
	inner     protocol.Node
	app       *chainApp
	store     *store.Store
	self      protocol.NodeID
	validator bool
	// floor is the last (height, round) signed before this process started.
	floorH uint64
	floorR uint32
	// signed is the last (height, round) recorded in the store.
	signedH uint64
	signedR uint32

	env       wrapEnv
	started   bool
	replaying bool
	failed    bool
	// owed are the messages and bytes that fetching commits from a
	// validator (a BlockReq to itself) added to its counts, taken off the
	// next HeightDone so that the figures count only real traffic.
	owedMsgs, owedBytes uint64

	hooks durableHooks
}

// durableHooks are the node's callbacks, all called on the node goroutine.
type durableHooks struct {
	// after runs after every input, to publish the node's status.
	after func()
	// stored reports a block appended and how long the write took.
	stored func(height uint64, took time.Duration)
	// started reports the end of Start: how many stored heights were
	// replayed, and how long that took.
	started func(replayed uint64, took time.Duration)
	// suppressed reports an own message dropped by the signing guard.
	suppressed func(m wire.Msg)
	// fail stops the node.
	fail func(err error)
}

func newDurable(inner protocol.Node, app *chainApp, st *store.Store, self protocol.NodeID, validator bool, hooks durableHooks) (*durable, error) {
	h, r, err := st.Signed()
	if err != nil {
		return nil, err
	}
	d := &durable{inner: inner, app: app, store: st, self: self, validator: validator,
		floorH: h, floorR: r, signedH: h, signedR: r, hooks: hooks}
	d.env.d, d.env.signedH, d.env.signedR = d, h, r
	return d, nil
}

// Handle implements protocol.Node.
func (d *durable) Handle(env protocol.Env, in protocol.Input) {
	if d.failed {
		return
	}
	d.env.Env = env
	d.env.answered = false
	if _, ok := in.(protocol.Start); ok && !d.started {
		d.started = true
		d.start(env)
	} else {
		d.inner.Handle(&d.env, in)
		if r, ok := in.(protocol.Recv); ok {
			if req, ok := r.Msg.(*consensus.BlockReq); ok {
				d.serve(r.From, req)
			}
		}
		d.persist(env)
	}
	d.env.Env = nil
	d.hooks.after()
}

// start hands the engine Start, then replays the stored chain through it.
func (d *durable) start(env protocol.Env) {
	top := d.store.Height()
	begin := time.Now()
	if top == 0 {
		d.inner.Handle(&d.env, protocol.Start{})
		d.persist(env)
		d.hooks.started(0, time.Since(begin))
		return
	}
	// The engine starts at height 1 and may propose there; the replay
	// makes that proposal moot, so nothing the engine says goes out, or
	// is measured, until it has caught up with its own store.
	d.replaying = true
	d.inner.Handle(&d.env, protocol.Start{})
	err := replayStore(d.store, d.app, "commit", func(c *bft.Commit) uint64 { return c.Height }, func(c *bft.Commit) error {
		d.inner.Handle(&d.env, protocol.Recv{From: d.self, Msg: c})
		return nil
	})
	d.app.committed = d.app.committed[:0]
	d.replaying = false
	if err != nil {
		d.fail(fmt.Errorf("node: replaying the store: %w", err))
		return
	}
	d.hooks.started(top, time.Since(begin))
}

// replayStore hands every stored record, in height order, to apply, as
// the T of its height (height reads a T's), and checks after each that
// the ledger committed it: the replay of a restarting node, BFT's or
// longest chain's.
func replayStore[T wire.Msg](st *store.Store, app *chainApp, what string, height func(T) uint64, apply func(T) error) error {
	return st.Range(1, st.Height(), func(h uint64, rec []byte) error {
		m, err := wire.Decode(bytes.Clone(rec)) // rec lives in the store's memory map
		if err != nil {
			return fmt.Errorf("decoding the stored %s of height %d: %w", what, h, err)
		}
		v, ok := m.(T)
		if !ok || height(v) != h {
			return fmt.Errorf("the store holds a %s at height %d, not a %s (a data dir of another engine's network?)", wire.Name(m.Kind()), h, what)
		}
		if err := apply(v); err != nil {
			return err
		}
		if got := app.Height(); got != h {
			return fmt.Errorf("the engine did not commit the stored block of height %d (ledger at %d): is the store from another network?", h, got)
		}
		return nil
	})
}

// serve answers from the store a BlockReq the engine left unanswered.
func (d *durable) serve(from protocol.NodeID, req *consensus.BlockReq) {
	if d.env.answered || req.Height == 0 || req.Height > d.store.Height() || from == d.self {
		return
	}
	rec, err := d.store.Get(req.Height)
	if err != nil {
		return
	}
	if m, err := wire.Decode(rec); err == nil {
		d.env.Env.Send(from, m)
	}
}

// persist stores the heights committed during this input and the last
// signed round, before the input's sends leave.
func (d *durable) persist(env protocol.Env) {
	for _, h := range d.app.committed {
		c := d.fetch(env, h)
		if c == nil {
			d.fail(fmt.Errorf("node: the engine did not hand over its commit of height %d, so it cannot be stored", h))
			return
		}
		begin := time.Now()
		if err := d.store.Append(h, wire.Encode(c)); err != nil {
			d.fail(fmt.Errorf("node: storing height %d: %w", h, err))
			return
		}
		d.hooks.stored(h, time.Since(begin))
	}
	d.app.committed = d.app.committed[:0]
	if h, r := d.env.signedH, d.env.signedR; after(h, r, d.signedH, d.signedR) {
		if err := d.store.SetSigned(h, r); err != nil {
			d.fail(err)
			return
		}
		d.signedH, d.signedR = h, r
	}
}

// fetch asks the engine for its commit of height h, as a peer catching up
// would (bft answers a BlockReq from its recent commits), and catches the
// answer before it reaches the network.
func (d *durable) fetch(env protocol.Env, h uint64) *bft.Commit {
	ce := captureEnv{Env: env, self: d.self, height: h}
	d.inner.Handle(&ce, protocol.Recv{From: d.self, Msg: &consensus.BlockReq{Height: h}})
	if ce.got != nil && d.validator {
		d.owedMsgs++
		d.owedBytes += uint64(ce.got.WireSize())
	}
	return ce.got
}

func (d *durable) fail(err error) {
	d.failed = true
	d.hooks.fail(err)
}

// after reports whether (h, r) comes after (h0, r0).
func after(h uint64, r uint32, h0 uint64, r0 uint32) bool {
	return h > h0 || (h == h0 && r > r0)
}

// wrapEnv is the Env durable gives the engine: the runtime's, with the
// signing guard and the replay's silence.
type wrapEnv struct {
	protocol.Env
	d *durable
	// answered is set when the engine sends a Commit during this input (an
	// answer to a BlockReq).
	answered bool
	// signedH, signedR is the last (height, round) this node has signed in.
	signedH uint64
	signedR uint32
}

func (e *wrapEnv) Send(to protocol.NodeID, m wire.Msg) {
	if e.d.replaying || !e.guard(m) {
		return
	}
	if _, ok := m.(*bft.Commit); ok {
		e.answered = true
	}
	e.Env.Send(to, m)
}

func (e *wrapEnv) Publish(t wire.Topic, m wire.Msg) {
	if e.d.replaying || !e.guard(m) {
		return
	}
	e.Env.Publish(t, m)
}

func (e *wrapEnv) Emit(ev metrics.Event) {
	if e.d.replaying {
		return
	}
	if hd, ok := ev.(bft.HeightDone); ok && e.d.owedMsgs > 0 {
		hd.Msgs -= min(hd.Msgs, e.d.owedMsgs)
		hd.Bytes -= min(hd.Bytes, e.d.owedBytes)
		e.d.owedMsgs, e.d.owedBytes = 0, 0
		ev = hd
	}
	e.Env.Emit(ev)
}

// guard reports whether m may leave: a proposal or vote of this node's
// own, for a round at or below the floor (signed before a restart), may
// not. It notes the highest round signed, for persist.
func (e *wrapEnv) guard(m wire.Msg) bool {
	var h uint64
	var r uint32
	switch m := m.(type) {
	case *bft.Proposal:
		if m.Proposer != e.d.self {
			return true
		}
		h, r = m.Height, m.Round
	case *bft.Vote:
		if m.Validator != e.d.self {
			return true
		}
		h, r = m.Height, m.Round
	default:
		return true
	}
	if !after(h, r, e.d.floorH, e.d.floorR) {
		e.d.hooks.suppressed(m)
		return false
	}
	if after(h, r, e.signedH, e.signedR) {
		e.signedH, e.signedR = h, r
	}
	return true
}

// captureEnv takes the engine's answer to durable's own BlockReq.
type captureEnv struct {
	protocol.Env
	self   protocol.NodeID
	height uint64
	got    *bft.Commit
}

func (e *captureEnv) Send(to protocol.NodeID, m wire.Msg) {
	if c, ok := m.(*bft.Commit); ok && to == e.self && c.Height == e.height {
		e.got = c
	}
}

func (e *captureEnv) Publish(wire.Topic, wire.Msg) {}
