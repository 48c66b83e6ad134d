package sim_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/wire"
	"github.com/dais-sim/dais/sim"
	"github.com/dais-sim/dais/sim/blockprop"
)

// log records what a node saw, as text, in order.
type log struct{ lines []string }

func (l *log) add(env protocol.Env, format string, a ...any) {
	l.lines = append(l.lines, fmt.Sprintf("%v n%d ", env.Now(), env.Self())+fmt.Sprintf(format, a...))
}

func TestTimersFireInOrderAndCancel(t *testing.T) {
	var l log
	w := sim.New(sim.Config{})
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		switch in := in.(type) {
		case protocol.Start:
			env.SetTimer(3*protocol.Second, 3)
			dead := env.SetTimer(2*protocol.Second, 2)
			env.SetTimer(protocol.Second, 1)
			env.SetTimer(protocol.Second, 11) // same time: fires after tag 1
			env.CancelTimer(dead)
			env.CancelTimer(dead) // twice is a no-op
		case protocol.TimerFired:
			l.add(env, "timer %d", in.Tag)
		}
	}))
	w.Start()
	w.RunUntil(10 * protocol.Time(protocol.Second))
	want := []string{"1s n0 timer 1", "1s n0 timer 11", "3s n0 timer 3"}
	if fmt.Sprint(l.lines) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", l.lines, want)
	}
	if w.Now() != 10*protocol.Time(protocol.Second) {
		t.Fatalf("clock = %v after RunUntil(10s)", w.Now())
	}
}

// A cancelled timer's slot is reused by a later event; cancelling the old ID
// again must not cancel the new event.
func TestStaleTimerIDDoesNotCancelReusedSlot(t *testing.T) {
	var fired []uint64
	var old protocol.TimerID
	w := sim.New(sim.Config{})
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		switch in := in.(type) {
		case protocol.Start:
			old = env.SetTimer(protocol.Second, 1)
		case protocol.TimerFired:
			fired = append(fired, in.Tag)
			if in.Tag == 1 {
				env.SetTimer(protocol.Second, 2) // likely reuses the slot of timer 1
				env.CancelTimer(old)
			}
		}
	}))
	w.Start()
	w.RunUntil(protocol.Time(5 * protocol.Second))
	if fmt.Sprint(fired) != "[1 2]" {
		t.Fatalf("fired %v, want [1 2]", fired)
	}
}

type ping struct{ n uint64 }

func (*ping) Kind() wire.Kind              { return 60000 }
func (p *ping) AppendBody(b []byte) []byte { return append(b, byte(p.n)) }
func (p *ping) WireSize() int              { return wire.HeaderSize(60000) + 1 }

func TestSameTimeEventsRunInScheduleOrder(t *testing.T) {
	var l log
	w := sim.New(sim.Config{}) // no network: every send arrives at once
	recv := protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if r, ok := in.(protocol.Recv); ok {
			l.add(env, "from n%d ping %d", r.From, r.Msg.(*ping).n)
		}
	})
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if _, ok := in.(protocol.Start); ok {
			for i := uint64(0); i < 5; i++ {
				env.Send(protocol.NodeID(1+i%2), &ping{n: i})
			}
		}
	}))
	w.Add(recv)
	w.Add(recv)
	w.Start()
	w.RunUntil(0)
	want := []string{"0s n1 from n0 ping 0", "0s n2 from n0 ping 1", "0s n1 from n0 ping 2", "0s n2 from n0 ping 3", "0s n1 from n0 ping 4"}
	if fmt.Sprint(l.lines) != fmt.Sprint(want) {
		t.Fatalf("got %q\nwant %q", l.lines, want)
	}
}

func TestLeaveCrashRejoin(t *testing.T) {
	var l log
	w := sim.New(sim.Config{})
	node := protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		switch in := in.(type) {
		case protocol.Start:
			l.add(env, "start rejoin=%v", in.Rejoin)
			env.SetTimer(protocol.Second, 0)
		case protocol.Stop:
			l.add(env, "stop leave=%v", in.Leave)
		case protocol.TimerFired:
			l.add(env, "timer")
		}
	})
	w.Add(node)
	w.Add(node)
	w.Start()
	sec := protocol.Time(protocol.Second)
	w.Leave(0, sec/2, false) // graceful: Stop, and the 1 s timer dies
	w.Leave(1, sec/2, true)  // crash: nothing delivered, the timer dies
	w.Rejoin(0, 2*sec)
	w.Rejoin(1, 2*sec)
	w.RunUntil(5 * sec)
	w.Stop()
	want := []string{
		"0s n0 start rejoin=false", "0s n1 start rejoin=false",
		"500ms n0 stop leave=true",
		"2s n0 start rejoin=true", "2s n1 start rejoin=true",
		"3s n0 timer", "3s n1 timer",
		"5s n0 stop leave=false", "5s n1 stop leave=false",
	}
	if fmt.Sprint(l.lines) != fmt.Sprint(want) {
		t.Fatalf("got %q\nwant %q", l.lines, want)
	}
}

