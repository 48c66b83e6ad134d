package live_test

import (
	"errors"
	"fmt"
	"github.com/dais-sim/dais/live/livetest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/live"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/protocol/gossip/gossiptest"
	"github.com/dais-sim/dais/protocol/wire"
)

// memNet is an in-process Transport: Send hands the frame straight to the
// receiver's Deliver, so every frame arrives, in the order sent per pair.
type memNet struct {
	mu    sync.RWMutex
	nodes map[protocol.NodeID]live.Receiver
}

func newMemNet() *memNet { return &memNet{nodes: map[protocol.NodeID]live.Receiver{}} }

func (n *memNet) attach(id protocol.NodeID, r live.Receiver) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nodes[id] = r
}

// port is one node's view of the memNet.
func (n *memNet) port(self protocol.NodeID) live.Transport { return memPort{n, self} }

type memPort struct {
	n    *memNet
	self protocol.NodeID
}

var errNoRoute = errors.New("memnet: no such node")

func (p memPort) Send(to protocol.NodeID, frame []byte) error {
	p.n.mu.RLock()
	r, ok := p.n.nodes[to]
	p.n.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: %d", errNoRoute, to)
	}
	r.Deliver(p.self, frame)
	return nil
}

func (p memPort) Publish(_ wire.Topic, frame []byte) error {
	p.n.mu.RLock()
	ids := make([]protocol.NodeID, 0, len(p.n.nodes))
	for id := range p.n.nodes {
		ids = append(ids, id)
	}
	p.n.mu.RUnlock()
	slices.Sort(ids)
	for _, id := range ids {
		if id != p.self {
			// Each receiver owns its frame, so each gets a copy.
			p.Send(id, slices.Clone(frame))
		}
	}
	return nil
}

// recorder is a Sink safe for concurrent use.
type recorder struct{ record.Memory }

func (r *recorder) snapshot() []metrics.Stamped { return r.Events() }

// count returns how many recorded events satisfy f.
func (r *recorder) count(f func(metrics.Stamped) bool) int {
	n := 0
	for _, s := range r.snapshot() {
		if f(s) {
			n++
		}
	}
	return n
}

func isReceived(s metrics.Stamped) bool  { _, ok := s.Event.(gossip.Received); return ok }
func isDuplicate(s metrics.Stamped) bool { _, ok := s.Event.(gossip.Duplicate); return ok }

type graph = gossiptest.Graph

var edges = gossiptest.Edges

