package blockprop

import (
	"fmt"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/protocol/gossip"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// line is three nodes A–B–C in one region: 10 ms one way, 8 Mbit/s up
// and down (a byte per µs), one block of 100,000 bytes from A at 0.
func line(relay gossip.Protocol, validation protocol.Duration) *Params {
	link := netspec.Link{UpBps: 8e6, DownBps: 8e6}
	p := &Params{
		Seed:      1,
		Matrix:    netspec.Matrix{Regions: []string{"r"}, RTT: [][]protocol.Duration{{20 * protocol.Millisecond}}},
		Nodes:     []Node{{Link: link}, {Link: link}, {Link: link}},
		Graph:     [][]protocol.NodeID{{1}, {0, 2}, {1}},
		BlockSize: 100_000,
		Degree:    1,
		Relay:     gossip.Config{Protocol: relay, TxSize: 400, Overlap: 1},
		Until:     protocol.Duration(protocol.Minute),
	}
	if validation > 0 {
		p.Validation.Base = dist.Fixed{V: validation.Seconds()}
	}
	return p
}

// holds runs p and returns when each node first held the block (origin
// included) and what was sent.
func holds(t *testing.T, p *Params) ([]protocol.Time, *Result) {
	t.Helper()
	var c capture
	p.Sink = &c
	res, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	at := make([]protocol.Time, len(p.Nodes))
	for i := range at {
		at[i] = -1
	}
	for _, s := range c.got {
		if _, ok := s.Event.(gossip.Received); ok && at[s.Node] < 0 {
			at[s.Node] = protocol.Time(s.AtNs)
		}
	}
	return at, res
}

func us(x float64) protocol.Time { return protocol.Time(x * float64(protocol.Microsecond)) }

// The arrival times on a line of three, worked out by hand. A message of
// S bytes sent at t on an idle uplink arrives at t + S µs + 10 ms. Wire
// sizes (created 0 and origin 0 are one byte each, 100,000 a three-byte
// length): a block 2+1+1+1+1+3+100,000 = 100,009 bytes; an inv
// 2+1+1+1+3+1 = 9; a getdata 2+1+1 = 4; a compact block of 250 short IDs
// (100,000 / 400-byte transactions) 2+1+1+1+3+1+2+1,500 = 1,511.
func TestLineOfThreeByHand(t *testing.T) {
	const v = 5 * protocol.Millisecond
	for _, tc := range []struct {
		name string
		p    *Params
		want []protocol.Time
	}{
		// B gets the block at 100,009 µs + 10 ms and passes it on at
		// once; C one more such hop later.
		{"push", line(gossip.Push, 0), []protocol.Time{0, us(110_009), us(220_018)}},
		// The same, B passing it on after validating for 5 ms.
		{"push, 5 ms validation", line(gossip.Push, v), []protocol.Time{0, us(110_009), us(225_018)}},
		// inv A→B arrives 10,009; getdata B→A 20,013; block A→B 130,022;
		// B validates until 135,022; inv B→C 145,031; getdata C→B
		// 155,035; block B→C 265,044.
		{"announce", line(gossip.Announce, v), []protocol.Time{0, us(130_022), us(265_044)}},
		// Everyone pushes sketches to everyone (each node's peers all
		// chose it as high-bandwidth peer): A→B 11,511; B→C, before B
		// validates, 23,022.
		{"compact, high bandwidth", func() *Params { p := line(gossip.Compact, v); p.HighBandwidth = 3; return p }(),
			[]protocol.Time{0, us(11_511), us(23_022)}},
		// Low bandwidth: inv 10,009, getdata 20,013, sketch 31,524; B
		// validates to 36,524; inv 46,533, getdata 56,537, sketch 68,048.
		{"compact, low bandwidth", line(gossip.Compact, v), []protocol.Time{0, us(31_524), us(68_048)}},
		// No transaction in B's mempool: the sketch reaches B at 11,511,
		// its getblocktxn of 250 one-byte indexes (2+1+1+2+250 = 256
		// bytes) reaches A at 21,767, the 250 transactions
		// (2+1+1+3+100,000 = 100,007 bytes) reach B at 131,774.
		{"compact, empty mempool", func() *Params {
			p := line(gossip.Compact, 0)
			p.HighBandwidth, p.Relay.Overlap = 1, 0
			return p
		}(), []protocol.Time{0, us(131_774), -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := holds(t, tc.p)
			if tc.want[2] < 0 {
				got[2] = -1 // C's time is not the point of this case
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("held at %v, want %v", got, tc.want)
			}
		})
	}
}

// kinds returns how many messages of each kind a run sent.
func kinds(r *Result) map[string]uint64 {
	m := map[string]uint64{}
	for k := gossip.MsgBlock; k < gossip.NumMsgKinds; k++ {
		if r.Messages[k] > 0 {
			m[k.String()] = r.Messages[k]
		}
	}
	return m
}

// Under announce, when nothing is lost, every node downloads every block
// exactly once: as many blocks sent as (nodes − 1) × blocks, no duplicate,
// one getdata per download, every node reached.
func TestAnnounceDownloadsEachBlockOnce(t *testing.T) {
	p, err := Demo("population.nodes=400", "protocol.gossip.relay=announce", "protocol.gossip.interval=5s", "run.duration=60s",
		"protocol.gossip.block_size=256KiB", "protocol.gossip.degree=6", "protocol.gossip.validation={time: {dist: exponential, mean: 20ms}}")
	if err != nil {
		t.Fatal(err)
	}
	var c capture
	p.Sink = &c
	res, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	want := uint64(len(p.Nodes)-1) * uint64(res.Blocks)
	got := map[[2]uint64]int{}
	for _, s := range c.got {
		switch ev := s.Event.(type) {
		case gossip.Received:
			got[[2]uint64{uint64(s.Node), ev.Height}]++
		case gossip.Duplicate:
			t.Fatalf("node %d got a duplicate of block %d", s.Node, ev.Height)
		}
	}
	for k, n := range got {
		if n != 1 {
			t.Fatalf("node %d received block %d %d times", k[0], k[1], n)
		}
	}
	if res.Blocks != 11 || res.Coverage() != 1 || res.Messages[gossip.MsgBlock] != want || res.Messages[gossip.MsgGetData] != want ||
		res.Deliveries != want || res.Duplicates != 0 || res.Messages[gossip.MsgInv] < want {
		t.Fatalf("%d blocks, coverage %g, messages %v, %d deliveries, %d duplicates; want 11 blocks, coverage 1, %d blocks and getdatas, as many deliveries, none duplicate",
			res.Blocks, res.Coverage(), kinds(res), res.Deliveries, res.Duplicates, want)
	}
}

// Under compact relay with every transaction in every mempool, a block
// costs its sketch: no block and no transaction crosses the network; a
// node sends one sketch per block (plus announcements) when sketches are
// requested, and one per peer that chose it as high-bandwidth peer (three
// on average with high_bandwidth 3) when they are pushed.
func TestCompactWithFullMempoolsSendsSketchesOnly(t *testing.T) {
	for _, c := range []struct {
		hb       int
		sketches float64
	}{{0, 1}, {3, 3}} {
		hb, sketches := c.hb, c.sketches
		p, err := Demo("population.nodes=400", "protocol.gossip.relay=compact", "protocol.gossip.interval=5s", "run.duration=60s",
			"protocol.gossip.block_size=1MiB", "protocol.gossip.tx_size=400B", "protocol.gossip.mempool_overlap=100%", fmt.Sprint("protocol.gossip.high_bandwidth=", hb))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(p)
		if err != nil {
			t.Fatal(err)
		}
		sketch := uint64(p.Relay.WireSize(gossip.Ref{Size: p.BlockSize, Height: 1, Created: protocol.Time(5 * protocol.Second)}, gossip.Msg{Kind: gossip.MsgCompact}))
		perNode := float64(res.BytesSent) / float64(len(p.Nodes)) / float64(res.Blocks)
		if res.Coverage() != 1 || res.Messages[gossip.MsgBlock]+res.Messages[gossip.MsgTxn]+res.Messages[gossip.MsgGetTxn] != 0 ||
			res.Messages[gossip.MsgCompact] < uint64(len(p.Nodes)-1)*uint64(res.Blocks) || perNode > (sketches+0.1)*float64(sketch) {
			t.Fatalf("high_bandwidth %d: coverage %g, messages %v, %.0f bytes per node per block (sketch %d bytes, block %d)",
				hb, res.Coverage(), kinds(res), perNode, sketch, p.BlockSize)
		}
		if hb == 0 && res.Messages[gossip.MsgCompact] != uint64(len(p.Nodes)-1)*uint64(res.Blocks) {
			t.Fatalf("low bandwidth: %d sketches for %d blocks: each node should fetch one per block", res.Messages[gossip.MsgCompact], res.Blocks)
		}
	}
}

var _ metrics.Sink = (*capture)(nil)
