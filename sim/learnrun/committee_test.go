package learnrun

import (
	"fmt"
	"slices"
	"testing"

	"github.com/dais-sim/dais/protocol/learn"
)

// The aggregator committee in a real run (20 IID providers, MLP, 3
// rounds): a committee of 4 with no liar or one commits exactly the
// trusted coordinator's models (the same accuracy after every round) and
// records the liar's candidate each round; with two liars of four no
// version has a quorum and the model never leaves its initial point. The
// committee's aggregation jobs and the extra copies of every update make
// rounds longer in simulated time.
func TestCommitteeRun(t *testing.T) {
	singleThreaded(t)
	rounds := 3
	run := func(a, lying int) *Result {
		p := DefaultParams()
		p.Rounds, p.Aggregators, p.Attack.LyingAggregators = rounds, a, lying
		p.Providers, p.Epochs = 8, 1 // small: the committee, not the learning, is under test
		res, err := Run(&p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	trusted := run(0, 0)
	honest, oneLiar, twoLiars := run(4, 0), run(4, 1), run(4, 2)
	for _, c := range []struct {
		name string
		res  *Result
	}{{"4 honest", honest}, {"1 liar of 4", oneLiar}} {
		if !slices.Equal(c.res.Accuracy, trusted.Accuracy) || c.res.NoQuorum != 0 {
			t.Errorf("%s: accuracy by round %v (%d rounds without quorum), want the trusted coordinator's %v",
				c.name, c.res.Accuracy, c.res.NoQuorum, trusted.Accuracy)
		}
	}
	if honest.Dissents != 0 || oneLiar.Dissents != rounds {
		t.Errorf("dissents: %d with no liar, %d with one liar over %d rounds; want 0 and %d", honest.Dissents, oneLiar.Dissents, rounds, rounds)
	}
	if twoLiars.NoQuorum != rounds || twoLiars.Dissents != rounds*4 || twoLiars.Final() != twoLiars.Accuracy[0] {
		t.Errorf("2 liars of 4: %d rounds without quorum, %d dissents, accuracy %v; want %d, %d and the initial model's throughout",
			twoLiars.NoQuorum, twoLiars.Dissents, twoLiars.Accuracy, rounds, rounds*4)
	}
	if tr, c := roundTime(trusted), roundTime(honest); !(c > tr) {
		t.Errorf("simulated round time %v with a committee of 4, %v without; want longer", c, tr)
	}
}

// roundTime is the mean simulated time per round.
func roundTime(res *Result) float64 {
	r := len(res.RoundEnd) - 1
	return float64(res.RoundEnd[r]-res.RoundEnd[0]) / float64(r)
}

// BenchmarkCommittee measures the simulated round time (sim-ms/round) and
// the host rounds per second of 20 IID providers with FedAvg, without a
// committee (the coordinator aggregates) and with committees of 1, 4 and
// 7 aggregators, and of 7 with Krum.
func BenchmarkCommittee(b *testing.B) {
	for _, tc := range []struct {
		a    int
		rule string
	}{{0, learn.RuleFedAvg}, {1, learn.RuleFedAvg}, {4, learn.RuleFedAvg}, {7, learn.RuleFedAvg}, {0, learn.RuleKrum}, {7, learn.RuleKrum}} {
		b.Run(fmt.Sprintf("aggregators=%d/%s", tc.a, tc.rule), func(b *testing.B) {
			p := DefaultParams()
			p.Rounds, p.Aggregators, p.Rule = 5, tc.a, tc.rule
			var res *Result
			var wall float64
			var rounds int
			for b.Loop() {
				var err error
				if res, err = Run(&p); err != nil {
					b.Fatal(err)
				}
				wall += res.Wall.Seconds()
				rounds += p.Rounds
			}
			b.ReportMetric(float64(rounds)/wall, "rounds/s")
			b.ReportMetric(roundTime(res)/1e6, "sim-ms/round")
			b.ReportMetric(float64(res.BytesSent)/float64(p.Rounds)/1e6, "MB/round")
			b.ReportMetric(100*res.Final(), "acc-%")
		})
	}
}
