package market

import (
	"fmt"
	"math"
	"slices"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/verify"
)

// result takes a provider's result: it goes on chain as the provider's
// ResultCommit, and into the unit's verification.
func (c *Committee) result(env protocol.Env, from protocol.NodeID, m *Result) {
	p := c.members[from]
	if p == nil || p.role != RoleProvider {
		return
	}
	if p.suspect {
		p.suspect = false
		c.refresh(p)
	}
	j, ok := c.jobs[m.Job]
	if !ok || m.Unit >= uint32(len(j.units)) {
		return
	}
	u := &j.units[m.Unit]
	var r *replica
	for _, x := range p.active {
		if x.u == u {
			r = x
			break
		}
	}
	if r == nil {
		return // a late answer to an assignment that timed out or was dropped
	}
	c.release(p, r)
	if len(p.active) == 0 {
		p.busyUntil = env.Now()
	}
	p.freeSince = env.Now()
	c.refresh(p)
	if m.Failed {
		r.state = repLost
		c.requeue(env, u)
		return
	}
	r.state, r.result, r.doneAt = repDone, m.Result, env.Now()
	if c.cfg.Verify.Scheme == Bisection {
		root := m.Root
		r.root = &root
	}
	if c.cfg.Matching == Continuous || c.chain != nil {
		// Committed with the block's other results (flushResults): on a
		// chain the committee does not run, it cannot sign for providers.
		c.batch = append(c.batch, r)
	} else {
		c.submit(env, c.cfg.Keys[from], chain.NewResultCommit(0, 0, j.id, u.idx, m.Result), &pending{rep: r})
	}
	if j.state != jobOpen {
		return
	}
	if u.resolved() {
		// A replica beyond the quorum: checked against the winner.
		if u.state == unitDone && u.q != nil {
			if r.result == j.winners[u.idx] {
				u.payees = append(u.payees, from)
				c.trust.Agree(from)
				c.credit(from, u.unitFLOPs())
				env.Emit(LateAgreement{Job: j.id, Unit: u.idx, Provider: from, FLOPs: u.unitFLOPs()})
			} else {
				c.fraud(env, r, verify.ByQuorum, u.job.spec.Steps, r.result)
			}
		}
		return
	}
	switch c.cfg.Verify.Scheme {
	case NoVerification:
		c.accept(env, u, j.onePayee(u, from), r.result)
	case SpotCheck:
		if u.state != unitOpen {
			return
		}
		if env.Rand().Float64() < c.spotCheck() {
			c.startCheck(env, u, r, nil, 0)
		} else {
			c.accept(env, u, j.onePayee(u, from), r.result)
		}
	case Redundancy:
		u.q.Add(from, r.result)
		c.decideQuorum(env, u)
	case Bisection:
		if u.state != unitOpen {
			return
		}
		var done []*replica
		for _, x := range u.reps {
			if x.state == repDone && !x.invalid {
				done = append(done, x)
			}
		}
		if len(done) < 2 {
			return
		}
		if done[0].result == done[1].result {
			c.accept(env, u, []protocol.NodeID{done[0].p.id, done[1].p.id}, done[0].result)
			return
		}
		c.startDispute(env, u, done[0], done[1])
	}
}

// credit counts flops of verified work for provider id in the reward
// period, one entry per provider (the split sums a provider's entries, so
// it pays the same for one entry as for one per unit, and sorts fewer).
func (c *Committee) credit(id protocol.NodeID, flops uint64) {
	if c.workAt == nil {
		c.workAt = make([]int32, len(c.addrs))
		c.indexWork()
	}
	if i := c.workAt[id]; i >= 0 && c.work[i].FLOPs <= math.MaxUint64-flops {
		c.work[i].FLOPs += flops
		return
	}
	c.workAt[id] = int32(len(c.work)) // a new entry, also when the last would overflow
	c.work = append(c.work, rewards.VerifiedWork{Provider: c.acct(id), FLOPs: flops})
}

// indexWork rebuilds workAt from work (after entries were dropped).
func (c *Committee) indexWork() {
	for i := range c.workAt {
		c.workAt[i] = -1
	}
	for i, w := range c.work {
		if id, ok := c.nodeOfAcct(w.Provider); ok && int(id) < len(c.workAt) {
			c.workAt[id] = int32(i)
		}
	}
}

