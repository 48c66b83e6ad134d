package consensusrun

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/attack"
	"github.com/dais-sim/dais/protocol/consensus"
	"github.com/dais-sim/dais/protocol/consensus/bft"
	"github.com/dais-sim/dais/protocol/consensus/consensustest"
	"github.com/dais-sim/dais/protocol/consensus/nakamoto"
	"github.com/dais-sim/dais/protocol/dist"
	"github.com/dais-sim/dais/scenarios/netspec"
	"github.com/dais-sim/dais/sim"
	"github.com/dais-sim/dais/sim/blockprop"
	"github.com/dais-sim/dais/sim/check"
	"github.com/dais-sim/dais/sim/netmodel"
)

// Engine names a consensus engine.
type Engine string

const (
	BFT      Engine = "bft"
	Nakamoto Engine = "nakamoto"
)

// AttackKind names a consensus attack (the scenario's adversary kinds).
type AttackKind string

const (
	// Equivocation: each attacker sends its honest proposal and votes to
	// half the validators and conflicting ones to the other half.
	Equivocation AttackKind = "equivocation"
	// Colluding: equivocators share a coalition and split the honest
	// validators' view: when one proposes, the honest validators are cut
	// in two halves, each sent its own block and every attacker's votes
	// for it.
	Colluding AttackKind = "colluding_validators"
	// SilentValidator: the attacker sends nothing.
	SilentValidator AttackKind = "silent_validator"
	// DelayedVotes: the attacker's votes leave Delay late.
	DelayedVotes AttackKind = "delayed_votes"
)

// Adversary is a group of attacking validators (BFT only). Attackers are
// drawn from a seeded permutation of the validators, groups in order.
type Adversary struct {
	Kind  AttackKind
	Count int
	// Delay is how late DelayedVotes sends votes.
	Delay protocol.Duration
}

// BFTParams are the BFT engine's settings.
type BFTParams struct {
	// Timeouts; the zero value means bft.DefaultTimeouts.
	Timeouts bft.Timeouts
	// Sigs: real ed25519 or modeled signatures.
	Sigs consensus.SigMode
	// Rebroadcast and CatchUp: see bft.Config (0: its defaults).
	Rebroadcast, CatchUp protocol.Duration
	// MaxValidators keeps the top K by stake (0: all); the others follow
	// as full nodes.
	MaxValidators int
}

// NakamotoParams are the longest-chain engine's settings.
type NakamotoParams struct {
	// Interval is the target block interval.
	Interval protocol.Duration
	// Confirmations before a block is committed (0 means 6).
	Confirmations int
	// Stake weighs miners by Params.Stakes (a stake lottery) instead of
	// by the hash power of their GPU.
	Stake bool
	// GPUs are the classes miners' GPUs are drawn from, uniformly, from
	// each miner's own stream; a miner's hash power is its class's
	// FP16TFLOPS (the dense tensor rate: useful-work mining would run
	// model arithmetic). nil means every miner has an h100.
	GPUs []string
	// Degree is how many peers each node dials; 0 makes a full mesh.
	Degree int
	// NoRelay: nodes announce only their own blocks (for a full mesh).
	NoRelay bool
}

// Placement is where one node sits and what hardware it has.
type Placement struct {
	Region int // index into the matrix's regions
	Link   netspec.Link
	GPU    string // class name, resolved through Params.Catalog; "" means the run's default
}

