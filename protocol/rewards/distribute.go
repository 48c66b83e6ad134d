package rewards

import (
	"fmt"
	"math/big"
)

// VerifiedWork credits one verified work unit to its provider.
//
// FLOPs is the work the job states for the unit (gpu.Job's FLOPs), not a
// time the provider measured: the unit of reward is hardware-neutral, so an
// H100 and an RTX 3060 earn the same for the same unit, and the faster card
// earns more only by verifying more units. A provider cannot inflate its
// own figure, because the requester states it and verification checks the
// result, not the claimed effort.
type VerifiedWork struct {
	Provider Account
	FLOPs    uint64
}

// DataContribution credits a data set (or shard) to its provider.
type DataContribution struct {
	Provider Account
	// Hash is the content hash. A contribution whose hash was credited
	// before (earlier in the same period or in an earlier one) earns
	// nothing: copying data is free, so only its first provider is paid.
	Hash [32]byte
	// Quantity is how much data: samples, or bytes, as the marketplace
	// counts it; one unit throughout a run.
	Quantity uint64
	// Quality is the assessed quality in [0, 1] (validators' scores).
	Quality PPM
	// Uniqueness in [0, 1] discounts near-duplicates of data already
	// credited (exact duplicates are caught by Hash and earn 0 anyway).
	Uniqueness PPM
}

// ValidatorScore credits a validator for the period.
type ValidatorScore struct {
	Validator Account
	Stake     Tokens
	// Accuracy is the share of its assessments that agreed with the final
	// verdict, in [0, 1]: stake alone would pay a validator that rubber-
	// stamps, accuracy alone would let a validator with nothing at risk
	// earn as much as one with a lot.
	Accuracy PPM
}

// Period is one block's or one epoch's contributions and the tokens to
// pay for them.
type Period struct {
	// Height is the block being paid (the last block, for an epoch).
	Height uint64
	// Emission is what the schedule minted for the period.
	Emission Tokens
	// Fees is the pot's part of the fees paid in the period (FeeSplit.Pot);
	// providers' parts are paid directly and do not appear here.
	Fees       Tokens
	Work       []VerifiedWork
	Data       []DataContribution
	Validators []ValidatorScore
}

// Payout is the split of one period's pot. Every token of Emission + Fees
// is in exactly one place: Σ Compute + Σ Participation + Σ Data + Σ
// Validators + Treasury = Total.
type Payout struct {
	Height         uint64
	Emission, Fees Tokens
	Total          Tokens // Emission + Fees
	// Class is each class's share of Total by Shares, before empty classes
	// are redirected.
	Class [NumClasses]Tokens
	// Compute, Data and Validators are the payments within each class, in
	// ascending account order.
	Compute, Data, Validators []Payment
	// Participation is the per-identity part of the compute class's pot
	// (PerIdentity only), in ascending account order.
	Participation []Payment
	// Treasury is the treasury's share plus Unallocated.
	Treasury Tokens
	// Unallocated is the pot of classes with no one to pay (no verified
	// work, no new data, no validator with stake and accuracy): it goes to
	// the treasury rather than being burned or carried, so that the
	// treasury funds staking yield and every period's books close.
	Unallocated Tokens
	// Duplicates counts data contributions that earned nothing because
	// their hash was already credited.
	Duplicates int
}

// Distributor splits reward pots under a policy and remembers which data
// hashes have been credited. It is a state machine used from one
// goroutine; a node keeps one beside its ledger.
type Distributor struct {
	p        Policy
	credited map[[32]byte]struct{}
}

// NewDistributor returns a distributor for a valid policy.
func NewDistributor(p Policy) (*Distributor, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Distributor{p: p, credited: map[[32]byte]struct{}{}}, nil
}

// Policy returns the distributor's policy.
func (d *Distributor) Policy() Policy { return d.p }

// SetPolicy changes the policy from the next Distribute on (a governance
// change taking effect); the credited hashes are kept.
func (d *Distributor) SetPolicy(p Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	d.p = p
	return nil
}

// Credited reports whether a data hash has earned before.
func (d *Distributor) Credited(hash [32]byte) bool {
	_, ok := d.credited[hash]
	return ok
}