// flushResults commits the results taken since the last block by the
// Merkle root of their commitments (continuous matching): one ResultRoot
// for the whole batch.
func (c *Committee) flushResults(env protocol.Env) {
	if len(c.batch) == 0 {
		return
	}
	b := &resultBatch{leaves: make([]Hash, len(c.batch)), reps: c.batch}
	for i, r := range c.batch {
		r.batch, r.bidx = b, uint32(i)
		b.leaves[i] = verify.ResultLeaf(r.u.job.id, r.u.idx, c.addrs[r.p.id], r.result)
	}
	b.root = verify.Root(b.leaves)
	if !c.submit(env, c.cfg.Settler, chain.NewResultRoot(0, 0, b.root, uint32(len(b.leaves))), &pending{batch: b}) {
		if c.chain == nil {
			panic(fmt.Sprintf("market: a batch of %d results was refused", len(b.leaves)))
		}
		return // a chain run by others may refuse (the settler's fees): the next block tries again
	}
	c.stats.Batches++
	c.stats.BatchedResults += uint64(len(b.leaves))
	c.batch = nil
}

// decideQuorum acts on a redundancy quorum's decision.
func (c *Committee) decideQuorum(env protocol.Env, u *unit) {
	d := u.q.Decide()
	switch {
	case d.Decided:
		for _, id := range d.Dissent {
			c.fraud(env, c.replicaOf(u, id), verify.ByQuorum, u.job.spec.Steps, c.replicaOf(u, id).result)
		}
		c.accept(env, u, d.Agree, d.Winner)
	case d.More > 0:
		c.enqueue(u, d.More, env.Now())
	case d.Failed:
		c.fail(env, u)
	}
}

func (c *Committee) replicaOf(u *unit, id protocol.NodeID) *replica {
	for _, r := range u.reps {
		if r.p.id == id && r.state == repDone {
			return r
		}
	}
	panic("market: a quorum vote without its replica")
}

// accept makes a unit verified: its payees share its fee at settlement
// and its FLOPs count as their verified work in the next reward split.
func (c *Committee) accept(env protocol.Env, u *unit, payees []protocol.NodeID, result Hash) {
	u.state, u.payees = unitDone, payees
	if j := u.job; j.winners != nil {
		j.winners[u.idx] = result
	}
	c.dequeue(u, env.Now())
	j := u.job
	j.verified++
	j.resolved++
	for _, id := range payees {
		c.trust.Agree(id)
		c.credit(id, u.unitFLOPs())
	}
	// payees is not changed in place later (a late agreement appends, a
	// rescind replaces it), so the event may share it.
	env.Emit(Verified{Job: j.id, Unit: u.idx, Payees: payees[:len(payees):len(payees)], Result: result,
		Steps: j.spec.Steps, FLOPs: u.unitFLOPs(), Latency: env.Now().Sub(u.postedAt()), Checked: u.checked})
	c.maybeDone(env, j)
}

// fail gives up on a unit: its share of the budget is refunded.
func (c *Committee) fail(env protocol.Env, u *unit) {
	u.state = unitFailed
	c.dequeue(u, env.Now())
	u.job.resolved++
	c.maybeDone(env, u.job)
}

// fraud records a provider's proven lazy work: the replica is invalid
// (never paid), the provider loses its trust and (unless NoJail) its
// place in the schedule, and a slash is queued with the evidence, to go
// on chain once the provider's commitment is final.
func (c *Committee) fraud(env protocol.Env, r *replica, how verify.Scheme, step uint32, claimed Hash) {
	r.invalid = true
	p := r.p
	c.trust.Disagree(p.id)
	if !c.cfg.Verify.NoJail && !p.jailed {
		p.jailed = true
		c.refresh(p)
		c.rescind(env, p)
	}
	u := r.u
	env.Emit(FraudProven{Offender: p.id, Offence: rewards.LazyWork, How: how, Job: u.job.id, Unit: u.idx})
	ev := verify.Evidence{Offence: rewards.LazyWork, How: how, Offender: c.addrs[p.id], Job: u.job.id, Unit: u.idx,
		Steps: u.job.spec.Steps, Step: step, Claimed: claimed}
	s := &slashReq{offender: p.id, offence: rewards.LazyWork, ev: ev}
	if step == u.job.spec.Steps {
		s.wait = r
	}
	c.slashes = append(c.slashes, s)
}

