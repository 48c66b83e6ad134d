package market

import (
	"cmp"
	"math"
	"slices"

	"github.com/google/btree"

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
	cls       int     // index of its class in Committee.classes (durations are cached by it)
	downBps   uint64  // declared link (Join)
	upBps     uint64
	inFree    bool // in Committee.free
	// inKey says the member is in Committee.byKey[keyCls] under keyT
	// (FIFO) or keyV (FairShare): its class, freeSince or vtime when it
	// went in, which is how the set finds it again after they change (a
	// provider may join again as another class).
	inKey  bool
	keyCls int
	keyT   protocol.Time
	keyV   float64
	// Fastest files a provider by shape (class and links: what its finish
	// time depends on besides when it is free) rather than by class: in
	// the shape's busy set by busyUntil (keyT), or, once that has passed,
	// in its idle set by ID (inIdle), where every member finishes a unit
	// at the same time.
	shape  int
	inIdle bool

	// Validator state.
	checks          int // outstanding
	agree, verdicts int
}

// transfer is how long a unit's input and output take on the member's
// declared link (0 when it declared none).
func (m *member) transfer(s *Spec) protocol.Duration {
	var ns float64
	if m.downBps > 0 {
		ns += float64(s.InputBytes) * 8e9 / float64(m.downBps)
	}
	if m.upBps > 0 {
		ns += float64(s.OutputBytes) * 8e9 / float64(m.upBps)
	}
	return protocol.Duration(math.Ceil(ns))
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
	onChain   bool // the post (its escrow) is committed
	seq       uint64
	spec      Spec
	budget    uint64
	posted    protocol.Time
	deadline  protocol.Time // 0: none
	ended     protocol.Time // when closeJob ended it
	state     jobState
	// units, and the replicas and payees they point into, are allocated
	// once per job: a unit costs no allocation of its own.
	units    []unit
	reps     []replica  // replicas handed out, in order; a new chunk when full
	repPtrs  []*replica // backing of every unit's first replicas
	payees   []protocol.NodeID
	verified int
	resolved int
	status   Status
	refund   uint64
	// A session (Spec.Stream): units released so far, and whether the
	// requester ended it.
	released int
	final    bool
	// dur caches a unit's duration on each member class (Committee.classes),
	// 0 unknown, −1 cannot run it.
	dur []int64
	// A session's units' own release times and sizes (Spec.Stream), and
	// under redundancy each unit's accepted result; nil otherwise, so a
	// unit of another job costs none of it.
	unitPosted []protocol.Time
	unitFLOPs  []uint64
	winners    []Hash
}

// newReplica returns a fresh replica from the job's slab.
func (j *job) newReplica() *replica {
	if len(j.reps) == cap(j.reps) {
		j.reps = make([]replica, 0, max(len(j.units), 16)) // earlier chunks stay where they are
	}
	j.reps = j.reps[:len(j.reps)+1]
	return &j.reps[len(j.reps)-1]
}

// onePayee is the payee list of a unit accepted from one provider: the
// unit's slot in the job's array the first time (events share payee
// lists, so a slot is never written twice), its own slice after a rescind.
func (j *job) onePayee(u *unit, id protocol.NodeID) []protocol.NodeID {
	if u.paidOnce {
		return []protocol.NodeID{id}
	}
	u.paidOnce = true
	s := j.payees[u.idx : u.idx+1 : u.idx+1]
	s[0] = id
	return s
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
	job     *job
	idx     uint32
	state   unitState
	q       *verify.Quorum // Redundancy
	reps    []*replica
	queued  int // queue entries waiting
	payees  []protocol.NodeID
	checked bool
	placed  bool // the first replica is assigned (adaptive replication decided)
	// paidOnce: the unit's slot in job.payees is taken (onePayee).
	paidOnce bool
}

func (u *unit) resolved() bool { return u.state == unitDone || u.state == unitFailed }

