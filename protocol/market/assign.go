package market

import (
	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/verify"
)

// member is a provider or validator as the committee sees it.
type member struct {
	id      protocol.NodeID
	role    Role
	class   gpu.Class
	slots   int
	online  bool
	suspect bool // timed out: no new work until it shows life
	jailed  bool

	// Provider scheduling state.
	active    []*replica
	freeSince protocol.Time
	busyUntil protocol.Time
	vtime     float64
	capacity  float64 // FLOP/s the class achieves at its FP16 peak

	// Validator state.
	checks          int // outstanding
	agree, verdicts int
}

func (m *member) free() bool {
	return m.online && !m.suspect && !m.jailed && len(m.active) < m.slots
}

type jobState uint8

const (
	jobPosting jobState = iota // the post is in the mempool
	jobOpen
	jobClosing // settlement in the mempool
	jobClosed
)

type job struct {
	id        JobID
	requester protocol.NodeID
	seq       uint64
	spec      Spec
	budget    uint64
	posted    protocol.Time
	deadline  protocol.Time // 0: none
	state     jobState
	units     []*unit
	verified  int
	resolved  int
	status    Status
	refund    uint64
}

type unitState uint8

const (
	unitOpen      unitState = iota // wants replicas or results
	unitChecking                   // a validator panel is re-executing it
	unitDisputing                  // a bisection game is on
	unitDone
	unitFailed
)

type unit struct {
	job    *job
	idx    uint32
	state  unitState
	q      *verify.Quorum // Redundancy
	reps   []*replica
	queued int // queue entries waiting
	// since is when the oldest waiting queue entry was queued.
	since   protocol.Time
	payees  []protocol.NodeID
	winner  Hash
	checked bool
	placed  bool // the first replica is assigned (adaptive replication decided)
}

func (u *unit) resolved() bool { return u.state == unitDone || u.state == unitFailed }

type repState uint8

const (
	repRunning repState = iota
	repDone             // a result arrived
	repLost             // timed out, left, failed, or the job ended
)

type replica struct {
	u         *unit
	p         *member
	at        protocol.Time
	timeoutAt protocol.Time
	state     repState
	result    Hash
	root      Hash
	committed bool // its ResultCommit is on chain
	invalid   bool // proven wrong
}

// post turns a requester's job post into its JobPost transaction.
func (c *Committee) post(env protocol.Env, from protocol.NodeID, m *PostJob) {
	st := &JobStatus{Seq: m.Seq, Status: Refused}
	if m.Spec.Validate() != nil || m.Budget == 0 || c.closedAll {
		c.send(env, from, st)
		return
	}
	pub := c.cfg.Keys[from]
	a := pub.Address()
	n, ok := c.nonces[a]
	if !ok {
		n = c.ledger.Account(a).Nonce
	}
	j := &job{id: chain.JobIDFor(a, n), requester: from, seq: m.Seq, spec: m.Spec, budget: m.Budget, posted: m.Posted}
	p := &pending{done: func(env protocol.Env, h uint64) { c.opened(env, j, h) }}
	if !c.submit(env, pub, chain.NewJobPost(0, 0, m.Budget, m.Spec.Encode()), p) {
		c.send(env, from, st)
		return
	}
	c.jobs[j.id] = j
	c.open = append(c.open, j)
}

// opened queues a job's units once its post is on chain: the committee
// schedules only from the on-chain queue.
func (c *Committee) opened(env protocol.Env, j *job, h uint64) {
	now := env.Now()
	j.state = jobOpen
	if d := j.spec.Deadline; d > 0 {
		j.deadline = j.posted.Add(d)
	}
	env.Emit(JobOpened{Job: j.id, Requester: j.requester, Seq: j.seq, Units: j.spec.Units, Height: h, Wait: now.Sub(j.posted)})
	c.send(env, j.requester, &JobStatus{Seq: j.seq, Job: j.id, Status: Opened})
	j.units = make([]*unit, j.spec.Units)
	v := c.cfg.Verify
	for i := range j.units {
		u := &unit{job: j, idx: uint32(i)}
		switch v.Scheme {
		case Redundancy:
			u.q = verify.NewQuorum(v.Replicas, v.Quorum, v.MaxReplicas)
		}
		j.units[i] = u
		n := 1
		switch {
		case v.Scheme == Bisection:
			n = 2
		case v.Scheme == Redundancy && v.TrustAfter == 0:
			n = u.q.Want() // adaptive replication decides at the first assignment
		}
		c.enqueue(u, n, now)
	}
	if c.closedAll {
		c.closeJob(env, j, Cancelled)
	}
}

