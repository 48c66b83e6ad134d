package consensus

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"

	"github.com/dais-sim/dais/protocol"
)

// MaxTotalStake bounds the total stake of a validator set, so that the
// quorum tests (3·stake > 2·total) and proposer priorities (which stay
// within ±2·total) cannot overflow.
const MaxTotalStake = 1 << 61

// Errors returned by NewValidatorSet.
var (
	ErrNoValidators  = errors.New("consensus: no validator with stake")
	ErrStakeTooLarge = errors.New("consensus: total stake too large")
	ErrDuplicateID   = errors.New("consensus: validator named twice")
	ErrBadKey        = errors.New("consensus: validator public key has the wrong size")
)

// Validator is a candidate for the validator set: a node, its stake (token
// base units) and the key its votes are signed with.
type Validator struct {
	ID     protocol.NodeID
	Stake  uint64
	PubKey ed25519.PublicKey
}

// Address is what orders validators of equal stake, as in CometBFT: the
// first 20 bytes of SHA-256 of the public key (zero without a key, when
// the node ID decides). Ordering by a hash rather than by node ID keeps
// nodes numbered together (a group, a region, a partition in a scenario)
// from proposing in consecutive rounds.
func (v Validator) Address() [20]byte {
	if len(v.PubKey) == 0 {
		return [20]byte{}
	}
	h := sha256.Sum256(v.PubKey)
	return [20]byte(h[:20])
}

// ValidatorSet is the fixed validator set of a run: the top K candidates by
// stake. It is immutable once built, so every node of a run may share one.
type ValidatorSet struct {
	vals  []Validator // stake descending, then ID ascending
	index map[protocol.NodeID]int
	total uint64
}

// NewValidatorSet keeps the k candidates with the most stake (ties: lower
// Address, then lower ID, first; k <= 0 keeps all), in that order.
// Candidates without stake are never kept.
func NewValidatorSet(candidates []Validator, k int) (*ValidatorSet, error) {
	vals := make([]Validator, 0, len(candidates))
	seen := make(map[protocol.NodeID]bool, len(candidates))
	for _, c := range candidates {
		if seen[c.ID] {
			return nil, fmt.Errorf("%w: node %d", ErrDuplicateID, c.ID)
		}
		seen[c.ID] = true
		if c.PubKey != nil && len(c.PubKey) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: node %d", ErrBadKey, c.ID)
		}
		if c.Stake > 0 {
			vals = append(vals, c)
		}
	}
	addr := make(map[protocol.NodeID][20]byte, len(vals))
	for _, v := range vals {
		addr[v.ID] = v.Address()
	}
	sort.Slice(vals, func(i, j int) bool {
		if vals[i].Stake != vals[j].Stake {
			return vals[i].Stake > vals[j].Stake
		}
		if ai, aj := addr[vals[i].ID], addr[vals[j].ID]; ai != aj {
			return bytes.Compare(ai[:], aj[:]) < 0
		}
		return vals[i].ID < vals[j].ID
	})
	if k > 0 && len(vals) > k {
		vals = vals[:k]
	}
	if len(vals) == 0 {
		return nil, ErrNoValidators
	}
	s := &ValidatorSet{vals: vals, index: make(map[protocol.NodeID]int, len(vals))}
	for i, v := range vals {
		if v.Stake > MaxTotalStake-s.total {
			return nil, ErrStakeTooLarge
		}
		s.total += v.Stake
		s.index[v.ID] = i
	}
	return s, nil
}

// Len is the number of validators.
func (s *ValidatorSet) Len() int { return len(s.vals) }

// At returns the i-th validator, in order of stake (most first, ties by
// Address).
func (s *ValidatorSet) At(i int) Validator { return s.vals[i] }

// Index returns a node's position in the set, or ok=false for a node that
// is not a validator.
func (s *ValidatorSet) Index(id protocol.NodeID) (i int, ok bool) {
	i, ok = s.index[id]
	return i, ok
}

// Total is the stake of the whole set.
func (s *ValidatorSet) Total() uint64 { return s.total }

// Quorum reports whether stake is more than two thirds of the total: the
// "2f+1" of the Tendermint paper in stake terms.
func (s *ValidatorSet) Quorum(stake uint64) bool { return 3*stake > 2*s.total }

// OneThird reports whether stake is more than a third of the total: the
// "f+1" of the Tendermint paper, enough to include an honest validator.
func (s *ValidatorSet) OneThird(stake uint64) bool { return 3*stake > s.total }

// IDs returns the validators' node IDs in ascending order.
func (s *ValidatorSet) IDs() []protocol.NodeID {
	ids := make([]protocol.NodeID, len(s.vals))
	for i, v := range s.vals {
		ids[i] = v.ID
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