// rescind takes back what a provider just proven to cheat had verified in
// jobs not yet settled: its results there are as suspect as the one
// caught, so they are dropped unpaid and their units run again (as
// BOINC invalidates a cheating host's results). Units it shared with
// agreeing replicas are rerun too: the agreement was with a cheater.
// Its verified work not yet rewarded is dropped as well.
func (c *Committee) rescind(env protocol.Env, p *member) {
	for _, j := range c.open {
		if j.state != jobOpen {
			continue
		}
		for i := range j.units {
			u := &j.units[i]
			if u.state != unitDone || !slices.Contains(u.payees, p.id) {
				continue
			}
			env.Emit(Rescinded{Job: j.id, Unit: u.idx, Payees: u.payees, FLOPs: u.unitFLOPs()})
			for _, r := range u.reps {
				if r.state == repDone {
					r.invalid = true
				}
			}
			u.state, u.payees, u.checked = unitOpen, nil, false
			j.verified--
			j.resolved--
			n := 1
			switch c.cfg.Verify.Scheme {
			case Redundancy:
				u.q = verify.NewQuorum(c.cfg.Verify.Replicas, c.cfg.Verify.Quorum, c.cfg.Verify.MaxReplicas)
				n = c.cfg.Verify.Replicas
			case Bisection:
				n = 2
			}
			c.enqueue(u, n, env.Now())
		}
	}
	acct := c.acct(p.id)
	c.work = slices.DeleteFunc(c.work, func(w rewards.VerifiedWork) bool { return w.Provider == acct })
	c.indexWork()
}

// falseVerdict records a validator whose verdict the panel outvoted: it
// is slashed and asked no more (NoJail is for providers).
func (c *Committee) falseVerdict(env protocol.Env, v *member, ck *check, claimed Hash) {
	v.jailed = true
	u := ck.u
	env.Emit(FraudProven{Offender: v.id, Offence: rewards.FalseApproval, How: verify.ByReplay, Job: u.job.id, Unit: u.idx})
	ev := verify.Evidence{Offence: rewards.FalseApproval, How: verify.ByReplay, Offender: c.addrs[v.id], Job: u.job.id,
		Unit: u.idx, Steps: u.job.spec.Steps, Step: ck.target, Claimed: claimed}
	c.slashes = append(c.slashes, &slashReq{offender: v.id, offence: rewards.FalseApproval, ev: ev})
}

// check is a validator panel re-executing a unit (a spot check) or one
// step of it (a dispute's referee).
type check struct {
	id     uint64
	u      *unit
	r      *replica // the checked replica (spot check)
	d      *dispute // the dispute refereed
	whole  bool
	target uint32 // the checkpoint the panel computes
	step   uint32
	panel  *verify.Quorum
	asked  []*member
	due    []protocol.Time // per asked validator
	answer []bool
}

// startCheck asks a panel to re-execute replica r's unit (a spot check)
// or, for dispute d, the step from checkpoint step (a referee).
func (c *Committee) startCheck(env protocol.Env, u *unit, r *replica, d *dispute, step uint32) {
	c.nextChk++
	n := c.cfg.Verify.Panel
	ck := &check{id: c.nextChk, u: u, r: r, d: d, whole: d == nil, step: step, panel: verify.NewQuorum(n, n, n+1)}
	ck.target = step + 1
	if ck.whole {
		ck.target = u.job.spec.Steps
	}
	c.checks[ck.id] = ck
	c.checkList = append(c.checkList, ck)
	u.checked = true
	if r != nil {
		u.state = unitChecking
	}
	if d != nil {
		d.ref = ck
	}
	for range n {
		if _, ok := c.checks[ck.id]; !ok {
			return
		}
		c.askValidator(env, ck)
	}
}

