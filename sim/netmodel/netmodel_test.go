package netmodel_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/wire"
	"github.com/dais-sim/dais/scenarios/netspec"
	"github.com/dais-sim/dais/sim"
	"github.com/dais-sim/dais/sim/netmodel"
)

const ms = protocol.Millisecond

// twoRegions: 100 ms round trip between a and b, 2 ms inside each.
func twoRegions(t *testing.T) *netmodel.Model {
	t.Helper()
	m, err := netmodel.New(netspec.Matrix{
		Regions: []string{"a", "b"},
		RTT:     [][]protocol.Duration{{2 * ms, 100 * ms}, {100 * ms, 2 * ms}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// blob is a message of a chosen wire size.
type blob struct{ size int }

func (*blob) Kind() wire.Kind { return 60001 }
func (b *blob) AppendBody(p []byte) []byte {
	return append(p, make([]byte, b.size-wire.HeaderSize(60001))...)
}
func (b *blob) WireSize() int { return b.size }

// arrivals runs a world where node 0 sends the given sizes to node 1 at
// time 0, and returns when each arrived.
func arrivals(t *testing.T, m *netmodel.Model, sizes ...int) []protocol.Time {
	t.Helper()
	var got []protocol.Time
	w := sim.New(sim.Config{Net: m})
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if _, ok := in.(protocol.Start); ok {
			for _, s := range sizes {
				env.Send(1, &blob{size: s})
			}
		}
	}))
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if _, ok := in.(protocol.Recv); ok {
			got = append(got, env.Now())
		}
	}))
	w.Start()
	w.RunUntil(protocol.Time(100 * protocol.Second))
	return got
}

func TestArrivalIsLatencyPlusSerialization(t *testing.T) {
	for _, tc := range []struct {
		size int
		bps  float64
	}{
		{1000, 1e6},      // 8 ms on the wire
		{1 << 20, 100e6}, // 1 MiB at 100 Mbit/s: 83.886080 ms
		{1500, 1e9},      // 12 µs
		{12345, 20e6},    // 4.938 ms
	} {
		m := twoRegions(t)
		m.AddNode(0, netspec.Link{UpBps: tc.bps, DownBps: tc.bps})
		m.AddNode(1, netspec.Link{UpBps: tc.bps, DownBps: tc.bps})
		got := arrivals(t, m, tc.size)
		want := protocol.Time(50*ms) + protocol.Time(math.Ceil(8*float64(tc.size)/tc.bps*1e9))
		if len(got) != 1 || got[0] != want {
			t.Errorf("%d bytes at %g bit/s: arrived %v, want latency 50ms + 8S/B = %v", tc.size, tc.bps, got, want)
		}
	}
}

func TestSlowerDownlinkBoundsArrival(t *testing.T) {
	m := twoRegions(t)
	m.AddNode(0, netspec.Link{UpBps: 1e9, DownBps: 1e9})
	m.AddNode(1, netspec.Link{UpBps: 1e9, DownBps: 1e6})
	got := arrivals(t, m, 1000)
	// Up: 8 µs; the receiver's 1 Mbit/s downlink takes 8 ms from the first bit.
	if want := protocol.Time(50*ms + 8*ms); len(got) != 1 || got[0] != want {
		t.Fatalf("arrived %v, want %v", got, want)
	}
}

func TestUplinkQueueIsFIFO(t *testing.T) {
	m := twoRegions(t)
	m.AddNode(0, netspec.Link{UpBps: 1e6, DownBps: 1e6})
	m.AddNode(1, netspec.Link{UpBps: 1e6, DownBps: 1e6})
	got := arrivals(t, m, 1000, 1000, 500)
	// 8 ms each for the first two, 4 ms for the third, back to back.
	want := []protocol.Time{protocol.Time(58 * ms), protocol.Time(66 * ms), protocol.Time(70 * ms)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("arrivals %v, want %v", got, want)
	}
	bytes, queued := m.UplinkStats(0)
	if bytes != 2500 || queued != 8*ms+16*ms {
		t.Fatalf("uplink stats: %d bytes, %v queued; want 2500 bytes, 24ms", bytes, queued)
	}
}

// pinger sends to node 1 every 100 ms; the receiver records arrivals.
func partitionRun(t *testing.T, p netspec.Partition) (first protocol.Time, count int) {
	t.Helper()
	m := twoRegions(t)
	m.AddNode(0, netspec.Link{})
	m.AddNode(1, netspec.Link{})
	if err := m.AddPartition(p); err != nil {
		t.Fatal(err)
	}
	first = -1
	w := sim.New(sim.Config{Net: m})
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		switch in.(type) {
		case protocol.Start, protocol.TimerFired:
			env.Send(1, &blob{size: 100})
			env.SetTimer(100*ms, 0)
		}
	}))
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		if _, ok := in.(protocol.Recv); ok {
			if first < 0 {
				first = env.Now()
			}
			count++
		}
	}))
	w.Start()
	w.RunUntil(protocol.Time(10 * protocol.Second))
	return first, count
}