// spec is the unit's spec: its job's, with a session unit's own size.
func (u *unit) spec() Spec {
	s := u.job.spec
	if f := u.ownFLOPs(); f != 0 {
		if s.UnitFLOPs > 0 {
			s.UnitBytes = uint64(float64(s.UnitBytes) * float64(f) / float64(s.UnitFLOPs))
		}
		s.UnitFLOPs = f
	}
	return s
}

// unitFLOPs is one replica's arithmetic.
func (u *unit) unitFLOPs() uint64 {
	if f := u.ownFLOPs(); f != 0 {
		return f
	}
	return u.job.spec.UnitFLOPs
}

// postedAt is when the unit was posted: its job's post, or its release in
// a session.
func (u *unit) postedAt() protocol.Time {
	if u.job.spec.Stream {
		return u.job.unitPosted[u.idx]
	}
	return u.job.posted
}

// ownFLOPs is a session unit's own size (0: the spec's).
func (u *unit) ownFLOPs() uint64 {
	if u.job.unitFLOPs == nil {
		return 0
	}
	return u.job.unitFLOPs[u.idx]
}

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
	doneAt    protocol.Time // its result arrived
	timeoutAt protocol.Time
	state     repState
	result    Hash
	root      *Hash // the checkpoints' root (bisection)
	committed bool  // its ResultCommit, or the ResultRoot of its batch, is on chain
	invalid   bool  // proven wrong
	timedOut  bool  // lost to its timeout: its provider may take the unit again
	// batch and bidx place its result in a batch committed by its root
	// (continuous matching).
	batch *resultBatch
	bidx  uint32
}

// resultBatch is the results of one block under continuous matching:
// committed on chain by their Merkle root, kept for the proofs of slashes.
type resultBatch struct {
	root   Hash
	leaves []Hash
	reps   []*replica // until the root commits
}

// sessionKey names a session by its requester's own number for it.
type sessionKey struct {
	requester protocol.NodeID
	seq       uint64
}

// qent is a queue entry: a unit waiting for one replica, since at.
type qent struct {
	u  *unit
	at protocol.Time
}

