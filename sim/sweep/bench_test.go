package sweep

import (
	"testing"
	"time"
)

// BenchmarkTokenomicsSweep runs the shipped 8 × 8 × 3 marketplace sweep
// (run and merge, as dais sweep run does) with one worker and with two,
// in the order 1, 2, 2, 1 so that a drift in the machine's load falls on
// both alike, and reports each wall time and their ratio:
//
//	go test -run '^$' -bench TokenomicsSweep -benchtime 1x -count 2 ./sim/sweep/
func BenchmarkTokenomicsSweep(b *testing.B) {
	TuneGC() // as dais sweep run does
	s, err := Load("../../scenarios/sweeps/marketplace-tokenomics.yaml", LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	wall := map[int]time.Duration{}
	for range b.N {
		for _, jobs := range []int{1, 2, 2, 1} {
			dir := b.TempDir()
			start := time.Now()
			out, err := Run(s, Options{Dir: dir, Jobs: jobs})
			if err != nil || len(out.Failed) > 0 || out.Ran != len(s.Points) {
				b.Fatalf("-j %d: %v %v, ran %d", jobs, err, out.Failed, out.Ran)
			}
			if _, err := Merge(dir, []string{dir}); err != nil {
				b.Fatal(err)
			}
			wall[jobs] += time.Since(start)
			b.Logf("-j %d: %s", jobs, time.Since(start).Round(time.Millisecond))
		}
	}
	n := float64(2 * b.N)
	b.ReportMetric(wall[1].Seconds()/n, "s_j1")
	b.ReportMetric(wall[2].Seconds()/n, "s_j2")
	b.ReportMetric(float64(wall[2])/float64(wall[1]), "j2/j1")
}