func TestPartitionCutsUntilHeal(t *testing.T) {
	heal := protocol.Time(5 * protocol.Second)
	for name, p := range map[string]netspec.Partition{
		"by region": {From: 0, Until: heal, Regions: []int{1}},
		"by node":   {From: 0, Until: heal, Nodes: []protocol.NodeID{0}},
	} {
		first, count := partitionRun(t, p)
		// The first message sent at or after the heal (at 5 s) arrives 50 ms later.
		if want := heal + protocol.Time(50*ms); first != want {
			t.Errorf("%s: first arrival %v, want %v (nothing before the heal)", name, first, want)
		}
		if count != 50 {
			t.Errorf("%s: %d messages arrived, want the 50 sent from 5.0 s to 9.9 s", name, count)
		}
	}
	// A message in flight when the partition starts is lost.
	// The one sent at 0 would arrive at 50 ms, inside [40 ms, 60 ms).
	first, count := partitionRun(t, netspec.Partition{From: protocol.Time(40 * ms), Until: protocol.Time(60 * ms), Nodes: []protocol.NodeID{1}})
	if first != protocol.Time(150*ms) || count != 99 {
		t.Errorf("in-flight message: first arrival %v, %d arrivals; want 150ms, 99", first, count)
	}
}

func TestLossRate(t *testing.T) {
	m := twoRegions(t)
	m.Loss = 0.2
	m.AddNode(0, netspec.Link{})
	m.AddNode(1, netspec.Link{})
	sizes := make([]int, 20000)
	for i := range sizes {
		sizes[i] = 100
	}
	got := len(arrivals(t, m, sizes...))
	// Binomial(20000, 0.8): mean 16000, sd 56.6; allow 5 sd.
	if math.Abs(float64(got)-16000) > 5*56.6 {
		t.Fatalf("%d of 20000 arrived with 20%% loss; want 16000 ± 283", got)
	}
}

func TestJitterAddsItsMean(t *testing.T) {
	m := twoRegions(t)
	m.Jitter = dist.Exponential{M: 0.010} // 10 ms mean
	m.AddNode(0, netspec.Link{})
	m.AddNode(1, netspec.Link{})
	sizes := make([]int, 10000)
	for i := range sizes {
		sizes[i] = 100
	}
	var sum float64
	got := arrivals(t, m, sizes...)
	for _, a := range got {
		if a < protocol.Time(50*ms) {
			t.Fatalf("arrival %v before the 50 ms latency", a)
		}
		sum += float64(a - protocol.Time(50*ms))
	}
	mean := sum / float64(len(got)) / float64(ms)
	// Exponential: sd of the mean = 10 ms / sqrt(10000) = 0.1 ms.
	if math.Abs(mean-10) > 0.5 {
		t.Fatalf("mean jitter %.3f ms, want 10 ± 0.5", mean)
	}
}

func TestChurnSchedule(t *testing.T) {
	var lines []string
	w := sim.New(sim.Config{})
	w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
		switch in := in.(type) {
		case protocol.Start:
			lines = append(lines, fmt.Sprintf("%v start rejoin=%v", env.Now(), in.Rejoin))
		case protocol.Stop:
			lines = append(lines, fmt.Sprintf("%v stop leave=%v", env.Now(), in.Leave))
		}
	}))
	w.Start()
	c := netspec.Churn{Session: dist.Fixed{V: 10}, Downtime: dist.Fixed{V: 5}}
	if err := netmodel.ApplyChurn(c, w, 1, []protocol.NodeID{0}, protocol.Time(40*protocol.Second)); err != nil {
		t.Fatal(err)
	}
	w.RunUntil(protocol.Time(40 * protocol.Second))
	want := []string{"0s start rejoin=false", "10s stop leave=true", "15s start rejoin=true",
		"25s stop leave=true", "30s start rejoin=true"}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Fatalf("got %q\nwant %q", lines, want)
	}
}

func TestChurnCrashShare(t *testing.T) {
	const n = 2000
	stops := 0
	w := sim.New(sim.Config{})
	ids := make([]protocol.NodeID, n)
	for i := range ids {
		ids[i] = w.Add(protocol.NodeFunc(func(env protocol.Env, in protocol.Input) {
			if s, ok := in.(protocol.Stop); ok && s.Leave {
				stops++
			}
		}))
	}
	w.Start()
	c := netspec.Churn{Session: dist.Exponential{M: 1}, CrashShare: 0.25}
	if err := netmodel.ApplyChurn(c, w, 9, ids, protocol.Time(protocol.Hour)); err != nil {
		t.Fatal(err)
	}
	w.RunUntil(protocol.Time(protocol.Hour))
	online := 0
	for _, id := range ids {
		if w.Online(id) {
			online++
		}
	}
	// Every node left once (no downtime → no rejoin); 75% gracefully.
	// Binomial(2000, 0.75): sd 19.4; allow 5 sd.
	if online != 0 || math.Abs(float64(stops)-1500) > 5*19.4 {
		t.Fatalf("%d online, %d graceful leaves; want 0 and 1500 ± 97", online, stops)
	}
	if err := (netspec.Churn{Session: dist.Exponential{M: 1}, CrashShare: 2}).Validate(); err == nil {
		t.Fatal("crash share 2 accepted")
	}
}