func newRuntime(t *testing.T, node protocol.Node, cfg live.Config) *live.Runtime {
	t.Helper()
	rt, err := live.New(node, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// Three Flood nodes in a line, each driven by its own Runtime, joined by an
// in-memory transport. The origin starts last, so that its block finds the
// others running.
func ExampleRuntime() {
	peers := [][]protocol.NodeID{{1}, {0, 2}, {1}}
	net := newMemNet()
	got := make(chan string, len(peers))
	// Each runtime calls the sink from its own goroutine; a channel is safe
	// for that. A sink that is not would be wrapped with live.NewLockedSink.
	sink := metrics.SinkFunc(func(s metrics.Stamped) {
		if r, ok := s.Event.(gossip.Received); ok {
			got <- fmt.Sprintf("node %d: block from node %d, %d hops", s.Node, r.Origin, r.Hops)
		}
	})
	epoch := time.Now()
	var rts []*live.Runtime
	for i, p := range peers {
		f := &gossip.Flood{Peers: p}
		if i == 0 {
			f.BlockSize = 1024
		}
		id := protocol.NodeID(i)
		rt, err := live.New(f, live.Config{ID: id, Seed: 1, Epoch: epoch, Transport: net.port(id), Sink: sink})
		if err != nil {
			panic(err)
		}
		net.attach(id, rt)
		rts = append(rts, rt)
	}
	for i := len(rts) - 1; i >= 0; i-- {
		rts[i].Start()
	}
	var lines []string
	for range peers {
		lines = append(lines, <-got)
	}
	for _, rt := range rts {
		rt.Stop()
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// node 0: block from node 0, 0 hops
	// node 1: block from node 0, 1 hops
	// node 2: block from node 0, 2 hops
}

// TestFloodOverMemNet runs gossip.Flood over five runtimes joined by an
// in-memory transport: each node must receive the block exactly once, every
// copy sent must arrive (as a Received or a Duplicate), and hop counts must
// be ones the graph allows.
func TestFloodOverMemNet(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    graph
		// exact: the graph is a tree, so the first copy's hops are the distance.
		exact bool
	}{
		{"tree", edges(5, [2]protocol.NodeID{0, 1}, [2]protocol.NodeID{0, 2}, [2]protocol.NodeID{1, 3}, [2]protocol.NodeID{1, 4}), true},
		{"ring", edges(5, [2]protocol.NodeID{0, 1}, [2]protocol.NodeID{1, 2}, [2]protocol.NodeID{2, 3}, [2]protocol.NodeID{3, 4}, [2]protocol.NodeID{4, 0}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.g)
			net := newMemNet()
			rec := &recorder{}
			epoch := time.Now()
			rts := make([]*live.Runtime, n)
			for i := range n {
				id := protocol.NodeID(i)
				f := &gossip.Flood{Peers: tc.g[i]}
				if i == 0 {
					f.BlockSize = 16 << 10
				}
				rts[i] = newRuntime(t, f, live.Config{ID: id, Seed: 7, Epoch: epoch, Transport: net.port(id), Sink: rec})
				net.attach(id, rts[i])
			}
			// A frame that reaches a runtime before its Start is dropped (as
			// the simulator drops messages to an offline node), so the
			// origin starts last.
			for i := n - 1; i >= 0; i-- {
				rts[i].Start()
			}
			wantDup := tc.g.FloodSends() - (n - 1)
			livetest.WaitFor(t, "every copy to arrive", func() bool {
				return rec.count(isReceived) == n && rec.count(isDuplicate) == wantDup
			})
			for _, rt := range rts {
				rt.Stop()
			}

			hops := make([]int, n)
			got := make([]int, n)
			for _, s := range rec.snapshot() {
				r, ok := s.Event.(gossip.Received)
				if !ok {
					continue
				}
				got[s.Node]++
				hops[s.Node] = int(r.Hops)
				if r.Origin != 0 || r.Height != 1 {
					t.Errorf("node %d received block %d/%d, want 0/1", s.Node, r.Origin, r.Height)
				}
				if s.Node != 0 && r.Delay <= 0 {
					t.Errorf("node %d: Delay %v, want > 0", s.Node, r.Delay)
				}
			}
			if d := rec.count(isDuplicate); d != wantDup {
				t.Errorf("%d duplicates after the flood settled, want %d", d, wantDup)
			}
			dist := tc.g.Distances()
			for v := range n {
				if got[v] != 1 {
					t.Errorf("node %d received the block %d times, want 1", v, got[v])
				}
				if tc.exact && hops[v] != dist[v] {
					t.Errorf("node %d: hops %d, want the distance %d", v, hops[v], dist[v])
				}
				if hops[v] < dist[v] {
					t.Errorf("node %d: hops %d, shorter than the distance %d", v, hops[v], dist[v])
				}
				// A node forwards only its first copy, so its first copy came
				// from a neighbour one hop nearer the origin.
				if v != 0 && !slices.ContainsFunc(tc.g[v], func(u protocol.NodeID) bool { return hops[u] == hops[v]-1 }) {
					t.Errorf("node %d: hops %d, but no neighbour has %d (hops %v)", v, hops[v], hops[v]-1, hops)
				}
			}
			for i, rt := range rts {
				if st := rt.Stats(); st.Malformed != 0 || st.SendErrors != 0 || st.Dropped != 0 {
					t.Errorf("node %d: %+v, want no malformed, send errors or drops", i, st)
				}
			}
		})
	}
}

// TestRandIsTheNodeStream: a node draws protocol.Stream(seed, "node", id),
// the stream the simulator gives it too (sim's TestRandIsTheNodeStream), so
// a node draws the same numbers under both drivers.
func TestRandIsTheNodeStream(t *testing.T) {
	const seed, id = 99, 3
	var liveDraws []uint64
	draw := protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if _, ok := in.(protocol.Start); ok {
			for range 4 {
				liveDraws = append(liveDraws, env.Rand().Uint64())
			}
		}
	})
	rt := newRuntime(t, draw, live.Config{ID: id, Seed: seed, Epoch: time.Now(), Transport: newMemNet().port(id)})
	rt.Start()
	rt.Stop() // Stop waits for the node goroutine, so liveDraws is complete
	want := protocol.Stream(seed, "node", id)
	for i, x := range liveDraws {
		if w := want.Uint64(); x != w {
			t.Fatalf("draw %d: live %x, the node stream %x", i, x, w)
		}
	}
	if len(liveDraws) != 4 {
		t.Fatalf("live drew %d numbers, want 4", len(liveDraws))
	}
}

