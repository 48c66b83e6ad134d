package marketplace

import (
	"math"
	"slices"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/attack"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/govern"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/verify"
)

// jobRec is what the meter knows of one job: when it was posted and its
// escrow committed, and per unit (flat arrays, no allocation per unit)
// when it first started computing, how many replicas computed it, and
// whether it stands verified.
type jobRec struct {
	id                market.JobID
	closedAt          protocol.Time // its JobClosed; −1 before
	posted, committed protocol.Time // committed: −1 until the post commits
	flops             float64       // per unit
	// unitPosted holds each unit's own post time in a session (its
	// release); nil for a job whose units were posted with it.
	unitPosted []protocol.Time
	// unitFLOPs holds each unit's own size in a session whose units
	// differ; nil while they are all flops.
	unitFLOPs []float64
	start     []protocol.Time
	computed  []uint16
	state     []uint8 // unitVerified, unitCorrect, unitChecked
}

const (
	unitVerified = 1 << iota
	unitCorrect
	unitChecked
)

// job returns the record of job id, made on first sight with units
// units (0 when the event does not say: the arrays grow as units show).
func (m *meter) job(id market.JobID) *jobRec {
	if m.lastJob != nil && m.lastID == id {
		return m.lastJob // a job's events come in runs
	}
	defer func() { m.lastID, m.lastJob = id, m.jobs[id] }()
	j, ok := m.jobs[id]
	if !ok {
		j = &jobRec{id: id, posted: -1, committed: -1, closedAt: -1}
		m.jobs[id] = j
		m.jobOrder = append(m.jobOrder, j)
	}
	return j
}

// known is the record of job id for an event that follows its job's
// opening (a replica computed, a unit verified or rescinded), nil for a
// job folded before it came (a replica computed more than foldAfter after
// its job closed): such events are counted in meter.late, and no figure
// reads them.
func (m *meter) known(id market.JobID) *jobRec {
	if m.lastJob != nil && m.lastID == id {
		return m.lastJob
	}
	j := m.jobs[id]
	if j == nil {
		m.late++
		return nil
	}
	m.lastID, m.lastJob = id, j
	return j
}

// foldAfter is how long after its JobClosed a job is folded: a replica
// still computing when its job closed (a provider that had queued it)
// reports in this time, so its record sees it, as it did when records
// were kept to the end. Events later still are counted in meter.late.
const foldAfter = 10 * protocol.Minute

// fold folds the jobs at the head of jobOrder that closed at least
// foldAfter before now into the meter's running figures (acc), in
// jobOrder's order, so that every figure is what it was when every record
// was kept to the end, and drops their records: memory then follows the
// jobs open or recently closed, not the run's length.
func (m *meter) fold(now protocol.Time) {
	for m.head < len(m.jobOrder) {
		j := m.jobOrder[m.head]
		if j.closedAt < 0 || now.Sub(j.closedAt) < m.foldAfter {
			break
		}
		m.acc.add(j)
		delete(m.jobs, j.id)
		if m.lastJob == j {
			m.lastJob = nil
		}
		m.jobOrder[m.head] = nil
		m.head++
	}
	if m.head > 1024 && 2*m.head > len(m.jobOrder) {
		m.jobOrder = append(m.jobOrder[:0], m.jobOrder[m.head:]...)
		clear(m.jobOrder[len(m.jobOrder):cap(m.jobOrder)])
		m.head = 0
	}
}

// jobFigures are the per-unit figures summed over jobs in jobOrder's
// order (fold, then result for the jobs not folded).
type jobFigures struct {
	postStart, commitStart         []float64
	verified, badAccepted, badChkd int
	useful, verification           float64
}

