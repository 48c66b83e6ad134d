package learnrun

import (
	"math"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/datavalue"
)

// mixedData is n data sets of mixed quality: 40–200 rows, label noise
// 0–60%, every seventh skewed to three classes, and copies at 9 and 17.
func mixedData(n int) []DataSpec {
	r := protocol.Stream(3, "mixed", 0)
	noise := []float64{0, 0, 0.1, 0.2, 0.4, 0.6}
	var data []DataSpec
	for i := range n {
		d := DataSpec{Group: "mixed", Rows: 40 + r.IntN(161), LabelNoise: noise[r.IntN(len(noise))], CopyOf: -1}
		switch {
		case i%7 == 3:
			d.Classes = []int{r.IntN(10), r.IntN(10), r.IntN(10)}
		case i == 9 || i == 17:
			d = DataSpec{Group: "copy", CopyOf: i - 5, Jitter: 0.03}
		}
		data = append(data, d)
	}
	return data
}

// valueMixed registers and values n mixed data sets as a run of p would.
func valueMixed(t testing.TB, n int, v Valuation) (*registry, *valuation) {
	t.Helper()
	p := economyParams(mixedData(n), 1)
	p.Economy.Value = v
	train, test, err := load()
	if err != nil {
		t.Fatal(err)
	}
	held := train.Subset(seqRows(0, 300))
	reg, err := newRegistry(p.Economy, p.Seed, train.Subset(seqRows(300, train.Len())))
	if err != nil {
		t.Fatal(err)
	}
	val, err := valueData(p.Economy, p.Seed, reg, held, test)
	if err != nil {
		t.Fatal(err)
	}
	return reg, val
}

// TestShapleyErrorAt8 reports the Monte Carlo estimator's error against
// exact Shapley at 8 providers (2^8 coalitions, every model trained once,
// so the estimates below cost no training), over 20 draws of orders per
// budget, plain and with the variance reductions the valuation uses; and
// holds the valuation's estimator to a smaller error than plain sampling
// at the default budget.
func TestShapleyErrorAt8(t *testing.T) {
	claimOnly(t, "trains 256 models") // TestEconomyLight covers exact Shapley at 4
	v := DefaultValuation()
	v.Exact = 8
	_, val := valueMixed(t, 8, v)
	exact := val.exact
	var scale float64
	for _, x := range exact {
		scale += math.Abs(x)
	}
	scale /= float64(len(exact))
	game := val.game // every coalition known: estimates train nothing
	t.Logf("| orders | plain TMC: RMS error | max | antithetic, exact first two and last positions: RMS error | max |")
	t.Logf("|---:|---:|---:|---:|---:|")
	var plainAt, oursAt float64
	for _, T := range []int{4, 10, 20, 40} {
		var row [2][2]float64 // [estimator][rms, max]
		for k, mc := range []datavalue.MonteCarlo{{Permutations: T, Tolerance: v.Tolerance},
			{Permutations: T, Tolerance: v.Tolerance, Antithetic: true, Head: 2, Last: true}} {
			var sq, mx float64
			for seed := range uint64(20) {
				est, err := mc.Estimate(8, game, protocol.Stream(seed, "err8", uint64(T)))
				if err != nil {
					t.Fatal(err)
				}
				for i := range exact {
					d := math.Abs(est.Values[i] - exact[i])
					sq += d * d
					mx = max(mx, d)
				}
			}
			row[k] = [2]float64{math.Sqrt(sq/float64(20*len(exact))) / scale, mx / scale}
		}
		t.Logf("| %d | %.3f | %.3f | %.3f | %.3f |", T, row[0][0], row[0][1], row[1][0], row[1][1])
		if T == v.Permutations {
			plainAt, oursAt = row[0][0], row[1][0]
		}
	}
	t.Logf("errors relative to the mean |exact value| %.4f; %d models trained", scale, val.trainings)
	if !(oursAt < plainAt) {
		t.Errorf("at %d orders the valuation's estimator has RMS error %.3f, plain sampling %.3f", v.Permutations, oursAt, plainAt)
	}
}

// BenchmarkValuation values 20 mixed data sets with each trainer and
// reports what it costs and how the Shapley values rank against
// leave-one-out: go test -run '^$' -bench Valuation -benchtime 1x ./sim/learnrun/
func BenchmarkValuation(b *testing.B) {
	for _, trainer := range []string{TrainerLBFGS, TrainerSGD} {
		b.Run(trainer, func(b *testing.B) {
			v := DefaultValuation()
			v.Trainer, v.Truth = trainer, false
			var val *valuation
			for b.Loop() {
				_, val = valueMixed(b, 20, v)
			}
			b.ReportMetric(float64(val.trainings), "models")
			b.ReportMetric(float64(val.wall.Milliseconds())/float64(val.trainings), "ms/model")
			b.ReportMetric(datavalue.Spearman(val.shapley, val.loo), "spearman(shapley,loo)")
		})
	}
}
