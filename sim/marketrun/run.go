package marketrun

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dais-sim/dais/scenarios/marketplace"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/attack"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/verify"
	"github.com/dais-sim/dais/sim"
	"github.com/dais-sim/dais/sim/netmodel"
)

// Committee is node 0.
const Committee protocol.NodeID = 0

// world is what build returns.
type world struct {
	w         *sim.World
	net       *netmodel.Model
	committee *market.Committee
	chain     *onChain // settlement: chain; nil for the modeled chain
	nodes     []marketplace.Node
	sybils    [][]protocol.NodeID
	end       protocol.Time
}

// build places the nodes and makes the world; onlineHook (if not nil) is
// told when each node comes up and goes down. Its steps: place the
// groups' nodes, turn some into adversaries, split each Sybil attacker
// into its identities, make the committee, then the world with one
// protocol node per placed node, and schedule churn.
func build(p *marketplace.Params, sink metrics.Sink, onlineHook func(protocol.NodeID, protocol.Time, bool)) (*world, error) {
	net, err := netmodel.New(p.Matrix)
	if err != nil {
		return nil, err
	}
	net.Jitter, net.Loss = p.Jitter, p.Loss
	nodes, byGroup := placeGroups(p)
	adv, err := pickAdversaries(p, nodes, byGroup)
	if err != nil {
		return nil, err
	}
	nodes, sybils := addSybils(nodes, adv.sybilK)
	end := protocol.Time(p.Until + p.Drain)
	cfg := committeeConfig(p, nodes, sybils, end)
	var oc *onChain
	if p.Settlement == marketplace.SettleChain {
		var vals []protocol.NodeID
		nodes, vals = addChainValidators(p, nodes)
		if oc, err = newOnChain(p, &cfg, vals); err != nil {
			return nil, err
		}
		cfg.Keys = keysOf(p, len(nodes))
	}
	committee, err := market.NewCommittee(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", marketplace.ErrParams, err)
	}

	var w *sim.World
	online := func(id protocol.NodeID, up bool) {
		if onlineHook != nil {
			onlineHook(id, w.Now(), up)
		}
	}
	w = sim.New(sim.Config{Seed: p.Seed, Net: net, Sink: sink, Trace: p.Trace, TimerLateNs: int64(p.TimerLate), CPU: p.CPU,
		Hardware: func(id protocol.NodeID) gpu.Class { return nodes[id].Class }, Online: online, Model: p.Model})
	mk := nodeMaker{p: p, nodes: nodes, sybils: sybils, committee: committee, adv: adv, chain: oc}
	for _, n := range nodes {
		if n.Role == marketplace.Requester {
			mk.requesters++
		}
	}
	for id, n := range nodes {
		net.AddNode(n.Region, n.Link)
		w.Add(mk.node(protocol.NodeID(id)))
	}
	if err := applyChurn(p, w, nodes, end); err != nil {
		return nil, err
	}
	return &world{w: w, net: net, committee: committee, chain: oc, nodes: nodes, sybils: sybils, end: end}, nil
}

// placeGroups places the committee (node 0) and each group's nodes, in
// order: a region drawn from the node's placement stream among the
// group's, and its access link. byGroup lists each group's node IDs.
func placeGroups(p *marketplace.Params) (nodes []marketplace.Node, byGroup [][]protocol.NodeID) {
	cpu, _ := gpu.Lookup("cpu")
	nodes = []marketplace.Node{{Group: -1, Class: cpu, Sybil: -1, Link: p.AccessLink(p.CommitteeLink, protocol.Stream(p.Seed, "placement", 0).Float64)}}
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
			n := marketplace.Node{Role: g.Role, Group: gi, Class: class, Region: regions[r.IntN(len(regions))], Sybil: -1}
			n.Link = p.AccessLink(g.Bandwidth, r.Float64)
			nodes = append(nodes, n)
			ids = append(ids, id)
		}
		byGroup = append(byGroup, ids)
	}
	return nodes, byGroup
}

// adversaries are the nodes pickAdversaries turned: lazy providers and
// free riders with their configuration, colluding validators, and Sybil
// attackers with their number of identities.
type adversaries struct {
	lazyIDs, ringVals []protocol.NodeID
	lazyCfg           map[protocol.NodeID]attack.LazyConfig
	sybilK            map[protocol.NodeID]int
}