// add folds job j's units in.
func (f *jobFigures) add(j *jobRec) {
	for u, st := range j.state {
		if s := j.start[u]; s >= 0 && j.posted >= 0 {
			posted := j.posted
			if u < len(j.unitPosted) && j.unitPosted[u] != 0 {
				posted = j.unitPosted[u]
			}
			f.postStart = append(f.postStart, s.Sub(posted).Milliseconds())
			if j.committed >= 0 {
				f.commitStart = append(f.commitStart, s.Sub(j.committed).Milliseconds())
			}
		}
		if st&unitVerified == 0 {
			continue
		}
		f.verified++
		fl := j.flopsOf(u)
		if st&unitCorrect != 0 {
			f.useful += fl
		} else {
			f.badAccepted++
			if st&unitChecked != 0 {
				f.badChkd++
			}
		}
		if n := j.computed[u]; n > 1 {
			f.verification += float64(n-1) * fl
		}
	}
}

// unit makes room for unit u in j's arrays.
func (j *jobRec) unit(u uint32) {
	if int(u) < len(j.start) {
		return
	}
	n := int(u) + 1
	if cap(j.start) < n {
		j.start = slices.Grow(j.start, max(n, 2*len(j.start))-len(j.start))
	}
	for len(j.start) < n {
		j.start = append(j.start, -1)
	}
	j.computed = append(j.computed, make([]uint16, n-len(j.computed))...)
	j.state = append(j.state, make([]uint8, n-len(j.state))...)
}

// setFLOPs records unit u's size.
func (j *jobRec) setFLOPs(u uint32, f float64) {
	switch {
	case j.unitFLOPs == nil && (j.flops == 0 || j.flops == f):
		j.flops = f
	default:
		for len(j.unitFLOPs) < len(j.start) {
			j.unitFLOPs = append(j.unitFLOPs, j.flops)
		}
		j.unitFLOPs[u] = f
	}
}

// flopsOf is unit u's size.
func (j *jobRec) flopsOf(u int) float64 {
	if u < len(j.unitFLOPs) {
		return j.unitFLOPs[u]
	}
	return j.flops
}

// meter accumulates what a run's events say. It sees every event (the
// committee's once), in order, and keeps per-node arrays and per-job
// records.
type meter struct {
	p      *Params
	nodes  []Node
	stepNs int64
	steps  int
	end    protocol.Time

	busyNs, onlineNs     []int64
	upSince              []protocol.Time // when a node came up; −1 while down
	energyJ              []float64
	earnAll, earnWork    []uint64
	verFLOPs             []float64
	fakes                []int
	firstFake, detected  []protocol.Time
	slashed              []uint64
	labelOf              []int       // per node: index into labels
	labels               []string    // classes of honest providers, then the attacks
	completion           [][]float64 // by label
	jobLatency, waits    []float64
	postCommit           []float64 // per job, ms
	settleWait           []float64 // per job: ended → settled, ms
	finality             []float64 // per block at the committee's validator (Params.Settlement chain), ms
	jobs                 map[market.JobID]*jobRec
	jobOrder             []*jobRec // from head on: the jobs not folded, in first-seen order
	head                 int
	acc                  jobFigures // the folded jobs'
	late                 int        // events about folded jobs (known)
	foldAfter            protocol.Duration
	lastID               market.JobID
	lastJob              *jobRec
	acctNode             map[rewards.Account]protocol.NodeID
	firstPost, lastDone  protocol.Time
	provFLOPs, valFLOPs  float64
	classOf              []int // per node: index into classes, −1 if none
	classes              []string
	busySeries, onSeries [][]float64 // per class, per step: busy and online GPU-ns
	supply               []SupplyPoint
	chainBytes           uint64
	posted, refused      int
	statuses             map[market.Status]int
	budgets, providers   uint64
	pot, burned, refunds uint64
	minted, burnedAll    uint64
	slashedAll           uint64
	proposals            []govern.Closed
	activations          []govern.Activated
	load                 market.CommitteeLoad
	frauds               [rewards.NumOffences]int
	timeouts, rejected   int
	ringApprovals        int
	fakedUnits           int
	rescinded            int
	// startAt is when the run started (0 in the simulator; a live
	// network's first node start, Meter); honest says whether a verified
	// result is the honest one.
	startAt protocol.Time
	honest  func(market.Verified) bool
}

func newMeter(p *Params) *meter {
	return &meter{p: p, stepNs: p.StepNs, statuses: map[market.Status]int{}, jobs: map[market.JobID]*jobRec{},
		firstPost: -1, lastDone: -1, foldAfter: foldAfter,
		honest: func(e market.Verified) bool { return e.Result == verify.Honest(e.Job, e.Unit, e.Steps) }}
}

