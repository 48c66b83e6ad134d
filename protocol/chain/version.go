package chain

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// Model versions. A training job's versions form a tree on the ledger:
// each VersionCommit names its parent by hash, and the ledger refuses a
// parent it does not hold for the job, so the lineage of any version can
// be walked back to the job's root from the state alone (Lineage), not
// inferred from the order units were committed in. Who may use a version
// is recorded with it: Open, or Paid at Price base units per request,
// which a Use transaction pays — into the job's escrow while the job is
// open (the contributors are paid from it), to the job's poster once it
// is closed.

// ErrVersionParent is a VersionCommit whose parent the ledger does not
// hold for the job (or a second root).
var ErrVersionParent = errors.New("chain: unknown parent version")

// Access says who may use a model version.
type Access uint8

// Access rules.
const (
	AccessOpen Access = iota // anyone, free (a Use records the request)
	AccessPaid               // Price base units per request
	numAccess
)

func (a Access) String() string {
	switch a {
	case AccessOpen:
		return "open"
	case AccessPaid:
		return "paid"
	}
	return fmt.Sprintf("Access(%d)", uint8(a))
}

// Transaction types of model versions (numbered after the others).
type (
	// VersionCommit records Version, a model version of Job closed in work
	// unit Unit (a federated round), as the child of Parent: the zero
	// Hash for the job's root, which must come first and only once. Only
	// Config.Settler may send one.
	VersionCommit struct {
		_       struct{} `cbor:",toarray"`
		Job     JobID
		Unit    uint32
		Version Hash
		Parent  Hash
		Access  Access
		Price   uint64
	}
	// Use is one request to a model version: the sender pays the
	// version's Price (nothing when open) and the version's use count
	// grows by one.
	Use struct {
		_       struct{} `cbor:",toarray"`
		Job     JobID
		Version Hash
	}
)

// NewVersionCommit returns an unsigned version commitment.
func NewVersionCommit(nonce, fee uint64, v VersionCommit) Tx { return NewTx(TxVersion, nonce, fee, v) }

// NewUse returns an unsigned request to a version.
func NewUse(nonce, fee uint64, job JobID, version Hash) Tx {
	return NewTx(TxUse, nonce, fee, Use{Job: job, Version: version})
}

// VersionRecord is a committed version as the ledger holds it.
type VersionRecord struct {
	Job             JobID
	Version, Parent Hash
	Unit            uint32
	Access          Access
	Price           uint64
	// Height is the block it was committed in; Uses the requests made to
	// it so far, Paid what they paid.
	Height, Uses, Paid uint64
}

type versionKey struct {
	Job     JobID
	Version Hash
}

// rootKey is where a job's root is noted: under the zero version, a
// record whose Parent is the root's hash (a version is never zero).
func rootKey(job JobID) versionKey { return versionKey{Job: job} }

func (v VersionRecord) leaf() Hash {
	return leafHash(tagVersion, v.Job[:], v.Version[:], v.Parent[:], u64(uint64(v.Unit)), []byte{byte(v.Access)},
		u64(v.Price), u64(v.Height), u64(v.Uses), u64(v.Paid))
}

func (l *layer) version(k versionKey) (VersionRecord, bool) {
	return lookup(l, func(l *layer) map[versionKey]VersionRecord { return l.versions }, k)
}

func (l *layer) setVersion(k versionKey, v VersionRecord) {
	if old, ok := l.version(k); ok {
		l.sum.sub(old.leaf())
	}
	l.sum.add(v.leaf())
	if l.versions == nil {
		l.versions = make(map[versionKey]VersionRecord)
	}
	l.versions[k] = v
}

