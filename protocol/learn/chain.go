package learn

import (
	"fmt"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
)

// The training job on a ledger. With CoordinatorConfig.Chain the
// coordinator holds a chain.Ledger, as the market committee holds one,
// and its agreement is modeled the same way: one proposer (the
// coordinator), modeled signatures (chain.Config.ModeledVerification), no
// consensus messages; here each block also commits at once, at the
// instant of the round's commit. It reuses the ledger's job machinery:
//
//	Start:        requester JobPost{Budget, Spec}             → the budget in escrow, job ID JobIDFor(requester, nonce)
//	              settler   ResultCommit{job, 0, v₀}           → the genesis version
//	              settler   VersionCommit{job, 0, v₀, parent 0} → the root of the job's version tree
//	round r:      settler   Settle{job, pay by score}          → the round's payouts out of the escrow
//	              settler   ResultCommit{job, r, v_r}          → the round's committed version
//	              settler   VersionCommit{job, r, v_r, v_{r−1}} → v_r as the child of its parent (a new version only)
//	last round:   Settle{…, Close}                             → what is left back to the requester
//
// The settler is the coordinator's account (chain.Config.Settler). Unit r
// holds the version round r committed (the same as unit r−1's when the
// round was skipped); each new version also names its parent by hash in a
// VersionCommit, which the ledger refuses unless it holds the parent for
// the job, so chain.Ledger.Lineage walks any version back to the root
// through parents the ledger checked, and the version records who may use
// it (ChainConfig.Access). Conservation (chain.Supply.Check)
// is checked after every block and a break panics, as the market
// committee's CheckSupply does.

// ChainConfig puts a coordinator's training job on a ledger.
type ChainConfig struct {
	// Ledger is the chain's configuration; Genesis must give Requester at
	// least Budget. The coordinator sets Settler, ModeledVerification and
	// MinGasPrice 0 (job transactions carry no gas fee, as market ones),
	// and with a nil Emission mints nothing.
	Ledger chain.Config
	// Requester posts the job and gets the unspent budget back; Settler is
	// the coordinator's account, which pays learners and commits versions.
	Requester, Settler chain.PubKey
	// Budget is escrowed at Start, in base units; the round pot
	// (CoordinatorConfig.Pot) defaults to Budget / Rounds.
	Budget uint64
	// Spec is the job's model spec, opaque to the ledger.
	Spec []byte
	// Address is a learner's account; nil means
	// chain.AddressOf(chain.KeyFor(Ledger.KeySeed, id)).
	Address func(protocol.NodeID) chain.Address
	// Access and Price say who may use the job's versions: open (the
	// zero value), or paid at Price base units per request (chain.Use).
	Access chain.Access
	Price  uint64
}

// OnChain is emitted by a coordinator with a ledger once a round's
// record (its payouts and its version) is committed on it.
type OnChain struct {
	Round uint64
	// Height is the block that holds the round's version.
	Height  uint64
	Version Hash
	// Paid went from the escrow to learners this round; Refunded back to
	// the requester (the last round only); Escrow is what the job holds
	// after.
	Paid, Refunded, Escrow uint64
}

// Kind implements metrics.Event.
func (OnChain) Kind() string { return "learn.on_chain" }

// creditsPerSettle bounds the credits of one round's Settle.
const creditsPerSettle = 1024

// jobChain is a coordinator's ledger and its one training job.
type jobChain struct {
	cfg     ChainConfig
	l       *chain.Ledger
	local   chain.Local
	job     chain.JobID
	settler chain.Address
	addrs   map[protocol.NodeID]chain.Address
}

func newJobChain(cfg ChainConfig) (*jobChain, error) {
	lc := cfg.Ledger
	lc.Settler = cfg.Settler.Address()
	lc.ModeledVerification = true
	lc.Params.MinGasPrice = 0
	if lc.Emission == nil {
		lc.Emission = func(uint64) uint64 { return 0 }
	}
	l, err := chain.NewLedger(lc)
	if err != nil {
		return nil, err
	}
	req := cfg.Requester.Address()
	if cfg.Budget == 0 {
		return nil, fmt.Errorf("learn: the training job's budget is 0")
	}
	if b := l.Account(req).Balance; b < cfg.Budget {
		return nil, fmt.Errorf("learn: requester %s holds %d base units, less than the budget %d", req, b, cfg.Budget)
	}
	if cfg.Address == nil {
		seed := cfg.Ledger.KeySeed
		cfg.Address = func(id protocol.NodeID) chain.Address { return chain.AddressOf(chain.KeyFor(seed, id)) }
	}
	return &jobChain{cfg: cfg, l: l, local: chain.Local{L: l, Who: "learn: the training job"}, settler: lc.Settler,
		addrs: map[protocol.NodeID]chain.Address{}}, nil
}