// timerNode records the inputs it gets and lets a test script its Start.
type timerNode struct {
	mu      sync.Mutex
	inputs  []protocol.Input
	onStart func(env protocol.Env)
	onFire  func(env protocol.Env, tf protocol.TimerFired)
}

func (n *timerNode) Handle(env protocol.Env, in protocol.Input) {
	n.mu.Lock()
	n.inputs = append(n.inputs, in)
	n.mu.Unlock()
	switch in := in.(type) {
	case protocol.Start:
		if n.onStart != nil {
			n.onStart(env)
		}
	case protocol.TimerFired:
		if n.onFire != nil {
			n.onFire(env, in)
		}
	}
}

func (n *timerNode) fired() []protocol.TimerFired {
	n.mu.Lock()
	defer n.mu.Unlock()
	var fs []protocol.TimerFired
	for _, in := range n.inputs {
		if f, ok := in.(protocol.TimerFired); ok {
			fs = append(fs, f)
		}
	}
	return fs
}

func (n *timerNode) snapshot() []protocol.Input {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.inputs)
}

func TestTimersFireInDeadlineOrder(t *testing.T) {
	// Timers set in one Handle share its instant, so equal delays tie and the
	// tie breaks by the order they were set, as in the simulator.
	delays := []struct {
		ms  protocol.Duration
		tag uint64
	}{{30, 5}, {10, 2}, {20, 3}, {0, 1}, {20, 4}}
	ids := map[uint64]protocol.TimerID{}
	n := &timerNode{onStart: func(env protocol.Env) {
		for _, d := range delays {
			ids[d.tag] = env.SetTimer(d.ms*protocol.Millisecond, d.tag)
		}
	}}
	rt := newRuntime(t, n, live.Config{ID: 0, Seed: 1, Epoch: time.Now(), Transport: newMemNet().port(0)})
	rt.Start()
	livetest.WaitFor(t, "five timers", func() bool { return len(n.fired()) == 5 })
	rt.Stop()
	var tags []uint64
	for _, f := range n.fired() {
		tags = append(tags, f.Tag)
		if f.ID != ids[f.Tag] {
			t.Errorf("timer tagged %d fired with ID %d, SetTimer returned %d", f.Tag, f.ID, ids[f.Tag])
		}
	}
	if want := []uint64{1, 2, 3, 4, 5}; !slices.Equal(tags, want) {
		t.Fatalf("timers fired in tag order %v, want %v", tags, want)
	}
}

func TestCancelledTimersNeverFire(t *testing.T) {
	var late protocol.TimerID
	n := &timerNode{
		onStart: func(env protocol.Env) {
			// The wake-up for a due timer may already be queued when it is
			// cancelled: sleeping inside Handle makes sure it is.
			due := env.SetTimer(0, 1)
			time.Sleep(20 * time.Millisecond)
			env.CancelTimer(due)
			env.SetTimer(10*protocol.Millisecond, 2)
			env.CancelTimer(env.SetTimer(5*protocol.Millisecond, 3))
			late = env.SetTimer(40*protocol.Millisecond, 4)
			env.CancelTimer(999) // unknown: a no-op
			// Timers fire in deadline order, so once this one has, every
			// cancelled one would have fired before it.
			env.SetTimer(60*protocol.Millisecond, 5)
		},
		onFire: func(env protocol.Env, tf protocol.TimerFired) {
			if tf.Tag == 2 {
				env.CancelTimer(late)
				env.CancelTimer(tf.ID) // already fired: a no-op
			}
		},
	}
	rt := newRuntime(t, n, live.Config{ID: 0, Seed: 1, Epoch: time.Now(), Transport: newMemNet().port(0)})
	rt.Start()
	livetest.WaitFor(t, "the last timer", func() bool {
		fs := n.fired()
		return len(fs) > 0 && fs[len(fs)-1].Tag == 5
	})
	rt.Stop()
	fs := n.fired()
	if len(fs) != 2 || fs[0].Tag != 2 {
		t.Fatalf("fired %+v, want only the timers tagged 2 and 5", fs)
	}
}