// checkVersion checks a version commitment against st without writing.
func (l *Ledger) checkVersion(st *layer, from Address, b VersionCommit) error {
	if l.cfg.Settler == (Address{}) || from != l.cfg.Settler {
		return fmt.Errorf("%w: %s may not commit model versions", ErrBadTx, from)
	}
	if _, ok := st.job(b.Job); !ok {
		return fmt.Errorf("%w %x", ErrUnknownJob, b.Job)
	}
	switch {
	case b.Version == (Hash{}):
		return fmt.Errorf("%w: the zero version", ErrBadTx)
	case b.Access >= numAccess:
		return fmt.Errorf("%w: access %d", ErrBadTx, b.Access)
	case (b.Access == AccessPaid) != (b.Price > 0):
		return fmt.Errorf("%w: %s access at price %d", ErrBadTx, b.Access, b.Price)
	}
	if _, ok := st.version(versionKey{b.Job, b.Version}); ok {
		return fmt.Errorf("%w: version %x of job %x", ErrDuplicate, b.Version[:6], b.Job)
	}
	_, hasRoot := st.version(rootKey(b.Job))
	if b.Parent == (Hash{}) {
		if hasRoot {
			return fmt.Errorf("%w: job %x has a root version already", ErrVersionParent, b.Job)
		}
		return nil
	}
	if _, ok := st.version(versionKey{b.Job, b.Parent}); !ok {
		return fmt.Errorf("%w: %x is no version of job %x", ErrVersionParent, b.Parent[:6], b.Job)
	}
	return nil
}

// applyVersion records a checked version commitment.
func applyVersion(st *layer, b VersionCommit) {
	st.setVersion(versionKey{b.Job, b.Version}, VersionRecord{Job: b.Job, Version: b.Version, Parent: b.Parent, Unit: b.Unit,
		Access: b.Access, Price: b.Price, Height: st.height})
	if b.Parent == (Hash{}) {
		st.setVersion(rootKey(b.Job), VersionRecord{Job: b.Job, Parent: b.Version, Height: st.height})
	}
}

// checkUse returns what a use costs the sender besides the fee.
func checkUse(st *layer, b Use) (uint64, error) {
	v, ok := st.version(versionKey{b.Job, b.Version})
	if !ok || b.Version == (Hash{}) {
		return 0, fmt.Errorf("%w: %x is no version of job %x", ErrVersionParent, b.Version[:6], b.Job)
	}
	if _, carry := bits.Add64(v.Paid, v.Price, 0); carry != 0 {
		return 0, fmt.Errorf("%w: version %x has been paid %d", ErrOverflow, b.Version[:6], v.Paid)
	}
	return v.Price, nil
}

// applyUse counts a checked use and pays its price: into the job's
// escrow while the job is open, to its poster once it is closed.
func applyUse(st *layer, b Use) {
	k := versionKey{b.Job, b.Version}
	v, _ := st.version(k)
	v.Uses++
	v.Paid += v.Price
	st.setVersion(k, v)
	if v.Price == 0 {
		return
	}
	j, _ := st.job(b.Job)
	if j.Escrow > 0 {
		j.Escrow += v.Price
		st.setJob(j)
		return
	}
	p := st.account(j.Poster)
	p.Balance += v.Price
	st.setAccount(j.Poster, p)
}

// Version returns a model version of a job.
func (l *Ledger) Version(job JobID, version Hash) (VersionRecord, bool) {
	if version == (Hash{}) {
		return VersionRecord{}, false
	}
	return l.base.version(versionKey{job, version})
}

// Lineage is the chain of versions from the job's root to head, root
// first, walked through the parents the ledger checked.
func (l *Ledger) Lineage(job JobID, head Hash) ([]VersionRecord, error) {
	var out []VersionRecord
	for h := head; h != (Hash{}); {
		v, ok := l.Version(job, h)
		if !ok {
			return nil, fmt.Errorf("%w: %x is no version of job %x", ErrVersionParent, h[:6], job)
		}
		out = append(out, v)
		h = v.Parent
	}
	slices.Reverse(out)
	return out, nil
}

// Versions are every version of a job the ledger holds, by unit then
// height then hash.
func (l *Ledger) Versions(job JobID) []VersionRecord {
	var out []VersionRecord
	for k, v := range merged(l.base, func(l *layer) map[versionKey]VersionRecord { return l.versions }) {
		if k.Job == job && k.Version != (Hash{}) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b VersionRecord) int {
		return cmp.Or(cmp.Compare(a.Unit, b.Unit), cmp.Compare(a.Height, b.Height), slices.Compare(a.Version[:], b.Version[:]))
	})
	return out
}