// Params describe one run.
type Params struct {
	Seed   uint64
	Engine Engine
	// Matrix is the region latency matrix; the zero value means
	// netspec.DefaultMatrix.
	Matrix netspec.Matrix
	// Link is every node's access link (zero: unlimited).
	Link netspec.Link
	// Placement, if not nil, gives each node (validators first, then
	// followers) its region, link and GPU class, replacing the seeded spread
	// over regions, Link, and NakamotoParams.GPUs.
	Placement []Placement
	// Catalog resolves GPU class names; nil means the built-in catalog.
	// FromScenario sets the scenario's, with its measured hardware
	// profiles.
	Catalog    *gpu.Catalog
	Jitter     dist.Dist
	Loss       float64
	Partitions []netspec.Partition

	// Validators is the number of BFT validators or longest-chain miners.
	Validators int
	// Stakes of the validators (nil: 1,000,000 each).
	Stakes []uint64
	// Followers is the number of non-validator full nodes.
	Followers int
	// FollowerDegree is how many other followers each follower dials
	// (0 means 4); ValidatorFanout how many followers each validator
	// pushes its commits to (0 means 4).
	FollowerDegree, ValidatorFanout int
	// BlockSize is the padding of each block of the test App (0: 1 KiB).
	BlockSize int

	BFT      BFTParams
	Nakamoto NakamotoParams

	Adversaries []Adversary

	// CPU is what each message costs its sender's and receiver's
	// processor (sim.CPU); CommitNs what storing a committed block costs
	// the node that commits it, and SignedRoundNs what recording the round
	// a BFT validator signs in costs before its first proposal or vote of
	// each round leaves (sim.World.Charge); zero: free.
	CPU                     sim.CPU
	CommitNs, SignedRoundNs protocol.Duration
	// TimerLate delays every timer (sim.Config.TimerLateNs); 0: none.
	TimerLate protocol.Duration

	Until protocol.Duration

	// NewApp gives each node its App; nil means consensustest.NewApp, or
	// the ledger with Ledger.
	NewApp func(id protocol.NodeID) consensus.App
	// Ledger, if not nil, gives every node its own replica of the real
	// ledger (protocol/chain) and has clients submit signed transfers.
	Ledger *LedgerParams
	// WrapNode, if not nil, wraps each node once built (after its attack
	// and its client): tests inject behaviour with it.
	WrapNode func(id protocol.NodeID, n protocol.Node) protocol.Node
	// Conservation is the checker's hook (see check.Options).
	Conservation func(node protocol.NodeID, height uint64) error
	// Record makes the checker record violations instead of panicking.
	Record bool
	// Sink, if not nil, also receives every event.
	Sink  metrics.Sink
	Trace bool
	// StepNs is the time-series step of the recorder (0: no series).
	StepNs int64
	// Progress, if not nil, is called about 200 times during the run with
	// the simulated time reached and the events dispatched; it cannot
	// change the run.
	Progress func(simNs int64, events uint64)
}

// ErrParams reports invalid Params.
var ErrParams = errors.New("consensusrun: invalid parameters")

func (p *Params) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrParams}, a...)...)
	}
	switch {
	case p.Engine != BFT && p.Engine != Nakamoto:
		return bad("engine %q", p.Engine)
	case p.Validators < 1:
		return bad("%d validators", p.Validators)
	case p.Followers < 0:
		return bad("%d followers", p.Followers)
	case p.Stakes != nil && len(p.Stakes) != p.Validators:
		return bad("%d stakes for %d validators", len(p.Stakes), p.Validators)
	case p.Placement != nil && len(p.Placement) != p.Validators+p.Followers:
		return bad("%d placements for %d nodes", len(p.Placement), p.Validators+p.Followers)
	case p.Until <= 0:
		return bad("until must be > 0")
	case !(p.Loss >= 0 && p.Loss < 1):
		return bad("loss %g outside [0, 1)", p.Loss)
	case p.Engine == Nakamoto && p.Nakamoto.Interval <= 0:
		return bad("longest chain needs an interval > 0")
	case p.Engine == Nakamoto && len(p.Adversaries) > 0:
		return bad("consensus attacks are BFT attacks")
	case p.Ledger != nil && p.NewApp != nil:
		return bad("NewApp and Ledger both give nodes their App")
	case p.CPU.SendNs < 0 || p.CPU.RecvNs < 0 || p.CommitNs < 0 || p.SignedRoundNs < 0 || p.TimerLate < 0:
		return bad("negative processing cost (send %d ns, receive %d ns, commit %d ns, signed round %d ns, timer lateness %d ns)",
			p.CPU.SendNs, p.CPU.RecvNs, p.CommitNs, p.SignedRoundNs, p.TimerLate)
	}
	if p.Ledger != nil {
		if err := p.Ledger.validate(p.Validators + p.Followers); err != nil {
			return err
		}
	}
	if p.Jitter != nil {
		if err := dist.Validate(p.Jitter); err != nil {
			return fmt.Errorf("%w: jitter: %w", ErrParams, err)
		}
	}
	n := 0
	for _, a := range p.Adversaries {
		switch a.Kind {
		case Equivocation, Colluding, SilentValidator, DelayedVotes:
		default:
			return bad("attack %q", a.Kind)
		}
		if a.Count < 0 {
			return bad("%d attackers", a.Count)
		}
		n += a.Count
	}
	if n > p.Validators {
		return bad("%d attackers among %d validators", n, p.Validators)
	}
	return nil
}

