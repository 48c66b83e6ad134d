package testnet_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/live/livetest"
	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/live/testnet"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/scenarios"
)

// TestSecureFederatedJobSurvivesSIGKILLedLearner runs four node processes
// with a federated job under secure aggregation: node 0 coordinates (it
// sees only each round's sum), nodes 1–3 train the MLP with keys from
// crypto/rand, t = 2 of 3. Learner 3 is SIGKILLed in a round after it
// shared its seeds (while it trains, or once it has sent its masked
// update: the kill lands where it lands), so the round must unmask with
// it gone — the two others' sum, or all three with learner 3's self mask
// rebuilt from their shares; then it is restarted and rejoins. No round may
// fail to unmask, and the final test accuracy must be within 2 points of
// what the same job reaches aggregated in clear by plain FedAvg
// (minSecureAccuracy).
func TestSecureFederatedJobSurvivesSIGKILLedLearner(t *testing.T) {
	// minSecureAccuracy is plain FedAvg's final accuracy on this job in the
	// simulator, 0.9521, less 2 points (see the check).
	const minSecureAccuracy = 0.9321
	livetest.RequireLoopback(t)
	if raceEnabled {
		t.Skip("four processes training the MLP: the plain federated test covers the live learning path under -race")
	}
	const rounds, seed = 10, 5
	l := node.DefaultLearning(4)
	l.Rounds, l.LocalEpochs = rounds, 2
	l.RoundGap, l.RoundTimeout = node.Duration(time.Second), node.Duration(8*time.Second)
	l.SecureAggregation = &node.SecureAggregationSpec{Threshold: 0.6, StepTimeout: node.Duration(2 * time.Second)}
	tn, err := testnet.Create(testnet.Options{Dir: t.TempDir(), Nodes: 4, Seed: seed, Timeouts: fast, Learning: l})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, tn, 24<<10)
	if err := tn.Start(launcher); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tn.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	const victim = 3
	var round uint64
	livetest.WaitFor(t, "learner 3 to hold its shares in round ≥ 2, still training", func() bool {
		v := learningOf(tn, victim)
		if v == nil || v.SecureRound < 2 || (v.SecureStep != learn.SecureShared && v.SecureStep != learn.SecureReceived) {
			return false
		}
		round = v.SecureRound
		return true
	})
	if err := tn.Kill(victim); err != nil {
		t.Fatal(err)
	}
	livetest.WaitFor(t, fmt.Sprintf("the coordinator to close round %d", round), func() bool {
		c := learningOf(tn, 0)
		return c != nil && c.Round >= round+1
	})
	// Where the kill lands is the machine's business: before learner 3's
	// masked update left, the round unmasks without it (a dropout
	// survived); after, its self mask is rebuilt from the others' shares.
	// Either way the round must unmask.
	c0 := learningOf(tn, 0)
	if c0.SecureFailed != 0 {
		t.Fatalf("after the kill in round %d: %d rounds failed to unmask; want none", round, c0.SecureFailed)
	}
	if c0.SecureSurvived == 0 {
		t.Logf("learner 3's masked update left before the kill in round %d: the round unmasked with it", round)
	}
	if err := tn.Start(launcher, victim); err != nil {
		t.Fatal(err)
	}
	livetest.WaitFor(t, "the job to finish", func() bool {
		c := learningOf(tn, 0)
		return c != nil && c.Done
	})
	c := learningOf(tn, 0)
	if c.SecureFailed != 0 || c.SecureUnmasked != rounds {
		t.Errorf("%d rounds unmasked, %d failed, want %d and 0", c.SecureUnmasked, c.SecureFailed, rounds)
	}
	if v := learningOf(tn, victim); v == nil || v.SecureRound <= round {
		t.Errorf("the restarted learner took no part in a later round: %+v", v)
	}

	// A sum that did not unmask to the survivors' FedAvg would not train
	// at all (accuracy near 10%). That a securely aggregated round commits
	// FedAvg's model bit for bit is protocol/learn's TestSecureRoundIsFedAvg;
	// that the simulator's secure run learns as plain FedAvg does, within
	// 0.5 points, is sim/learnrun's TestSecureAggregationRun. Here the bar
	// is what plain FedAvg reaches on this job in the simulator (95.21%,
	// seed 5, BENCHMARKS.md), less 2 points: the live run lost learner 3's
	// update for the round it was killed in, and its timing differs, which
	// moved the final accuracy by up to 0.9 points in the runs seen.
	if c.TestAccuracy == nil || *c.TestAccuracy < minSecureAccuracy {
		t.Errorf("secure live accuracy %s, want at least %.2f", fmtAcc(c.TestAccuracy), minSecureAccuracy)
	}
	// The pots are split equally among the learners in each sum; every
	// learner was in some.
	livetest.WaitFor(t, "every payout to commit and the learners to read it", func() bool {
		c := learningOf(tn, 0)
		var earned uint64
		for id := protocol.NodeID(1); id < 4; id++ {
			v := learningOf(tn, id)
			if v == nil || v.Earned == 0 {
				return false
			}
			earned += v.Earned
		}
		return c.Payouts == c.Submitted && earned == c.Paid
	})
	t.Logf("learner 3 killed in round %d; %d rounds unmasked, %d dropouts survived; accuracy %.4f secure live",
		round, c.SecureUnmasked, c.SecureSurvived, *c.TestAccuracy)
}

// TestFromScenarioSecureAggregation maps the shipped secure-aggregation
// scenario onto a testnet: the job runs under secure aggregation with the
// scenario's threshold, pays learners without scoring them, and the
// simulated dropouts and clear run are notes.
func TestFromScenarioSecureAggregation(t *testing.T) {
	sc, err := scenarios.Load("../../scenarios/federated-secure-aggregation.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, notes, err := testnet.FromScenario(sc)
	if err != nil {
		t.Fatal(err)
	}
	s := o.Learning.SecureAggregation
	if s == nil || s.Threshold != 0.67 || s.FracBits != 24 || s.StepTimeout != node.Duration(10*time.Second) || o.Learning.Pot == 0 {
		t.Fatalf("learning %+v, secure %+v", o.Learning, s)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"dropout is not applied", "clear_rule is not applied"} {
		if !strings.Contains(all, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
}

func fmtAcc(a *float64) string {
	if a == nil {
		return "none"
	}
	return fmt.Sprintf("%.4f", *a)
}