// label is the class a node's figures go under: its GPU class, or its
// attack for adversaries.
func label(n Node) string {
	if n.Adversary != "" {
		return n.Adversary
	}
	return n.Class.Name
}

func (m *meter) start(nodes []Node, end protocol.Time) {
	m.nodes = nodes
	m.end = end
	n := len(nodes)
	m.steps = int((int64(end) + m.stepNs - 1) / m.stepNs)
	m.busyNs, m.onlineNs = make([]int64, n), make([]int64, n)
	m.upSince = make([]protocol.Time, n)
	m.energyJ = make([]float64, n)
	m.earnAll, m.earnWork = make([]uint64, n), make([]uint64, n)
	m.verFLOPs = make([]float64, n)
	m.fakes, m.slashed = make([]int, n), make([]uint64, n)
	m.firstFake, m.detected = make([]protocol.Time, n), make([]protocol.Time, n)
	m.classOf, m.labelOf = make([]int, n), make([]int, n)
	for i := range n {
		m.firstFake[i], m.detected[i], m.classOf[i], m.upSince[i] = -1, -1, -1, -1
	}
	// Classes of honest providers, sorted by name as the catalog is;
	// measured classes from hardware profiles sort among them.
	for _, nd := range nodes {
		if nd.Role == Provider && nd.Adversary == "" && !slices.Contains(m.classes, nd.Class.Name) {
			m.classes = append(m.classes, nd.Class.Name)
		}
	}
	slices.Sort(m.classes)
	m.labels = append(slices.Clone(m.classes), Lazy, FreeRider, Sybil, Colluding)
	for i, nd := range nodes {
		if nd.Role == Provider && nd.Adversary == "" {
			m.classOf[i] = slices.Index(m.classes, nd.Class.Name)
		}
		m.labelOf[i] = slices.Index(m.labels, label(nd))
		if m.labelOf[i] < 0 {
			m.labelOf[i] = len(m.labels)
			m.labels = append(m.labels, label(nd))
		}
	}
	m.completion = make([][]float64, len(m.labels))
	m.busySeries, m.onSeries = make([][]float64, len(m.classes)), make([][]float64, len(m.classes))
	for i := range m.classes {
		m.busySeries[i], m.onSeries[i] = make([]float64, m.steps), make([]float64, m.steps)
	}
}

// up counts node id as online from at (true) or ends its online span at
// at (false): the World tells every change (sim.Config.Online), so
// online time is exact, whatever the step.
func (m *meter) up(id protocol.NodeID, at protocol.Time, on bool) {
	if int(id) >= len(m.upSince) {
		return
	}
	if on {
		if m.upSince[id] < 0 {
			m.upSince[id] = at
		}
		return
	}
	if from := m.upSince[id]; from >= 0 {
		m.upSince[id] = -1
		m.online(id, from, at)
	}
}

// online adds [from, to) to node id's online time, within the run.
func (m *meter) online(id protocol.NodeID, from, to protocol.Time) {
	from, to = max(from, 0), min(to, m.end)
	if to <= from {
		return
	}
	m.onlineNs[id] += int64(to - from)
	if c := m.classOf[id]; c >= 0 {
		m.spread(m.onSeries[c], int64(from), int64(to))
	}
}