// post turns a requester's job post into its JobPost transaction.
func (c *Committee) post(env protocol.Env, from protocol.NodeID, m *PostJob) {
	if c.chain != nil {
		return // a job is its requester's JobPost, once the chain commits it (postCommitted)
	}
	st := &JobStatus{Seq: m.Seq, Status: Refused}
	if m.Spec.Validate() != nil || m.Budget == 0 || c.closedAll {
		delete(c.early, sessionKey{from, m.Seq})
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
	p := &pending{done: func(env protocol.Env, h uint64) { c.escrowed(env, j, h) }}
	if !c.submit(env, pub, chain.NewJobPost(0, 0, m.Budget, m.Spec.Encode()), p) {
		delete(c.early, sessionKey{from, m.Seq}) // a refused session's early releases go nowhere
		c.send(env, from, st)
		return
	}
	c.jobs[j.id] = j
	c.open = append(c.open, j)
	c.makeUnits(j)
	if m.Spec.Stream {
		k := sessionKey{from, m.Seq}
		c.sessions[k] = j
		for _, r := range c.early[k] {
			c.releaseUnit(env, j, r)
		}
		delete(c.early, k)
	}
	if c.cfg.Matching == Continuous {
		// The ledger admitted the post against the requester's balance
		// and its other pending posts, so its escrow is certain to apply
		// in the next block: the units need not wait for it.
		c.opened(env, j, 0)
	}
}

// escrowed acts on a job post's commit: the escrow is on chain (its
// settlement may go out); per block, the units become schedulable now.
func (c *Committee) escrowed(env protocol.Env, j *job, h uint64) {
	j.onChain = true
	env.Emit(JobCommitted{Job: j.id, Requester: j.requester, Seq: j.seq, Height: h, Wait: env.Now().Sub(j.posted)})
	if c.cfg.Matching == PerBlock {
		c.opened(env, j, h)
	}
}

// opened queues a job's units: at its post's commit (per block: the
// committee schedules only from the on-chain queue), or when the post
// arrives (continuous; h is 0).
func (c *Committee) opened(env protocol.Env, j *job, h uint64) {
	now := env.Now()
	j.state = jobOpen
	if d := j.spec.Deadline; d > 0 {
		j.deadline = j.posted.Add(d)
	}
	env.Emit(JobOpened{Job: j.id, Requester: j.requester, Seq: j.seq, Units: j.spec.Units, Height: h, Wait: now.Sub(j.posted)})
	c.send(env, j.requester, &JobStatus{Seq: j.seq, Job: j.id, Status: Opened})
	n := len(j.units)
	if j.spec.Stream {
		n = j.released // the rest are queued as they are released
	}
	c.queue = slices.Grow(c.queue, n)
	for i := range n {
		c.enqueueNew(&j.units[i], now)
	}
	if c.closedAll {
		c.closeJob(env, j, Cancelled)
	}
}

// makeUnits lays out a job's units, with the replicas and payees they
// point into, once per job.
func (c *Committee) makeUnits(j *job) {
	v := c.cfg.Verify
	want := 1
	switch v.Scheme {
	case Redundancy:
		want = v.Replicas
	case Bisection:
		want = 2
	}
	j.units = make([]unit, j.spec.Units)
	j.reps = make([]replica, 0, len(j.units)*want)
	j.repPtrs = make([]*replica, len(j.units)*want)
	j.payees = make([]protocol.NodeID, len(j.units))
	if j.spec.Stream {
		j.unitPosted, j.unitFLOPs = make([]protocol.Time, len(j.units)), make([]uint64, len(j.units))
	}
	if v.Scheme == Redundancy {
		j.winners = make([]Hash, len(j.units))
	}
	for i := range j.units {
		u := &j.units[i]
		u.job, u.idx = j, uint32(i)
		u.reps = j.repPtrs[i*want : i*want : (i+1)*want]
		if v.Scheme == Redundancy {
			u.q = verify.NewQuorum(v.Replicas, v.Quorum, v.MaxReplicas)
		}
	}
}

// enqueueNew queues a fresh unit for the replicas it starts with.
func (c *Committee) enqueueNew(u *unit, now protocol.Time) {
	v := c.cfg.Verify
	n := 1
	switch {
	case v.Scheme == Bisection:
		n = 2
	case v.Scheme == Redundancy && v.TrustAfter == 0:
		n = u.q.Want() // adaptive replication decides at the first assignment
	}
	c.enqueue(u, n, now)
}

// releaseUnit takes the next unit of a session (Spec.Stream), or its end.
func (c *Committee) releaseUnit(env protocol.Env, j *job, m *Release) {
	if j.state >= jobClosing || j.final {
		return
	}
	if m.End {
		j.final = true
		c.maybeDone(env, j)
		return
	}
	if int(m.Unit) != j.released || j.released >= len(j.units) {
		return // a repeat, or a unit past the session's
	}
	u := &j.units[m.Unit]
	j.unitPosted[m.Unit], j.unitFLOPs[m.Unit] = m.Posted, m.FLOPs
	j.released++
	if j.released == len(j.units) {
		j.final = true
	}
	if j.state == jobOpen {
		c.enqueueNew(u, env.Now())
	}
}

// maybeDone closes a job whose units are all resolved: all of them, or
// for a session every released one once it has ended.
func (c *Committee) maybeDone(env protocol.Env, j *job) {
	n := len(j.units)
	if j.spec.Stream {
		if !j.final {
			return
		}
		n = j.released
	}
	if j.resolved == n && j.state == jobOpen {
		c.closeJob(env, j, Done)
	}
}

func (c *Committee) enqueue(u *unit, n int, now protocol.Time) {
	for range n {
		c.queue = append(c.queue, qent{u, now})
	}
	u.queued += n
	c.count(now, n)
	c.stats.Enqueued += uint64(n)
}

// count changes the number of replicas waiting by d at now, integrating
// the number over time (CommitteeLoad.QueueArea, for Little's law).
func (c *Committee) count(now protocol.Time, d int) {
	c.stats.QueueArea += float64(c.waiting) * now.Sub(c.waitAt).Seconds()
	c.waitAt = now
	c.waiting += d
}

// dequeue drops what a unit still waits for: it was resolved, or its job
// ended (its queue entries are skipped from now on).
func (c *Committee) dequeue(u *unit, now protocol.Time) {
	if u.queued > 0 {
		c.count(now, -u.queued)
		u.queued = 0
	}
}

// refresh puts provider p in the free list, or takes it out, as its state
// says; every change to what free() reads, and to its freeSince or vtime,
// calls it.
func (c *Committee) refresh(p *member) {
	if p.role != RoleProvider {
		return
	}
	if p.free() != p.inFree {
		p.inFree = !p.inFree
		if p.inFree {
			c.nfree++
		} else {
			c.nfree--
		}
		if c.byKey == nil {
			c.fileFree(p)
		}
	}
	if c.byKey != nil {
		c.rekey(p)
	}
}

// fileFree puts p in the ID-ordered free list, or takes it out, as
// p.inFree says (only the policies weighAll serves keep the list: at ten
// thousand providers its inserts cost more than the ordered sets).
func (c *Committee) fileFree(p *member) {
	i, _ := slices.BinarySearchFunc(c.free, p.id, func(m *member, id protocol.NodeID) int { return cmp.Compare(m.id, id) })
	if p.inFree {
		c.free = slices.Insert(c.free, i, p)
	} else {
		c.free = slices.Delete(c.free, i, i+1)
	}
}

// keyed reports whether the policy orders providers by a key of their own
// (the unit at hand does not change it), so that Committee.byKey applies.
func keyed(p Policy) bool { return p == FIFO || p == FairShare || p == Fastest }

// setOf is the ordered set p belongs in: its class's, or under Fastest its
// shape's.
func (c *Committee) setOf(p *member) int {
	if c.cfg.Scheduler == Fastest {
		return p.shape
	}
	return p.cls
}

// shape is what a provider's finish time depends on besides when it is
// free: its class (the unit's duration) and its links (the transfer).
type shape struct {
	cls      int
	down, up uint64
}

// shapeIndex is the index of a shape in c.shapes (appended when new).
func (c *Committee) shapeIndex(sh shape) int {
	if i := slices.Index(c.shapes, sh); i >= 0 {
		return i
	}
	c.shapes = append(c.shapes, sh)
	return len(c.shapes) - 1
}

func byID(a, b *member) bool { return a.id < b.id }

// before orders providers as Pick does for the policy: by the key they
// were filed under, then by ID.
func (c *Committee) before(a, b *member) bool {
	if c.cfg.Scheduler == FIFO && a.keyT != b.keyT {
		return a.keyT < b.keyT
	}
	if c.cfg.Scheduler == FairShare && a.keyV != b.keyV {
		return a.keyV < b.keyV
	}
	if c.cfg.Scheduler == Fastest && a.keyT != b.keyT {
		return a.keyT < b.keyT // busyUntil, in a shape's busy set
	}
	return a.id < b.id
}

// rekey keeps p's place in its class's ordered set: in it under its
// current key while it is free, out of it otherwise.
func (c *Committee) rekey(p *member) {
	keyT := p.freeSince
	if c.cfg.Scheduler == Fastest {
		keyT = p.busyUntil
	}
	set := c.setOf(p)
	if p.inKey && (!p.inFree || p.keyT != keyT || p.keyV != p.vtime || p.keyCls != set) {
		if p.inIdle {
			c.idle[p.keyCls].Delete(p)
		} else {
			c.byKey[p.keyCls].Delete(p)
		}
		p.inKey, p.inIdle = false, false
	}
	if !p.inFree || p.inKey {
		return
	}
	for len(c.byKey) <= set {
		c.byKey = append(c.byKey, btree.NewG(16, c.before))
		c.idle = append(c.idle, btree.NewG(16, byID))
	}
	p.keyT, p.keyV, p.keyCls, p.inKey = keyT, p.vtime, set, true
	c.byKey[set].ReplaceOrInsert(p)
}

// classIndex is the index of a member class in c.classes (appended when new).
func (c *Committee) classIndex(cl gpu.Class) int {
	for i, x := range c.classes {
		if x == cl {
			return i
		}
	}
	c.classes = append(c.classes, cl)
	return len(c.classes) - 1
}

// unitNs is how long unit u takes on provider p's class, or −1 when it
// cannot run there: cached per job and class, except for a session's units
// of their own size.
func (c *Committee) unitNs(u *unit, p *member) int64 {
	j := u.job
	if u.ownFLOPs() != 0 {
		// A session unit of its own size: cached for the unit being
		// matched, by class.
		if c.durUnit != u {
			c.durUnit = u
			c.durByClass = append(c.durByClass[:0], make([]int64, len(c.classes))...)
		}
		if d := c.durByClass[p.cls]; d != 0 {
			return d
		}
		ns, _, err := c.cfg.Model.Duration(p.class, u.spec().Unit())
		if err != nil {
			ns = -1
		}
		c.durByClass[p.cls] = ns
		return ns
	}
	if p.cls >= len(j.dur) {
		j.dur = append(j.dur, make([]int64, len(c.classes)-len(j.dur))...)
	}
	if d := j.dur[p.cls]; d != 0 {
		return d
	}
	ns, _, err := c.cfg.Model.Duration(p.class, j.spec.Unit())
	if err != nil {
		ns = -1
	}
	j.dur[p.cls] = ns
	return ns
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
	mb.cls = c.classIndex(m.Class)
	mb.downBps, mb.upBps = m.DownBps, m.UpBps
	mb.shape = c.shapeIndex(shape{mb.cls, mb.downBps, mb.upBps})
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
	c.refresh(mb)
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
		c.refresh(mb)
	}
}

