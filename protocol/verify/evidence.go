package verify

import (
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
}

const evidenceVersion = 1

// Encode returns the canonical encoding: version, offence, scheme,
// offender, job, unit, steps, step (uvarints), claimed hash.
func (e Evidence) Encode() []byte {
	b := []byte{evidenceVersion, byte(e.Offence), byte(e.How)}
	b = append(b, e.Offender[:]...)
	b = append(b, e.Job[:]...)
	b = binary.AppendUvarint(b, uint64(e.Unit))
	b = binary.AppendUvarint(b, uint64(e.Steps))
	b = binary.AppendUvarint(b, uint64(e.Step))
	return append(b, e.Claimed[:]...)
}

// ErrEvidence reports evidence that does not decode or does not prove the
// offence.
var ErrEvidence = errors.New("verify: bad evidence")

// DecodeEvidence reads evidence from untrusted bytes; it accepts only the
// canonical encoding.
func DecodeEvidence(p []byte) (Evidence, error) {
	const head = 3 + chain.AddressSize + 16
	if len(p) < head || p[0] != evidenceVersion {
		return Evidence{}, fmt.Errorf("%w: not version %d evidence", ErrEvidence, evidenceVersion)
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
	if len(rest) != len(e.Claimed) {
		return Evidence{}, fmt.Errorf("%w: %d bytes of claimed hash, want %d", ErrEvidence, len(rest), len(e.Claimed))
	}
	copy(e.Claimed[:], rest)
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

// Judge returns the ledger's evidence check (chain.Config.VerifyEvidence).
// It re-derives the honest checkpoint the evidence names (in a real chain,
// the referee's re-execution; here the pure Checkpoint function) and
// accepts only when the claim differs from it. For lazy work the claim
// must also be what the offender committed on chain for that unit when
// it names the result (Step = Steps): commitment looks it up (nil skips
// the lookup). A checkpoint revealed in a dispute, or a validator's
// verdict, is not a ledger record; the evidence stands for the signed
// message that carried it (signatures are modeled).
func Judge(commitment func(job chain.JobID, unit uint32, offender chain.Address) (Hash, bool)) func(chain.Address, []byte) error {
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
		if e.Offence == rewards.LazyWork && e.Step == e.Steps && commitment != nil {
			c, ok := commitment(e.Job, e.Unit, offender)
			if !ok {
				return fmt.Errorf("%w: %s committed no result for unit %d of job %x", ErrEvidence, offender, e.Unit, e.Job[:4])
			}
			if c != e.Claimed {
				return fmt.Errorf("%w: %s committed another result for unit %d", ErrEvidence, offender, e.Unit)
			}
		}
		return nil
	}
}
