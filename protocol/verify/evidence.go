package verify

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dais-sim/dais/protocol/chain"
	"github.com/dais-sim/dais/protocol/rewards"
)

// Scheme names how a fraud was proven.
type Scheme uint8

// Schemes.
const (
	ByQuorum  Scheme = iota + 1 // outvoted by a quorum of replicas
	ByReplay                    // a validator panel re-executed the unit
	ByDispute                   // lost a bisection dispute
)

var schemeNames = [...]string{"", "quorum", "replay", "dispute"}

func (s Scheme) String() string {
	if s >= ByQuorum && s <= ByDispute {
		return schemeNames[s]
	}
	return fmt.Sprintf("Scheme(%d)", uint8(s))
}

// Evidence is what a slash carries: the offender claimed Claimed for step
// Step of unit Unit of job Job (a unit of Steps steps), and the honest
// checkpoint there is something else. For lazy work the claim is the
// offender's committed result (Step = Steps) or, after a dispute, its
// revealed checkpoint; for a false approval it is the result a validator
// vouched for.
type Evidence struct {
	Offence rewards.Offence
	How     Scheme
	// Offender is who is accused: the slash's offender must be it, so
	// evidence against one node cannot be spent on another, and two
	// nodes caught on the same unit give two pieces of evidence.
	Offender chain.Address
	Job      chain.JobID
	Unit     uint32
	Steps    uint32
	Step     uint32
	Claimed  Hash
	// Proof, when the offender's result was committed in a batch (a
	// chain.ResultRoot), places ResultLeaf(Job, Unit, Offender, Claimed)
	// among the batch's leaves; nil when it was committed on its own (a
	// chain.ResultCommit).
	Proof *ResultProof
}

// ResultProof is a Merkle path from a result's leaf to a committed
// batch's root.
type ResultProof struct {
	Root         Hash
	Count, Index uint32
	Path         []Hash
}

// ResultLeaf is a batched result commitment's leaf: that provider
// committed result for the unit.
func ResultLeaf(job chain.JobID, unit uint32, provider chain.Address, result Hash) Hash {
	var b [11 + len(job) + 4 + chain.AddressSize + len(result)]byte
	copy(b[:], "dais/result")
	n := 11 + copy(b[11:], job[:])
	binary.BigEndian.PutUint32(b[n:], unit)
	n += 4 + copy(b[n+4:], provider[:])
	copy(b[n:], result[:])
	return sha256.Sum256(b[:])
}

// Evidence versions: 1 without a batch proof, 2 with one.
const (
	evidenceVersion      = 1
	evidenceBatchVersion = 2
	maxPath              = 64
)

// Encode returns the canonical encoding: version, offence, scheme,
// offender, job, unit, steps, step (uvarints), claimed hash; with a batch
// proof (version 2) then its root, count and index (uvarints), the path's
// length (uvarint) and its hashes.
func (e Evidence) Encode() []byte {
	v := byte(evidenceVersion)
	if e.Proof != nil {
		v = evidenceBatchVersion
	}
	b := []byte{v, byte(e.Offence), byte(e.How)}
	b = append(b, e.Offender[:]...)
	b = append(b, e.Job[:]...)
	b = binary.AppendUvarint(b, uint64(e.Unit))
	b = binary.AppendUvarint(b, uint64(e.Steps))
	b = binary.AppendUvarint(b, uint64(e.Step))
	b = append(b, e.Claimed[:]...)
	if p := e.Proof; p != nil {
		b = append(b, p.Root[:]...)
		b = binary.AppendUvarint(b, uint64(p.Count))
		b = binary.AppendUvarint(b, uint64(p.Index))
		b = binary.AppendUvarint(b, uint64(len(p.Path)))
		for _, h := range p.Path {
			b = append(b, h[:]...)
		}
	}
	return b
}

// ErrEvidence reports evidence that does not decode or does not prove the
// offence.
var ErrEvidence = errors.New("verify: bad evidence")

