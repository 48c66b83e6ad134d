package market

import (
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/verify"
)

// dispute is a bisection game between two replicas whose results differ.
// The committee plays the on-chain part: it asks both parties for the
// checkpoint at each midpoint, checks each answer's Merkle proof against
// the root the party committed with its result, and when one step is
// left has a validator panel re-execute it. A party that does not answer
// in time, or answers with a bad proof, forfeits: its result is dropped
// unpaid and the survivor is paired with a fresh replica. Each round is a
// message round trip here; on a chain each would also wait for a block.
type dispute struct {
	u   *unit
	rep [2]*replica
	g   *verify.Dispute
	got [2]bool
	ans [2]Hash
	// hi holds both claims at the first disputed checkpoint (at first,
	// the results).
	hi    [2]Hash
	hiAt  uint32
	due   protocol.Time
	ref   *check
	ended bool
}

func (c *Committee) startDispute(env protocol.Env, u *unit, a, b *replica) {
	u.state = unitDisputing
	steps := u.job.spec.Steps
	d := &dispute{u: u, rep: [2]*replica{a, b}, g: verify.NewDispute(steps), hi: [2]Hash{a.result, b.result}, hiAt: steps}
	c.disputes = append(c.disputes, d)
	c.round(env, d)
}

// round asks for the next midpoint, or hands the last step to a referee.
func (c *Committee) round(env protocol.Env, d *dispute) {
	if d.g.Done() {
		c.startCheck(env, d.u, nil, d, d.g.Step())
		return
	}
	d.got = [2]bool{}
	d.due = env.Now().Add(c.cfg.ResponseTimeout)
	q := &DisputeQuery{Job: d.u.job.id, Unit: d.u.idx, Step: d.g.Query(), Steps: d.u.job.spec.Steps}
	for _, r := range d.rep {
		c.send(env, r.p.id, q)
	}
}

// reveal takes a party's checkpoint.
func (c *Committee) reveal(env protocol.Env, from protocol.NodeID, m *DisputeReveal) {
	for _, d := range c.disputes {
		if d.ended || d.ref != nil || d.u.job.id != m.Job || d.u.idx != m.Unit || d.g.Done() || m.Step != d.g.Query() {
			continue
		}
		k := -1
		for i, r := range d.rep {
			if r.p.id == from && !d.got[i] {
				k = i
			}
		}
		if k < 0 {
			continue
		}
		n := int(d.u.job.spec.Steps) + 1
		if root := d.rep[k].root; root == nil || !verify.VerifyProof(*root, n, int(m.Step), m.Checkpoint, m.Proof) {
			c.forfeit(env, d, [2]bool{k == 0, k == 1})
			return
		}
		d.got[k], d.ans[k] = true, m.Checkpoint
		if !d.got[0] || !d.got[1] {
			return
		}
		if d.ans[0] != d.ans[1] {
			d.hi, d.hiAt = d.ans, d.g.Query()
		}
		d.g.Answer(d.ans[0], d.ans[1])
		c.round(env, d)
		return
	}
}

// endDispute ends a game with the referee panel's checkpoint (nil when no
// validator could referee): whoever claimed something else at the
// disputed checkpoint lied and is slashed; a sole survivor's result is
// accepted.
func (c *Committee) endDispute(env protocol.Env, d *dispute, honest *Hash) {
	c.drop(d)
	u := d.u
	if u.job.state != jobOpen || u.resolved() {
		return
	}
	if honest == nil {
		c.forfeit(env, d, [2]bool{true, true})
		return
	}
	wrong := [2]bool{d.hi[0] != *honest, d.hi[1] != *honest}
	for k, w := range wrong {
		if w {
			c.fraud(env, d.rep[k], verify.ByDispute, d.hiAt, d.hi[k])
		}
	}
	u.state = unitOpen
	switch {
	case wrong[0] && !wrong[1]:
		c.accept(env, u, u.job.onePayee(u, d.rep[1].p.id), d.rep[1].result)
	case wrong[1] && !wrong[0]:
		c.accept(env, u, u.job.onePayee(u, d.rep[0].p.id), d.rep[0].result)
	default:
		c.enqueue(u, 2, env.Now())
	}
}

// forfeit drops the results of the parties marked lost, unpaid and
// unslashed (silence proves nothing), and asks for replicas to replace
// them.
func (c *Committee) forfeit(env protocol.Env, d *dispute, lost [2]bool) {
	c.drop(d)
	u := d.u
	if u.job.state != jobOpen || u.resolved() {
		return
	}
	u.state = unitOpen
	n := 0
	for k, l := range lost {
		if l {
			d.rep[k].invalid = true
			n++
		}
	}
	c.enqueue(u, n, env.Now())
}

func (c *Committee) drop(d *dispute) {
	d.ended = true
	for i, x := range c.disputes {
		if x == d {
			c.disputes = append(c.disputes[:i], c.disputes[i+1:]...)
			return
		}
	}
}

// disputeTimeouts forfeits parties that did not answer a round in time.
func (c *Committee) disputeTimeouts(env protocol.Env) {
	now := env.Now()
	for _, d := range append([]*dispute(nil), c.disputes...) {
		if d.ref == nil && now >= d.due {
			c.forfeit(env, d, [2]bool{!d.got[0], !d.got[1]})
		}
	}
}