// Measures recorded by a run, for reports (Result.Recorder holds them).
var (
	Finality = &metrics.Measure{Name: "finality", Unit: "ms", Kind: metrics.Distribution, Better: metrics.Lower,
		Help: "time from a block's proposal (BFT) or mining (longest chain) to its commit at an honest validator or miner"}
	FollowerFinality = &metrics.Measure{Name: "follower_finality", Unit: "ms", Kind: metrics.Distribution, Better: metrics.Lower,
		Help: "time from a block's proposal to its commit at a non-validator full node"}
	BlockInterval = &metrics.Measure{Name: "block_interval", Unit: "ms", Kind: metrics.Distribution,
		Help: "time between consecutive blocks: first commits (BFT) or mining times on the main chain (longest chain)"}
	Rounds = &metrics.Measure{Name: "rounds_per_height", Kind: metrics.Distribution, Better: metrics.Lower,
		Help: "BFT rounds a height took to decide (1: the first proposal was decided)"}
)

// Quantiles summarize a distribution (within record.DefaultRelErr).
type Quantiles struct {
	N                  int64
	Mean               protocol.Duration
	P50, P95, P99, Max protocol.Duration
	Min                protocol.Duration
}

func quantiles(r *record.Recorder, m *metrics.Measure, n int64) Quantiles {
	if n == 0 {
		return Quantiles{}
	}
	ms := func(v float64) protocol.Duration { return protocol.Duration(v * float64(protocol.Millisecond)) }
	return Quantiles{N: n, Mean: ms(r.Total(m) / float64(n)),
		Min: ms(r.Quantile(m, 0)), P50: ms(r.Quantile(m, 0.5)), P95: ms(r.Quantile(m, 0.95)),
		P99: ms(r.Quantile(m, 0.99)), Max: ms(r.Quantile(m, 1))}
}

// Height is what a run saw of one height: the first block finalized there
// by an honest validator or miner.
type Height struct {
	Height uint64
	Hash   consensus.Hash
	// Round it was decided in (BFT).
	Round uint32
	// Proposed is when it was proposed or mined; First and Last when the
	// first and last honest validator (or miner) committed it.
	Proposed, First, Last protocol.Time
	// Commits is how many honest validators or miners committed it.
	Commits int
}

