package marketrun

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/attack"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/govern"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/sim"
	"github.com/dais-sim/dais/sim/netmodel"
)

// Node is one node of a run as the runner placed it.
type Node struct {
	Role   Role // "" for the committee
	Group  int  // index into Params.Groups; −1 for the committee and Sybil extras' own
	Class  gpu.Class
	Region int
	// Adversary is the attack the node runs ("" for honest nodes).
	Adversary string
	// Sybil is the index of the Sybil attacker the identity belongs to
	// (−1 for everyone else).
	Sybil int
	// Link is the node's access link (a Sybil's extra identities share
	// the attacker's).
	Link netmodel.Link
}

// Committee is node 0.
const Committee protocol.NodeID = 0

// world is what build returns.
type world struct {
	w         *sim.World
	net       *netmodel.Model
	committee *market.Committee
	nodes     []Node
	sybils    [][]protocol.NodeID
	end       protocol.Time
}

// link is the access link of a node of a group naming class (""), the
// class drawn by share with a draw from u, or Params.Link without classes.
func (p *Params) link(class string, u func() float64) netmodel.Link {
	if len(p.Links) == 0 {
		return p.Link
	}
	x := u()
	pick := p.Links[len(p.Links)-1]
	for _, c := range p.Links {
		if class != "" {
			if c.Name == class {
				return c.Link
			}
			continue
		}
		if x < c.Share {
			return c.Link
		}
		x -= c.Share
	}
	return pick.Link
}