func (c *Committee) enqueue(u *unit, n int, now protocol.Time) {
	if u.queued == 0 {
		u.since = now
	}
	for range n {
		c.queue = append(c.queue, u)
	}
	u.queued += n
}

// join registers a provider or validator, or brings one back: whatever
// it had been given before is lost (a rejoining node's GPU queue is
// empty).
func (c *Committee) join(env protocol.Env, from protocol.NodeID, m *Join) {
	mb := c.members[from]
	if mb == nil {
		mb = &member{id: from, role: m.Role}
		c.members[from] = mb
		switch m.Role {
		case RoleProvider:
			c.provs = insertByID(c.provs, mb)
		case RoleValidator:
			c.vals = insertByID(c.vals, mb)
		}
	}
	if mb.role != m.Role {
		return
	}
	mb.class, mb.slots = m.Class, max(int(m.Slots), 1)
	mb.capacity = m.Class.PeakTFLOPS(gpu.FP16) * 1e12 * c.cfg.Model.ComputeEfficiency
	mb.online, mb.suspect = true, false
	mb.freeSince, mb.busyUntil = env.Now(), env.Now()
	c.dropActive(env, mb)
	// A provider that was away starts at the least virtual time of the
	// others (fair queueing's virtual clock), not where it left off.
	least := -1.0
	for _, p := range c.provs {
		if p != mb && p.online && (least < 0 || p.vtime < least) {
			least = p.vtime
		}
	}
	mb.vtime = max(mb.vtime, least)
}

func insertByID(s []*member, m *member) []*member {
	i := len(s)
	for i > 0 && s[i-1].id > m.id {
		i--
	}
	s = append(s, nil)
	copy(s[i+1:], s[i:])
	s[i] = m
	return s
}

// leave takes a provider out of the schedule; its assignments go back to
// the queue.
func (c *Committee) leave(env protocol.Env, from protocol.NodeID) {
	if mb := c.members[from]; mb != nil && mb.role == RoleProvider {
		mb.online = false
		c.dropActive(env, mb)
	}
}

// dropActive loses every running assignment of a provider.
func (c *Committee) dropActive(env protocol.Env, p *member) {
	for _, r := range p.active {
		r.state = repLost
		c.requeue(env, r.u)
	}
	p.active = p.active[:0]
}

// requeue asks for one more replica of a unit whose replica was lost, if
// the unit still needs it.
func (c *Committee) requeue(env protocol.Env, u *unit) {
	if u.resolved() || u.job.state != jobOpen {
		return
	}
	c.enqueue(u, 1, env.Now())
}

func (p *member) remove(r *replica) {
	for i, a := range p.active {
		if a == r {
			p.active = append(p.active[:i], p.active[i+1:]...)
			return
		}
	}
}

// eligible reports whether provider p may take a replica of u now: it has
// the memory, it can finish before the job's deadline, and it holds no
// other replica of the unit.
func (c *Committee) eligible(p *member, u *unit, now protocol.Time) (finish protocol.Time, ok bool) {
	spec := &u.job.spec
	if int64(spec.MemBytes) > p.class.MemoryBytes() {
		return 0, false
	}
	for _, r := range u.reps {
		if r.p == p {
			return 0, false
		}
	}
	ns, _, err := c.cfg.Model.Duration(p.class, spec.Unit())
	if err != nil {
		return 0, false
	}
	finish = max(now, p.busyUntil).Add(protocol.Duration(ns))
	if u.job.deadline > 0 && finish > u.job.deadline {
		return 0, false
	}
	return finish, true
}

