package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// The ledger state is a set of records (accounts, escrowed jobs, result
// commitments, unbonding batches, proposals, votes, used evidence, result
// roots, and the schedule that prunes settled jobs and old roots: prune.go)
// plus a few counters. Its root must change whenever any record does, and cost
// little per block however many accounts exist. Hashing the sorted state
// after every block would cost O(accounts) per block per node, far too much
// for simulations with 10⁵ accounts and 10³ validators, so the root is an
// incremental multiset hash (AdHash, Bellare–Micciancio 1997):
//
//	sum  = Σ over records of SHA-256(tag ‖ key ‖ value)  (mod 2²⁵⁶)
//	root = SHA-256("dais/state/v1" ‖ sum ‖ height ‖ minted ‖ burned ‖ next proposal)
//
// A write subtracts the record's old leaf and adds its new one: O(1) per
// write, and independent of the order in which records were written, so two
// nodes that reach the same state get the same root. Its weakness is
// Wagner's generalized-birthday attack on additive hashes, which needs
// adversarially chosen records in astronomical numbers: fine for detecting
// divergence and forged blocks in a simulator, not for a production chain
// (where a Merkle tree would also give proofs). recomputeRoot rebuilds the
// sum from scratch; tests hold the incremental root to it.

// Record tags in leaf hashes.
const (
	tagAccount  = 'a'
	tagJob      = 'j'
	tagCommit   = 'c'
	tagUnbond   = 'u'
	tagProposal = 'p'
	tagVote     = 'v'
	tagEvidence = 'e'
	tagVersion  = 'm'
	tagRoot     = 'r'
	tagExpiry   = 'x'
)

// acc256 is a 256-bit accumulator, little-endian limbs, arithmetic mod 2²⁵⁶.
type acc256 [4]uint64

func (a *acc256) add(h Hash) {
	var c uint64
	for i := range 4 {
		a[i], c = bits.Add64(a[i], binary.LittleEndian.Uint64(h[8*i:]), c)
	}
}

func (a *acc256) sub(h Hash) {
	var b uint64
	for i := range 4 {
		a[i], b = bits.Sub64(a[i], binary.LittleEndian.Uint64(h[8*i:]), b)
	}
}