// Result is what a run measured.
type Result struct {
	Params *Params
	// Heights are the heights finalized, in order (BFT: by any honest
	// validator; longest chain: by any miner).
	Heights []Height
	// Finality is commit latency at honest validators (BFT) or miners;
	// FollowerFinality at non-validator full nodes.
	Finality, FollowerFinality Quantiles
	// BlockInterval: see the measure.
	BlockInterval Quantiles
	// RoundsPerHeight[i] is how many heights took i+1 rounds.
	RoundsPerHeight []uint64
	// ConsensusMsgs and ConsensusBytes are what validators sent (bft's
	// HeightDone counts); Msgs and Bytes what every node sent.
	ConsensusMsgs, ConsensusBytes uint64
	Msgs, Bytes, Dropped          uint64
	// Timeouts that fired and acted; Equivocations seen (evidence events,
	// one per receiving node); SigsVerified and SigsSkipped by validators.
	Timeouts, Equivocations   uint64
	SigsVerified, SigsSkipped uint64
	// Longest chain: blocks mined, stale blocks (off the final main chain,
	// among blocks at least Confirmations+6 below its tip), StaleRate =
	// Stale/that many blocks, ForkRate = share of those main-chain heights
	// with a stale block; Reorgs seen by nodes and the deepest.
	Mined, Stale        uint64
	StaleRate, ForkRate float64
	Reorgs, MaxReorg    uint64
	DeepForks           uint64
	// Weights are the miners' hash power (TFLOPS) or stake, and
	// MainBlocks how many blocks of the main chain each mined, by node.
	Weights    []float64
	MainBlocks []uint64
	// Failures are the checker's violations (with Params.Record).
	Failures []check.Violation
	// Byzantine lists the attacking nodes.
	Byzantine []protocol.NodeID
	// Ledger is what the ledger saw (with Params.Ledger).
	Ledger *LedgerResult
	// Recorder holds the distributions (Finality, FollowerFinality,
	// BlockInterval, Rounds) for reports.
	Recorder *record.Recorder
	// Engine speed: events dispatched, wall time of the run (build
	// excluded), and the live heap after the world was built.
	Events    uint64
	Wall      time.Duration
	HeapBuilt uint64
	TraceHash uint64
}

// Blocks is the number of heights finalized.
func (r *Result) Blocks() int { return len(r.Heights) }

// EventsPerSec is the engine's speed.
func (r *Result) EventsPerSec() float64 { return float64(r.Events) / r.Wall.Seconds() }

// SimPerWall is simulated seconds per wall-clock second.
func (r *Result) SimPerWall() float64 { return r.Params.Until.Seconds() / r.Wall.Seconds() }

// PerBlock divides a total by the number of heights finalized.
func (r *Result) PerBlock(total uint64) float64 {
	if len(r.Heights) == 0 {
		return 0
	}
	return float64(total) / float64(len(r.Heights))
}

// CommittedIn returns the heights first finalized in [from, until).
func (r *Result) CommittedIn(from, until protocol.Time) []Height {
	var out []Height
	for _, h := range r.Heights {
		if h.First >= from && h.First < until {
			out = append(out, h)
		}
	}
	return out
}

type mined struct {
	parent consensus.Hash
	height uint64
	at     protocol.Time
	miner  protocol.NodeID
}

// run is the state of one run's collection.
type run struct {
	p         *Params
	w         *sim.World
	res       *Result
	rec       *record.Recorder
	chk       *check.Checker
	byz       []bool
	nFin      int64
	nFol      int64
	mined     map[consensus.Hash]mined
	minedSeq  []consensus.Hash
	mainChain []consensus.Hash
	kind      map[protocol.NodeID]Adversary
	led       *ledgers // with Params.Ledger
	// miners are the longest-chain nodes, unwrapped.
	miners []*nakamoto.Node
}