func (m *meter) record(s metrics.Stamped) {
	id := s.Node
	at := protocol.Time(s.AtNs)
	switch e := s.Event.(type) {
	case market.Computed:
		m.busyNs[id] += e.DurationNs
		m.energyJ[id] += e.EnergyJ
		if e.Replay {
			m.valFLOPs += e.FLOPs
			return
		}
		m.provFLOPs += e.FLOPs
		if j := m.known(e.Job); j != nil {
			j.unit(e.Unit)
			j.computed[e.Unit]++
			if st := at.Add(-protocol.Duration(e.DurationNs)); j.start[e.Unit] < 0 || st < j.start[e.Unit] {
				j.start[e.Unit] = st
			}
		}
		if c := m.classOf[id]; c >= 0 {
			m.spread(m.busySeries[c], s.AtNs-e.DurationNs, s.AtNs)
		}
	case consensus.Committed:
		if id == 0 { // the committee's node, a validator of a chain the market settles on
			m.finality = append(m.finality, e.Latency.Milliseconds())
		}
	case market.Verified:
		if j := m.known(e.Job); j != nil {
			j.unit(e.Unit)
			j.setFLOPs(e.Unit, float64(e.FLOPs))
			st := uint8(unitVerified)
			if m.honest(e) {
				st |= unitCorrect
			}
			if e.Checked {
				st |= unitChecked
			}
			j.state[e.Unit] = st
		}
		for _, p := range e.Payees {
			m.verFLOPs[p] += float64(e.FLOPs)
		}
		l := m.labelOf[e.Payees[0]]
		m.completion[l] = append(m.completion[l], e.Latency.Milliseconds())
		m.lastDone = max(m.lastDone, at)
	case market.Rescinded:
		if j := m.known(e.Job); j != nil {
			j.unit(e.Unit)
			if j.state[e.Unit]&unitVerified != 0 {
				j.state[e.Unit] = 0
			}
		}
		for _, p := range e.Payees {
			m.verFLOPs[p] -= float64(e.FLOPs)
		}
		m.rescinded++
	case market.LateAgreement:
		m.verFLOPs[e.Provider] += float64(e.FLOPs)
	case market.Assigned:
		m.waits = append(m.waits, e.Queued.Milliseconds())
		if j := m.job(e.Job); e.Posted != j.posted && j.posted >= 0 {
			j.unit(e.Unit)
			if j.unitPosted == nil {
				j.unitPosted = make([]protocol.Time, len(j.start))
			}
			for len(j.unitPosted) < len(j.start) {
				j.unitPosted = append(j.unitPosted, 0)
			}
			j.unitPosted[e.Unit] = e.Posted
		}
	case market.JobOpened:
		j := m.job(e.Job)
		j.posted = at.Add(-e.Wait)
		if e.Units > 0 {
			j.unit(e.Units - 1)
		}
		if m.firstPost < 0 || j.posted < m.firstPost {
			m.firstPost = j.posted
		}
	case market.JobCommitted:
		m.job(e.Job).committed = at
		m.postCommit = append(m.postCommit, e.Wait.Milliseconds())
	case market.TimedOut:
		m.timeouts++
	case market.FraudProven:
		m.frauds[e.Offence]++
		if m.detected[e.Offender] < 0 {
			m.detected[e.Offender] = at
		}
	case attack.Faked:
		m.fakedUnits++
		m.fakes[id]++
		if m.firstFake[id] < 0 {
			m.firstFake[id] = at
		}
	case attack.Approved:
		m.ringApprovals++
	case rewards.Paid:
		if n, ok := m.nodeOf(e.To); ok {
			m.earnAll[n] += uint64(e.Amount)
			switch e.Class {
			case rewards.PaidFee, rewards.ClassCompute.String(), rewards.PaidParticipation:
				m.earnWork[n] += uint64(e.Amount)
			}
		}
	case rewards.Slashed:
		if n, ok := m.nodeOf(e.Offender); ok {
			m.slashed[n] += uint64(e.Amount)
		}
		m.slashedAll += uint64(e.Amount)
	case market.Block:
		m.minted += e.Minted
		m.burnedAll += e.Burned
		m.chainBytes += uint64(e.Bytes)
		m.supply = append(m.supply, SupplyPoint{Height: e.Height, At: at, Supply: e.Supply, Emission: e.Emission, Escrow: e.Escrow})
	case market.JobPosted:
		m.posted++
	case market.JobFinished:
		if e.Status == market.Refused {
			m.refused++
			return
		}
		m.statuses[e.Status]++
		if e.Status == market.Done {
			m.jobLatency = append(m.jobLatency, e.Latency.Milliseconds())
		}
	case market.JobClosed:
		if j, ok := m.jobs[e.Job]; ok {
			j.closedAt = at
		}
		m.fold(at)
		m.budgets += e.Budget
		m.providers += e.Providers
		m.pot += e.Pot
		m.burned += e.Burned
		m.refunds += e.Refund
		m.settleWait = append(m.settleWait, e.Wait.Milliseconds())
	case govern.Closed:
		m.proposals = append(m.proposals, e)
	case govern.Activated:
		m.activations = append(m.activations, e)
	case market.CommitteeLoad:
		m.load = e
	case market.Rejected:
		m.rejected++
	}
}