// post escrows the budget and records the genesis version, in two blocks
// (the job must exist before a commitment names it).
func (j *jobChain) post(env protocol.Env, v0 Hash) {
	req := j.cfg.Requester.Address()
	j.job = chain.JobIDFor(req, j.l.Account(req).Nonce)
	j.local.Submit(env.Now(), j.cfg.Requester, chain.NewJobPost(0, 0, j.cfg.Budget, j.cfg.Spec))
	j.local.Flush(env.Now())
	j.local.Submit(env.Now(), j.cfg.Settler, chain.NewResultCommit(0, 0, j.job, 0, chain.Hash(v0)))
	j.version(env.Now(), 0, v0, Hash{})
	j.local.Flush(env.Now())
	env.Emit(OnChain{Round: 0, Height: j.l.Height(), Version: v0, Escrow: j.escrow()})
}

// record pays the round's credits out of the escrow (closing the job after
// the last round) and commits its version.
func (j *jobChain) record(env protocol.Env, ev Committed, pay []credit) {
	if ev.Round > 1<<32-1 {
		panic(fmt.Sprintf("learn: round %d does not fit a work unit", ev.Round))
	}
	var cs []chain.Credit
	var paid uint64
	for _, p := range pay {
		if p.amount == 0 {
			continue
		}
		a, ok := j.addrs[p.learner]
		if !ok {
			a = j.cfg.Address(p.learner)
			j.addrs[p.learner] = a
		}
		cs = append(cs, chain.Credit{To: a, Amount: p.amount})
		paid += p.amount
	}
	before := j.escrow()
	for len(cs) > 0 || ev.Final {
		n := min(len(cs), creditsPerSettle)
		r := chain.Release{Job: j.job, Close: ev.Final && n == len(cs)}
		if n > 0 {
			r.Pay = cs[:n:n]
		}
		cs = cs[n:]
		j.local.Submit(env.Now(), j.cfg.Settler, chain.NewSettle(0, 0, r))
		if r.Close {
			break
		}
	}
	j.local.Submit(env.Now(), j.cfg.Settler, chain.NewResultCommit(0, 0, j.job, uint32(ev.Round), chain.Hash(ev.Version)))
	if !ev.Skipped {
		j.version(env.Now(), uint32(ev.Round), ev.Version, ev.Parent)
	}
	j.local.Flush(env.Now())
	after := j.escrow()
	env.Emit(OnChain{Round: ev.Round, Height: j.l.Height(), Version: ev.Version, Paid: paid, Refunded: before - paid - after, Escrow: after})
}

// version commits v as the child of parent (the zero Hash for the root),
// with the job's access rule.
func (j *jobChain) version(now protocol.Time, unit uint32, v, parent Hash) {
	j.local.Submit(now, j.cfg.Settler, chain.NewVersionCommit(0, 0, chain.VersionCommit{Job: j.job, Unit: unit,
		Version: chain.Hash(v), Parent: chain.Hash(parent), Access: j.cfg.Access, Price: j.cfg.Price}))
}

// credit is one learner's payout of a round.
type credit struct {
	learner protocol.NodeID
	amount  uint64
}

func (j *jobChain) escrow() uint64 {
	job, _ := j.l.Job(j.job)
	return job.Escrow
}

// ChainVersions reads a training job's versions from a ledger: the
// result settler committed for units 0, 1, … up to the first missing.
func ChainVersions(l *chain.Ledger, job chain.JobID, settler chain.Address) []Hash {
	var vs []Hash
	for u := uint32(0); ; u++ {
		c, ok := l.Commitment(job, u, settler)
		if !ok {
			return vs
		}
		vs = append(vs, Hash(c.Result))
	}
}
