package kernel_test

import (
	"testing"

	"github.com/dais-sim/dais/gpu/kernel"
)

func TestForFLOPsSizes(t *testing.T) {
	for _, c := range []struct {
		flops     float64
		n, rounds int
	}{
		{2e7, 215, 1}, {0, kernel.MinN, 1}, {2e5, 46, 1}, {4e9, kernel.MaxN, 119},
	} {
		w := kernel.ForFLOPs(7, c.flops)
		if w.N != c.n || w.Rounds != c.rounds || w.FLOPs() != 2*float64(c.n*c.n*c.n*c.rounds) {
			t.Errorf("ForFLOPs(%g) = %+v (%g FLOPs), want %d×%d, %d rounds", c.flops, w, w.FLOPs(), c.n, c.n, c.rounds)
		}
	}
}

func TestRunIsDeterministicPerSeed(t *testing.T) {
	a, _ := kernel.MatMul{Seed: 1, N: 16, Rounds: 2}.Run()
	b, _ := kernel.MatMul{Seed: 1, N: 16, Rounds: 2}.Run()
	c, _ := kernel.MatMul{Seed: 2, N: 16, Rounds: 2}.Run()
	if a != b || a == c {
		t.Errorf("same seed %x vs %x; other seed %x", a, b, c)
	}
}