// nodeOf is rewards.NodeOf, remembered (every payment names its account).
func (m *meter) nodeOf(a rewards.Account) (protocol.NodeID, bool) {
	if id, ok := m.acctNode[a]; ok {
		return id, true
	}
	id, ok := rewards.NodeOf(a)
	if ok {
		if m.acctNode == nil {
			m.acctNode = map[rewards.Account]protocol.NodeID{}
		}
		m.acctNode[a] = id
	}
	return id, ok
}

// spread adds the interval [from, to) to a class's per-step series.
func (m *meter) spread(series []float64, from, to int64) {
	from = max(from, 0)
	for t := from; t < to; {
		idx := int(t / m.stepNs)
		if idx >= m.steps {
			return
		}
		next := min(int64(idx+1)*m.stepNs, to)
		series[idx] += float64(next - t)
		t = next
	}
}

// SupplyPoint is the supply after one block.
type SupplyPoint struct {
	Height   uint64
	At       protocol.Time
	Supply   uint64 // minted − burned since genesis, base units
	Emission uint64 // minted in the block
	Escrow   uint64 // held by open jobs
}

// ClassStats are the honest providers of one GPU class.
type ClassStats struct {
	Class     string
	Providers int
	// Units verified with a provider of the class as (first) payee, and
	// their completion times (job post → verified), ms.
	Units         int
	P50, P95, P99 float64
	// Utilization is busy GPU time ÷ online GPU time.
	Utilization float64
	GPUHours    float64
	// EarningsPerGPUHour is tokens earned (fees, rewards, staking yield)
	// per online GPU-hour; RewardPerPFLOP tokens of work rewards (fees and
	// compute rewards) per PFLOP verified.
	EarningsPerGPUHour float64
	RewardPerPFLOP     float64
	// EnergyKWh is busy (TDP) and idle energy; ElectricityUSDPerGPUHour
	// its cost at the nodes' regional prices; ProfitUSDPerGPUHour is
	// earnings at Params.TokenUSD less electricity.
	EnergyKWh                float64
	ElectricityUSDPerGPUHour float64
	ProfitUSDPerGPUHour      float64
}