// pickAdversaries draws each adversary's nodes by a seeded permutation of
// its group's nodes of the right role, groups in order, never twice, and
// marks them in nodes.
func pickAdversaries(p *marketplace.Params, nodes []marketplace.Node, byGroup [][]protocol.NodeID) (*adversaries, error) {
	taken := make([]bool, len(nodes))
	adv := &adversaries{lazyCfg: map[protocol.NodeID]attack.LazyConfig{}, sybilK: map[protocol.NodeID]int{}}
	for ai, a := range p.Adversaries {
		role := marketplace.Provider
		if a.Kind == marketplace.Colluding {
			role = marketplace.Validator
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
			case marketplace.Lazy, marketplace.FreeRider:
				c := attack.LazyConfig{Fraction: a.Fraction, Stale: a.Stale, Start: protocol.Time(a.Start)}
				if c.Fraction == 0 {
					c.Fraction = marketplace.DefaultLazy
				}
				if a.Kind == marketplace.FreeRider {
					c.Fraction, c.Stale = 1, true
				}
				adv.lazyCfg[id] = c
				adv.lazyIDs = append(adv.lazyIDs, id)
			case marketplace.Colluding:
				adv.ringVals = append(adv.ringVals, id)
			case marketplace.Sybil:
				k := a.Identities
				if k == 0 {
					k = 2
				}
				adv.sybilK[id] = k
			}
		}
		if n > 0 {
			return nil, fmt.Errorf("%w: adversary %s: %d more attackers than group %q has nodes", marketplace.ErrParams, a.Kind, n, a.Group)
		}
	}
	return adv, nil
}

// addSybils splits each Sybil attacker into its identities: the
// attacker's node and k−1 extra nodes appended, each with 1/k of the GPU.
func addSybils(nodes []marketplace.Node, sybilK map[protocol.NodeID]int) ([]marketplace.Node, [][]protocol.NodeID) {
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
	return nodes, sybils
}