// Run builds the world and runs it until Params.Until.
func Run(p *Params) (*Result, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	m := p.Matrix
	if len(m.Regions) == 0 {
		m = netspec.DefaultMatrix()
	}
	net, err := netmodel.New(m)
	if err != nil {
		return nil, err
	}
	net.Jitter, net.Loss = p.Jitter, p.Loss
	for _, part := range p.Partitions {
		if err := net.AddPartition(part); err != nil {
			return nil, err
		}
	}
	total := p.Validators + p.Followers
	for i := 0; i < total; i++ {
		if p.Placement != nil {
			pl := p.Placement[i]
			if pl.Region < 0 || pl.Region >= len(m.Regions) {
				return nil, fmt.Errorf("%w: node %d in region %d of %d", ErrParams, i, pl.Region, len(m.Regions))
			}
			net.AddNode(pl.Region, pl.Link)
			continue
		}
		r := protocol.Stream(p.Seed, "placement", uint64(i))
		net.AddNode(r.IntN(len(m.Regions)), p.Link)
	}

	measures := []*metrics.Measure{Finality, FollowerFinality, BlockInterval, Rounds}
	if p.Ledger != nil {
		measures = append(measures, TxsCommitted, Mempool)
	}
	r := &run{p: p, res: &Result{Params: p}, byz: make([]bool, total),
		rec: record.New(record.Config{StepNs: p.StepNs, EndNs: int64(p.Until)}, measures...)}
	r.res.Recorder = r.rec
	r.pickAttackers()
	conserve := p.Conservation
	if p.Ledger != nil {
		if r.led, err = newLedgers(p, total); err != nil {
			return nil, err
		}
		conserve = r.led.conservation(p.Conservation)
	}
	r.chk = check.New(check.Options{
		Honest:       func(id protocol.NodeID) bool { return int(id) < total && !r.byz[id] },
		Conservation: conserve, Record: p.Record, Seed: p.Seed,
	})
	w := sim.New(sim.Config{Seed: p.Seed, Net: net, Sink: metrics.SinkFunc(r.record), Trace: p.Trace, CPU: p.CPU,
		TimerLateNs: int64(p.TimerLate)})
	r.w = w

	newApp := p.NewApp
	if newApp == nil {
		size := p.BlockSize
		if size == 0 {
			size = 1024
		}
		newApp = func(protocol.NodeID) consensus.App { return consensustest.NewApp(size) }
	}
	if r.led != nil {
		newApp = r.led.app
	}
	switch p.Engine {
	case BFT:
		err = r.buildBFT(w, newApp)
	case Nakamoto:
		err = r.buildNakamoto(w, newApp)
	}
	if err != nil {
		return nil, err
	}
	r.res.HeapBuilt = heapInUse()
	start := time.Now()
	w.Start()
	if p.Progress == nil {
		w.RunUntil(protocol.Time(p.Until))
	} else {
		w.RunUntilReporting(protocol.Time(p.Until), 200, func(t protocol.Time, events uint64) { p.Progress(int64(t), events) })
	}
	r.res.Wall = time.Since(start)
	r.finish(w, net)
	return r.res, nil
}

func (r *run) stake(i int) uint64 {
	if r.p.Stakes == nil {
		return 1_000_000
	}
	return r.p.Stakes[i]
}

func (r *run) pickAttackers() {
	r.kind = map[protocol.NodeID]Adversary{}
	perm := protocol.Stream(r.p.Seed, "adversaries", 0).Perm(r.p.Validators)
	for _, a := range r.p.Adversaries {
		for j := 0; j < a.Count; j++ {
			id := protocol.NodeID(perm[0])
			perm = perm[1:]
			r.byz[id] = true
			r.kind[id] = a
			r.res.Byzantine = append(r.res.Byzantine, id)
		}
	}
	slices.Sort(r.res.Byzantine)
}