// Distribute splits the period's pot. It checks the whole period before
// changing anything: on error no hash is marked credited.
//
// The pot (Emission + Fees) is split among the classes by Shares with
// Allocate (so the four parts sum to the pot exactly), then within each
// class:
//
//   - compute: pro rata to verified FLOPs (after ParticipationReward per
//     provider under PerIdentity: each provider with verified work gets
//     it, or an equal part of the class pot if that is smaller);
//   - data: pro rata to quality × quantity × uniqueness; a hash already
//     credited, or seen earlier in Data, weighs 0;
//   - validators: pro rata to stake × accuracy;
//   - treasury: its share, plus the pot of any class with no positive
//     weight.
func (d *Distributor) Distribute(pd Period) (Payout, error) {
	total, over := add(pd.Emission, pd.Fees)
	if over {
		return Payout{}, fmt.Errorf("%w: emission %d + fees %d overflow", ErrInput, pd.Emission, pd.Fees)
	}
	for _, c := range pd.Data {
		if c.Quality > PPMOne || c.Uniqueness > PPMOne {
			return Payout{}, fmt.Errorf("%w: data %x from %q has quality %d ppm, uniqueness %d ppm; want at most %d", ErrInput, c.Hash[:4], c.Provider, c.Quality, c.Uniqueness, PPMOne)
		}
	}
	for _, v := range pd.Validators {
		if v.Accuracy > PPMOne {
			return Payout{}, fmt.Errorf("%w: validator %q has accuracy %d ppm, want at most %d", ErrInput, v.Validator, v.Accuracy, PPMOne)
		}
	}

	out := Payout{Height: pd.Height, Emission: pd.Emission, Fees: pd.Fees, Total: total}
	out.Class = d.p.Shares.Split(total)
	out.Treasury = out.Class[ClassTreasury]

	// Compute.
	pot := out.Class[ClassCompute]
	work := make([]Claim, 0, len(pd.Work))
	for _, w := range pd.Work {
		work = append(work, Claim{To: w.Provider, Weight: bigU(w.FLOPs)})
	}
	if d.p.Payout == PerIdentity && d.p.ParticipationReward > 0 {
		var ids []Account
		for _, c := range merge(work) {
			ids = append(ids, c.To)
		}
		if n := Tokens(len(ids)); n > 0 {
			if per := d.p.ParticipationReward; pot/n >= per {
				for _, a := range ids {
					out.Participation = append(out.Participation, Payment{To: a, Amount: per})
				}
				pot -= per * n
			} else {
				out.Participation = allocateEqual(pot, ids)
				pot = 0
			}
		}
	}
	out.Compute = Allocate(pot, work)
	if out.Compute == nil {
		out.Unallocated += pot
	}

	// Data: first occurrence of a hash, in the period's order, after every
	// hash credited before.
	seen := map[[32]byte]struct{}{}
	data := make([]Claim, 0, len(pd.Data))
	for _, c := range pd.Data {
		_, before := d.credited[c.Hash]
		_, now := seen[c.Hash]
		if before || now {
			out.Duplicates++
			continue
		}
		seen[c.Hash] = struct{}{}
		w := new(big.Int).Mul(bigU(c.Quantity), bigU(uint64(c.Quality)))
		data = append(data, Claim{To: c.Provider, Weight: w.Mul(w, bigU(uint64(c.Uniqueness)))})
	}
	out.Data = Allocate(out.Class[ClassData], data)
	if out.Data == nil {
		out.Unallocated += out.Class[ClassData]
	}

	// Validators.
	vals := make([]Claim, 0, len(pd.Validators))
	for _, v := range pd.Validators {
		vals = append(vals, Claim{To: v.Validator, Weight: new(big.Int).Mul(bigU(uint64(v.Stake)), bigU(uint64(v.Accuracy)))})
	}
	out.Validators = Allocate(out.Class[ClassValidators], vals)
	if out.Validators == nil {
		out.Unallocated += out.Class[ClassValidators]
	}

	out.Treasury += out.Unallocated
	for h := range seen {
		d.credited[h] = struct{}{}
	}
	return out, nil
}

// Stake is an account's bonded stake.
type Stake struct {
	Staker Account
	Amount Tokens
}

// StakingYield returns one epoch's staking yield: each staker is owed
// ⌊stake·StakingYieldPPB/10⁹⌋, paid from treasury. When the treasury holds
// less than the sum owed, it pays out everything it holds pro rata to
// stake (Allocate) instead, so no staker is preferred and the treasury
// never goes negative. The payments are in ascending account order (one
// per staker with positive stake); paid is their sum, at most treasury.
func (p Policy) StakingYield(stakes []Stake, treasury Tokens) (pays []Payment, paid Tokens) {
	claims := make([]Claim, 0, len(stakes))
	for _, s := range stakes {
		claims = append(claims, Claim{To: s.Staker, Weight: bigU(uint64(s.Amount))})
	}
	merged := merge(claims)
	pays = make([]Payment, len(merged))
	owed := new(big.Int)
	for i, c := range merged {
		y := c.Weight.Mul(c.Weight, bigU(uint64(p.StakingYieldPPB)))
		y.Quo(y, big.NewInt(1_000_000_000))
		owed.Add(owed, y)
		pays[i] = Payment{To: c.To, Amount: Tokens(y.Uint64())} // a stake's sum fits, and y ≤ it
	}
	if owed.Cmp(bigU(uint64(treasury))) > 0 {
		pays = Allocate(treasury, claims)
	}
	return pays, Sum(pays)
}
