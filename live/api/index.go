package api

import (
	"fmt"
	"slices"
	"sync"

	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/market"
)

// Index follows a node's committed chain and keeps what the API reports of
// jobs: the ledger keeps a job's escrow only until the job settles, and
// result commitments only by (job, unit, provider), so a job's progress
// and its results are read from the committed transactions themselves.
// The node feeds it every committed block in height order (Apply, on the
// node goroutine, and again on replay after a restart); the API reads it
// from its own goroutines. Everything it holds was committed, so every
// node's index over the same chain is the same.
type Index struct {
	mu     sync.RWMutex
	height uint64
	jobs   map[chain.JobID]*indexedJob
	// settled are the closed jobs, oldest first: past MaxSettled the
	// oldest are forgotten, so the index holds the open jobs and a bounded
	// history, not every job the chain ever carried.
	settled []chain.JobID
}

// MaxSettled is how many closed jobs an Index keeps (their state and
// results); older ones answer not found, and the chain still holds them.
const MaxSettled = 4096

type indexedJob struct {
	job     Job
	results map[uint32]UnitResult // first commitment per unit
	byUnit  map[uint32][]chain.Address
	burned  uint64
}

// NewIndex returns an empty index (genesis: no jobs).
func NewIndex() *Index { return &Index{jobs: map[chain.JobID]*indexedJob{}} }

// Height is the last height applied.
func (x *Index) Height() uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.height
}

// Apply reads the committed block b at height. Heights must come in order;
// a height already applied is ignored (a replay that overlaps).
func (x *Index) Apply(height uint64, b *chain.Block) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if height <= x.height {
		return nil
	}
	if height != x.height+1 {
		return fmt.Errorf("api: index at height %d given height %d", x.height, height)
	}
	x.height = height
	for _, tx := range b.Txs {
		x.apply(height, tx)
	}
	return nil
}

func (x *Index) apply(height uint64, tx *chain.Tx) {
	switch body := tx.Body().(type) {
	case chain.JobPost:
		id := chain.JobIDFor(tx.From(), tx.Nonce)
		var units uint32
		if post, ok := market.DecodePost(body.Spec); ok {
			units = post.Spec.Units
		} else if spec, err := market.DecodeSpec(body.Spec); err == nil {
			units = spec.Units
		}
		x.jobs[id] = &indexedJob{
			job:     Job{ID: id, State: JobPending, Poster: tx.From(), Budget: body.Budget, Units: units, PostedHeight: height},
			results: map[uint32]UnitResult{}, byUnit: map[uint32][]chain.Address{}}
	case chain.ResultCommit:
		j := x.jobs[body.Job]
		if j == nil || (j.job.Units > 0 && body.Unit >= j.job.Units) {
			return // the ledger takes a commitment to any unit of a known job
		}
		if _, ok := j.results[body.Unit]; !ok {
			j.results[body.Unit] = UnitResult{Unit: body.Unit, Commitment: body.Result, Provider: tx.From()}
			j.job.Computed++
		}
		j.byUnit[body.Unit] = append(j.byUnit[body.Unit], tx.From())
		if j.job.State == JobPending {
			j.job.State = JobRunning
		}
	case chain.Settle:
		for _, r := range body.Jobs {
			x.release(height, r)
		}
	}
}

// release applies one job's settlement: the credits it paid, what it
// burned, and, when it closes the job, the refund of the rest to the
// poster (the ledger's rule, protocol/chain/escrow.go).
func (x *Index) release(height uint64, r chain.Release) {
	j := x.jobs[r.Job]
	if j == nil || j.job.State == JobDone || j.job.State == JobFailed {
		return
	}
	for _, c := range r.Pay {
		j.job.Paid += c.Amount
	}
	j.burned += r.Burn
	if !r.Close {
		return
	}
	spent := j.job.Paid + j.burned
	if spent < j.job.Budget {
		j.job.Refunded = j.job.Budget - spent
	}
	j.job.SettledHeight = height
	// A unit counts as verified when its job closed paying a provider that
	// committed a result for it: the committee pays only verified work.
	paid := map[chain.Address]bool{}
	for _, c := range r.Pay {
		paid[c.To] = true
	}
	for _, providers := range j.byUnit {
		if slices.ContainsFunc(providers, func(a chain.Address) bool { return paid[a] }) {
			j.job.Verified++
		}
	}
	// With results committed in batches (ResultRoot) the chain does not
	// say which units were verified: the job is done when its settlement
	// paid anyone, and the committee's node reports the units
	// (api.Backend overlays its view).
	j.job.State = JobDone
	if j.job.Paid == 0 {
		j.job.State = JobFailed
	}
	x.settled = append(x.settled, r.Job)
	if len(x.settled) > MaxSettled {
		delete(x.jobs, x.settled[0])
		x.settled = slices.Delete(x.settled, 0, 1)
	}
}

// Job is the indexed job id.
func (x *Index) Job(id chain.JobID) (Job, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	j := x.jobs[id]
	if j == nil {
		return Job{}, false
	}
	return j.job, true
}

// Results are the committed results of job id, by unit.
func (x *Index) Results(id chain.JobID) ([]UnitResult, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	j := x.jobs[id]
	if j == nil {
		return nil, false
	}
	out := make([]UnitResult, 0, len(j.results))
	for _, r := range j.results {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b UnitResult) int { return int(a.Unit) - int(b.Unit) })
	return out, true
}
