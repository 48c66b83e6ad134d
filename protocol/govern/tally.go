package govern

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"

	"github.com/dais-sim/dais/protocol/rewards"
)

// Option is a vote's choice. Yes, No and Abstain have the numbers of
// chain.Choice.
type Option uint8

// Options.
const (
	Yes Option = iota + 1
	No
	Abstain
	NoWithVeto
)

var optionNames = [...]string{"", "yes", "no", "abstain", "no_with_veto"}

func (o Option) String() string {
	if o >= Yes && o <= NoWithVeto {
		return optionNames[o]
	}
	return fmt.Sprintf("Option(%d)", uint8(o))
}

// Ratio is a fraction Num/Den. Tallies compare against it by cross-
// multiplication in 128 bits, never through a float.
type Ratio struct{ Num, Den uint64 }

func (r Ratio) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

func (r Ratio) valid() bool { return r.Den > 0 && r.Num <= r.Den }

// below reports whether a/b < r, i.e. a·Den < Num·b.
func (r Ratio) below(a, b uint64) bool { return cmp128(a, r.Den, r.Num, b) < 0 }

// above reports whether a/b > r, i.e. a·Den > Num·b.
func (r Ratio) above(a, b uint64) bool { return cmp128(a, r.Den, r.Num, b) > 0 }

// cmp128 compares x1·y1 with x2·y2 exactly.
func cmp128(x1, y1, x2, y2 uint64) int {
	h1, l1 := bits.Mul64(x1, y1)
	h2, l2 := bits.Mul64(x2, y2)
	if c := cmp.Compare(h1, h2); c != 0 {
		return c
	}
	return cmp.Compare(l1, l2)
}

// Weighting turns stake into voting power.
type Weighting uint8

const (
	// Linear: one base unit of stake, one unit of power (Cosmos x/gov).
	Linear Weighting = iota
	// Quadratic: power ⌊√stake⌋, stake in base units. Base units rather
	// than whole tokens so that a holder of less than one token still
	// counts and the rounding costs every voter less than one unit of
	// power; relative to whole tokens it only scales every power by √10⁹.
	// Quadratic voting curbs a whale only if identities are costly: split
	// across k accounts, a stake gets √k times the power, which is why it
	// is an option and not the default.
	Quadratic
)

func (w Weighting) String() string {
	switch w {
	case Linear:
		return "linear"
	case Quadratic:
		return "quadratic"
	}
	return fmt.Sprintf("Weighting(%d)", uint8(w))
}

// Power is the voting power of stake under w.
func (w Weighting) Power(stake rewards.Tokens) uint64 {
	if w == Quadratic {
		return isqrt(uint64(stake))
	}
	return uint64(stake)
}

// isqrt returns ⌊√x⌋ exactly.
func isqrt(x uint64) uint64 {
	if x < 2 {
		return x
	}
	// Newton's method from above: r starts at a power of two ≥ √x and
	// decreases to ⌊√x⌋.
	r := uint64(1) << ((bits.Len64(x) + 1) / 2)
	for {
		next := (r + x/r) / 2
		if next >= r {
			return r
		}
		r = next
	}
}

// TallyParams are the rules that decide a proposal.
type TallyParams struct {
	// Quorum is the share of the electorate's power that must vote
	// (abstentions count) for the result to stand.
	Quorum Ratio
	// Threshold is the share of non-abstaining power that Yes must
	// strictly exceed.
	Threshold Ratio
	// Veto is the share of all voting power cast that NoWithVeto must
	// strictly exceed to reject the proposal whatever Yes says.
	Veto Ratio
	// Weighting turns stake into power.
	Weighting Weighting
	// BurnOnNoQuorum and BurnOnVeto say whether the deposit is burned when
	// quorum fails or a veto rejects; otherwise it is refunded.
	BurnOnNoQuorum, BurnOnVeto bool
}

// DefaultTallyParams are Cosmos SDK x/gov's defaults (x/gov/types/v1/
// params.go): quorum 0.334, threshold 0.5, veto threshold 0.334, one
// token one vote; with the deposit burned on a veto and on a missed quorum,
// as x/gov did before v0.47 made both switchable (v0.47's defaults are
// burn_vote_veto = true, burn_vote_quorum = false).
func DefaultTallyParams() TallyParams {
	return TallyParams{
		Quorum:         Ratio{334, 1000},
		Threshold:      Ratio{1, 2},
		Veto:           Ratio{334, 1000},
		Weighting:      Linear,
		BurnOnNoQuorum: true,
		BurnOnVeto:     true,
	}
}

// Validate reports the first rule out of range.
func (t TallyParams) Validate() error {
	for _, r := range []struct {
		name string
		r    Ratio
		pos  bool
	}{{"quorum", t.Quorum, false}, {"threshold", t.Threshold, true}, {"veto", t.Veto, true}} {
		if !r.r.valid() || (r.pos && r.r.Num == 0) {
			return fmt.Errorf("%w: %s is %s, want a fraction in [0, 1] (above 0 for threshold and veto)", ErrConfig, r.name, r.r)
		}
	}
	if t.Weighting > Quadratic {
		return fmt.Errorf("%w: weighting %d", ErrConfig, t.Weighting)
	}
	return nil
}