// build places the nodes and makes the world; onlineHook (if not nil) is
// told when each node comes up and goes down.
func build(p *Params, sink metrics.Sink, onlineHook func(protocol.NodeID, protocol.Time, bool)) (*world, error) {
	net, err := netmodel.New(p.Matrix)
	if err != nil {
		return nil, err
	}
	net.Jitter, net.Loss = p.Jitter, p.Loss
	cpu, _ := gpu.Lookup("cpu")
	nodes := []Node{{Group: -1, Class: cpu, Sybil: -1, Link: p.link(p.CommitteeLink, protocol.Stream(p.Seed, "placement", 0).Float64)}}
	var byGroup [][]protocol.NodeID
	for gi, g := range p.Groups {
		class, _ := p.Catalog.Lookup(g.GPU)
		regions := make([]int, 0, len(p.Matrix.Regions))
		for _, r := range g.Regions {
			regions = append(regions, p.Matrix.Index(r))
		}
		if len(regions) == 0 {
			for i := range p.Matrix.Regions {
				regions = append(regions, i)
			}
		}
		var ids []protocol.NodeID
		for range g.Count {
			id := protocol.NodeID(len(nodes))
			r := protocol.Stream(p.Seed, "placement", uint64(id))
			n := Node{Role: g.Role, Group: gi, Class: class, Region: regions[r.IntN(len(regions))], Sybil: -1}
			n.Link = p.link(g.Bandwidth, r.Float64)
			nodes = append(nodes, n)
			ids = append(ids, id)
		}
		byGroup = append(byGroup, ids)
	}

	// Adversaries: drawn by a seeded permutation of their group's nodes of
	// the right role, groups in order, never twice.
	taken := make([]bool, len(nodes))
	var lazyIDs, ringVals []protocol.NodeID
	lazyCfg := map[protocol.NodeID]attack.LazyConfig{}
	sybilK := map[protocol.NodeID]int{}
	for ai, a := range p.Adversaries {
		role := Provider
		if a.Kind == Colluding {
			role = Validator
		}
		var pool []protocol.NodeID
		for gi, g := range p.Groups {
			if (a.Group == "" || a.Group == g.Name) && g.Role == role {
				pool = append(pool, byGroup[gi]...)
			}
		}
		perm := protocol.Stream(p.Seed, "adversary", uint64(ai)).Perm(len(pool))
		n := a.Count
		if n == 0 {
			n = int(math.Round(a.Share * float64(len(pool))))
		}
		for _, k := range perm {
			if n == 0 {
				break
			}
			id := pool[k]
			if taken[id] {
				continue
			}
			taken[id] = true
			n--
			nodes[id].Adversary = a.Kind
			switch a.Kind {
			case Lazy, FreeRider:
				c := attack.LazyConfig{Fraction: a.Fraction, Stale: a.Stale, Start: protocol.Time(a.Start)}
				if c.Fraction == 0 {
					c.Fraction = defaultLazy
				}
				if a.Kind == FreeRider {
					c.Fraction, c.Stale = 1, true
				}
				lazyCfg[id] = c
				lazyIDs = append(lazyIDs, id)
			case Colluding:
				ringVals = append(ringVals, id)
			case Sybil:
				k := a.Identities
				if k == 0 {
					k = 2
				}
				sybilK[id] = k
			}
		}
		if n > 0 {
			return nil, fmt.Errorf("%w: adversary %s: %d more attackers than group %q has nodes", ErrParams, a.Kind, n, a.Group)
		}
	}
	// Sybil identities: the attacker's node and k−1 extra nodes, each with
	// 1/k of the GPU.
	var sybils [][]protocol.NodeID
	for id := range nodes {
		k, ok := sybilK[protocol.NodeID(id)]
		if !ok {
			continue
		}
		s := len(sybils)
		share := splitClass(nodes[id].Class, k)
		nodes[id].Class, nodes[id].Sybil = share, s
		nodes[id].Link.UpBps /= float64(k) // one machine's link, shared k ways too
		nodes[id].Link.DownBps /= float64(k)
		ids := []protocol.NodeID{protocol.NodeID(id)}
		for range k - 1 {
			x := nodes[id]
			x.Group = -1
			ids = append(ids, protocol.NodeID(len(nodes)))
			nodes = append(nodes, x)
		}
		sybils = append(sybils, ids)
	}

	// Keys, genesis, committee.
	keys := make([]chain.PubKey, len(nodes))
	var genesis []chain.Account
	for id := range nodes {
		keys[id] = chain.PubKeyOf(chain.KeyFor(p.Seed, protocol.NodeID(id)))
		var bal, stake uint64
		if g := nodes[id].Group; g >= 0 {
			bal, stake = p.Groups[g].Balance, p.Groups[g].Stake
		}
		if s := nodes[id].Sybil; s >= 0 {
			g := p.Groups[nodes[sybils[s][0]].Group]
			k := uint64(len(sybils[s]))
			bal, stake = g.Balance/k, g.Stake/k
		}
		if bal > 0 || stake > 0 {
			genesis = append(genesis, chain.Account{Address: keys[id].Address(), Balance: bal, Stake: stake})
		}
	}
	special := func(i uint32) chain.PubKey {
		return chain.PubKeyOf(chain.KeyFor(p.Seed, protocol.NodeID(0xffff_fff0+i)))
	}
	policy := rewards.DefaultPolicy()
	if p.Policy != nil {
		policy = *p.Policy
	}
	lp := chain.DefaultParams()
	lp.MaxBlockGas = 1 << 40
	lp.MaxBlockBytes = 256 << 20
	lp.MempoolMaxTxs, lp.MempoolMaxBytes, lp.MempoolMaxPerSender = 1<<22, 1<<32, 1<<20
	lp.VotingPeriod = p.Gov.VotingPeriod
	end := protocol.Time(p.Until + p.Drain)
	cfg := market.Config{
		Ledger:  chain.Config{Genesis: genesis, Params: lp, KeySeed: p.Seed},
		Keys:    keys,
		Settler: special(0), Pool: special(1), Treasury: special(2),
		Policy: policy, Matching: p.Matching, Scheduler: p.Scheduler, LotteryByCapacity: p.LotteryByCapacity, Verify: p.Verify,
		Gov: p.Gov, Proposals: p.Proposals,
		BlockInterval: p.BlockInterval, CommitDelay: p.CommitDelay,
		TimeoutFactor: p.TimeoutFactor, TimeoutSlack: p.TimeoutSlack, RewardEvery: p.RewardEvery,
		CloseAt: end.Add(-3 * p.BlockInterval), CheckSupply: true, Model: p.Model,
	}
	committee, err := market.NewCommittee(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParams, err)
	}

	var w *sim.World
	online := func(id protocol.NodeID, up bool) {
		if onlineHook != nil {
			onlineHook(id, w.Now(), up)
		}
	}
	w = sim.New(sim.Config{Seed: p.Seed, Net: net, Sink: sink, Trace: p.Trace, TimerLateNs: int64(p.TimerLate), CPU: p.CPU,
		Hardware: func(id protocol.NodeID) gpu.Class { return nodes[id].Class }, Online: online, Model: p.Model})
	nreq := 0
	for _, n := range nodes {
		if n.Role == Requester {
			nreq++
		}
	}
	ring := append(slices.Clone(lazyIDs), ringVals...)
	reqIdx := 0
	for id, n := range nodes {
		net.AddNode(n.Region, n.Link)
		var node protocol.Node
		switch n.Role {
		case "":
			node = committee
		case Provider:
			slots := 0
			if n.Group >= 0 {
				slots = p.Groups[n.Group].Slots
			} else if n.Sybil >= 0 {
				slots = p.Groups[nodes[sybils[n.Sybil][0]].Group].Slots
			}
			node = &market.Provider{Committee: Committee, Class: n.Class, Slots: slots,
				DownBps: uint64(n.Link.DownBps), UpBps: uint64(n.Link.UpBps)}
			if c, ok := lazyCfg[protocol.NodeID(id)]; ok {
				node = attack.LazyWork(node, c)
			}
		case Validator:
			node = &market.Validator{Committee: Committee, Class: n.Class}
			if n.Adversary == Colluding {
				node = attack.ApproveRing(node, ring)
			}
		case Requester:
			a := p.Arrivals
			switch a.Process {
			case market.Burst:
				a.BurstSize = a.BurstSize / nreq
				if reqIdx < p.Arrivals.BurstSize%nreq {
					a.BurstSize++
				}
			default:
				a.Rate /= float64(nreq)
			}
			reqIdx++
			r := &market.Requester{Committee: Committee, Arrivals: a, Types: p.Jobs, Until: protocol.Time(p.Until),
				CancelShare: p.CancelShare, CancelAfter: p.CancelAfter}
			if a.Process == market.Burst && a.BurstSize == 0 {
				r.Until = 1 // this requester posts nothing
			}
			node = r
		}
		w.Add(node)
	}
	if p.Churn != nil && p.ChurnShare > 0 {
		var churn []protocol.NodeID
		for id, n := range nodes {
			if n.Role == Provider && protocol.Stream(p.Seed, "churn-pick", uint64(id)).Float64() < p.ChurnShare {
				churn = append(churn, protocol.NodeID(id))
			}
		}
		if err := p.Churn.Apply(w, p.Seed, churn, end); err != nil {
			return nil, err
		}
	}
	return &world{w: w, net: net, committee: committee, nodes: nodes, sybils: sybils, end: end}, nil
}

