package bft

import "github.com/dais-sim/dais/protocol/consensus"

// rotation picks proposers weighted by stake with CometBFT's
// proposer-priority algorithm (types/validator_set.go,
// IncrementProposerPriority), which is nginx's smooth weighted round robin:
// every pick adds each validator's stake to its priority, picks the highest
// priority (ties: the lower index in the set, i.e. more stake, then lower
// address, as in CometBFT) and takes the total stake off the one picked. Over any window of total/gcd picks each validator proposes in
// proportion to its stake, and picks are spread out rather than bunched.
// The set is fixed, so priorities stay bounded (TestRotation holds them
// within ±2·total, which MaxTotalStake keeps inside int64) and CometBFT's
// rescaling and centring steps never apply.
type rotation struct {
	set  *consensus.ValidatorSet
	prio []int64
}

func newRotation(set *consensus.ValidatorSet) rotation {
	return rotation{set: set, prio: make([]int64, set.Len())}
}

// next makes one pick and returns the index of the validator picked.
func (r *rotation) next() int {
	best := 0
	for i := range r.prio {
		r.prio[i] += int64(r.set.At(i).Stake)
		if r.prio[i] > r.prio[best] {
			best = i
		}
	}
	r.prio[best] -= int64(r.set.Total())
	return best
}

func (r *rotation) clone() rotation {
	return rotation{set: r.set, prio: append([]int64(nil), r.prio...)}
}

// Proposers returns the proposers of rounds 0..rounds−1 of heights
// 1..heights, as validator indexes, in the order the engine uses:
// proposer(h, 0) is the h-th pick from the initial priorities, and
// proposer(h, r) the r-th further pick from the priorities after h picks,
// on a copy, so a height's failed rounds do not shift later heights (as in
// CometBFT, where each height's set is incremented once and each round
// increments a copy). Tests and reports use it; a node computes the same
// incrementally.
func Proposers(set *consensus.ValidatorSet, heights, rounds int) [][]int {
	base := newRotation(set)
	out := make([][]int, heights)
	for h := range out {
		out[h] = append(out[h], base.next())
		cp := base.clone()
		for r := 1; r < rounds; r++ {
			out[h] = append(out[h], cp.next())
		}
	}
	return out
}