// match assigns queued units to free providers by the policy, looking at
// most Window entries into the queue (a unit no free provider can take
// waits without blocking those behind it).
func (c *Committee) match(env protocol.Env) {
	var free []*member
	for _, p := range c.provs {
		if p.free() {
			free = append(free, p)
		}
	}
	if len(free) == 0 || len(c.queue) == 0 {
		c.compact()
		return
	}
	now := env.Now()
	cands := make([]Candidate, 0, len(free))
	who := make([]*member, 0, len(free))
	seen := 0
	for i, u := range c.queue {
		if u == nil {
			continue
		}
		if u.resolved() || u.job.state != jobOpen || u.queued == 0 {
			c.queue[i] = nil
			continue
		}
		if seen++; seen > c.cfg.Window {
			break
		}
		cands, who = cands[:0], who[:0]
		for _, p := range free {
			if !p.free() {
				continue
			}
			finish, ok := c.eligible(p, u, now)
			if !ok {
				continue
			}
			w := p.capacity
			if !c.cfg.LotteryByCapacity && c.cfg.Scheduler == Lottery {
				w = float64(c.ledger.Account(c.addrs[p.id]).Stake)
			}
			cands = append(cands, Candidate{ID: p.id, FreeSince: p.freeSince, Finish: finish, VTime: p.vtime, Weight: w})
			who = append(who, p)
		}
		if len(cands) == 0 {
			continue
		}
		var draw float64
		if c.cfg.Scheduler == Lottery {
			draw = env.Rand().Float64()
		}
		k := Pick(c.cfg.Scheduler, cands, draw)
		c.queue[i] = nil
		c.assign(env, u, who[k], cands[k].Finish)
		if !anyFree(free) {
			break
		}
	}
	c.compact()
}

func anyFree(ms []*member) bool {
	for _, m := range ms {
		if m.free() {
			return true
		}
	}
	return false
}

// compact drops the queue's empty entries.
func (c *Committee) compact() {
	q := c.queue[:0]
	for _, u := range c.queue {
		if u != nil {
			q = append(q, u)
		}
	}
	for i := len(q); i < len(c.queue); i++ {
		c.queue[i] = nil
	}
	c.queue = q
}

// assign gives provider p a replica of u.
func (c *Committee) assign(env protocol.Env, u *unit, p *member, finish protocol.Time) {
	now := env.Now()
	u.queued--
	wait := now.Sub(u.since)
	if u.queued > 0 {
		u.since = now
	}
	v := c.cfg.Verify
	if !u.placed {
		u.placed = true
		if v.Scheme == Redundancy && v.TrustAfter > 0 {
			if n := c.trust.Replicas(p.id, v.Replicas, env.Rand().Float64()); n > 1 {
				c.enqueue(u, n-1, now)
			} else {
				u.q = verify.NewQuorum(1, 1, v.MaxReplicas)
			}
		}
	}
	expect := finish.Sub(now)
	r := &replica{u: u, p: p, at: now,
		timeoutAt: now.Add(protocol.Duration(float64(expect)*c.cfg.TimeoutFactor) + c.cfg.TimeoutSlack)}
	u.reps = append(u.reps, r)
	p.active = append(p.active, r)
	p.busyUntil = finish
	p.vtime += float64(u.job.spec.UnitFLOPs) / p.capacity
	c.stats.Decisions++
	env.Emit(Assigned{Job: u.job.id, Unit: u.idx, Provider: p.id, Queued: wait})
	c.send(env, p.id, &Assign{Job: u.job.id, Unit: u.idx, Spec: u.job.spec, Root: v.Scheme == Bisection})
}

// timeouts requeues assignments past their timeout; their provider gets
// no new work until it answers again.
func (c *Committee) timeouts(env protocol.Env) {
	now := env.Now()
	for _, p := range c.provs {
		for i := 0; i < len(p.active); {
			r := p.active[i]
			if now < r.timeoutAt {
				i++
				continue
			}
			p.active = append(p.active[:i], p.active[i+1:]...)
			r.state = repLost
			p.suspect = true
			env.Emit(TimedOut{Job: r.u.job.id, Unit: r.u.idx, Provider: p.id})
			c.requeue(env, r.u)
		}
	}
	c.checkTimeouts(env)
	c.disputeTimeouts(env)
}

// deadlines closes jobs whose deadline has passed.
func (c *Committee) deadlines(env protocol.Env) {
	now := env.Now()
	for _, j := range c.open {
		if j.state == jobOpen && j.deadline > 0 && now >= j.deadline {
			c.closeJob(env, j, Expired)
		}
	}
}