// splitClass is 1/k of a GPU: throughput, bandwidth and power divided by
// k, memory kept.
func splitClass(c gpu.Class, k int) gpu.Class {
	f := float64(k)
	c.FP32TFLOPS /= f
	c.FP16TFLOPS /= f
	c.MemBandwidthGBs /= f
	c.TDPW /= f
	c.IdleW /= f
	c.Model = fmt.Sprintf("1/%d of %s", k, c.Model)
	return c
}

// Run builds the world from p, runs it to Until + Drain and returns what
// it measured. A broken invariant (token conservation after a block, an
// escrow left at the end) panics with the seed.
func Run(p *Params) (res *Result, err error) {
	q := *p
	q.defaults()
	if err := q.validate(); err != nil {
		return nil, err
	}
	p = &q
	m := newMeter(p)
	if !slices.ContainsFunc(p.Adversaries, func(a Adversary) bool { return a.Kind == Lazy || a.Kind == FreeRider }) {
		// Only a lazy provider or a free rider sends a result it did not
		// compute: without them every result is the honest one, and the
		// meter need not re-derive each (a hash per unit).
		m.honest = func(market.Verified) bool { return true }
	}
	rec := record.New(record.Config{StepNs: p.StepNs, EndNs: int64(p.Until + p.Drain)}, recorded...)
	enc := newSealing(p.Encryption)
	var sink metrics.Sink = metrics.SinkFunc(func(s metrics.Stamped) {
		enc.record(s)
		m.record(s)
		rec.Record(s)
		if p.Sink != nil {
			p.Sink.Record(s)
		}
	})
	wd, err := build(p, sink, m.up)
	if err != nil {
		return nil, err
	}
	m.start(wd.nodes, wd.end)
	if enc != nil {
		enc.charge = wd.w.Charge
	}
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("%v (seed %d)", r, p.Seed))
		}
	}()
	w := wd.w
	start := time.Now()
	w.Start()
	if p.Progress == nil {
		w.RunUntil(wd.end)
	} else {
		chunk := max(wd.end/100, 1)
		for t := chunk; t < wd.end; t += chunk {
			w.RunUntil(t)
			p.Progress(int64(t), w.Events())
		}
		w.RunUntil(wd.end)
		p.Progress(int64(wd.end), w.Events())
	}
	w.Stop()
	m.close(wd.end)
	wall := time.Since(start)
	escrow, open := wd.committee.Escrowed()
	res = m.result(wd.end, escrow, open, wd.sybils, rec)
	res.Wall, res.Events, res.TraceHash = wall, w.Events(), w.TraceHash()
	res.Sent, res.Dropped = w.Messages()
	res.sealing = enc
	for id := range wd.nodes {
		b, _ := wd.net.UplinkStats(protocol.NodeID(id))
		res.BytesSent += b
	}
	if res.EscrowLeft != 0 || res.OpenJobs != 0 {
		panic(fmt.Sprintf("marketrun: %d base units left in escrow of %d open jobs at the end", res.EscrowLeft, res.OpenJobs))
	}
	return res, nil
}

// recorded are the measures of Observable events the recorder keeps.
var recorded = append(append(append([]*metrics.Measure{}, market.Measures...), rewards.Measures...), govern.Measures...)
