package economy

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dais-sim/dais/protocol"
)

// Human is a human validator: a person who checks data sets' labels by
// hand. Its first check of a round is right with probability Accuracy,
// each later one Fatigue less (never below chance); each takes Latency, so
// a round's Window holds at most Window/Latency checks; each costs the
// human Cost base units (time, attention), which it spends whether or
// not it is paid. A human is modeled, not run as a networked node: its
// assessments reach the accountant at the round's end, and latency
// bounds how many it makes.
type Human struct {
	Accuracy, Fatigue float64
	Latency, Window   protocol.Duration
	Cost              uint64
	// Sample is the most rows it checks per data set per round.
	Sample int
}

// Validate reports the first field out of range.
func (h Human) Validate() error {
	switch {
	case !(h.Accuracy >= 0 && h.Accuracy <= 1) || !(h.Fatigue >= 0 && h.Fatigue <= 1):
		return fmt.Errorf("%w: human accuracy %v, fatigue %v, want [0, 1]", ErrConfig, h.Accuracy, h.Fatigue)
	case h.Latency <= 0 || h.Window <= 0 || h.Sample < 1:
		return fmt.Errorf("%w: human latency %v, window %v, sample %d", ErrConfig, h.Latency, h.Window, h.Sample)
	}
	return nil
}

// LabelledSet is what a human checks: the labels a data set's provider
// gave (Given) and, known to the simulator, the true ones.
type LabelledSet struct {
	Given, True []int
}

// Assessment is one round of a human's checks.
type Assessment struct {
	// Agreement[d] is the share of the rows checked in set d whose given
	// label the human agreed with (NaN when none was checked).
	Agreement []float64
	// Checked is how many rows it checked, Busy how long that took, Cost
	// what it cost the human.
	Checked int
	Busy    protocol.Duration
	Cost    uint64
}

// Assess checks the sets in a random order, up to Sample rows each and
// Window/Latency in all, each row labelled by the human (the true label
// with its current accuracy, else one of the other classes uniformly)
// and compared with the given label.
func (h Human) Assess(r *rand.Rand, sets []LabelledSet, classes int) Assessment {
	budget := int(min(int64(h.Window/h.Latency), math.MaxInt32))
	a := Assessment{Agreement: make([]float64, len(sets))}
	for d := range a.Agreement {
		a.Agreement[d] = math.NaN()
	}
	chance := 1 / float64(classes)
	for _, d := range r.Perm(len(sets)) {
		s := sets[d]
		k := min(h.Sample, len(s.Given), budget-a.Checked)
		if k <= 0 {
			continue
		}
		agree := 0
		for _, i := range r.Perm(len(s.Given))[:k] {
			p := max(h.Accuracy-h.Fatigue*float64(a.Checked), chance)
			label := s.True[i]
			if r.Float64() >= p {
				label = (label + 1 + r.IntN(classes-1)) % classes
			}
			if label == s.Given[i] {
				agree++
			}
			a.Checked++
		}
		a.Agreement[d] = float64(agree) / float64(k)
	}
	a.Busy = protocol.Duration(a.Checked) * h.Latency
	a.Cost = uint64(a.Checked) * h.Cost
	return a
}