// dropActive loses every running assignment of a provider.
func (c *Committee) dropActive(env protocol.Env, p *member) {
	for _, r := range p.active {
		r.state = repLost
		c.requeue(env, r.u)
	}
	clear(p.active)
	p.active = p.active[:0]
	c.refresh(p)
}

// requeue asks for one more replica of a unit whose replica was lost, if
// the unit still needs it.
func (c *Committee) requeue(env protocol.Env, u *unit) {
	if u.resolved() || u.job.state != jobOpen {
		return
	}
	c.enqueue(u, 1, env.Now())
}

// release takes replica r off provider p's running list.
func (c *Committee) release(p *member, r *replica) {
	for i, a := range p.active {
		if a == r {
			p.active = slices.Delete(p.active, i, i+1)
			break
		}
	}
	c.refresh(p)
}

// eligible reports whether provider p may take a replica of u now: it has
// the memory, it can finish before the job's deadline, and it holds no
// other replica of the unit but ones that timed out. (Those never answered:
// their assignment or result may have been lost. Were they held against
// it, a unit whose every provider once timed out on it would never run
// again: a redundant unit on as many providers as replicas, assigned by a
// committee that had just restarted and was not yet connected.)
func (c *Committee) eligible(p *member, u *unit, now protocol.Time) (finish protocol.Time, ok bool) {
	spec := &u.job.spec
	if int64(spec.MemBytes) > p.class.MemoryBytes() {
		return 0, false
	}
	for _, r := range u.reps {
		if r.p == p && !r.timedOut {
			return 0, false
		}
	}
	ns := c.unitNs(u, p)
	if ns < 0 {
		return 0, false
	}
	finish = max(now, p.busyUntil).Add(protocol.Duration(ns) + p.transfer(spec))
	if u.job.deadline > 0 && finish > u.job.deadline {
		return 0, false
	}
	return finish, true
}