// committeeConfig is the committee's: every node's key, the genesis
// balances and stakes of the groups (a Sybil's split k ways), the
// tokenomics and the market's settings, closing three blocks before end.
func committeeConfig(p *marketplace.Params, nodes []marketplace.Node, sybils [][]protocol.NodeID, end protocol.Time) market.Config {
	keys := keysOf(p, len(nodes))
	var genesis []chain.Account
	for id := range nodes {
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
	lp.DisputeBlocks = p.DisputeBlocks
	return market.Config{
		Ledger:  chain.Config{Genesis: genesis, Params: lp, KeySeed: p.Seed},
		Keys:    keys,
		Settler: special(0), Pool: special(1), Treasury: special(2),
		Policy: policy, Matching: p.Matching, Scheduler: p.Scheduler, LotteryByCapacity: p.LotteryByCapacity, Verify: p.Verify,
		Gov: p.Gov, Proposals: p.Proposals,
		BlockInterval: p.BlockInterval, CommitDelay: p.CommitDelay,
		TimeoutFactor: p.TimeoutFactor, TimeoutSlack: p.TimeoutSlack, RewardEvery: p.RewardEvery,
		CloseAt: end.Add(-3 * p.BlockInterval), CheckSupply: true, Model: p.Model,
	}
}

// keysOf are the account keys of n nodes.
func keysOf(p *marketplace.Params, n int) []chain.PubKey {
	keys := make([]chain.PubKey, n)
	for id := range keys {
		keys[id] = chain.PubKeyOf(chain.KeyFor(p.Seed, protocol.NodeID(id)))
	}
	return keys
}

// nodeMaker makes the protocol node of each placed node, in ID order
// (requesters share the arrivals in that order).
type nodeMaker struct {
	p          *marketplace.Params
	nodes      []marketplace.Node
	sybils     [][]protocol.NodeID
	committee  *market.Committee
	adv        *adversaries
	chain      *onChain
	requesters int // how many nodes are requesters
	reqIdx     int // requesters made so far
}

func (mk *nodeMaker) node(id protocol.NodeID) protocol.Node {
	p, n := mk.p, mk.nodes[id]
	switch n.Role {
	case marketplace.Provider:
		slots := 0
		if n.Group >= 0 {
			slots = p.Groups[n.Group].Slots
		} else if n.Sybil >= 0 {
			slots = p.Groups[mk.nodes[mk.sybils[n.Sybil][0]].Group].Slots
		}
		var node protocol.Node = &market.Provider{Committee: Committee, Class: n.Class, Slots: slots,
			DownBps: uint64(n.Link.DownBps), UpBps: uint64(n.Link.UpBps)}
		if c, ok := mk.adv.lazyCfg[id]; ok {
			node = attack.LazyWork(node, c)
		}
		return node
	case marketplace.Validator:
		var node protocol.Node = &market.Validator{Committee: Committee, Class: n.Class}
		if n.Adversary == marketplace.Colluding {
			node = attack.ApproveRing(node, append(slices.Clone(mk.adv.lazyIDs), mk.adv.ringVals...))
		}
		return node
	case marketplace.Requester:
		if mk.chain != nil {
			return mk.chain.requester(p, id, mk.requester())
		}
		return mk.requester()
	}
	if c := mk.chain; c != nil {
		if i := slices.Index(c.ids, id); i >= 0 {
			return c.validator(p, i, mk.committee)
		}
	}
	return mk.committee
}

// requester is the next requester: its share of the arrivals (a burst
// split as evenly as whole jobs allow, a rate divided by the requesters).
func (mk *nodeMaker) requester() protocol.Node {
	p := mk.p
	a := p.Arrivals
	switch a.Process {
	case market.Burst:
		a.BurstSize = a.BurstSize / mk.requesters
		if mk.reqIdx < p.Arrivals.BurstSize%mk.requesters {
			a.BurstSize++
		}
	default:
		a.Rate /= float64(mk.requesters)
	}
	mk.reqIdx++
	r := &market.Requester{Committee: Committee, Arrivals: a, Types: p.Jobs, Until: protocol.Time(p.Until),
		CancelShare: p.CancelShare, CancelAfter: p.CancelAfter}
	if a.Process == market.Burst && a.BurstSize == 0 {
		r.Until = 1 // this requester posts nothing
	}
	return r
}

// applyChurn schedules p's churn for the providers each drawn with
// probability ChurnShare from its churn-pick stream.
func applyChurn(p *marketplace.Params, w *sim.World, nodes []marketplace.Node, end protocol.Time) error {
	if p.Churn == nil || p.ChurnShare <= 0 {
		return nil
	}
	var churn []protocol.NodeID
	for id, n := range nodes {
		if n.Role == marketplace.Provider && protocol.Stream(p.Seed, "churn-pick", uint64(id)).Float64() < p.ChurnShare {
			churn = append(churn, protocol.NodeID(id))
		}
	}
	return netmodel.ApplyChurn(*p.Churn, w, p.Seed, churn, end)
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
func Run(p *marketplace.Params) (*marketplace.Result, error) {
	res, _, err := simulate(p)
	return res, err
}

// simulate is Run, also returning the world it ran.
func simulate(p *marketplace.Params) (res *marketplace.Result, wd *world, err error) {
	q := *p
	q.Defaults()
	if err := q.Validate(); err != nil {
		return nil, nil, err
	}
	p = &q
	// Only a lazy provider or a free rider sends a result it did not
	// compute: without them every result is the honest one, and the meter
	// need not re-derive each (a hash per unit).
	var honest func(market.Verified) bool
	if slices.ContainsFunc(p.Adversaries, func(a marketplace.Adversary) bool {
		return a.Kind == marketplace.Lazy || a.Kind == marketplace.FreeRider
	}) {
		honest = func(e market.Verified) bool { return e.Result == verify.Honest(e.Job, e.Unit, e.Steps) }
	}
	// The meter needs the nodes build places; the world calls the sink
	// and the online hook only once it runs, after the meter is made.
	var mt *marketplace.Meter
	sink := metrics.SinkFunc(func(s metrics.Stamped) {
		mt.Record(s)
		if p.Sink != nil {
			p.Sink.Record(s)
		}
	})
	wd, err = build(p, sink, func(id protocol.NodeID, at protocol.Time, on bool) { mt.Up(id, at, on) })
	if err != nil {
		return nil, nil, err
	}
	mt = marketplace.NewMeter(p, wd.nodes, 0, wd.end, honest)
	mt.SetCharge(wd.w.Charge)
	mt.SetSybils(wd.sybils)
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
	mt.Close()
	wall := time.Since(start)
	escrow, open := wd.committee.Escrowed()
	res = mt.Result(escrow, open)
	res.Wall, res.Events, res.TraceHash = wall, w.Events(), w.TraceHash()
	res.Sent, res.Dropped = w.Messages()
	for id := range wd.nodes {
		b, _ := wd.net.UplinkStats(protocol.NodeID(id))
		res.BytesSent += b
	}
	if wd.chain != nil {
		if err := wd.chain.check(); err != nil {
			panic(fmt.Sprintf("marketrun: the chain: %v", err))
		}
	}
	if res.EscrowLeft != 0 || res.OpenJobs != 0 {
		panic(fmt.Sprintf("marketrun: %d base units left in escrow of %d open jobs at the end", res.EscrowLeft, res.OpenJobs))
	}
	return res, wd, nil
}
