package verify

import (
	"fmt"

	"github.com/dais-sim/dais/protocol"
)

// Vote is one replica's (or one validator's) result for a unit.
type Vote struct {
	From protocol.NodeID
	Hash Hash
}

// Quorum decides a unit by replication: it starts wanting Want results,
// decides as soon as Q of them carry the same hash, and when every wanted
// result is in without Q matching, wants one more, up to Max. The same
// machine judges a panel of validators re-executing a spot-checked unit
// (Want = Q = 2: both must agree, a third breaks a tie).
//
// BOINC's validator works the same way (min_quorum, target_nresults,
// max_total_results): replicas that disagree with the canonical result are
// invalid, and a unit with no quorum after max results is an error.
type Quorum struct {
	want, q, max int
	votes        []Vote
}

// NewQuorum wants want results, decides on q matching, gives up after max.
// It panics unless 1 ≤ q ≤ want ≤ max: a caller's configuration error.
func NewQuorum(want, q, max int) *Quorum {
	if q < 1 || q > want || want > max {
		panic(fmt.Sprintf("verify: quorum %d of %d, at most %d", q, want, max))
	}
	return &Quorum{want: want, q: q, max: max}
}

// Want is how many results the quorum wants now.
func (q *Quorum) Want() int { return q.want }

// Votes returns the results in arrival order; the caller must not modify
// them.
func (q *Quorum) Votes() []Vote { return q.votes }

// Add records a result. A second result from the same node replaces
// nothing and is ignored: a node votes once per unit.
func (q *Quorum) Add(from protocol.NodeID, h Hash) {
	for _, v := range q.votes {
		if v.From == from {
			return
		}
	}
	q.votes = append(q.votes, Vote{From: from, Hash: h})
}

// Decision is what a quorum has decided so far.
type Decision struct {
	// Decided is true when Q results match: Winner is their hash, Agree
	// the nodes that sent it and Dissent the others, in arrival order.
	Decided bool
	Winner  Hash
	Agree   []protocol.NodeID
	Dissent []protocol.NodeID
	// More is how many more results to ask for (0 while results are
	// outstanding or once decided).
	More int
	// Failed is true when Max results are in and no Q match.
	Failed bool
}

// Decide counts the results. When every wanted result is in without a
// quorum it raises Want by one (up to Max) and says so in More; calling it
// again without new results asks for nothing more.
func (q *Quorum) Decide() Decision {
	for i, v := range q.votes {
		n := 0
		for _, w := range q.votes {
			if w.Hash == v.Hash {
				n++
			}
		}
		if n < q.q {
			continue
		}
		// The first hash in arrival order to reach the quorum wins; two
		// cannot, unless q ≤ half the votes, which NewQuorum allows
		// (q = 1): then the earliest is the canonical one, as in BOINC.
		d := Decision{Decided: true, Winner: q.votes[i].Hash}
		for _, w := range q.votes {
			if w.Hash == d.Winner {
				d.Agree = append(d.Agree, w.From)
			} else {
				d.Dissent = append(d.Dissent, w.From)
			}
		}
		return d
	}
	if len(q.votes) < q.want {
		return Decision{}
	}
	if q.want >= q.max {
		return Decision{Failed: true}
	}
	q.want++
	return Decision{More: 1}
}

// Trust is BOINC-style adaptive replication: a host whose last After
// results all agreed with the canonical result is trusted, and a unit
// whose first replica goes to a trusted host is replicated only with
// probability Sample; one disagreement (or proven fraud) resets the
// streak. It keeps one counter per host; the zero After disables it.
type Trust struct {
	After  int
	Sample float64
	streak map[protocol.NodeID]int
}

// Trusted reports whether a host is trusted now.
func (t *Trust) Trusted(p protocol.NodeID) bool {
	return t.After > 0 && t.streak[p] >= t.After
}

// Agree counts a result of p that matched the canonical one.
func (t *Trust) Agree(p protocol.NodeID) {
	if t.streak == nil {
		t.streak = map[protocol.NodeID]int{}
	}
	t.streak[p]++
}

// Disagree resets p's streak.
func (t *Trust) Disagree(p protocol.NodeID) { delete(t.streak, p) }

// Replicas is how many replicas a unit whose first replica goes to p
// gets: 1 if p is trusted and u (uniform in [0, 1), from the caller's
// stream) falls at or above Sample, else k.
func (t *Trust) Replicas(p protocol.NodeID, k int, u float64) int {
	if t.Trusted(p) && u >= t.Sample {
		return 1
	}
	return k
}
