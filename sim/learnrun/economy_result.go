package learnrun

import (
	"math"
	"slices"
	"time"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/economy"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/protocol/yuma"
)

// EconomyResult is what the data economy measured and paid over a run.
// Token amounts are base units, all rounds together.
type EconomyResult struct {
	Data       []DataResult
	Learners   []LearnerResult
	Validators []ValidatorResult
	// Pools paid, the treasury's part, and what requests paid (Revenue,
	// part of the pools) in Requests requests.
	Compute, DataPaid, Validation, Treasury, Revenue uint64
	Requests                                         uint64
	// Registered rows, Duplicates found among them, Candidates the LSH
	// index checked exactly.
	Registered, Duplicates, Candidates int
	// Valuation's cost and accuracy: models trained, host time, marginal
	// contributions truncated, the whole market's validation gain, and the
	// Monte Carlo estimate's error against exact Shapley (NaN when not
	// computed) relative to the mean absolute exact value.
	Trainings            int
	ValuationWall        time.Duration
	Truncated            int
	FullGain             float64
	MCMaxErr, MCRMSErr   float64
	Permutations, Budget int
	// Versions is how many model versions the accountant's ledger holds;
	// Lineage whether the newest walks back to the root through checked
	// parents, one per new version.
	Versions int
	Lineage  bool
	// The cabal: its items' share of the weight before clipping (prerank)
	// and after (incentive), averaged over rounds, for the compute
	// consensus (the colluders' inflated learners) and the objective data
	// consensus (the cabal's data sets); its validators' stake share among
	// the automated validators and their share of what those earned.
	CabalComputeBefore, CabalComputeAfter float64
	CabalDataBefore, CabalDataAfter       float64
	CabalStake, CabalEarned               float64
	// Rounds are the accountant's outcomes, round 1 first.
	Rounds []economy.Outcome
}

// DataResult is one data provider's data set, value and earnings.
type DataResult struct {
	ID    protocol.NodeID
	Group string
	// Copy and Colluding as specified; Source the provider a copy copies.
	Copy, Colluding bool
	Source          protocol.NodeID
	// Rows registered, Unique after deduplication, of which Noisy carry a
	// wrong label; Copied the registered rows that duplicate another
	// provider's.
	Rows, Unique, Noisy, Copied int
	// Value on the validation rows: LOO, Shapley (Monte Carlo) and its
	// standard error, Exact (NaN unless computed); Truth the value on the
	// test rows (see valuation).
	LOO, Shapley, StdErr, Exact, Truth float64
	Tokens                             uint64
}

// LearnerResult is one compute provider's earnings.
type LearnerResult struct {
	ID     protocol.NodeID
	Lazy   bool // an attacker (free rider) of the run
	Tokens uint64
}

// ValidatorResult is one validator's stake, work and earnings.
type ValidatorResult struct {
	ID              protocol.NodeID
	Group           string
	Human, Colluder bool
	Stake, Tokens   uint64
	// Human validators: rows checked and what that cost them.
	Checked int
	Cost    uint64
	// Trust is the mean share of its weight that survived clipping (Yuma
	// validator trust) in the consensus it takes part in: compute for the
	// automated, human for the humans.
	Trust float64
}