func TestMalformedFramesAreCountedAndDropped(t *testing.T) {
	n := &timerNode{}
	rt := newRuntime(t, n, live.Config{ID: 1, Seed: 1, Epoch: time.Now(), Transport: newMemNet().port(1)})
	rt.Start()
	good := wire.Encode(&gossip.Block{Origin: 0, Height: 1, Payload: []byte("ok")})
	bad := [][]byte{
		nil,
		{wire.Version},
		{wire.Version + 1, byte(wire.KindBlockAnnounce)},
		{wire.Version, 0x7f},          // unregistered kind
		good[:len(good)-1],            // truncated body
		append(slices.Clone(good), 0), // trailing byte
	}
	for _, f := range bad {
		rt.Deliver(0, f)
	}
	rt.Deliver(0, good)
	livetest.WaitFor(t, "the good frame", func() bool { return len(n.snapshot()) == 2 })
	rt.Stop()
	if got := rt.Malformed(); got != uint64(len(bad)) {
		t.Errorf("Malformed() = %d, want %d", got, len(bad))
	}
	in := n.snapshot()
	if len(in) != 3 {
		t.Fatalf("node got %d inputs (%v), want Start, the good Recv, Stop", len(in), in)
	}
	r, ok := in[1].(protocol.Recv)
	if b, isBlock := r.Msg.(*gossip.Block); !ok || !isBlock || r.From != 0 || string(b.Payload) != "ok" {
		t.Errorf("second input %#v, want the good block from node 0", in[1])
	}
}

func TestSendErrorsAreCounted(t *testing.T) {
	var errs []error
	n := protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if _, ok := in.(protocol.Start); ok {
			env.Send(42, &gossip.Block{})
		}
	})
	rt := newRuntime(t, n, live.Config{ID: 0, Seed: 1, Epoch: time.Now(), Transport: newMemNet().port(0),
		OnError: func(err error) { errs = append(errs, err) }})
	rt.Start()
	rt.Stop()
	if st := rt.Stats(); st.SendErrors != 1 {
		t.Errorf("SendErrors = %d, want 1", st.SendErrors)
	}
	if len(errs) != 1 || !errors.Is(errs[0], errNoRoute) || !strings.Contains(errs[0].Error(), "gossip.Block") {
		t.Errorf("OnError got %v, want one error wrapping errNoRoute that names gossip.Block", errs)
	}
}

func TestPublishReachesTheOthers(t *testing.T) {
	net := newMemNet()
	nodes := make([]*timerNode, 3)
	rts := make([]*live.Runtime, 3)
	epoch := time.Now()
	for i := range nodes {
		id := protocol.NodeID(i)
		nodes[i] = &timerNode{}
		if i == 2 {
			nodes[i].onStart = func(env protocol.Env) {
				env.Publish("blocks", &gossip.Block{Origin: 2, Height: 9})
			}
		}
		rts[i] = newRuntime(t, nodes[i], live.Config{ID: id, Seed: 1, Epoch: epoch, Transport: net.port(id)})
		net.attach(id, rts[i])
	}
	for _, rt := range rts {
		rt.Start()
	}
	recvs := func(n *timerNode) []protocol.Recv {
		var rs []protocol.Recv
		for _, in := range n.snapshot() {
			if r, ok := in.(protocol.Recv); ok {
				rs = append(rs, r)
			}
		}
		return rs
	}
	livetest.WaitFor(t, "the publication", func() bool {
		return len(recvs(nodes[0])) == 1 && len(recvs(nodes[1])) == 1
	})
	for _, rt := range rts {
		rt.Stop()
	}
	for i, n := range nodes {
		rs := recvs(n)
		if i == 2 {
			if len(rs) != 0 {
				t.Errorf("the publisher got its own publication: %v", rs)
			}
			continue
		}
		if b, ok := rs[0].Msg.(*gossip.Block); len(rs) != 1 || rs[0].From != 2 || !ok || b.Height != 9 {
			t.Errorf("node %d got %+v, want block 2/9 from node 2", i, rs)
		}
	}
}