func (r *run) buildBFT(w *sim.World, newApp func(protocol.NodeID) consensus.App) error {
	p := r.p
	cands := make([]consensus.Validator, p.Validators)
	for i := range cands {
		cands[i] = consensus.Candidate(p.Seed, protocol.NodeID(i), r.stake(i))
	}
	set, err := consensus.NewValidatorSet(cands, p.BFT.MaxValidators)
	if err != nil {
		return err
	}
	timeouts := p.BFT.Timeouts
	if timeouts == (bft.Timeouts{}) {
		timeouts = bft.DefaultTimeouts()
	}
	// Followers: validators outside the set, then the non-validators.
	var followers []protocol.NodeID
	for i := 0; i < p.Validators; i++ {
		if _, ok := set.Index(protocol.NodeID(i)); !ok {
			followers = append(followers, protocol.NodeID(i))
		}
	}
	for i := 0; i < p.Followers; i++ {
		followers = append(followers, protocol.NodeID(p.Validators+i))
	}
	peers := map[protocol.NodeID][]protocol.NodeID{}
	if len(followers) > 1 {
		deg := p.FollowerDegree
		if deg == 0 {
			deg = 4
		}
		deg = min(deg, len(followers)-1)
		for i, adj := range blockprop.Overlay(protocol.DeriveSeed(p.Seed, "followers", 0), len(followers), deg) {
			for _, j := range adj {
				peers[followers[i]] = append(peers[followers[i]], followers[j])
			}
		}
	}
	fanout := p.ValidatorFanout
	if fanout == 0 {
		fanout = 4
	}
	if r.led != nil {
		// Clients send to the validators of the set; one that is itself a
		// validator sends to all the others, since validators do not relay
		// what they get from each other.
		r.led.takers = set.IDs()
		r.led.direct = func(id protocol.NodeID) bool { _, ok := set.Index(id); return ok }
	}
	sides := r.sides(set)
	coalition := attack.NewCoalition()
	for i := 0; i < p.Validators+p.Followers; i++ {
		id := protocol.NodeID(i)
		if _, ok := set.Index(id); !ok {
			r.add(w, id, bft.NewFollower(bft.FollowerConfig{Set: set, Signer: consensus.Signer{Mode: p.BFT.Sigs},
				App: newApp(id), Peers: peers[id]}))
			continue
		}
		var push []protocol.NodeID
		if len(followers) > 0 {
			fr := protocol.Stream(p.Seed, "fanout", uint64(i))
			for _, k := range fr.Perm(len(followers))[:min(fanout, len(followers))] {
				push = append(push, followers[k])
			}
		}
		signer := consensus.Signer{Mode: p.BFT.Sigs}
		if p.BFT.Sigs == consensus.SigReal {
			signer.Key = consensus.DeriveKey(p.Seed, id)
		}
		app := newApp(id)
		v := bft.NewValidator(bft.Config{Set: set, Signer: signer, App: app, Timeouts: timeouts,
			Followers: push, Rebroadcast: p.BFT.Rebroadcast, CatchUp: p.BFT.CatchUp})
		var node protocol.Node = v
		switch r.kind[id].Kind {
		case Equivocation:
			node = attack.Equivocate(v, attack.EquivocateConfig{Signer: signer, App: app, InB: sides.half})
		case Colluding:
			node = attack.Equivocate(v, attack.EquivocateConfig{Signer: signer, App: app, InB: sides.honestB, Coalition: coalition})
		case SilentValidator:
			node = attack.Silent(v)
		case DelayedVotes:
			node = attack.DelayVotes(v, r.kind[id].Delay)
		}
		r.add(w, id, node)
	}
	return nil
}

// sides splits the validators for equivocators. half is the upper half of
// all validators by ID. honestB is the upper half of the honest ones: a
// colluding split gives each side half the honest stake, and the
// attackers themselves take side A.
type sidesOf struct{ half, honestB func(protocol.NodeID) bool }

func (r *run) sides(set *consensus.ValidatorSet) sidesOf {
	ids := set.IDs()
	var honest []protocol.NodeID
	for _, id := range ids {
		if !r.byz[id] {
			honest = append(honest, id)
		}
	}
	upper := func(list []protocol.NodeID) func(protocol.NodeID) bool {
		b := map[protocol.NodeID]bool{}
		for _, id := range list[len(list)/2:] {
			b[id] = true
		}
		return func(id protocol.NodeID) bool { return b[id] }
	}
	return sidesOf{half: upper(ids), honestB: upper(honest)}
}

