package node_test

import (
	"encoding/json"
	"fmt"
	"github.com/dais-sim/dais/live/livetest"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol"
)

// TestThreeValidators runs three validators in this process over libp2p on
// 127.0.0.1 with transfers flowing, and checks that they commit the same
// blocks, serve /metrics and /status, answer a plain libp2p client, and
// stop without leaving a goroutine behind.
func TestThreeValidators(t *testing.T) {
	livetest.RequireLoopback(t)
	netw := testNetwork(t, 3, 0, 6)
	nodes, dirs := startAll(t, netw)
	const target = 6
	livetest.WaitFor(t, fmt.Sprintf("every node to commit height %d", target), func() bool {
		for _, n := range nodes {
			if n.height() < target {
				return false
			}
		}
		return true
	})

	t.Run("status", func(t *testing.T) {
		var st node.Status
		getJSON(t, "http://"+nodes[1].n.StatusAddr()+"/status", &st)
		if st.ID != 1 || st.Role != node.RoleValidator || st.Network != "test" {
			t.Errorf("status names node %d, %q of %q", st.ID, st.Role, st.Network)
		}
		if !st.Ready || st.Height < target || len(st.Tip) != 64 || st.LastCommit == nil {
			t.Errorf("status: height %d, tip %q, last commit %v", st.Height, st.Tip, st.LastCommit)
		}
		if st.StoreHeight+1 < st.Height {
			t.Errorf("store at %d while the ledger is at %d: blocks are stored as they commit", st.StoreHeight, st.Height)
		}
		livetest.WaitFor(t, "node 1 to list both others as peers", func() bool {
			return slices.Equal(nodes[1].n.Status().Peers, []protocol.NodeID{0, 2})
		})
	})

	t.Run("metrics", func(t *testing.T) {
		livetest.WaitFor(t, "node 0 to see both others", func() bool { return len(nodes[0].n.Status().Peers) == 2 })
		fams := scrape(t, nodes[0].n.StatusAddr())
		for _, name := range []string{node.MetricHeight, node.MetricFinality, node.MetricRounds, node.MetricCommits,
			node.MetricPeers, node.MetricFrames, node.MetricPeerRecords, node.MetricUptime, node.MetricStoreHeight, node.MetricStoreWrite,
			node.MetricMempoolTxs, node.MetricTxsCommitted, node.MetricInputs, node.MetricInfo, "go_goroutines"} {
			if fams[name] == nil {
				t.Errorf("/metrics has no %s", name)
			}
		}
		if h := gaugeValue(fams[node.MetricHeight]); h < target {
			t.Errorf("%s = %g, want ≥ %d", node.MetricHeight, h, target)
		}
		if f := fams[node.MetricFinality]; f != nil {
			h := f.GetMetric()[0].GetHistogram()
			if f.GetType() != dto.MetricType_HISTOGRAM || h.GetSampleCount() < target || h.GetSampleSum() <= 0 {
				t.Errorf("%s: type %v, %d samples summing to %gs", node.MetricFinality, f.GetType(), h.GetSampleCount(), h.GetSampleSum())
			}
		}
		if p := gaugeValue(fams[node.MetricPeers]); p != 2 {
			t.Errorf("%s = %g, want 2", node.MetricPeers, p)
		}
		if f := fams[node.MetricFrames]; f != nil {
			byResult := map[string]float64{}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "result" {
						byResult[l.GetValue()] = m.GetCounter().GetValue()
					}
				}
			}
			if byResult["sent"] == 0 || byResult["received"] == 0 {
				t.Errorf("%s: %v, want frames sent and received", node.MetricFrames, byResult)
			}
		}
		if c := fams[node.MetricTxsCommitted]; c != nil && c.GetMetric()[0].GetCounter().GetValue() == 0 {
			t.Errorf("%s = 0: transfers at 6/s reached no block", node.MetricTxsCommitted)
		}
	})

	t.Run("a stranger is refused at the handshake", func(t *testing.T) {
		// A client that knows nothing of dais: libp2p's default stack with
		// its own random identity, speaking the standard ping protocol.
		c, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		target := nodes[2].n.AddrInfo()
		before := nodes[2].n.PeerStats().UnknownPeer
		if err := c.Connect(livetest.Context(t), target); err == nil {
			if res := <-ping.Ping(livetest.Context(t), c, target.ID); res.Error == nil {
				t.Fatal("a stranger pinged a node")
			}
		}
		livetest.WaitFor(t, "the refusal to be counted", func() bool { return nodes[2].n.PeerStats().UnknownPeer > before })
		fams := scrape(t, nodes[2].n.StatusAddr())
		if v := sample(fams, node.MetricRefused, map[string]string{"reason": "unknown_peer", "kind": "conn"}); v < 1 {
			t.Errorf("%s{reason=unknown_peer,kind=conn} = %v, want the stranger counted", node.MetricRefused, v)
		}
	})

	heights := make([]uint64, len(nodes))
	for i, n := range nodes {
		n.stop(t)
		heights[i] = uint64(len(storedChain(t, dirs[i])))
	}
	checkNoLeaks(t)

	// Every node stored every height it committed, and the blocks agree.
	ref := blockHashes(t, storedChain(t, dirs[0]))
	for i := 1; i < len(nodes); i++ {
		got := blockHashes(t, storedChain(t, dirs[i]))
		for h := range min(len(ref), len(got)) {
			if got[h] != ref[h] {
				t.Fatalf("node %d stored block %x at height %d, node 0 %x", i, got[h][:6], h+1, ref[h][:6])
			}
		}
	}
	for i, h := range heights {
		if h < target {
			t.Errorf("node %d stored %d heights, want ≥ %d", i, h, target)
		}
	}
	// A clean stop is written to each events file.
	evs := readEvents(t, dirs[0])
	if len(evs) == 0 || evs[0].Kind != node.EventStart || evs[len(evs)-1].Kind != node.EventStop {
		t.Errorf("events file runs from %v to %v, want start … stop", first(evs), last(evs))
	}
}