// askValidator sends the check to one more validator, drawn uniformly
// from the eligible ones (online, not jailed, with the memory, not asked
// yet) from the committee's stream, as a VRF on the block would. Not the
// least loaded one: a colluding validator answers at once, so it would
// always look least loaded and be asked most. With none left, a spot
// check accepts the result unchecked and a referee's dispute is decided
// by restarting the unit.
func (c *Committee) askValidator(env protocol.Env, ck *check) {
	us := ck.u.spec()
	spec := &us
	var pool []*member
	for _, v := range c.vals {
		if v.online && !v.jailed && int64(spec.MemBytes) <= v.class.MemoryBytes() && !slices.Contains(ck.asked, v) {
			pool = append(pool, v)
		}
	}
	if len(pool) == 0 {
		c.abandonCheck(env, ck)
		return
	}
	v := pool[env.Rand().IntN(len(pool))]
	v.checks++
	job := spec.Step()
	if ck.whole {
		job = spec.Unit()
	}
	ns, _, _ := c.cfg.Model.Duration(v.class, job)
	// The validator's queue: checks run one after another.
	due := env.Now().Add(protocol.Duration(float64(ns)*float64(v.checks)*c.cfg.TimeoutFactor) + c.cfg.ResponseTimeout)
	ck.asked, ck.due, ck.answer = append(ck.asked, v), append(ck.due, due), append(ck.answer, false)
	m := &Replay{Check: ck.id, Job: ck.u.job.id, Unit: ck.u.idx, Spec: *spec, Whole: ck.whole, Step: ck.step}
	if ck.r != nil {
		m.Provider, m.Claimed = ck.r.p.id, ck.r.result
	}
	c.send(env, v.id, m)
}

// abandonCheck ends a check no validator can run.
func (c *Committee) abandonCheck(env protocol.Env, ck *check) {
	if _, ok := c.checks[ck.id]; !ok {
		return
	}
	delete(c.checks, ck.id)
	for i, v := range ck.asked {
		if !ck.answer[i] {
			v.checks--
		}
	}
	u := ck.u
	switch {
	case ck.d != nil:
		c.endDispute(env, ck.d, nil)
	case u.state == unitChecking && u.job.state == jobOpen:
		u.state = unitOpen
		u.checked = false
		c.accept(env, u, u.job.onePayee(u, ck.r.p.id), ck.r.result)
	}
}

// verdict takes a validator's re-executed checkpoint.
func (c *Committee) verdict(env protocol.Env, from protocol.NodeID, m *Verdict) {
	ck, ok := c.checks[m.Check]
	if !ok {
		return // a late answer to a check decided, abandoned or timed out
	}
	i := -1
	for k, v := range ck.asked {
		if v.id == from && !ck.answer[k] {
			i = k
		}
	}
	if i < 0 {
		return
	}
	ck.answer[i] = true
	v := ck.asked[i]
	v.checks--
	ck.panel.Add(from, m.Result)
	d := ck.panel.Decide()
	switch {
	case d.More > 0:
		c.askValidator(env, ck)
		return
	case d.Failed:
		c.abandonCheck(env, ck)
		return
	case !d.Decided:
		return
	}
	delete(c.checks, ck.id)
	for k, a := range ck.asked {
		if !ck.answer[k] {
			a.checks-- // an answer still outstanding will be ignored
			ck.answer[k] = true
		}
	}
	for _, id := range d.Agree {
		c.members[id].agree++
		c.members[id].verdicts++
	}
	for _, id := range d.Dissent {
		mv := c.members[id]
		mv.verdicts++
		c.falseVerdict(env, mv, ck, voteOf(ck.panel, id))
	}
	if ck.d != nil {
		c.endDispute(env, ck.d, &d.Winner)
		return
	}
	u := ck.u
	if u.job.state != jobOpen || u.resolved() {
		return
	}
	if d.Winner == ck.r.result {
		u.state = unitOpen
		c.accept(env, u, u.job.onePayee(u, ck.r.p.id), ck.r.result)
		return
	}
	c.fraud(env, ck.r, verify.ByReplay, u.job.spec.Steps, ck.r.result)
	u.state, u.checked = unitOpen, false
	c.requeue(env, u)
}

func voteOf(q *verify.Quorum, id protocol.NodeID) Hash {
	for _, v := range q.Votes() {
		if v.From == id {
			return v.Hash
		}
	}
	return Hash{}
}

// checkTimeouts replaces validators that did not answer in time.
func (c *Committee) checkTimeouts(env protocol.Env) {
	now := env.Now()
	live := c.checkList[:0]
	for _, ck := range c.checkList {
		if _, ok := c.checks[ck.id]; ok {
			live = append(live, ck)
		}
	}
	for i := len(live); i < len(c.checkList); i++ {
		c.checkList[i] = nil
	}
	c.checkList = live
	for _, ck := range live {
		for i := 0; i < len(ck.asked); i++ {
			if _, ok := c.checks[ck.id]; !ok {
				break
			}
			if !ck.answer[i] && now >= ck.due[i] {
				ck.answer[i] = true
				ck.asked[i].checks--
				c.askValidator(env, ck)
			}
		}
	}
}