func (r *run) buildNakamoto(w *sim.World, newApp func(protocol.NodeID) consensus.App) error {
	p := r.p
	np := p.Nakamoto
	k := np.Confirmations
	if k == 0 {
		k = 6
	}
	total := p.Validators + p.Followers
	weights := make([]float64, p.Validators)
	var sum float64
	names := np.GPUs
	if len(names) == 0 {
		names = []string{"h100"}
	}
	for i := range weights {
		if np.Stake {
			weights[i] = float64(r.stake(i))
		} else {
			name := names[protocol.Stream(p.Seed, "gpu", uint64(i)).IntN(len(names))]
			if p.Placement != nil && p.Placement[i].GPU != "" {
				name = p.Placement[i].GPU
			}
			c, ok := p.Catalog.Lookup(name)
			if !ok {
				return fmt.Errorf("%w: unknown GPU class %q", ErrParams, name)
			}
			weights[i] = c.FP16TFLOPS
		}
		sum += weights[i]
	}
	r.res.Weights = weights
	var adj [][]protocol.NodeID
	if np.Degree > 0 && np.Degree < total {
		adj = blockprop.Overlay(protocol.DeriveSeed(p.Seed, "peers", 0), total, np.Degree)
	}
	full := make([]protocol.NodeID, total)
	for i := range full {
		full[i] = protocol.NodeID(i)
	}
	if r.led != nil {
		for i := 0; i < p.Validators; i++ {
			r.led.takers = append(r.led.takers, protocol.NodeID(i))
		}
		// Without relaying, a transaction reaches only the miners it is sent to.
		r.led.direct = func(protocol.NodeID) bool { return np.NoRelay }
	}
	for i := 0; i < total; i++ {
		id := protocol.NodeID(i)
		peers := full
		if adj != nil {
			peers = adj[i]
		}
		var share float64
		if i < p.Validators && sum > 0 {
			share = weights[i] / sum
		}
		n := nakamoto.New(nakamoto.Config{App: newApp(id), Peers: peers, Interval: np.Interval,
			Share: share, Confirmations: k, NoRelay: np.NoRelay})
		r.miners = append(r.miners, n)
		r.add(w, id, n)
	}
	r.mined = map[consensus.Hash]mined{}
	return nil
}

// add adds node id to the world, inside its client and WrapNode.
func (r *run) add(w *sim.World, id protocol.NodeID, n protocol.Node) {
	if r.p.SignedRoundNs > 0 && r.p.Engine == BFT && int(id) < r.p.Validators {
		n = newSignedRounds(n, w, r.p.SignedRoundNs)
	}
	if r.led != nil {
		n = r.led.client(id, n)
	}
	if r.p.WrapNode != nil {
		n = r.p.WrapNode(id, n)
	}
	w.Add(n)
}

// honestValidator is the lowest honest validator (or miner), whose ledger
// replica the summary reads; -1 if there is none.
func (r *run) honestValidator() int {
	for i := 0; i < r.p.Validators; i++ {
		if !r.byz[i] {
			return i
		}
	}
	return -1
}

// record is the run's sink.
func (r *run) record(s metrics.Stamped) {
	if r.led != nil && r.led.record(r, s) {
		if r.p.Sink != nil {
			r.p.Sink.Record(s)
		}
		return
	}
	switch ev := s.Event.(type) {
	case consensus.Committed:
		r.chk.Record(s)
		r.w.Charge(protocol.NodeID(s.Node), r.p.CommitNs)
		id := int(s.Node)
		if r.byz[id] {
			break
		}
		ms := ev.Latency.Milliseconds()
		if id >= r.p.Validators {
			r.rec.At(s.AtNs).Sample(FollowerFinality, ms)
			r.nFol++
			break
		}
		r.rec.At(s.AtNs).Sample(Finality, ms)
		r.nFin++
		at := protocol.Time(s.AtNs)
		hs := &r.res.Heights
		if ev.Height == uint64(len(*hs))+1 {
			*hs = append(*hs, Height{Height: ev.Height, Hash: ev.Hash, Round: ev.Round, Proposed: ev.Proposed, First: at})
			if r.p.Engine == BFT {
				r.rec.At(s.AtNs).Sample(Rounds, float64(ev.Round+1))
				for len(r.res.RoundsPerHeight) <= int(ev.Round) {
					r.res.RoundsPerHeight = append(r.res.RoundsPerHeight, 0)
				}
				r.res.RoundsPerHeight[ev.Round]++
				if n := len(*hs); n > 1 {
					r.rec.At(s.AtNs).Sample(BlockInterval, at.Sub((*hs)[n-2].First).Milliseconds())
				}
			}
		}
		if ev.Height >= 1 && ev.Height <= uint64(len(*hs)) {
			h := &(*hs)[ev.Height-1]
			if h.Hash == ev.Hash {
				h.Last = at
				h.Commits++
			}
		}
	case bft.HeightDone:
		r.res.ConsensusMsgs += ev.Msgs
		r.res.ConsensusBytes += ev.Bytes
		r.res.SigsVerified += ev.SigsVerified
		r.res.SigsSkipped += ev.SigsSkipped
	case bft.TimeoutFired:
		r.res.Timeouts++
	case bft.Equivocation:
		r.res.Equivocations++
	case nakamoto.Mined:
		r.mined[ev.Hash] = mined{parent: ev.Parent, height: ev.Height, at: protocol.Time(s.AtNs), miner: protocol.NodeID(s.Node)}
		r.minedSeq = append(r.minedSeq, ev.Hash)
	case nakamoto.Reorg:
		r.res.Reorgs++
		r.res.MaxReorg = max(r.res.MaxReorg, ev.Depth)
	case nakamoto.DeepFork:
		r.res.DeepForks++
	}
	if r.p.Sink != nil {
		r.p.Sink.Record(s)
	}
}