// Result is what a run measured.
type Result struct {
	Params *Params
	Nodes  []Node
	End    protocol.Time

	Posted, Refused int
	// Statuses counts jobs by final status (done, expired, cancelled).
	Statuses map[market.Status]int
	// Verified is the number of units verified; Throughput per second of
	// the whole run.
	Verified   int
	Throughput float64
	// Completion (units, post → verified), JobLatency (done jobs, post →
	// settled) and QueueWait (replica queued → assigned), ms.
	Completion, JobLatency, QueueWait Quantiles
	// Waits from submission, ms: PostStart (units: the job's post → the
	// unit's first replica starts computing), PostCommit (jobs: post →
	// its escrow commits), CommitStart (units: that commit → start;
	// negative when continuous matching started the unit first); Settle
	// (jobs: ended → settlement committed).
	PostStart, PostCommit, CommitStart, Settle Quantiles
	// Finality (Settlement chain): blocks, proposal → commit at the
	// committee's validator, ms.
	Finality Quantiles
	// QueueLength is the committee's queue (replicas waiting for a
	// provider) averaged over the run; QueueArrivals replicas entering it
	// per second. Little's law: QueueLength = QueueArrivals × QueueWait.Mean.
	QueueLength, QueueArrivals float64
	// Makespan is from the first post to the last unit verified, seconds.
	Makespan float64
	// ChainBytes is the committed blocks' encoded size; BytesSent what the
	// network model carried (every message's encoded size, data included;
	// 0 when not measured).
	ChainBytes, BytesSent uint64
	// Classes are the honest providers by GPU class, in catalog order.
	Classes []ClassStats

	// Verification. UsefulFLOPs is one replica of every correctly
	// verified unit; VerificationFLOPs what validators re-executed plus
	// every further replica of verified units that providers computed;
	// Overhead their ratio. BadAccepted counts verified units whose
	// result was not the honest one.
	UsefulFLOPs, VerificationFLOPs, Overhead float64
	BadAccepted                              int
	// BadChecked counts those a validator re-executed and approved.
	BadChecked int
	// Rescinded counts verified units taken back because a payee was
	// proven to cheat on another unit.
	Rescinded int
	// Lazy is how many lazy providers or free riders faked at least one
	// unit; Detected how many of them were proven to cheat;
	// DetectionRate their ratio (NaN without cheats); DetectTimes the
	// time from each detected one's first fake to its first proof.
	Lazy, Detected int
	DetectionRate  float64
	DetectTimes    []protocol.Duration
	FakedUnits     int
	// Frauds counts proven offences by kind; RingApprovals approvals
	// colluding validators gave without re-executing; ColludersCaught
	// colluding validators proven to have given a false verdict, and
	// HonestJailed honest validators outvoted by colluders (a false
	// positive).
	Frauds                        [rewards.NumOffences]int
	RingApprovals                 int
	ColludersCaught, HonestJailed int

	// Fairness over honest providers with verified work: Jain and Gini of
	// work rewards per verified FLOP; Jain of earnings per unit of
	// capacity (tokens per online TFLOPS-hour, idle providers included).
	RewardPerWork                        []float64
	JainRewardPerWork, GiniRewardPerWork float64
	JainEarningsPerCapacity              float64
	// SybilGains is, per Sybil attacker, its identities' earnings ÷ the
	// mean earnings of honest providers of its GPU class; SybilGain their
	// mean (NaN without attackers).
	SybilGains []float64
	SybilGain  float64

	EnergyKWh, EnergyPerUnitKWh float64

	// Tokens, base units. Supply has a point per block.
	Supply                           []SupplyPoint
	Minted, Burned, Slashed          uint64
	Budgets, PaidProviders, Pot      uint64
	FeesBurned, Refunds              uint64
	EscrowLeft                       uint64
	OpenJobs                         int
	Proposals                        []govern.Closed
	Activations                      []govern.Activated
	Load                             market.CommitteeLoad
	Timeouts, Rejected               int
	Events, Sent, Dropped, TraceHash uint64
	Wall                             time.Duration

	rec *record.Recorder
	m   *meter

	// sealing is what end-to-end encryption cost (Params.Encryption).
	sealing *sealing
}

// Quantiles of a distribution, exact (nearest rank).
type Quantiles struct {
	N                             int
	Mean, Min, P50, P95, P99, Max float64
}

func quantiles(v []float64) Quantiles {
	if len(v) == 0 {
		nan := math.NaN()
		return Quantiles{Mean: nan, Min: nan, P50: nan, P95: nan, P99: nan, Max: nan}
	}
	// Order statistics by selection, not a full sort: the same values,
	// in linear time (runs of millions of units measure millions).
	s := slices.Clone(v)
	rank := func(p float64) int { return min(max(int(math.Ceil(p*float64(len(s))))-1, 0), len(s)-1) }
	k99, k95, k50 := rank(0.99), rank(0.95), rank(0.5)
	selectK(s, k99)
	selectK(s[:k99+1], k95)
	selectK(s[:k95+1], k50)
	var sum float64
	for _, x := range v {
		sum += x
	}
	return Quantiles{N: len(s), Mean: sum / float64(len(s)), Min: slices.Min(s[:k50+1]), P50: s[k50], P95: s[k95], P99: s[k99], Max: slices.Max(s[k99:])}
}

