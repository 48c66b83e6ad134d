package verify

import "fmt"

// Dispute is the bisection game between two parties whose results for a
// unit of Steps steps differ (Verde, Arun et al. 2025; Truebit before it):
// both committed Merkle roots over their checkpoints 0 … Steps; they agree
// on checkpoint 0 (the unit's input, public) and disagree on the last (the
// results). Each round asks both for the checkpoint half-way between the
// last agreed and the first disputed step, and keeps the half where they
// part; after ⌈log₂ Steps⌉ rounds the disputed span is one step, which a
// referee re-executes from the agreed checkpoint. Whoever's checkpoint
// after that step differs from the referee's is the liar; the referee's
// work is one step, not the unit.
type Dispute struct {
	lo, hi uint32 // agreed at lo, disagreed at hi
	rounds int
}

// NewDispute starts a game over a unit of steps ≥ 1 steps.
func NewDispute(steps uint32) *Dispute {
	if steps < 1 {
		panic(fmt.Sprintf("verify: dispute over %d steps", steps))
	}
	return &Dispute{hi: steps}
}

// Done reports whether the disputed span is one step.
func (d *Dispute) Done() bool { return d.hi-d.lo <= 1 }

// Query is the step whose checkpoint both parties reveal next.
func (d *Dispute) Query() uint32 { return d.lo + (d.hi-d.lo)/2 }

// Answer takes both parties' checkpoints at Query.
func (d *Dispute) Answer(a, b Hash) {
	if d.Done() {
		panic("verify: Answer after the dispute narrowed to one step")
	}
	m := d.Query()
	if a == b {
		d.lo = m
	} else {
		d.hi = m
	}
	d.rounds++
}

// Step is the step the referee re-executes: from checkpoint Step (agreed)
// to Step+1 (disputed).
func (d *Dispute) Step() uint32 { return d.lo }

// Rounds is how many rounds have been answered.
func (d *Dispute) Rounds() int { return d.rounds }

// MaxRounds is how many rounds a dispute over steps takes at most:
// ⌈log₂ steps⌉.
func MaxRounds(steps uint32) int {
	r := 0
	for s := uint64(1); s < uint64(steps); s *= 2 {
		r++
	}
	return r
}