// match assigns queued units to free providers by the policy, passing
// over at most Window units no free provider can take (they wait without
// blocking those behind them; the units it assigns do not count, so a
// thousand free providers all get work at once). The free list and the queue
// are kept as they change, so a match with nothing to do costs nothing.
// Under FIFO, FairShare and Fastest a unit costs the providers
// firstEligible walks (one per class or shape, as a rule); under Lottery,
// a weighted draw among the eligible, every free provider is weighed.
func (c *Committee) match(env protocol.Env) {
	if c.nfree == 0 || c.qhead == len(c.queue) {
		return
	}
	now := env.Now()
	seen := 0
	// Entries queued while matching (a replica asked for by an assignment)
	// wait for the next match.
	end := len(c.queue)
	for i := c.qhead; i < end && c.nfree > 0; i++ {
		u, at := c.queue[i].u, c.queue[i].at
		if u == nil {
			continue
		}
		if u.resolved() || u.job.state != jobOpen || u.queued == 0 {
			c.unqueue(i)
			continue
		}
		if seen == c.cfg.Window {
			break
		}
		if matchProbe != nil {
			matchProbe(c, u, now)
		}
		var p *member
		var finish protocol.Time
		if c.byKey != nil {
			p, finish = c.firstEligible(u, now)
		} else {
			p, finish = c.weighAll(env, u, now)
		}
		if p == nil {
			seen++
			continue
		}
		c.unqueue(i)
		c.assign(env, u, p, finish, at)
	}
	clear(c.who)
	c.tidy()
}