// TestStopIsFinal: after Stop returns, nothing reaches the node, timers
// included, and no goroutine of the runtime is left.
func TestStopIsFinal(t *testing.T) {
	before := runtime.NumGoroutine()
	n := &timerNode{onStart: func(env protocol.Env) {
		env.SetTimer(20*protocol.Millisecond, 1)
		env.Submit(gpu.Job{Kind: "long", FLOPs: 1e18}) // hours on a CPU: Stop must not wait for it
	}}
	rt := newRuntime(t, n, live.Config{ID: 0, Seed: 1, Epoch: time.Now(), Transport: newMemNet().port(0)})
	rt.Start()
	stopped := make(chan struct{})
	go func() {
		rt.Stop()
		rt.Stop() // idempotent
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-livetest.Context(t).Done():
		t.Fatal("Stop did not return while an emulated job was pending")
	}
	rt.Deliver(1, wire.Encode(&gossip.Block{}))
	rt.Start()                        // a Runtime runs once
	time.Sleep(50 * time.Millisecond) // past the timer's deadline
	in := n.snapshot()
	if len(in) != 2 {
		t.Fatalf("node got %v, want Start then Stop", in)
	}
	if _, ok := in[0].(protocol.Start); !ok {
		t.Errorf("first input %#v, want Start", in[0])
	}
	if _, ok := in[1].(protocol.Stop); !ok {
		t.Errorf("last input %#v, want Stop", in[1])
	}
	if st := rt.Stats(); st.Dropped != 1 {
		t.Errorf("Dropped = %d, want 1 (the frame after Stop)", st.Dropped)
	}
	livetest.WaitFor(t, "the runtime's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestStopBeforeStart(t *testing.T) {
	n := &timerNode{}
	rt := newRuntime(t, n, live.Config{ID: 0, Seed: 1, Epoch: time.Now(), Transport: newMemNet().port(0)})
	rt.Stop()
	rt.Start()
	rt.Stop()
	if in := n.snapshot(); len(in) != 0 {
		t.Fatalf("a runtime stopped before Start handed the node %v", in)
	}
}

type workFunc func() (any, error)

func (f workFunc) Run() (any, error) { return f() }

func TestJobsRunInOrder(t *testing.T) {
	cpu, _ := gpu.Lookup("cpu")
	// About 20 ms of modeled arithmetic on the cpu class.
	costOnly := gpu.Job{Kind: "emulated", FLOPs: cpu.PeakTFLOPS(gpu.FP32) * 1e12 * gpu.DefaultModel.ComputeEfficiency * 0.02}
	tooBig := gpu.Job{Kind: "too-big", MemBytes: 1 << 50}
	realJob := gpu.Job{Kind: "real", Work: workFunc(func() (any, error) { return 42, nil })}
	failing := gpu.Job{Kind: "failing", Work: workFunc(func() (any, error) { return nil, errors.New("boom") })}

	var submitted protocol.Time
	ids := map[protocol.JobID]string{}
	type done struct {
		kind string
		at   protocol.Time
		res  gpu.Result
	}
	var dones []done
	var mu sync.Mutex
	n := protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		switch in := in.(type) {
		case protocol.Start:
			submitted = env.Now()
			for _, j := range []gpu.Job{costOnly, realJob, tooBig, failing} {
				ids[env.Submit(j)] = j.Kind
			}
		case protocol.JobDone:
			mu.Lock()
			dones = append(dones, done{ids[in.ID], env.Now(), in.Result})
			mu.Unlock()
		}
	})
	rt := newRuntime(t, n, live.Config{ID: 0, Seed: 1, Epoch: time.Now(), Transport: newMemNet().port(0)})
	rt.Start()
	livetest.WaitFor(t, "four jobs", func() bool { mu.Lock(); defer mu.Unlock(); return len(dones) == 4 })
	rt.Stop()

	var kinds []string
	for _, d := range dones {
		kinds = append(kinds, d.kind)
	}
	if want := []string{"emulated", "real", "too-big", "failing"}; !slices.Equal(kinds, want) {
		t.Fatalf("jobs finished in order %v, want %v (first in, first out)", kinds, want)
	}
	want := gpu.DefaultModel.Run(cpu, costOnly)
	if got := dones[0].res; got.DurationNs != want.DurationNs || got.EnergyJ != want.EnergyJ || got.Err != "" {
		t.Errorf("emulated job: %+v, want the model's %+v", got, want)
	}
	if waited := dones[0].at.Sub(submitted); int64(waited) < want.DurationNs {
		t.Errorf("emulated job reported done after %v, before its modeled %v", waited, protocol.Duration(want.DurationNs))
	}
	if got := dones[1].res; got.Output != 42 || got.Err != "" || got.DurationNs < 0 {
		t.Errorf("real job: %+v, want Output 42 and no error", got)
	}
	if got, want := dones[2].res, gpu.DefaultModel.Run(cpu, tooBig); got.Err == "" || got.Err != want.Err {
		t.Errorf("too-big job: Err %q, want the model's %q", got.Err, want.Err)
	}
	if got := dones[3].res; got.Err != "boom" {
		t.Errorf("failing job: Err %q, want %q", got.Err, "boom")
	}
}