func (e *economyRun) result(res *Result) *EconomyResult {
	sp := e.spec
	out := &EconomyResult{Rounds: e.rounds, Registered: e.reg.Rows, Duplicates: e.reg.Duplicates, Candidates: e.reg.Candidates,
		Trainings: e.value.trainings, ValuationWall: e.value.wall, Truncated: e.value.truncated, FullGain: e.value.full,
		Permutations: sp.Value.Permutations}
	out.MCMaxErr, out.MCRMSErr = e.value.mcError()
	paid := map[rewards.Account]uint64{}
	for _, r := range e.rounds {
		p := r.Payout
		for _, x := range []struct {
			list []rewards.Payment
			sum  *uint64
		}{{p.Compute, &out.Compute}, {p.Data, &out.DataPaid}, {p.Validators, &out.Validation}} {
			for _, pay := range x.list {
				paid[pay.To] += uint64(pay.Amount)
				*x.sum += uint64(pay.Amount)
			}
		}
		out.Treasury += uint64(p.Treasury)
		out.Revenue += r.Revenue
	}
	tokens := func(id protocol.NodeID) uint64 { return paid[rewards.NodeAccount(id)] }
	for i, ds := range sp.Data {
		s := e.reg.sets[i]
		d := DataResult{ID: dataBase + protocol.NodeID(i), Group: ds.Group, Copy: ds.CopyOf >= 0, Colluding: ds.Colluding,
			Rows: s.data.Len(), Unique: s.unique.Len(), Noisy: s.noisy,
			LOO: e.value.loo[i], Shapley: e.value.shapley[i], StdErr: e.value.stderr[i], Exact: math.NaN(), Truth: e.value.truth[i]}
		for j, k := range s.copiedFrom {
			if j != i {
				d.Copied += k
			}
		}
		if e.value.exact != nil {
			d.Exact = e.value.exact[i]
		}
		if ds.CopyOf >= 0 {
			d.Source = dataBase + protocol.NodeID(ds.CopyOf)
		}
		d.Tokens = tokens(d.ID)
		out.Data = append(out.Data, d)
	}
	for _, id := range e.learners {
		_, lazy := slices.BinarySearch(res.Attackers, id)
		out.Learners = append(out.Learners, LearnerResult{ID: id, Lazy: lazy, Tokens: tokens(id)})
	}
	trust := func(pick func(economy.Outcome) yuma.Epoch, k int) float64 {
		var s float64
		n := 0
		for _, r := range e.rounds {
			if ep := pick(r); ep.ValidatorTrust != nil {
				s += ep.ValidatorTrust[k]
				n++
			}
		}
		return s / float64(max(n, 1))
	}
	var stake, cabalStake, earned, cabalEarned float64
	for k, id := range e.validators {
		v := ValidatorResult{ID: id, Group: "validators", Colluder: e.colluding[id], Stake: sp.Stakes[k], Tokens: tokens(id),
			Trust: trust(func(o economy.Outcome) yuma.Epoch { return o.Compute }, k)}
		out.Validators = append(out.Validators, v)
		stake += float64(v.Stake)
		earned += float64(v.Tokens)
		if v.Colluder {
			cabalStake += float64(v.Stake)
			cabalEarned += float64(v.Tokens)
		}
	}
	if stake > 0 && earned > 0 {
		out.CabalStake, out.CabalEarned = cabalStake/stake, cabalEarned/earned
	}
	for i, h := range sp.Humans {
		id := humanBase + protocol.NodeID(i)
		out.Validators = append(out.Validators, ValidatorResult{ID: id, Group: h.Group, Human: true, Stake: h.Stake, Tokens: tokens(id),
			Checked: e.humans[i].checked, Cost: e.humans[i].cost,
			Trust: trust(func(o economy.Outcome) yuma.Epoch { return o.Human }, i)})
	}
	lazy := make([]bool, len(e.learners))
	for j, l := range out.Learners {
		lazy[j] = l.Lazy
	}
	cabalData := make([]bool, len(sp.Data))
	for d, ds := range sp.Data {
		cabalData[d] = ds.Colluding
	}
	out.CabalComputeBefore, out.CabalComputeAfter = cabalShares(e.rounds, lazy, func(o economy.Outcome) yuma.Epoch { return o.Compute })
	out.CabalDataBefore, out.CabalDataAfter = cabalShares(e.rounds, cabalData, func(o economy.Outcome) yuma.Epoch { return o.Objective })
	l, job := e.acct.Ledger()
	vs := l.Versions(job)
	out.Versions = len(vs)
	for _, v := range vs {
		out.Requests += v.Uses
	}
	if n := len(res.Versions); n > 0 {
		lin, err := l.Lineage(job, chain.Hash(res.Versions[n-1]))
		out.Lineage = err == nil && len(lin) == len(vs)
	}
	return out
}

// cabalShares are the members' share of the prerank and of the incentive,
// averaged over the rounds whose consensus ran (NaN with no member).
func cabalShares(rounds []economy.Outcome, member []bool, pick func(economy.Outcome) yuma.Epoch) (before, after float64) {
	if !slices.Contains(member, true) {
		return math.NaN(), math.NaN()
	}
	n := 0
	for _, r := range rounds {
		ep := pick(r)
		if ep.Prerank == nil {
			continue
		}
		var pre, inc, preAll float64
		for j, m := range member {
			preAll += ep.Prerank[j]
			if m {
				pre += ep.Prerank[j]
				inc += ep.Incentive[j]
			}
		}
		if preAll > 0 {
			before += pre / preAll
			after += inc
			n++
		}
	}
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	return before / float64(n), after / float64(n)
}
