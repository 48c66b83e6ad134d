package learnrun

import (
	"fmt"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/attack"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/scenarios/netspec"
	"github.com/dais-sim/dais/sim"
	"github.com/dais-sim/dais/sim/netmodel"
)

// world is a run's simulated world: the engine over the network model of
// p's matrix (netspec.DefaultMatrix if none), recording to sink.
type world struct {
	*sim.World
	p       *Params
	net     *netmodel.Model
	regions int
	hw      []gpu.Class
	coord   *learn.Coordinator
}

func newWorld(p *Params, sink metrics.SinkFunc) (*world, error) {
	matrix := p.Matrix
	if matrix.Regions == nil {
		matrix = netspec.DefaultMatrix()
	}
	net, err := netmodel.New(matrix)
	if err != nil {
		return nil, err
	}
	w := &world{p: p, net: net, regions: len(matrix.Regions)}
	w.World = sim.New(sim.Config{
		Seed: p.Seed, Net: net, Trace: p.Trace,
		Hardware: func(id protocol.NodeID) gpu.Class { return w.hw[id] },
		Sink:     sink,
	})
	return w, nil
}

// place puts the node just added as id on the network: a region drawn
// from its placement stream, its access link and its GPU class (class ""
// draws one of p.GPUs from the same stream).
func (w *world) place(id protocol.NodeID, link netspec.Link, class string) {
	r := protocol.Stream(w.p.Seed, "placement", uint64(id))
	w.net.AddNode(r.IntN(w.regions), link)
	if class == "" {
		class = w.p.GPUs[r.IntN(len(w.p.GPUs))]
	}
	c, _ := w.p.Catalog.Lookup(class)
	w.hw = append(w.hw, c)
}

// rounds starts the world and runs it until final reports the last round
// committed (or a limit that every round fits in with all its timeouts),
// lets a committee's stragglers reach the coordinator so that a late
// dissent in the last round is recorded as in every other, stops, and
// fills res's wall time and engine counts.
func (w *world) rounds(final func() bool, committee bool, res *Result) error {
	p := w.p
	start := time.Now()
	w.Start()
	limit := protocol.Time(0).Add(protocol.Duration(p.Rounds+1) * (p.RoundTimeout + 2*p.ScoreTimeout + protocol.Minute))
	w.RunWhile(func() bool { return !final() }, limit)
	if committee && final() {
		w.RunUntil(w.Now().Add(p.ScoreTimeout))
	}
	w.Stop()
	res.Wall = time.Since(start)
	if !final() {
		return fmt.Errorf("learnrun: seed %d: only %d of %d rounds committed by %v", p.Seed, len(res.Accuracy)-1, p.Rounds, limit)
	}
	res.Events = w.Events()
	res.Sent, res.Dropped = w.Messages()
	for i := 0; i < w.Len(); i++ {
		b, _ := w.net.UplinkStats(protocol.NodeID(i))
		res.BytesSent += b
	}
	for _, id := range res.Learners {
		b, _ := w.net.UplinkStats(id)
		res.LearnerBytesSent += b
	}
	res.CoordinatorBytesSent, _ = w.net.UplinkStats(coordinator)
	res.TraceHash = w.TraceHash()
	l, job := w.coord.Ledger()
	res.Budget = w.p.budget()
	res.ChainVersions = learn.ChainVersions(l, job, chain.AddressOf(chain.KeyFor(w.p.Seed, coordinator)))
	return nil
}

// requesterID names the key of the account that posts the training job:
// no node of a run has it.
const requesterID protocol.NodeID = 1<<32 - 1

// addServers adds the coordinator (node 0: the learners, validators and
// committee given, the rule, the initial model, p's round settings, and
// the ledger its training job is posted on with p's budget) and
// the validators, validator i scoring with score(i); the colluders among
// them, drawn from the seed's "colluders" stream, inflate the attackers'
// scores (attack.InflateScores). All are placed on ServerLink and
// ServerGPU.
func (w *world) addServers(learners, validators, aggregators, attackers []protocol.NodeID, initial []float64,
	rule learn.RuleFunc, score func(i int) learn.ScoreFunc) error {
	p := w.p
	budget := p.budget()
	pot := p.Pot
	if pot == 0 {
		pot = budget / uint64(p.Rounds)
	}
	if len(validators) == 0 && p.Secure == nil {
		pot = 0 // no scores, no payouts: the whole budget is refunded
	}
	requester := chain.PubKeyOf(chain.KeyFor(p.Seed, requesterID))
	addrs := map[protocol.NodeID]chain.Address{}
	w.coord = learn.NewCoordinator(learn.CoordinatorConfig{
		Learners: learners, Validators: validators, PerRound: p.PerRound, Rounds: uint64(p.Rounds),
		Initial: initial, Rule: rule, RoundTimeout: p.RoundTimeout, ScoreTimeout: p.ScoreTimeout,
		Filter: p.Filter, MinScore: p.MinScore, Pot: pot, Aggregators: aggregators, Secure: p.secureCoordinator(),
		Chain: &learn.ChainConfig{
			Ledger: chain.Config{Params: chain.DefaultParams(), KeySeed: p.Seed,
				Genesis: []chain.Account{{Address: requester.Address(), Balance: budget}}},
			Requester: requester, Settler: chain.PubKeyOf(chain.KeyFor(p.Seed, coordinator)), Budget: budget,
			Spec: []byte(fmt.Sprintf("optdigits %s, %d rounds, %s", p.Model, p.Rounds, p.Rule)),
			// A learner's account is its simulated node key's, derived
			// once (the surrogate pays up to 10⁵ learners).
			Address: func(id protocol.NodeID) chain.Address {
				a, ok := addrs[id]
				if !ok {
					a = chain.AddressOf(chain.KeyFor(p.Seed, id))
					addrs[id] = a
				}
				return a
			},
		},
	})
	w.Add(w.coord)
	w.place(coordinator, p.ServerLink, p.ServerGPU)
	colluders := p.colluders(validators)
	for i, id := range validators {
		var n protocol.Node = learn.NewValidator(learn.ValidatorConfig{Coordinator: coordinator, Score: score(i), NormBound: p.NormBound})
		if colluders[id] {
			n = attack.InflateScores(n, attackers)
		}
		if p.econ != nil {
			n = p.econ.tap(id, n)
		}
		if got := w.Add(n); got != id {
			return fmt.Errorf("learnrun: validator got ID %d, want %d", got, id)
		}
		w.place(id, p.ServerLink, p.ServerGPU)
	}
	return nil
}

// nodeIDs are the validators' IDs, 1…V, and the providers', V+1…V+P:
// node 0 is the coordinator; Sybils and the committee come after.
func (p *Params) nodeIDs() (validators, providers []protocol.NodeID) {
	validators = make([]protocol.NodeID, p.Validators)
	for i := range validators {
		validators[i] = protocol.NodeID(1 + i)
	}
	providers = make([]protocol.NodeID, p.Providers)
	for i := range providers {
		providers[i] = protocol.NodeID(1 + p.Validators + i)
	}
	return validators, providers
}