// matchProbe, when a test sets it, sees every unit match is about to place.
var matchProbe func(c *Committee, u *unit, now protocol.Time)

// weighAll is the provider the policy picks among every free one eligible
// for u, and when it would finish; nil when none is. Lottery draws from
// the committee's stream when there is a choice to make.
func (c *Committee) weighAll(env protocol.Env, u *unit, now protocol.Time) (*member, protocol.Time) {
	cands, who := c.cands[:0], c.who[:0]
	for _, p := range c.free {
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
	c.cands, c.who = cands, who
	if len(cands) == 0 {
		return nil, 0
	}
	var draw float64
	if c.cfg.Scheduler == Lottery {
		draw = env.Rand().Float64()
	}
	k := Pick(c.cfg.Scheduler, cands, draw)
	return who[k], cands[k].Finish
}

// firstEligible is the provider Pick would choose among every free one
// eligible for u, under a keyed policy, and when it would finish: the
// first eligible in key order of each class's set, the best of those. A
// class is left at its first eligible provider, or as soon as its next
// one comes after the best found so far; one whose memory is too small or
// that cannot run the unit is not walked at all.
func (c *Committee) firstEligible(u *unit, now protocol.Time) (best *member, finish protocol.Time) {
	if c.cfg.Scheduler == Fastest {
		return c.fastest(u, now)
	}
	for cls, set := range c.byKey {
		if set.Len() == 0 || int64(u.job.spec.MemBytes) > c.classes[cls].MemoryBytes() {
			continue
		}
		set.Ascend(func(p *member) bool {
			if best != nil && !c.before(p, best) {
				return false
			}
			f, ok := c.eligible(p, u, now)
			if ok {
				best, finish = p, f
			}
			// A class whose units cannot run (ns < 0) has none eligible.
			return !ok && c.unitNs(u, p) >= 0
		})
	}
	return best, finish
}

// fastest is firstEligible under Fastest: the free provider that would
// finish u first, the smaller ID on a tie, as Pick chooses. Within a shape
// a provider finishes at max(now, busyUntil) plus the same duration and
// transfer, so the shape's idle set (free by now: all tie, smallest ID
// first) comes before its busy set (by busyUntil, then ID); members whose
// busyUntil has passed move from the second to the first here. A shape is
// left at its first eligible provider, at one that cannot beat the best
// so far, or at the unit's deadline.
func (c *Committee) fastest(u *unit, now protocol.Time) (best *member, finish protocol.Time) {
	spec := &u.job.spec
	beats := func(f protocol.Time, p *member) bool {
		return best == nil || f < finish || (f == finish && p.id < best.id)
	}
	for s, busy := range c.byKey {
		idle := c.idle[s]
		for busy.Len() > 0 {
			p, _ := busy.Min()
			if p.keyT > now {
				break
			}
			busy.DeleteMin()
			p.inIdle = true
			idle.ReplaceOrInsert(p)
		}
		if busy.Len()+idle.Len() == 0 || int64(spec.MemBytes) > c.classes[c.shapes[s].cls].MemoryBytes() {
			continue
		}
		var cost protocol.Duration // the unit's duration and transfer in this shape
		walk := func(p *member) bool {
			if cost == 0 {
				ns := c.unitNs(u, p)
				if ns < 0 {
					return false // the shape's class cannot run the unit
				}
				cost = protocol.Duration(ns) + p.transfer(spec)
			}
			f := max(now, p.busyUntil).Add(cost)
			if !beats(f, p) || (u.job.deadline > 0 && f > u.job.deadline) {
				return false
			}
			if f2, ok := c.eligible(p, u, now); ok {
				best, finish = p, f2
				return false
			}
			return true // it holds a replica of u: the next one
		}
		found := best
		idle.Ascend(walk)
		if best == found {
			busy.Ascend(walk)
		}
	}
	return best, finish
}

// unqueue empties queue entry i (tidy compacts).
func (c *Committee) unqueue(i int) {
	c.queue[i].u = nil
	c.holes++
}

// tidy drops the queue's leading holes, and compacts it once half of it
// is holes, so each entry costs O(1) however long the queue.
func (c *Committee) tidy() {
	for c.qhead < len(c.queue) && c.queue[c.qhead].u == nil {
		c.qhead++
		c.holes--
	}
	if c.qhead == len(c.queue) {
		c.queue, c.qhead, c.holes = c.queue[:0], 0, 0
		return
	}
	if live := len(c.queue) - c.qhead - c.holes; live < (len(c.queue)-c.qhead)/2 && len(c.queue) > 64 {
		q := c.queue[:0]
		for _, x := range c.queue[c.qhead:] {
			if x.u != nil {
				q = append(q, x)
			}
		}
		clear(c.queue[len(q):])
		c.queue, c.qhead, c.holes = q, 0, 0
	}
}

// assign gives provider p a replica of u, queued since queued.
func (c *Committee) assign(env protocol.Env, u *unit, p *member, finish, queued protocol.Time) {
	now := env.Now()
	u.queued--
	c.count(now, -1)
	wait := now.Sub(queued)
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
	r := u.job.newReplica()
	*r = replica{u: u, p: p, at: now,
		timeoutAt: now.Add(protocol.Duration(float64(expect)*c.cfg.TimeoutFactor) + c.cfg.TimeoutSlack)}
	u.reps = append(u.reps, r)
	p.active = append(p.active, r)
	p.busyUntil = finish
	p.vtime += float64(u.unitFLOPs()) / p.capacity
	c.refresh(p)
	c.stats.Decisions++
	env.Emit(Assigned{Job: u.job.id, Unit: u.idx, Provider: p.id, Queued: wait, Posted: u.postedAt()})
	c.send(env, p.id, &Assign{Job: u.job.id, Unit: u.idx, Spec: u.spec(), Root: v.Scheme == Bisection, Source: u.job.requester})
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
			p.active = slices.Delete(p.active, i, i+1)
			r.state, r.timedOut = repLost, true
			p.suspect = true
			c.refresh(p)
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