func TestNowCountsFromTheEpoch(t *testing.T) {
	var nows []protocol.Time
	n := protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if _, ok := in.(protocol.Start); ok {
			nows = append(nows, env.Now())
		}
	})
	for _, tc := range []struct {
		name  string
		epoch time.Time
		min   protocol.Time
		max   protocol.Time
	}{
		{"an hour ago", time.Now().Add(-time.Hour), protocol.Time(protocol.Hour), protocol.Time(2 * protocol.Hour)},
		{"in the future", time.Now().Add(time.Hour), 0, 0},
	} {
		nows = nil
		rt := newRuntime(t, n, live.Config{ID: 0, Seed: 1, Epoch: tc.epoch, Transport: newMemNet().port(0)})
		rt.Start()
		rt.Stop()
		if len(nows) != 1 || nows[0] < tc.min || nows[0] > tc.max {
			t.Errorf("epoch %s: Now %v, want within [%v, %v]", tc.name, nows, tc.min, tc.max)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	node := protocol.NodeFunc(func(protocol.Env, protocol.Input) {})
	tr := newMemNet().port(0)
	for _, tc := range []struct {
		name string
		node protocol.Node
		cfg  live.Config
	}{
		{"nil node", nil, live.Config{Epoch: time.Now(), Transport: tr}},
		{"no transport", node, live.Config{Epoch: time.Now()}},
		{"no epoch", node, live.Config{Transport: tr}},
		{"bad model", node, live.Config{Epoch: time.Now(), Transport: tr, Model: gpu.Model{ComputeEfficiency: 2}}},
	} {
		if _, err := live.New(tc.node, tc.cfg); !errors.Is(err, live.ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", tc.name, err)
		}
	}
}

func TestLockedSinkSerializes(t *testing.T) {
	var evs []metrics.Stamped // not safe for concurrent use on its own
	s := live.NewLockedSink(metrics.SinkFunc(func(st metrics.Stamped) { evs = append(evs, st) }))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				s.Record(metrics.Stamped{Node: uint32(g), AtNs: int64(i)})
			}
		}()
	}
	wg.Wait()
	if len(evs) != 8*500 {
		t.Fatalf("recorded %d events, want %d", len(evs), 8*500)
	}
}
