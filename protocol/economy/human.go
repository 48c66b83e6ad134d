package economy

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dais-sim/dais/protocol"
)

// Human is a human validator: a person who labels rows of the data sets
// by hand, so that the labels their providers gave can be checked. Its
// first label of a round is right with probability Accuracy,
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
}

// Validate reports the first field out of range.
func (h Human) Validate() error {
	switch {
	case !(h.Accuracy >= 0 && h.Accuracy <= 1) || !(h.Fatigue >= 0 && h.Fatigue <= 1):
		return fmt.Errorf("%w: human accuracy %v, fatigue %v, want [0, 1]", ErrConfig, h.Accuracy, h.Fatigue)
	case h.Latency <= 0 || h.Window <= 0:
		return fmt.Errorf("%w: human latency %v, window %v", ErrConfig, h.Latency, h.Window)
	}
	return nil
}

// Labelled is one human's labels of a round's checked rows: Labels[r]
// is its label of row r, or −1 where the round's window ran out first.
type Labelled struct {
	Labels []int
	// Checked is how many rows it labelled, Busy how long that took, Cost
	// what it cost the human.
	Checked int
	Busy    protocol.Duration
	Cost    uint64
}

// Label labels the rows whose true labels are truth, in a random order,
// up to Window/Latency of them: each the true label with the human's
// current accuracy, else one of the other classes uniformly.
func (h Human) Label(r *rand.Rand, truth []int, classes int) Labelled {
	budget := int(min(int64(h.Window/h.Latency), math.MaxInt32))
	l := Labelled{Labels: make([]int, len(truth))}
	for i := range l.Labels {
		l.Labels[i] = -1
	}
	chance := 1 / float64(classes)
	for _, i := range r.Perm(len(truth)) {
		if l.Checked == budget {
			break
		}
		p := max(h.Accuracy-h.Fatigue*float64(l.Checked), chance)
		label := truth[i]
		if r.Float64() >= p {
			label = (label + 1 + r.IntN(classes-1)) % classes
		}
		l.Labels[i] = label
		l.Checked++
	}
	l.Busy = protocol.Duration(l.Checked) * h.Latency
	l.Cost = uint64(l.Checked) * h.Cost
	return l
}
