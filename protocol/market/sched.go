package market

import (
	"github.com/dais-sim/dais/protocol"
)

// Policy is a scheduling policy: how the committee picks, for the next
// queued unit, one provider among those free and able to run it.
type Policy uint8

// Policies.
const (
	// FIFO gives the unit to the provider that has waited longest for
	// work (first come, first served on both sides).
	FIFO Policy = iota + 1
	// Fastest gives it to the provider that would finish it first
	// (greedy by capability: earliest expected completion, counting the
	// provider's own queue).
	Fastest
	// FairShare is weighted fair queueing over providers: each provider's
	// virtual time is the FLOPs it was given divided by its capacity, and
	// the unit goes to the one furthest behind, so every provider gets
	// work in proportion to its capacity (small GPUs keep getting units
	// they can finish; the deadline filter keeps them off units they
	// cannot). A provider that joins or returns starts at the smallest
	// virtual time of the others, so it cannot claim the work it missed.
	FairShare
	// Lottery draws the provider with probability proportional to its
	// stake (LotteryByStake) or its capacity, from the committee's stream
	// (in a deployed chain, a randomness beacon such as a VRF on the block).
	Lottery
	numPolicies
)

var policyNames = [...]string{"", "fifo", "fastest", "fair_share", "lottery"}

func (p Policy) String() string { return name(policyNames[:], p, "Policy") }

// ParsePolicy reads a policy's name.
func ParsePolicy(s string) (Policy, error) { return parseName[Policy](policyNames[:], s, "scheduler") }

// Candidate is a provider that is free and able to run the unit at hand.
type Candidate struct {
	ID protocol.NodeID
	// FreeSince is when the provider last had a free slot (FIFO).
	FreeSince protocol.Time
	// Finish is when it would finish the unit (Fastest).
	Finish protocol.Time
	// VTime is its virtual time (FairShare).
	VTime float64
	// Weight is its lottery weight: stake or capacity (Lottery).
	Weight float64
}

// Pick returns the index of the candidate the policy chooses; u is a
// uniform draw in [0, 1) used only by Lottery. Ties go to the smaller ID,
// so the choice never depends on the candidates' order. It panics on no
// candidates.
func Pick(p Policy, cands []Candidate, u float64) int {
	if len(cands) == 0 {
		panic("market: Pick among no candidates")
	}
	best := 0
	better := func(i int) bool {
		a, b := cands[i], cands[best]
		switch p {
		case FIFO:
			if a.FreeSince != b.FreeSince {
				return a.FreeSince < b.FreeSince
			}
		case Fastest:
			if a.Finish != b.Finish {
				return a.Finish < b.Finish
			}
		case FairShare:
			if a.VTime != b.VTime {
				return a.VTime < b.VTime
			}
		}
		return a.ID < b.ID
	}
	if p == Lottery {
		return lottery(cands, u)
	}
	for i := 1; i < len(cands); i++ {
		if better(i) {
			best = i
		}
	}
	return best
}

// lottery draws by weight in ascending ID order (so the draw does not
// depend on the candidates' order); all-zero weights draw uniformly.
func lottery(cands []Candidate, u float64) int {
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	// Candidates usually come in ID order already; insertion sort is
	// linear then.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && cands[order[j]].ID < cands[order[j-1]].ID; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	var total float64
	for _, c := range cands {
		total += max(c.Weight, 0)
	}
	if !(total > 0) {
		return order[min(int(u*float64(len(order))), len(order)-1)]
	}
	x := u * total
	last := order[0]
	for _, i := range order {
		w := max(cands[i].Weight, 0)
		if w == 0 {
			continue
		}
		if x < w {
			return i
		}
		x -= w
		last = i
	}
	return last // rounding at the top end
}
