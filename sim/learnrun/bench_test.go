package learnrun

import (
	"fmt"
	"testing"

	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/scenarios/learning"
)

// BenchmarkRounds runs federated rounds with real gradients for 20 and
// 1,000 learners and reports, per host second: rounds per second; the
// host time of one SGD step (µs/step) and of one learner's whole training
// job (µs/job, model build included); and per round, the host time the
// validators spent scoring and the rule spent aggregating (ms), and the
// simulated length of a round (sim-ms/round). With 1,000 providers each
// holds 3–4 of optdigits' 3,523 unheld rows: one SGD step an epoch.
func BenchmarkRounds(b *testing.B) {
	for _, tc := range []struct {
		learners, rounds int
		rule             string
	}{
		{20, 5, learn.RuleFedAvg},
		{1000, 2, learn.RuleFedAvg},
		{1000, 2, learn.RuleMedian},
		{1000, 2, learn.RuleKrum},
	} {
		b.Run(fmt.Sprintf("learners=%d/%s", tc.learners, tc.rule), func(b *testing.B) {
			p := learning.DefaultParams()
			p.Providers, p.Rounds, p.Rule = tc.learners, tc.rounds, tc.rule
			var res *Result
			var rounds int
			var wall, train, score, agg float64
			var steps, jobs int64
			for b.Loop() {
				var err error
				if res, err = Run(&p); err != nil {
					b.Fatal(err)
				}
				rounds += p.Rounds
				wall += res.Wall.Seconds()
				train += res.TrainWall.Seconds()
				score += res.ScoreWall.Seconds()
				agg += res.AggregateWall.Seconds()
				steps += res.TrainSteps
				jobs += res.TrainJobs
			}
			r := float64(rounds)
			b.ReportMetric(r/wall, "rounds/s")
			b.ReportMetric(train/float64(steps)*1e6, "µs/step")
			b.ReportMetric(train/float64(jobs)*1e6, "µs/job")
			b.ReportMetric(score/r*1e3, "score-ms/round")
			b.ReportMetric(agg/r*1e3, "agg-ms/round")
			b.ReportMetric(float64(res.RoundEnd[p.Rounds]-res.RoundEnd[0])/float64(p.Rounds)/1e6, "sim-ms/round")
			b.ReportMetric(100*res.Final(), "acc-%")
		})
	}
}
