package node

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
)

// TestProtocolEventsRoundTrip writes protocol events as events-file lines
// and reads them back: the same events, but for learn.Committed's model,
// which is not written, and non-finite scores, which survive as strings.
// Events of other kinds are not protocol lines.
func TestProtocolEventsRoundTrip(t *testing.T) {
	job := market.JobID{1, 2, 3}
	evs := []metrics.Event{
		market.Verified{Job: job, Unit: 1, Payees: []protocol.NodeID{1, 2}, Result: market.Hash{9}, Steps: 1, FLOPs: 2e7, Latency: 5e8, Checked: true},
		market.JobClosed{Job: job, Requester: 0, Status: market.Done, Units: 2, Verified: 2, Budget: 10, Providers: 8, Pot: 1, Burned: 1, Height: 4},
		market.Computed{Job: job, Unit: 1, FLOPs: 2e7, DurationNs: 9e6, EnergyJ: 0.5, Replay: true},
		rewards.Paid{Height: 3, Class: rewards.PaidFee, To: rewards.NodeAccount(2), Amount: 4},
		learn.Scored{Round: 2, Learner: 3, Score: math.Inf(-1), Validators: 1, Payout: 7, Pot: 10},
		learn.Scored{Round: 2, Learner: 1, Score: math.NaN()},
		learn.Scored{Round: 2, Learner: 2, Score: 0.25, Accepted: true},
		learn.Committed{Round: 2, Version: learn.Hash{4}, Updates: 3, Accepted: 3, Params: []float64{1, 2, 3}, Final: true},
		LearnMeasured{Round: 2, Accuracy: 0.93},
	}
	path := filepath.Join(t.TempDir(), EventsFile)
	log, err := openEventLog(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range evs {
		line, ok, err := protocolEvent(int64(i), ev)
		if !ok || err != nil {
			t.Fatalf("%s: ok %v, err %v", ev.Kind(), ok, err)
		}
		log.write(&line)
	}
	if err := log.close(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := protocolEvent(0, chain.Submitted{}); ok {
		t.Error("chain.Submitted was taken as a protocol event")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines, err := ReadEvents(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(evs) {
		t.Fatalf("%d lines, want %d", len(lines), len(evs))
	}
	for i, line := range lines {
		got, ok, err := line.Protocol()
		if !ok || err != nil {
			t.Fatalf("line %d (%s): ok %v, err %v", i, line.Kind, ok, err)
		}
		want := evs[i]
		switch w := want.(type) {
		case learn.Committed:
			w.Params = nil
			want = w
		case learn.Scored:
			g := got.(learn.Scored)
			if math.IsNaN(w.Score) && math.IsNaN(g.Score) {
				g.Score, w.Score = 0, 0
				got, want = g, w
			}
		}
		if !reflect.DeepEqual(got, want) || line.AtNs != int64(i) {
			t.Errorf("line %d: %+v at %d, want %+v at %d", i, got, line.AtNs, want, i)
		}
	}
}