func TestMessagesToOfflineNodesAreDropped(t *testing.T) {
	got := 0
	w := sim.New(sim.Config{})
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if _, ok := in.(protocol.Start); ok {
			env.Send(1, &ping{})
		}
	}))
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if _, ok := in.(protocol.Recv); ok {
			got++
		}
	}))
	w.Start()
	w.Leave(1, 0, true) // after both Starts, before node 0's message arrives
	w.RunUntil(protocol.Time(protocol.Second))
	sent, dropped := w.Messages()
	if got != 0 || sent != 1 || dropped != 1 {
		t.Fatalf("received %d, sent %d, dropped %d; want 0, 1, 1", got, sent, dropped)
	}
}

func TestPublishReachesEveryNodeOnce(t *testing.T) {
	const n = 50
	adj := blockprop.Overlay(3, n, 3)
	recv := make([]int, n)
	w := sim.New(sim.Config{Overlay: func(id protocol.NodeID) []protocol.NodeID { return adj[id] }})
	for i := 0; i < n; i++ {
		w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
			switch in := in.(type) {
			case protocol.Start:
				if env.Self() == 7 {
					env.Publish("blocks", &ping{n: 9})
				}
			case protocol.Recv:
				if in.From != 7 {
					t.Errorf("node %d: From = %d, want the origin 7", env.Self(), in.From)
				}
				recv[env.Self()]++
			}
		}))
	}
	w.Start()
	w.RunUntil(protocol.Time(protocol.Second))
	for i, c := range recv {
		if want := 1; i == 7 {
			if c != 0 {
				t.Errorf("publisher got its own message %d times", c)
			}
		} else if c != want {
			t.Errorf("node %d received %d copies, want 1", i, c)
		}
	}
}

func TestJobsQueueOnTheNodesGPU(t *testing.T) {
	t4, _ := gpu.Lookup("t4")
	job := gpu.Job{Kind: "matmul", FLOPs: 8.1e12 * 0.5} // 1 s on a T4 at efficiency 0.5
	var done []string
	w := sim.New(sim.Config{
		Hardware: func(protocol.NodeID) gpu.Class { return t4 },
		Model:    gpu.Model{ComputeEfficiency: 0.5, MemoryEfficiency: 1},
	})
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		switch in := in.(type) {
		case protocol.Start:
			env.Submit(job)
			env.Submit(job) // waits for the first: one GPU, FIFO
		case protocol.JobDone:
			done = append(done, fmt.Sprintf("%v job %d %.0fJ", env.Now(), in.ID, in.Result.EnergyJ))
		}
	}))
	w.Start()
	w.RunUntil(protocol.Time(10 * protocol.Second))
	want := []string{"1s job 1 70J", "2s job 2 70J"}
	if fmt.Sprint(done) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", done, want)
	}
}

func traceHash(t *testing.T, seed uint64, procs int) (uint64, *blockprop.Result) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	p, err := blockprop.Demo(fmt.Sprintf("run.seed=%d", seed), "population.nodes=300", "protocol.gossip.block_size=64KiB",
		"network.jitter={dist: lognormal, median: 2.5ms, sigma: 1}", "network.loss=1%")
	if err != nil {
		t.Fatal(err)
	}
	p.Trace = true
	r, err := blockprop.Run(p)
	if err != nil {
		t.Fatal(err)
	}
	return r.TraceHash, r
}

// TestDeterminism: the same seed gives the same event trace whatever
// GOMAXPROCS is; another seed gives another trace.
func TestDeterminism(t *testing.T) {
	h1, r1 := traceHash(t, 42, 1)
	h4, r4 := traceHash(t, 42, 4)
	if h1 != h4 || r1.Events != r4.Events || r1.LastArrival != r4.LastArrival || r1.Held != r4.Held {
		t.Fatalf("seed 42: trace %x (GOMAXPROCS=1) != %x (GOMAXPROCS=4)", h1, h4)
	}
	if h1 == 0 || r1.Events < 1000 || r1.Dropped == 0 {
		t.Fatalf("the run did too little to test anything: hash %x, %d events, %d dropped", h1, r1.Events, r1.Dropped)
	}
	h2, _ := traceHash(t, 43, 1)
	if h2 == h1 {
		t.Fatalf("seeds 42 and 43 gave the same trace %x", h1)
	}
}

// Streams depend only on (seed, domain, index): a node's draws do not change
// when other nodes are added.
func TestStreamsAreStableWhenNodesAreAdded(t *testing.T) {
	draw := func(nodes int) []uint64 {
		var got []uint64
		w := sim.New(sim.Config{Seed: 5})
		for i := 0; i < nodes; i++ {
			w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
				if _, ok := in.(protocol.Start); ok && env.Self() == 2 {
					got = append(got, env.Rand().Uint64(), env.Rand().Uint64())
				}
			}))
		}
		w.Start()
		w.RunUntil(0)
		return got
	}
	a, b := draw(3), draw(1000)
	if fmt.Sprint(a) != fmt.Sprint(b) || len(a) != 2 {
		t.Fatalf("node 2's stream changed when nodes were added: %v vs %v", a, b)
	}
}