// Voter is a member of the electorate: an account and its bonded stake
// when the tally is taken.
type Voter struct {
	Account rewards.Account
	Stake   rewards.Tokens
}

// Ballot is one account's vote.
type Ballot struct {
	Voter  rewards.Account
	Option Option
}

// Tally is the voting power behind each option. Voted = Yes + No +
// Abstain + Veto; Total is the power of the whole electorate.
type Tally struct {
	Yes, No, Abstain, Veto uint64
	Voted, Total           uint64
	// Voters counts the ballots of accounts in the electorate.
	Voters int
}

// Count weighs ballots by the electorate's stake under t.Weighting. A
// ballot from an account outside the electorate (no bonded stake) weighs
// nothing. The electorate must list each account once; ballots must too
// (a Governor keeps each voter's last ballot).
func (t TallyParams) Count(electorate []Voter, ballots []Ballot) (Tally, error) {
	byAcct := slices.Clone(electorate)
	slices.SortFunc(byAcct, func(a, b Voter) int { return cmp.Compare(a.Account, b.Account) })
	var r Tally
	var carry uint64
	for i, v := range byAcct {
		if i > 0 && byAcct[i-1].Account == v.Account {
			return Tally{}, fmt.Errorf("%w: %q listed twice", ErrElectorate, v.Account)
		}
		var c uint64
		r.Total, c = bits.Add64(r.Total, t.Weighting.Power(v.Stake), 0)
		carry |= c
	}
	if carry != 0 {
		return Tally{}, fmt.Errorf("%w: total stake overflows 64 bits", ErrElectorate)
	}
	seen := map[rewards.Account]bool{}
	for _, b := range ballots {
		if seen[b.Voter] {
			return Tally{}, fmt.Errorf("%w: two ballots from %q", ErrElectorate, b.Voter)
		}
		seen[b.Voter] = true
		i, ok := slices.BinarySearchFunc(byAcct, b.Voter, func(v Voter, a rewards.Account) int { return cmp.Compare(v.Account, a) })
		if !ok {
			continue
		}
		p := t.Weighting.Power(byAcct[i].Stake)
		switch b.Option {
		case Yes:
			r.Yes += p
		case No:
			r.No += p
		case Abstain:
			r.Abstain += p
		case NoWithVeto:
			r.Veto += p
		default:
			return Tally{}, fmt.Errorf("%w: %d from %q", ErrBadOption, b.Option, b.Voter)
		}
		r.Voted += p // ≤ Total, which fits
		r.Voters++
	}
	return r, nil
}

// Status is where a proposal stands.
type Status uint8

// Statuses. Every status but Open is final.
const (
	Open Status = iota + 1
	// Passed: quorum met, no veto, Yes above the threshold; its changes are
	// scheduled for its activation height.
	Passed
	// Rejected: quorum met but Yes not above the threshold (or everyone
	// abstained, or no one had stake).
	Rejected
	// Vetoed: NoWithVeto above the veto share of the power cast.
	Vetoed
	// NoQuorum: too little of the electorate voted.
	NoQuorum
	// Failed: the vote passed but the changes could not be applied (they
	// break a rule across parameters given what passed before them, or
	// the tally came after the activation height). Like a Cosmos proposal
	// whose messages fail to execute, its deposit is refunded.
	Failed
)

var statusNames = [...]string{"", "open", "passed", "rejected", "vetoed", "no_quorum", "failed"}

func (s Status) String() string {
	if s >= Open && s <= Failed {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Decide applies the rules to a tally, in Cosmos x/gov's order
// (x/gov/keeper/tally.go):
//
//  1. no power in the electorate: rejected;
//  2. Voted/Total < Quorum: no quorum (met exactly counts as met);
//  3. everyone who voted abstained: rejected;
//  4. Veto/Voted > Veto share (strictly): vetoed;
//  5. Yes/(Voted − Abstain) > Threshold (strictly): passed — a tie at
//     exactly half does not pass;
//  6. otherwise rejected.
//
// burn says whether the deposit is burned (BurnOnNoQuorum, BurnOnVeto);
// it is refunded in every other case. Cosmos divides 18-decimal fixed-point
// numbers; these comparisons are exact, so they can differ from Cosmos
// only when a ratio is within 10⁻¹⁸ of a threshold.
func (t TallyParams) Decide(r Tally) (s Status, burn bool) {
	switch {
	case r.Total == 0:
		return Rejected, false
	case t.Quorum.below(r.Voted, r.Total):
		return NoQuorum, t.BurnOnNoQuorum
	case r.Voted == r.Abstain:
		return Rejected, false
	case t.Veto.above(r.Veto, r.Voted):
		return Vetoed, t.BurnOnVeto
	case t.Threshold.above(r.Yes, r.Voted-r.Abstain):
		return Passed, false
	}
	return Rejected, false
}