// TestRestartReplaysAndCatchesUp stops one of four validators, lets the
// other three (enough for +2/3) go on, and starts it again on its data dir:
// it must replay every block it had stored, without the network, then
// catch up on what it missed and take part again.
func TestRestartReplaysAndCatchesUp(t *testing.T) {
	livetest.RequireLoopback(t)
	netw := testNetwork(t, 4, 0, 0)
	nodes, dirs := startAll(t, netw)
	livetest.WaitFor(t, "node 3 to commit height 4", func() bool { return nodes[3].height() >= 4 })
	nodes[3].stop(t)
	before := storedChain(t, dirs[3])

	gone := nodes[0].height()
	livetest.WaitFor(t, "three validators to commit 5 heights without the fourth", func() bool {
		return nodes[0].height() >= gone+5
	})
	nodes[3] = startNode(t, netw, 3, dirs[3])
	livetest.WaitFor(t, "the restarted node to replay its store", func() bool {
		return nodes[3].n.Status().Replayed > 0
	})
	if st := nodes[3].n.Status(); st.Replayed != uint64(len(before)) {
		t.Errorf("replayed %d heights, the store held %d", st.Replayed, len(before))
	}
	goal := nodes[0].height() + 2
	livetest.WaitFor(t, fmt.Sprintf("the restarted node to reach height %d", goal), func() bool {
		return nodes[3].height() >= goal
	})
	for _, n := range nodes {
		n.stop(t)
	}
	checkNoLeaks(t)

	after := storedChain(t, dirs[3])
	if len(after) < int(goal) {
		t.Errorf("restarted node stored %d heights, want ≥ %d", len(after), goal)
	}
	for h, rec := range before {
		if string(after[h]) != string(rec) {
			t.Fatalf("height %d changed in the store across the restart", h+1)
		}
	}
	ref := blockHashes(t, storedChain(t, dirs[0]))
	got := blockHashes(t, after)
	for h := range min(len(ref), len(got)) {
		if got[h] != ref[h] {
			t.Fatalf("restarted node has block %x at height %d, node 0 %x", got[h][:6], h+1, ref[h][:6])
		}
	}
	var starts []node.Event
	for _, ev := range readEvents(t, dirs[3]) {
		if ev.Kind == node.EventStart {
			starts = append(starts, ev)
		}
	}
	if len(starts) != 2 || starts[0].Replayed != 0 || starts[1].Replayed != uint64(len(before)) {
		t.Errorf("start events %+v, want a fresh start then one replaying %d heights", starts, len(before))
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// scrape fetches /metrics and parses it as the Prometheus text format.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/metrics Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	return fams
}

// sample is the value of the sample of fams[name] with labels (each
// named label equal), summed over the samples that match; -1 if none does.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	sum, found := 0.0, false
	for _, m := range fams[name].GetMetric() {
		match := 0
		for _, l := range m.GetLabel() {
			if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
				match++
			}
		}
		if match != len(labels) {
			continue
		}
		found = true
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		}
	}
	if !found {
		return -1
	}
	return sum
}

func gaugeValue(f *dto.MetricFamily) float64 {
	if f == nil || len(f.GetMetric()) == 0 {
		return -1
	}
	return f.GetMetric()[0].GetGauge().GetValue()
}

func first(evs []node.Event) any {
	if len(evs) == 0 {
		return nil
	}
	return evs[0].Kind
}

func last(evs []node.Event) any {
	if len(evs) == 0 {
		return nil
	}
	return evs[len(evs)-1].Kind
}

func readEvents(t *testing.T, dir string) []node.Event {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, node.EventsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := node.ReadEvents(f)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