func TestGossipFloodReachesAllWithFullNetwork(t *testing.T) {
	p, err := blockprop.Demo("population.nodes=500", "protocol.gossip.block_size=256KiB")
	if err != nil {
		t.Fatal(err)
	}
	rec, sink := blockprop.NewRecorder(0, 0)
	p.Sink = sink
	r, err := blockprop.Run(p)
	if err != nil {
		t.Fatal(err)
	}
	q := func(x float64) protocol.Duration {
		return protocol.Duration(rec.Quantile(blockprop.Propagation, x) * float64(protocol.Millisecond))
	}
	if r.Coverage() != 1 || r.Receipts != 499 || r.Blocks != 1 {
		t.Fatalf("coverage %g with %d receipts of %d blocks; want 1, 499, 1", r.Coverage(), r.Receipts, r.Blocks)
	}
	// Lower bound: a block cannot beat its own serialization on the fastest
	// link (1 Gbit/s) plus the shortest one-way latency (0.5 ms in-region).
	minDelay := protocol.Duration(float64(256<<10)*8/1e9*1e9) + protocol.Millisecond/2
	if q(0) < minDelay {
		t.Fatalf("fastest delivery %v beats serialization and latency %v", q(0), minDelay)
	}
	if !(q(0.5) <= q(0.9) && q(0.9) <= q(1)) || q(1) != r.LastArrival {
		t.Fatalf("quantiles out of order: %v %v %v (last arrival %v)", q(0.5), q(0.9), q(1), r.LastArrival)
	}
}

// A node's processor does one thing at a time (Config.CPU, Charge): its
// sends leave SendNs apart (a message broadcast to several peers pays
// once), each received message is handled RecvNs after the processor is
// free, and a Charge delays both; timers do not wait.
func TestCPUQueuesMessagesOnTheNodesProcessor(t *testing.T) {
	const us = protocol.Microsecond
	var l log
	w := sim.New(sim.Config{CPU: sim.CPU{SendNs: int64(10 * us), RecvNs: int64(100 * us)}})
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		switch in.(type) {
		case protocol.Start:
			for i := uint64(0); i < 3; i++ {
				env.Send(1, &ping{n: i}) // leave at 10, 20, 30 µs
			}
			b := &ping{n: 9}
			env.Send(1, b) // both leave at 40 µs
			env.Send(2, b)
			w.Charge(0, 1000*us) // then the processor is busy until 1040 µs
			env.Send(1, &ping{n: 3})
			env.SetTimer(50*us, 0)
		case protocol.TimerFired:
			l.add(env, "timer")
		}
	}))
	recv := protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if r, ok := in.(protocol.Recv); ok {
			l.add(env, "ping %d", r.Msg.(*ping).n)
		}
	})
	w.Add(recv)
	w.Add(recv)
	w.Start()
	w.RunUntil(protocol.Time(protocol.Second))
	want := []string{"50µs n0 timer", "110µs n1 ping 0", "140µs n2 ping 9", "210µs n1 ping 1", "310µs n1 ping 2", "410µs n1 ping 9", "1.15ms n1 ping 3"}
	if fmt.Sprint(l.lines) != fmt.Sprint(want) {
		t.Fatalf("got %q\nwant %q", l.lines, want)
	}
}

// Late timers (Config.TimerLateNs) fire that much past due, and a timer
// re-armed when it fires slips by as much each time.
func TestLateTimersSlip(t *testing.T) {
	var l log
	w := sim.New(sim.Config{TimerLateNs: int64(3 * protocol.Millisecond)})
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		switch in.(type) {
		case protocol.Start:
			env.SetTimer(100*protocol.Millisecond, 0)
		case protocol.TimerFired:
			l.add(env, "tick")
			env.SetTimer(100*protocol.Millisecond, 0)
		}
	}))
	w.Start()
	w.RunUntil(protocol.Time(350 * protocol.Millisecond))
	want := []string{"103ms n0 tick", "206ms n0 tick", "309ms n0 tick"}
	if fmt.Sprint(l.lines) != fmt.Sprint(want) {
		t.Fatalf("got %q\nwant %q", l.lines, want)
	}
}

// The Online hook hears every change of a node's state, crashes included
// (which deliver nothing to the node), at the time it happens.
func TestOnlineHook(t *testing.T) {
	var got []string
	var w *sim.World
	w = sim.New(sim.Config{Online: func(id protocol.NodeID, up bool) {
		got = append(got, fmt.Sprintf("%v n%d %v", w.Now(), id, up))
	}})
	quiet := protocol.NodeFunc(func(protocol.Env, protocol.Input) {})
	w.Add(quiet)
	w.Add(quiet)
	w.Start()
	sec := protocol.Time(protocol.Second)
	w.Leave(0, sec, false)
	w.Leave(1, sec, true)
	w.Rejoin(1, 3*sec)
	w.RunUntil(4 * sec)
	w.Stop()
	want := []string{"0s n0 true", "0s n1 true", "1s n0 false", "1s n1 false", "3s n1 true", "4s n1 false"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}
