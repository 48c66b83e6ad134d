package chain

import (
	"encoding/binary"
	"fmt"
)

// Pruning. Without it the state grows with every job ever posted: each
// settled job keeps its record (with its spec) and the result commitment
// of every unit replica, and every block of off-chain matching its result
// root, all kept so that a slash's evidence can be judged against them.
// Evidence is judged while it can matter: Params.DisputeBlocks after a job
// is settled (its escrow reaches 0) its record and its commitments are
// pruned, and DisputeBlocks after a result root is recorded the root is.
// A slash whose evidence names a pruned record is refused (ErrBadEvidence:
// the judge finds nothing to hold it to). Kept for good: a job with model
// versions (its uses still pay its poster, and its commitments are its
// lineage), open jobs and their commitments (they hold escrow), and used
// evidence (it stops a slash from being replayed, and costs 32 bytes a
// slash, not a job).
//
// What to prune when is itself state, the expiry schedule: batches by
// height, each entry its own leaf in the state sum, written by the block
// that settles the job or records the root and consumed (marked done) by
// the block at its height. So two replicas that apply the same blocks
// prune the same records, and their roots say so.

// expiry is one record to prune: a settled job (with its commitments) or,
// with root set, a result root.
type expiry struct {
	id   Hash // a JobID in its first 16 bytes, or a result root
	root bool
}

// expiryBatch is what is pruned at one height. A batch at height h+W is
// only ever written by the block at h, which appends in place to a batch
// of its own layer (no other layer holds it yet).
type expiryBatch []expiry

func expiryLeaf(at uint64, e expiry) Hash {
	kind := byte('j')
	if e.root {
		kind = 'r'
	}
	var b [8 + 1 + 32]byte
	binary.BigEndian.PutUint64(b[:], at)
	b[8] = kind
	copy(b[9:], e.id[:])
	return leafHash(tagExpiry, b[:])
}

func jobExpiry(id JobID) expiry {
	var e expiry
	copy(e.id[:], id[:])
	return e
}

func (e expiry) job() JobID {
	var id JobID
	copy(id[:], e.id[:len(id)])
	return id
}

// expire schedules e for pruning window blocks after the block st is at;
// with window 0 nothing is ever pruned. Scratch layers (mempool checks,
// never committed) schedule nothing: what they schedule would fall due
// long after they are gone.
func (st *layer) expire(window uint64, e expiry) {
	if window == 0 || st.scratch {
		return
	}
	at := st.height + window
	st.sum.add(expiryLeaf(at, e))
	b, mine := st.expiry[at]
	if !mine {
		// Only the block at at−window schedules for at, so no parent has a
		// batch there; copy one if it does all the same.
		old, _ := lookup(st, func(l *layer) map[uint64]expiryBatch { return l.expiry }, at)
		b = append(expiryBatch(nil), old...)
		if st.expiry == nil {
			st.expiry = make(map[uint64]expiryBatch)
		}
	}
	st.expiry[at] = append(b, e)
}

// prune removes what falls due at st.height, at the start of its block.
// Scratch layers (mempool checks) prune nothing: each sender's pending
// state is a scratch layer, and pruning in every one of them cost a fifth
// of a market run's time. A transaction admitted against a record the
// next block prunes fails in that block (MakeBlock leaves it out) and
// leaves the mempool at the recheck after it, as any transaction made
// stale by a block does.
func (st *layer) prune() {
	if st.scratch {
		return
	}
	b, _ := lookup(st, func(l *layer) map[uint64]expiryBatch { return l.expiry }, st.height)
	if b == nil {
		return
	}
	for _, e := range b {
		st.sum.sub(expiryLeaf(st.height, e))
		if e.root {
			st.dropRoot(e.id)
		} else {
			st.dropJob(e.job())
		}
	}
	if st.expiry == nil {
		st.expiry = make(map[uint64]expiryBatch)
	}
	st.expiry[st.height] = nil
}

// dropJob prunes a settled job and its commitments, unless it has model
// versions.
func (st *layer) dropJob(id JobID) {
	j, ok := st.job(id)
	if !ok || j.Escrow > 0 {
		panic(fmt.Sprintf("chain: job %x scheduled for pruning at height %d is not settled", id, st.height))
	}
	if _, versions := st.version(rootKey(id)); versions {
		return
	}
	st.sum.sub(j.leaf())
	for k, c := range st.commitsOf(id) {
		st.sum.sub(commitLeaf(k, c))
	}
	if st.jobs == nil {
		st.jobs = make(map[JobID]Job)
	}
	st.jobs[id] = Job{}
	if st.commits == nil {
		st.commits = make(map[JobID]jobCommits)
	}
	st.commits[id] = nil
}

func (st *layer) dropRoot(h Hash) {
	r, ok := st.resultRoot(h)
	if !ok {
		panic(fmt.Sprintf("chain: result root %x scheduled for pruning at height %d is not recorded", h[:6], st.height))
	}
	st.sum.sub(rootLeaf(h, r))
	if st.roots == nil {
		st.roots = make(map[Hash]RootRecord)
	}
	st.roots[h] = RootRecord{}
}