func (r *run) finish(w *sim.World, net *netmodel.Model) {
	res := r.res
	res.Events = w.Events()
	res.TraceHash = w.TraceHash()
	res.Msgs, res.Dropped = w.Messages()
	for i := 0; i < w.Len(); i++ {
		b, _ := net.UplinkStats(protocol.NodeID(i))
		res.Bytes += b
	}
	res.Failures = r.chk.Failures()
	if r.led != nil {
		res.Ledger = r.led.finish(r.honestValidator())
	}
	if r.p.Engine == Nakamoto {
		r.staleness(w)
	}
	res.Finality = quantiles(r.rec, Finality, r.nFin)
	res.FollowerFinality = quantiles(r.rec, FollowerFinality, r.nFol)
	res.BlockInterval = quantiles(r.rec, BlockInterval, int64(r.intervals()))
}

func (r *run) intervals() int {
	if r.p.Engine == Nakamoto {
		return max(len(r.mainChain)-1, 0)
	}
	return max(len(r.res.Heights)-1, 0)
}

// staleness finds the main chain (back from the highest tip any node has;
// ties: the lowest node ID) and counts blocks off it.
func (r *run) staleness(w *sim.World) {
	var tip consensus.Hash
	var top uint64
	for _, n := range r.miners {
		h, hash := n.Tip()
		if h > top {
			top, tip = h, hash
		}
	}
	onMain := map[consensus.Hash]bool{}
	var chain []consensus.Hash
	for h := tip; !h.IsZero(); h = r.mined[h].parent {
		onMain[h] = true
		chain = append(chain, h)
	}
	slices.Reverse(chain)
	r.mainChain = chain
	r.res.MainBlocks = make([]uint64, r.p.Validators)
	for _, h := range chain {
		r.res.MainBlocks[r.mined[h].miner]++
	}
	for i := 1; i < len(chain); i++ {
		a, b := r.mined[chain[i-1]], r.mined[chain[i]]
		r.rec.At(int64(b.at)).Sample(BlockInterval, b.at.Sub(a.at).Milliseconds())
	}
	k := uint64(r.p.Nakamoto.Confirmations)
	if k == 0 {
		k = 6
	}
	// Blocks near the tip may still be decided either way.
	limit := uint64(0)
	if top > k+6 {
		limit = top - k - 6
	}
	forked := map[uint64]bool{}
	var counted uint64
	for _, h := range r.minedSeq {
		m := r.mined[h]
		if m.height > limit {
			continue
		}
		counted++
		if !onMain[h] {
			r.res.Stale++
			forked[m.height] = true
		}
	}
	r.res.Mined = uint64(len(r.minedSeq))
	if counted > 0 {
		r.res.StaleRate = float64(r.res.Stale) / float64(counted)
	}
	if limit > 0 {
		r.res.ForkRate = float64(len(forked)) / float64(limit)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