// leafHash returns SHA-256(tag ‖ parts…).
func leafHash(tag byte, parts ...[]byte) Hash {
	h := sha256.New()
	h.Write([]byte{tag})
	for _, p := range parts {
		h.Write(p)
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

func u64(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }

// lenPrefixed makes variable-length fields unambiguous inside a leaf.
func lenPrefixed(p []byte) []byte { return append(u64(uint64(len(p))), p...) }

// Account is an account's state. Genesis lists Accounts; Ledger.Account
// returns one.
type Account struct {
	Address Address
	Balance uint64 // spendable, base units
	Stake   uint64 // bonded, base units
	Nonce   uint64 // the nonce of the account's next transaction
}

// acct is an account record with its cached leaf hash.
type acct struct {
	Balance, Stake, Nonce uint64
	leaf                  Hash
}

func accountLeaf(a Address, v acct) Hash {
	var b [1 + AddressSize + 24]byte
	b[0] = tagAccount
	copy(b[1:], a[:])
	binary.BigEndian.PutUint64(b[1+AddressSize:], v.Balance)
	binary.BigEndian.PutUint64(b[9+AddressSize:], v.Stake)
	binary.BigEndian.PutUint64(b[17+AddressSize:], v.Nonce)
	return sha256.Sum256(b[:])
}

// Job is an escrowed job. Its ID is never zero (JobIDFor is a hash): a
// layer marks a pruned job with the zero Job.
type Job struct {
	ID     JobID
	Poster Address
	Escrow uint64 // base units locked
	Posted uint64 // height
	Spec   []byte
}

func (j Job) leaf() Hash {
	return leafHash(tagJob, j.ID[:], j.Poster[:], u64(j.Escrow), u64(j.Posted), lenPrefixed(j.Spec))
}

// Commitment is a recorded result commitment.
type Commitment struct {
	Result Hash
	Height uint64
}

type commitKey struct {
	Job      JobID
	Unit     uint32
	Provider Address
}

// unitKey is a commitment's key within its job's.
type unitKey struct {
	Unit     uint32
	Provider Address
}

// jobCommits are one job's commitments in one layer. A job's commitments
// are kept together so that pruning the job can find them all; a nil
// value in a layer marks them pruned.
type jobCommits map[unitKey]Commitment

func commitLeaf(k commitKey, c Commitment) Hash {
	return leafHash(tagCommit, k.Job[:], binary.BigEndian.AppendUint32(nil, k.Unit), k.Provider[:], c.Result[:], u64(c.Height))
}

// unbonding is one account's tokens waiting to return to its balance.
type unbonding struct {
	Address Address
	Amount  uint64
}

// unbondBatch is what returns at one height, in the order it was unstaked.
// Batches are replaced, never changed in place, so layers can share them.
type unbondBatch []unbonding

func batchLeaf(release uint64, b unbondBatch) Hash {
	parts := [][]byte{u64(release)}
	for _, u := range b {
		parts = append(parts, u.Address[:], u64(u.Amount))
	}
	return leafHash(tagUnbond, parts...)
}

// ProposalRecord is a governance proposal as recorded.
type ProposalRecord struct {
	ID       uint64
	Proposer Address
	Body     []byte
	// Votes are valid in blocks Start … End−1.
	Start, End uint64
}

func (p ProposalRecord) leaf() Hash {
	return leafHash(tagProposal, u64(p.ID), p.Proposer[:], u64(p.Start), u64(p.End), lenPrefixed(p.Body))
}

type voteKey struct {
	Proposal uint64
	Voter    Address
}

func voteLeaf(k voteKey, c Choice) Hash {
	return leafHash(tagVote, u64(k.Proposal), k.Voter[:], []byte{byte(c)})
}

func evidenceLeaf(h Hash) Hash { return leafHash(tagEvidence, h[:]) }

func rootLeaf(root Hash, r RootRecord) Hash {
	return leafHash(tagRoot, root[:], binary.BigEndian.AppendUint32(nil, r.Count), u64(r.Height))
}

// layer is the state, or changes on top of a parent layer: the committed
// state is a layer without parent; a block being checked or built, or a
// mempool check, writes to a child layer, so the committed state is never
// touched until Commit, and a rejected block costs only its own writes.
// Reads walk up the parents (a chain as long as the unfinalized blocks).
// Maps are made on first write.
type layer struct {
	parent *layer

	accounts  map[Address]acct
	jobs      map[JobID]Job          // zero Job: pruned
	commits   map[JobID]jobCommits   // nil value: pruned
	unbond    map[uint64]unbondBatch // nil value: released
	proposals map[uint64]ProposalRecord
	votes     map[voteKey]Choice
	evidence  map[Hash]bool
	versions  map[versionKey]VersionRecord
	roots     map[Hash]RootRecord    // zero record: pruned
	expiry    map[uint64]expiryBatch // nil value: done

	// Counters: the whole state's values, not differences.
	sum          acc256
	height       uint64
	minted       uint64
	burned       uint64
	nextProposal uint64

	// fees collected by the block being applied; paid out at its end.
	fees uint64
	// scratch layers (mempool checks) are never committed: they keep no
	// state sum, which saves a leaf hash per write.
	scratch bool
}

func newBase() *layer { return &layer{nextProposal: 1} }

// child returns an empty layer on top of l.
func (l *layer) child() *layer {
	return &layer{parent: l, sum: l.sum, height: l.height, minted: l.minted, burned: l.burned,
		nextProposal: l.nextProposal, fees: l.fees, scratch: l.scratch}
}

// root returns the state root.
func (l *layer) root() Hash {
	var b [13 + 32 + 32]byte
	copy(b[:], "dais/state/v1")
	for i, x := range l.sum {
		binary.LittleEndian.PutUint64(b[13+8*i:], x)
	}
	binary.BigEndian.PutUint64(b[45:], l.height)
	binary.BigEndian.PutUint64(b[53:], l.minted)
	binary.BigEndian.PutUint64(b[61:], l.burned)
	binary.BigEndian.PutUint64(b[69:], l.nextProposal)
	return sha256.Sum256(b[:])
}

// lookup walks l and its parents for key k in the map that m selects.
func lookup[K comparable, V any](l *layer, m func(*layer) map[K]V, k K) (V, bool) {
	for ; l != nil; l = l.parent {
		if v, ok := m(l)[k]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

func (l *layer) account(a Address) acct {
	v, _ := lookup(l, func(l *layer) map[Address]acct { return l.accounts }, a)
	return v
}

func (l *layer) setAccount(a Address, v acct) {
	if !l.scratch {
		old, existed := lookup(l, func(l *layer) map[Address]acct { return l.accounts }, a)
		if existed {
			l.sum.sub(old.leaf)
		}
		v.leaf = accountLeaf(a, v)
		l.sum.add(v.leaf)
	}
	if l.accounts == nil {
		l.accounts = make(map[Address]acct)
	}
	l.accounts[a] = v
}

func (l *layer) job(id JobID) (Job, bool) {
	j, ok := lookup(l, func(l *layer) map[JobID]Job { return l.jobs }, id)
	return j, ok && j.ID != JobID{}
}

func (l *layer) setJob(j Job) {
	if !l.scratch {
		if old, ok := l.job(j.ID); ok {
			l.sum.sub(old.leaf())
		}
		l.sum.add(j.leaf())
	}
	if l.jobs == nil {
		l.jobs = make(map[JobID]Job)
	}
	l.jobs[j.ID] = j
}

func (l *layer) commit(k commitKey) (Commitment, bool) {
	u := unitKey{k.Unit, k.Provider}
	for ; l != nil; l = l.parent {
		if m, ok := l.commits[k.Job]; ok {
			if m == nil {
				break // pruned
			}
			if c, ok := m[u]; ok {
				return c, true
			}
		}
	}
	return Commitment{}, false
}

// addCommit records a new commitment (commitments are never changed).
func (l *layer) addCommit(k commitKey, c Commitment) {
	if !l.scratch {
		l.sum.add(commitLeaf(k, c))
	}
	if l.commits == nil {
		l.commits = make(map[JobID]jobCommits)
	}
	m := l.commits[k.Job]
	if m == nil { // none in this layer, or pruned here (then the job is gone and no commitment gets here)
		m = make(jobCommits)
		l.commits[k.Job] = m
	}
	m[unitKey{k.Unit, k.Provider}] = c
}

// commitsOf returns every commitment of a job seen from l, by key. The
// result is fresh.
func (l *layer) commitsOf(job JobID) map[commitKey]Commitment {
	out := map[commitKey]Commitment{}
	for ; l != nil; l = l.parent {
		m, ok := l.commits[job]
		if ok && m == nil {
			break
		}
		for u, c := range m {
			k := commitKey{job, u.Unit, u.Provider}
			if _, shadowed := out[k]; !shadowed {
				out[k] = c
			}
		}
	}
	return out
}

// addRecord writes a record that is never changed into the map m points
// to, adding its leaf to the state sum (not in a scratch layer).
func addRecord[K comparable, V any](l *layer, m *map[K]V, k K, v V, leaf func() Hash) {
	if !l.scratch {
		l.sum.add(leaf())
	}
	if *m == nil {
		*m = make(map[K]V)
	}
	(*m)[k] = v
}

func (l *layer) batch(release uint64) unbondBatch {
	b, _ := lookup(l, func(l *layer) map[uint64]unbondBatch { return l.unbond }, release)
	return b
}

// setBatch replaces the batch at release; nil removes it.
func (l *layer) setBatch(release uint64, b unbondBatch) {
	if !l.scratch {
		if old := l.batch(release); old != nil {
			l.sum.sub(batchLeaf(release, old))
		}
		if b != nil {
			l.sum.add(batchLeaf(release, b))
		}
	}
	if l.unbond == nil {
		l.unbond = make(map[uint64]unbondBatch)
	}
	l.unbond[release] = b
}

func (l *layer) proposal(id uint64) (ProposalRecord, bool) {
	return lookup(l, func(l *layer) map[uint64]ProposalRecord { return l.proposals }, id)
}

// addProposal records a new proposal under the next number.
func (l *layer) addProposal(p ProposalRecord) {
	if !l.scratch {
		l.sum.add(p.leaf())
	}
	if l.proposals == nil {
		l.proposals = make(map[uint64]ProposalRecord)
	}
	l.proposals[p.ID] = p
	l.nextProposal++
}

func (l *layer) vote(k voteKey) (Choice, bool) {
	return lookup(l, func(l *layer) map[voteKey]Choice { return l.votes }, k)
}

func (l *layer) setVote(k voteKey, c Choice) {
	if !l.scratch {
		if old, ok := l.vote(k); ok {
			l.sum.sub(voteLeaf(k, old))
		}
		l.sum.add(voteLeaf(k, c))
	}
	if l.votes == nil {
		l.votes = make(map[voteKey]Choice)
	}
	l.votes[k] = c
}

func (l *layer) evidenceUsed(h Hash) bool {
	_, ok := lookup(l, func(l *layer) map[Hash]bool { return l.evidence }, h)
	return ok
}

func (l *layer) useEvidence(h Hash) {
	addRecord(l, &l.evidence, h, true, func() Hash { return evidenceLeaf(h) })
}

func (l *layer) resultRoot(h Hash) (RootRecord, bool) {
	r, ok := lookup(l, func(l *layer) map[Hash]RootRecord { return l.roots }, h)
	return r, ok && r.Count > 0
}

// addResultRoot records a new result batch (never changed).
func (l *layer) addResultRoot(h Hash, r RootRecord) {
	addRecord(l, &l.roots, h, r, func() Hash { return rootLeaf(h, r) })
}

// flushInto writes l's records and counters into its parent p: the parent
// becomes the state l describes.
func (l *layer) flushInto(p *layer) {
	if l.scratch {
		panic("chain: a scratch layer flushed into the state")
	}
	base := p.parent == nil // the base keeps no markers of what is gone
	flush(l.accounts, &p.accounts)
	flushMarked(l.jobs, &p.jobs, base, func(j Job) bool { return j.ID == JobID{} })
	flushCommits(l.commits, &p.commits, base)
	flush(l.proposals, &p.proposals)
	flush(l.votes, &p.votes)
	flush(l.evidence, &p.evidence)
	flush(l.versions, &p.versions)
	flushMarked(l.roots, &p.roots, base, func(r RootRecord) bool { return r.Count == 0 })
	flushMarked(l.unbond, &p.unbond, base, func(b unbondBatch) bool { return b == nil })
	flushMarked(l.expiry, &p.expiry, base, func(b expiryBatch) bool { return b == nil })
	p.sum, p.height, p.minted, p.burned, p.nextProposal, p.fees = l.sum, l.height, l.minted, l.burned, l.nextProposal, l.fees
}

// flush copies every entry of from into *to. Entries are independent, so the
// map's order does not matter.
func flush[K comparable, V any](from map[K]V, to *map[K]V) {
	if len(from) == 0 {
		return
	}
	if *to == nil {
		*to = make(map[K]V, len(from))
	}
	for k, v := range from {
		(*to)[k] = v
	}
}

// flushMarked is flush for a map whose values marked gone delete the
// parent's entry when the parent is the base (other layers keep the mark,
// to shadow their own parents).
func flushMarked[K comparable, V any](from map[K]V, to *map[K]V, base bool, gone func(V) bool) {
	if len(from) == 0 {
		return
	}
	if *to == nil {
		*to = make(map[K]V, len(from))
	}
	for k, v := range from {
		if base && gone(v) {
			delete(*to, k)
		} else {
			(*to)[k] = v
		}
	}
}

// flushCommits merges a layer's commitments into its parent's, job by
// job: a job's commitments are spread over the layers that recorded them.
func flushCommits(from map[JobID]jobCommits, to *map[JobID]jobCommits, base bool) {
	if len(from) == 0 {
		return
	}
	if *to == nil {
		*to = make(map[JobID]jobCommits, len(from))
	}
	for j, m := range from {
		switch have, ok := (*to)[j]; {
		case m == nil && base:
			delete(*to, j)
		case m == nil || !ok || have == nil:
			(*to)[j] = m // a mark, or the first of this job here (the job was not pruned: it got a commitment after)
		default:
			for u, c := range m {
				have[u] = c
			}
		}
	}
}

// merged returns every record of the map m selects, seen from l: child
// layers shadow their parents. For whole-state walks (supply, root
// recomputation), not for the hot path. The result is read-only: for a
// layer without parent it is the layer's own map.
func merged[K comparable, V any](l *layer, m func(*layer) map[K]V) map[K]V {
	if l.parent == nil {
		return m(l)
	}
	out := map[K]V{}
	for ; l != nil; l = l.parent {
		for k, v := range m(l) {
			if _, shadowed := out[k]; !shadowed {
				out[k] = v
			}
		}
	}
	return out
}

// recomputeRoot rebuilds the state root from every record, ignoring the
// incremental sum: the oracle the incremental root is tested against.
func (l *layer) recomputeRoot() Hash {
	var sum acc256
	for a, v := range merged(l, func(l *layer) map[Address]acct { return l.accounts }) {
		sum.add(accountLeaf(a, v))
	}
	for _, j := range merged(l, func(l *layer) map[JobID]Job { return l.jobs }) {
		if j.ID != (JobID{}) {
			sum.add(j.leaf())
		}
	}
	for job := range merged(l, func(l *layer) map[JobID]jobCommits { return l.commits }) {
		for k, c := range l.commitsOf(job) {
			sum.add(commitLeaf(k, c))
		}
	}
	for r, b := range merged(l, func(l *layer) map[uint64]unbondBatch { return l.unbond }) {
		if b != nil {
			sum.add(batchLeaf(r, b))
		}
	}
	for _, p := range merged(l, func(l *layer) map[uint64]ProposalRecord { return l.proposals }) {
		sum.add(p.leaf())
	}
	for k, c := range merged(l, func(l *layer) map[voteKey]Choice { return l.votes }) {
		sum.add(voteLeaf(k, c))
	}
	for h := range merged(l, func(l *layer) map[Hash]bool { return l.evidence }) {
		sum.add(evidenceLeaf(h))
	}
	for _, v := range merged(l, func(l *layer) map[versionKey]VersionRecord { return l.versions }) {
		sum.add(v.leaf())
	}
	for h, r := range merged(l, func(l *layer) map[Hash]RootRecord { return l.roots }) {
		if r.Count > 0 {
			sum.add(rootLeaf(h, r))
		}
	}
	for at, b := range merged(l, func(l *layer) map[uint64]expiryBatch { return l.expiry }) {
		for _, e := range b {
			sum.add(expiryLeaf(at, e))
		}
	}
	c := *l
	c.sum = sum
	return c.root()
}