// DecodeEvidence reads evidence from untrusted bytes; it accepts only the
// canonical encoding.
func DecodeEvidence(p []byte) (Evidence, error) {
	const head = 3 + chain.AddressSize + 16
	if len(p) < head || (p[0] != evidenceVersion && p[0] != evidenceBatchVersion) {
		return Evidence{}, fmt.Errorf("%w: not version %d or %d evidence", ErrEvidence, evidenceVersion, evidenceBatchVersion)
	}
	e := Evidence{Offence: rewards.Offence(p[1]), How: Scheme(p[2])}
	copy(e.Offender[:], p[3:])
	copy(e.Job[:], p[3+chain.AddressSize:])
	rest := p[head:]
	var v [3]uint64 // unit, steps, step
	for i := range v {
		x, n := binary.Uvarint(rest)
		if n <= 0 {
			return Evidence{}, fmt.Errorf("%w: truncated", ErrEvidence)
		}
		v[i], rest = x, rest[n:]
	}
	if len(rest) < len(e.Claimed) || (p[0] == evidenceVersion && len(rest) != len(e.Claimed)) {
		return Evidence{}, fmt.Errorf("%w: %d bytes of claimed hash, want %d", ErrEvidence, len(rest), len(e.Claimed))
	}
	rest = rest[copy(e.Claimed[:], rest):]
	if p[0] == evidenceBatchVersion {
		pr, err := decodeProof(rest)
		if err != nil {
			return Evidence{}, err
		}
		e.Proof = pr
	}
	unit, steps, step := v[0], v[1], v[2]
	if unit > 1<<32-1 || steps > 1<<32-1 || step > steps || steps == 0 ||
		e.Offence >= rewards.NumOffences || e.How < ByQuorum || e.How > ByDispute {
		return Evidence{}, fmt.Errorf("%w: field out of range", ErrEvidence)
	}
	e.Unit, e.Steps, e.Step = uint32(unit), uint32(steps), uint32(step)
	if string(e.Encode()) != string(p) {
		return Evidence{}, fmt.Errorf("%w: non-canonical encoding", ErrEvidence)
	}
	return e, nil
}

// decodeProof reads a batch proof that must fill p exactly.
func decodeProof(p []byte) (*ResultProof, error) {
	pr := &ResultProof{}
	if len(p) < len(pr.Root) {
		return nil, fmt.Errorf("%w: truncated batch proof", ErrEvidence)
	}
	p = p[copy(pr.Root[:], p):]
	var v [3]uint64 // count, index, path length
	for i := range v {
		x, n := binary.Uvarint(p)
		if n <= 0 {
			return nil, fmt.Errorf("%w: truncated batch proof", ErrEvidence)
		}
		v[i], p = x, p[n:]
	}
	if v[0] > 1<<32-1 || v[1] >= v[0] || v[2] > maxPath || len(p) != int(v[2])*len(pr.Root) {
		return nil, fmt.Errorf("%w: batch proof out of range", ErrEvidence)
	}
	pr.Count, pr.Index = uint32(v[0]), uint32(v[1])
	pr.Path = make([]Hash, v[2])
	for i := range pr.Path {
		p = p[copy(pr.Path[i][:], p):]
	}
	return pr, nil
}

// Judge returns the ledger's evidence check (chain.Config.VerifyEvidence).
// It re-derives the honest checkpoint the evidence names (in a real chain,
// the referee's re-execution; here the pure Checkpoint function) and
// accepts only when the claim differs from it. For lazy work the claim
// must also be what the offender committed on chain for that unit when
// it names the result (Step = Steps): commitment looks it up (nil skips
// the lookup), or, for evidence with a batch proof, batch says how many
// results the committed batch with that root holds and the proof must
// place the claim among them. Each returns why the record is not there
// when it is not (chain.Ledger's FindCommitment and FindResultRoot: never
// recorded, or pruned past the ledger's dispute window). A checkpoint revealed in a dispute, or a
// validator's verdict, is not a ledger record; the evidence stands for
// the signed message that carried it (signatures are modeled).
func Judge(commitment func(job chain.JobID, unit uint32, offender chain.Address) (Hash, error),
	batch func(root Hash) (count uint32, err error)) func(chain.Address, []byte) error {
	return func(offender chain.Address, p []byte) error {
		e, err := DecodeEvidence(p)
		if err != nil {
			return err
		}
		if e.Offender != offender {
			return fmt.Errorf("%w: evidence against %s used against %s", ErrEvidence, e.Offender, offender)
		}
		if e.Claimed == Checkpoint(e.Job, e.Unit, e.Step) {
			return fmt.Errorf("%w: the claimed checkpoint %d of unit %d is the honest one", ErrEvidence, e.Step, e.Unit)
		}
		if pr := e.Proof; e.Offence == rewards.LazyWork && e.Step == e.Steps && pr != nil {
			n, err := batch(pr.Root)
			if err != nil {
				return fmt.Errorf("%w: no committed batch with root %x: %v", ErrEvidence, pr.Root[:4], err)
			}
			if n != pr.Count {
				return fmt.Errorf("%w: the committed batch with root %x holds %d results, not %d", ErrEvidence, pr.Root[:4], n, pr.Count)
			}
			if !VerifyProof(pr.Root, int(n), int(pr.Index), ResultLeaf(e.Job, e.Unit, offender, e.Claimed), pr.Path) {
				return fmt.Errorf("%w: the proof does not place %s's claim for unit %d in the batch", ErrEvidence, offender, e.Unit)
			}
			return nil
		}
		if e.Offence == rewards.LazyWork && e.Step == e.Steps && commitment != nil {
			c, err := commitment(e.Job, e.Unit, offender)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrEvidence, err)
			}
			if c != e.Claimed {
				return fmt.Errorf("%w: %s committed another result for unit %d", ErrEvidence, offender, e.Unit)
			}
		}
		return nil
	}
}
