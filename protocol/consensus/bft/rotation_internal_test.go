package bft

import (
	"math/rand/v2"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/consensus"
)

// TestRotation holds the proposer priorities to the bound rotation.go
// relies on (within ±2·total, so int64 cannot overflow under
// MaxTotalStake) and checks the smooth round robin's period: after total
// picks every priority is back to 0 and each validator was picked stake
// times.
func TestRotation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		n := 1 + r.IntN(40)
		var cands []consensus.Validator
		for i := 0; i < n; i++ {
			cands = append(cands, consensus.Validator{ID: protocol.NodeID(i), Stake: 1 + r.Uint64N(50)})
		}
		set, err := consensus.NewValidatorSet(cands, 0)
		if err != nil {
			t.Fatal(err)
		}
		rot := newRotation(set)
		total := int64(set.Total())
		picks := make([]uint64, n)
		for k := int64(0); k < total; k++ {
			picks[rot.next()]++
			for i, p := range rot.prio {
				if p > 2*total || p < -2*total {
					t.Fatalf("trial %d: priority %d of validator %d outside ±2·%d", trial, p, i, total)
				}
			}
		}
		for i := range picks {
			if picks[i] != set.At(i).Stake {
				t.Fatalf("trial %d: validator %d (stake %d) picked %d times in %d picks", trial, i, set.At(i).Stake, picks[i], total)
			}
			if rot.prio[i] != 0 {
				t.Fatalf("trial %d: priority %d not back to 0 after a period", trial, rot.prio[i])
			}
		}
	}
}