// selectK reorders s so that s[k] is its k-th smallest value, those before
// it no larger and those after no smaller (Hoare's selection, median of
// three pivots; deterministic).
func selectK(s []float64, k int) {
	lo, hi := 0, len(s)-1
	for hi > lo {
		mid := lo + (hi-lo)/2
		if s[mid] < s[lo] {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if s[hi] < s[lo] {
			s[hi], s[lo] = s[lo], s[hi]
		}
		if s[hi] < s[mid] {
			s[hi], s[mid] = s[mid], s[hi]
		}
		pivot := s[mid]
		i, j := lo, hi
		for i <= j {
			for s[i] < pivot {
				i++
			}
			for s[j] > pivot {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}

func (m *meter) price(n Node) float64 {
	if v, ok := m.p.Electricity[m.p.Matrix.Regions[n.Region]]; ok {
		return v
	}
	return m.p.DefaultPrice
}

// close ends every online span at end (the run's Stop tells the World's
// hook too; a live Meter's spans are given).
func (m *meter) close(end protocol.Time) {
	for id := range m.upSince {
		m.up(protocol.NodeID(id), end, false)
	}
}

// energy is a node's kWh: busy energy plus idle power over its idle time.
func (m *meter) energy(id int) float64 {
	idle := max(m.onlineNs[id]-m.busyNs[id], 0)
	return (m.energyJ[id] + m.nodes[id].Class.IdleW*float64(idle)/1e9) / 3.6e6
}

// result is what the events said, for a run that ended at end with
// escrow held by openJobs jobs; sybils are the Sybil attackers'
// identities.
func (m *meter) result(end protocol.Time, escrow uint64, openJobs int, sybils [][]protocol.NodeID, rec *record.Recorder) *Result {
	r := &Result{Params: m.p, Nodes: m.nodes, End: end, Posted: m.posted, Refused: m.refused, Statuses: m.statuses,
		Supply: m.supply, Minted: m.minted, Burned: m.burnedAll, Slashed: m.slashedAll,
		Budgets: m.budgets, PaidProviders: m.providers, Pot: m.pot, FeesBurned: m.burned, Refunds: m.refunds,
		Proposals: m.proposals, Activations: m.activations, Load: m.load, Timeouts: m.timeouts, Rejected: m.rejected,
		Frauds: m.frauds, RingApprovals: m.ringApprovals, FakedUnits: m.fakedUnits, Rescinded: m.rescinded,
		rec: rec, m: m}
	r.EscrowLeft, r.OpenJobs = escrow, openJobs
	var all []float64
	for _, c := range m.completion {
		all = append(all, c...)
	}
	r.Completion, r.JobLatency, r.QueueWait = quantiles(all), quantiles(m.jobLatency), quantiles(m.waits)
	r.PostCommit, r.Settle = quantiles(m.postCommit), quantiles(m.settleWait)
	r.Finality = quantiles(m.finality)

	// Verification overhead, and the waits of every unit that started:
	// the folded jobs', then the others', in first-seen order.
	f := m.acc
	f.postStart, f.commitStart = slices.Clone(f.postStart), slices.Clone(f.commitStart)
	for _, j := range m.jobOrder[m.head:] {
		f.add(j)
	}
	postStart, commitStart := f.postStart, f.commitStart
	r.Verified += f.verified
	r.UsefulFLOPs += f.useful
	r.BadAccepted += f.badAccepted
	r.BadChecked += f.badChkd
	r.VerificationFLOPs += f.verification
	r.PostStart, r.CommitStart = quantiles(postStart), quantiles(commitStart)
	r.VerificationFLOPs += m.valFLOPs
	length := end.Sub(m.startAt).Seconds()
	r.Throughput = float64(r.Verified) / length
	r.QueueLength = m.load.QueueArea / length
	r.QueueArrivals = float64(m.load.Enqueued) / length
	r.Makespan = math.NaN()
	if m.lastDone >= 0 && m.firstPost >= 0 {
		r.Makespan = m.lastDone.Sub(m.firstPost).Seconds()
	}
	r.ChainBytes = m.chainBytes
	r.Overhead = math.NaN()
	if r.UsefulFLOPs > 0 {
		r.Overhead = r.VerificationFLOPs / r.UsefulFLOPs
	}
	for id, n := range m.nodes {
		if m.fakes[id] > 0 {
			r.Lazy++
			if m.detected[id] >= 0 {
				r.Detected++
				r.DetectTimes = append(r.DetectTimes, m.detected[id].Sub(m.firstFake[id]))
			}
		}
		if n.Role == Validator && m.detected[id] >= 0 {
			if n.Adversary == Colluding {
				r.ColludersCaught++
			} else {
				r.HonestJailed++
			}
		}
	}
	r.DetectionRate = math.NaN()
	if r.Lazy > 0 {
		r.DetectionRate = float64(r.Detected) / float64(r.Lazy)
	}

	// Per class.
	var perCap []float64
	for ci, c := range m.classes {
		cs := ClassStats{Class: c}
		q := quantiles(m.completion[ci])
		cs.Units, cs.P50, cs.P95, cs.P99 = q.N, q.P50, q.P95, q.P99
		var busy, online int64
		var earn, work, flops, kwh, usd float64
		for id, n := range m.nodes {
			if m.classOf[id] != ci {
				continue
			}
			cs.Providers++
			busy += m.busyNs[id]
			online += m.onlineNs[id]
			earn += float64(m.earnAll[id]) / float64(rewards.Token)
			work += float64(m.earnWork[id]) / float64(rewards.Token)
			flops += m.verFLOPs[id]
			e := m.energy(id)
			kwh += e
			usd += e * m.price(n)
			if m.verFLOPs[id] > 0 {
				r.RewardPerWork = append(r.RewardPerWork, float64(m.earnWork[id])/m.verFLOPs[id])
			}
			if h := float64(m.onlineNs[id]) / 3.6e12; h > 0 {
				perCap = append(perCap, float64(m.earnAll[id])/float64(rewards.Token)/h/n.Class.PeakTFLOPS(gpu.FP16))
			}
		}
		cs.GPUHours = float64(online) / 3.6e12
		cs.Utilization, cs.EarningsPerGPUHour, cs.RewardPerPFLOP = math.NaN(), math.NaN(), math.NaN()
		cs.ElectricityUSDPerGPUHour, cs.ProfitUSDPerGPUHour = math.NaN(), math.NaN()
		if online > 0 {
			cs.Utilization = float64(busy) / float64(online)
			cs.EarningsPerGPUHour = earn / cs.GPUHours
			cs.ElectricityUSDPerGPUHour = usd / cs.GPUHours
			cs.ProfitUSDPerGPUHour = (earn*m.p.TokenUSD - usd) / cs.GPUHours
		}
		if flops > 0 {
			cs.RewardPerPFLOP = work / (flops / 1e15)
		}
		cs.EnergyKWh = kwh
		r.Classes = append(r.Classes, cs)
	}
	r.JainRewardPerWork, r.GiniRewardPerWork = metrics.Jain(r.RewardPerWork), metrics.Gini(r.RewardPerWork)
	r.JainEarningsPerCapacity = metrics.Jain(perCap)

	// Sybil gain against honest providers of the attacker's class.
	for _, ids := range sybils {
		base := m.nodes[ids[0]]
		var honest float64
		var n int
		for id, nd := range m.nodes {
			if m.classOf[id] >= 0 && nd.Class.Name == base.Class.Name {
				honest += float64(m.earnAll[id])
				n++
			}
		}
		var mine float64
		for _, id := range ids {
			mine += float64(m.earnAll[id])
		}
		g := math.NaN()
		if n > 0 && honest > 0 {
			g = mine / (honest / float64(n))
		}
		r.SybilGains = append(r.SybilGains, g)
	}
	r.SybilGain = math.NaN()
	if len(r.SybilGains) > 0 {
		var s float64
		for _, g := range r.SybilGains {
			s += g
		}
		r.SybilGain = s / float64(len(r.SybilGains))
	}

	for id, n := range m.nodes {
		if n.Role != "" { // the committee's node is not counted
			r.EnergyKWh += m.energy(id)
		}
	}
	r.EnergyPerUnitKWh = math.NaN()
	if r.Verified > 0 {
		r.EnergyPerUnitKWh = r.EnergyKWh / float64(r.Verified)
	}
	return r
}

// Jobs returns how many jobs ended with status s.
func (r *Result) Jobs(s market.Status) int { return r.Statuses[s] }
