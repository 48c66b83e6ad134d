package node_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol"
)

// learningNetwork is four validators running the default job: node 0
// coordinates and scores, nodes 1–3 learn.
// learningNetwork is four validators with signed transfers flowing (8/s:
// the coordinator's payouts must not collide with a load client's nonces)
// and a federated job of rounds rounds.
func learningNetwork(t *testing.T, rounds int) *node.Network {
	netw := testNetwork(t, 4, 0, 8)
	l := node.DefaultLearning(4)
	l.Rounds, l.Model = rounds, "softmax"
	l.RoundGap, l.RoundTimeout = node.Duration(300*time.Millisecond), node.Duration(4*time.Second)
	netw.Learning = l
	return netw
}

// TestLearningRestartedCoordinatorResumes runs a federated job on four
// in-process nodes, stops the coordinator after its second round and
// starts it again on its data dir: it resumes from its stored checkpoint
// (not from round 1), the job reaches 90% test accuracy, and every
// learner's payouts are committed on the chain, as every node's ledger
// agrees.
func TestLearningRestartedCoordinatorResumes(t *testing.T) {
	livetest.RequireLoopback(t)
	rounds := 6
	if raceEnabled {
		rounds = 4 // the same path, with fewer rounds of training under the race detector
	}
	netw := learningNetwork(t, rounds)
	nodes, dirs := startAll(t, netw)
	learning := func(i int) *node.LearningStatus {
		if nodes[i].n == nil {
			return nil
		}
		return nodes[i].n.Status().Learning
	}
	livetest.WaitFor(t, "the coordinator to commit round 2", func() bool {
		l := learning(0)
		return l != nil && l.Round >= 2
	})
	nodes[0].stop(t)
	before := storedChain(t, dirs[0])
	nodes[0] = startNode(t, netw, 0, dirs[0])
	livetest.WaitFor(t, "the job to finish", func() bool {
		l := learning(0)
		return l != nil && l.Done
	})
	l0 := learning(0)
	if l0.TestAccuracy == nil || (*l0.TestAccuracy < 0.9 && !raceEnabled) {
		t.Errorf("final test accuracy %v, want ≥ 0.9", l0.TestAccuracy)
	}
	if l0.Round != uint64(rounds) {
		t.Errorf("the coordinator ended at round %d, want %d", l0.Round, rounds)
	}
	if !slicesHave(l0.Roles, node.LearnCoordinator, node.LearnValidator) {
		t.Errorf("node 0 plays %v", l0.Roles)
	}
	// Payouts commit a block or two after their round: wait for the
	// last, then every learner must have earned, and what the chain paid
	// must be what they earned.
	var earned uint64
	livetest.WaitFor(t, "every round's payout to commit", func() bool {
		earned = 0
		for i := 1; i < 4; i++ {
			if l := learning(i); l != nil {
				earned += l.Earned
			}
		}
		return learning(0).Payouts == rounds && earned == learning(0).Paid
	})
	for i := 1; i < 4; i++ {
		l := learning(i)
		if l.Earned == 0 || l.Trained < 3 || !slicesHave(l.Roles, node.LearnLearner) {
			t.Errorf("learner %d: %+v, want earnings and ≥ 3 trainings", i, l)
		}
		// No balance check: with transfers flowing a learner also sends
		// and receives tokens. Its earnings are checked above, read from
		// the Payout transactions in its committed blocks (earned == paid).
	}
	// Payouts floor each share: at most a base unit per learner is kept.
	if pot := uint64(rounds) * netw.Learning.Pot; learning(0).Paid > pot || learning(0).Paid < pot-uint64(rounds)*3 {
		t.Errorf("paid %d over %d rounds of a %d pot", learning(0).Paid, rounds, netw.Learning.Pot)
	}
	fams := scrape(t, nodes[0].n.StatusAddr())
	if r, acc := gaugeValue(fams[node.MetricLearnRound]), gaugeValue(fams[node.MetricLearnAccuracy]); r != float64(rounds) || acc != *l0.TestAccuracy {
		t.Errorf("/metrics: %s %v, %s %v; want %d and %v", node.MetricLearnRound, r, node.MetricLearnAccuracy, acc, rounds, *l0.TestAccuracy)
	}
	if fams[node.MetricLearnPaid] == nil || fams[node.MetricLearnUpdates] == nil {
		t.Errorf("/metrics lacks %s or %s", node.MetricLearnPaid, node.MetricLearnUpdates)
	}
	if n := scrape(t, nodes[1].n.StatusAddr())[node.MetricLearnTrained]; n == nil || n.GetMetric()[0].GetCounter().GetValue() < 1 {
		t.Errorf("learner 1's /metrics: %s %v", node.MetricLearnTrained, n)
	}
	for i := range nodes {
		nodes[i].stop(t)
	}
	// The coordinator resumed: its log says so, and its store kept every
	// block it had.
	log := mustReadFile(t, filepath.Join(dirs[0], node.LogFile))
	if !strings.Contains(log, "resuming from the stored checkpoint") {
		t.Error("the restarted coordinator did not resume from its checkpoint")
	}
	for _, r := range []string{"round=0 ", "round=1 ", "round=2 "} {
		if n := strings.Count(log, `msg="learning round committed" node=0 `+r); n != 1 {
			t.Errorf("%s was committed %d times, want once: the restart must not start the job over", r, n)
		}
	}
	after := storedChain(t, dirs[0])
	for h := range before {
		if string(after[h]) != string(before[h]) {
			t.Fatalf("height %d changed across the restart", h+1)
		}
	}
}

func slicesHave(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

func mustReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLearningSpecErrors(t *testing.T) {
	for _, c := range []struct {
		edit func(l *node.LearningSpec)
		want string
	}{
		{func(l *node.LearningSpec) { l.Coordinator = 9 }, "learning.coordinator[0]: node 9"},
		{func(l *node.LearningSpec) { l.Learners = nil }, "learning.learners: none"},
		{func(l *node.LearningSpec) { l.Learners = []protocol.NodeID{2, 1} }, "learning.learners [2 1]"},
		{func(l *node.LearningSpec) { l.Validators = []protocol.NodeID{7} }, "learning.validators[0]: node 7"},
		{func(l *node.LearningSpec) { l.Validators = nil }, "a pot needs validators"},
		{func(l *node.LearningSpec) { l.Model = "cnn" }, "model"},
		{func(l *node.LearningSpec) { l.Aggregation = "mean" }, "mean"},
		{func(l *node.LearningSpec) { l.Rounds = 0 }, "rounds"},
		{func(l *node.LearningSpec) { l.Partition = "zipf" }, "zipf"},
	} {
		netw := testNetwork(t, 4, 0, 0)
		netw.Learning = node.DefaultLearning(4)
		c.edit(netw.Learning)
		err := netw.Validate()
		if !errors.Is(err, node.ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want ErrConfig naming %q", err, c.want)
		}
	}
}
