package rewards

import (
	"fmt"
	"math"
)

// Class is a recipient class of the reward split.
type Class uint8

// Recipient classes, in the order the split lists them.
const (
	ClassCompute Class = iota
	ClassData
	ClassValidators
	ClassTreasury
	NumClasses
)

var classNames = [NumClasses]string{"compute", "data", "validators", "treasury"}

func (c Class) String() string {
	if c < NumClasses {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// Shares split each block's (or epoch's) reward pot among the classes, in
// basis points summing to exactly 10,000.
type Shares [NumClasses]Bps

// FeePolicy splits the fee a requester pays for a job.
type FeePolicy struct {
	// BurnBps of each fee is burned: it offsets emission, so demand for
	// compute reduces the supply.
	BurnBps Bps
	// ProviderBps goes to the provider whose verified work the fee paid for.
	ProviderBps Bps
	// The rest (10,000 − BurnBps − ProviderBps) joins the reward pot and is
	// split by Shares, so validators, data providers and the treasury earn
	// from demand as well as from emission.
}

// FeeSplit is where one fee goes. Burn + Provider + Pot is the fee exactly.
type FeeSplit struct {
	Burn, Provider, Pot Tokens
}

// Split divides a fee. Burn and Provider are rounded down; Pot takes the
// rounding, so the requester's payment is conserved to the base unit.
func (f FeePolicy) Split(fee Tokens) FeeSplit {
	s := FeeSplit{Burn: f.BurnBps.Of(fee), Provider: f.ProviderBps.Of(fee)}
	s.Pot = fee - s.Burn - s.Provider
	return s
}

// Offence is a slashable misbehaviour.
type Offence uint8

// Offences.
const (
	// LazyWork: a provider returned a result it did not compute (caught by
	// a spot check or lost a dispute).
	LazyWork Offence = iota
	// Equivocation: a validator signed two different votes or proposals
	// for the same height and round.
	Equivocation
	// FalseApproval: a validator approved a result later proven wrong.
	FalseApproval
	NumOffences
)

var offenceNames = [NumOffences]string{"lazy_work", "equivocation", "false_approval"}

func (o Offence) String() string {
	if o < NumOffences {
		return offenceNames[o]
	}
	return fmt.Sprintf("Offence(%d)", uint8(o))
}

// SlashFractions is the share of the offender's stake each offence burns.
type SlashFractions [NumOffences]Bps

// PayoutMode says how the compute class's pot is shared.
type PayoutMode uint8

const (
	// WorkBased pays compute providers only pro rata to verified FLOPs, so
	// splitting one GPU across k identities earns what one identity earns
	// (Sybil gain 1).
	WorkBased PayoutMode = iota
	// PerIdentity first pays every compute provider with verified work in
	// the period a fixed ParticipationReward, then splits the rest of the
	// pot pro rata to verified FLOPs. It exists to show the Sybil gain a
	// per-identity reward creates; it is not a recommended policy.
	PerIdentity
)

func (m PayoutMode) String() string {
	switch m {
	case WorkBased:
		return "work"
	case PerIdentity:
		return "per_identity"
	}
	return fmt.Sprintf("PayoutMode(%d)", uint8(m))
}

// Policy gathers the tokenomics parameters. Start from DefaultPolicy and
// change fields; Validate reports the first one out of range.
type Policy struct {
	// Emission is the block reward schedule.
	Emission EmissionSpec
	// Shares split emission plus the fee pot among the classes.
	Shares Shares
	// Fees split what requesters pay.
	Fees FeePolicy
	// StakingYieldPPB is paid on each staker's stake once per epoch, in
	// parts per billion of the stake. A per-epoch rate is small (10% a year
	// over hourly epochs is 11,416 ppb), so it needs finer units than bps.
	// The yield is paid out of the treasury, never minted: the emission
	// schedule stays the only source of new tokens, so its cap is the
	// supply cap. When the treasury cannot pay everyone in full it pays
	// what it holds pro rata to stake (StakingYield).
	StakingYieldPPB uint32
	// EpochBlocks is how many blocks an epoch lasts (staking yield is per
	// epoch; the marketplace may also batch reward splits per epoch).
	EpochBlocks uint64
	// Slash is the fraction of stake each offence burns.
	Slash SlashFractions
	// Payout is how the compute pot is shared among providers.
	Payout PayoutMode
	// ParticipationReward is what PerIdentity pays each compute provider
	// per Distribute call (a block or an epoch, as the caller batches);
	// must be 0 under WorkBased.
	ParticipationReward Tokens
}

// DefaultPolicy returns the default tokenomics:
//
//   - emission: 1 token per block, halving every 1,000,000 blocks (about
//     2 million tokens in all; at 6-second blocks a halving every ~69 days);
//   - shares: 60% compute, 15% data, 20% validators, 5% treasury: compute is
//     what the network sells, validators make it trustworthy;
//   - fees: 10% burned, 80% to the provider, 10% to the reward pot;
//   - staking: 600-block epochs (an hour at 6 s), 11,416 ppb per epoch
//     (about 10% a year), paid from the treasury;
//   - slashing: lazy work 10%, equivocation 5% (the Cosmos x/slashing
//     double-sign default, slash_fraction_double_sign = 0.05), false
//     approval 20% (an approving validator is the last line of defence, so
//     a wrong approval costs more than the lazy work it let through);
//   - payout: work-based, no per-identity reward.
func DefaultPolicy() Policy {
	return Policy{
		Emission:        EmissionSpec{Kind: KindHalving, Initial: Token, HalvingBlocks: 1_000_000},
		Shares:          Shares{ClassCompute: 6000, ClassData: 1500, ClassValidators: 2000, ClassTreasury: 500},
		Fees:            FeePolicy{BurnBps: 1000, ProviderBps: 8000},
		StakingYieldPPB: 11_416,
		EpochBlocks:     600,
		Slash:           SlashFractions{LazyWork: 1000, Equivocation: 500, FalseApproval: 2000},
		Payout:          WorkBased,
	}
}

// Validate reports the first parameter out of range.
func (p Policy) Validate() error {
	if _, err := p.Emission.Schedule(); err != nil {
		return err
	}
	var sum uint32
	for c, b := range p.Shares {
		if b > BpsOne {
			return fmt.Errorf("%w: %s share is %d bps, want at most %d", ErrPolicy, Class(c), b, BpsOne)
		}
		sum += uint32(b)
	}
	if sum != uint32(BpsOne) {
		return fmt.Errorf("%w: shares sum to %d bps, want exactly %d", ErrPolicy, sum, BpsOne)
	}
	if uint32(p.Fees.BurnBps)+uint32(p.Fees.ProviderBps) > uint32(BpsOne) {
		return fmt.Errorf("%w: fee burn %d bps + provider %d bps exceed %d", ErrPolicy, p.Fees.BurnBps, p.Fees.ProviderBps, BpsOne)
	}
	if p.StakingYieldPPB > 1_000_000_000 {
		return fmt.Errorf("%w: staking yield is %d ppb per epoch, want at most 10^9", ErrPolicy, p.StakingYieldPPB)
	}
	if p.EpochBlocks == 0 {
		return fmt.Errorf("%w: an epoch is 0 blocks, want at least 1", ErrPolicy)
	}
	for o, b := range p.Slash {
		if b > BpsOne {
			return fmt.Errorf("%w: %s slash is %d bps, want at most %d", ErrPolicy, Offence(o), b, BpsOne)
		}
	}
	switch p.Payout {
	case WorkBased:
		if p.ParticipationReward != 0 {
			return fmt.Errorf("%w: a participation reward of %s needs the per-identity payout", ErrPolicy, p.ParticipationReward)
		}
	case PerIdentity:
	default:
		return fmt.Errorf("%w: payout mode %d", ErrPolicy, p.Payout)
	}
	return nil
}

// SlashAmount is what an offence burns of stake: ⌊stake·fraction⌋,
// rounded down so that a slash never takes more than its fraction.
func (p Policy) SlashAmount(o Offence, stake Tokens) Tokens {
	if o >= NumOffences {
		panic(fmt.Sprintf("rewards: unknown offence %d", o))
	}
	return p.Slash[o].Of(stake)
}

// Governable parameter keys: the names under which governance (package
// govern) changes Policy fields. Values are int64 in the field's unit.
const (
	ParamEmissionPerBlock    = "rewards.emission_per_block"   // Emission.Initial, base units
	ParamShareCompute        = "rewards.share_compute_bps"    // Shares[ClassCompute]
	ParamShareData           = "rewards.share_data_bps"       // Shares[ClassData]
	ParamShareValidators     = "rewards.share_validators_bps" // Shares[ClassValidators]
	ParamShareTreasury       = "rewards.share_treasury_bps"   // Shares[ClassTreasury]
	ParamFeeBurn             = "rewards.fee_burn_bps"         // Fees.BurnBps
	ParamFeeProvider         = "rewards.fee_provider_bps"     // Fees.ProviderBps
	ParamStakingYield        = "rewards.staking_yield_ppb"    // StakingYieldPPB
	ParamSlashLazyWork       = "rewards.slash_lazy_work_bps"  // Slash[LazyWork]
	ParamSlashEquivocation   = "rewards.slash_equivocation_bps"
	ParamSlashFalseApproval  = "rewards.slash_false_approval_bps"
	ParamParticipationReward = "rewards.participation_reward" // ParticipationReward, base units
)

// ParamKeys lists the governable keys in ascending order.
func ParamKeys() []string {
	return []string{
		ParamEmissionPerBlock, ParamFeeBurn, ParamFeeProvider, ParamParticipationReward,
		ParamShareCompute, ParamShareData, ParamShareTreasury, ParamShareValidators,
		ParamSlashEquivocation, ParamSlashFalseApproval, ParamSlashLazyWork, ParamStakingYield,
	}
}

// Param returns the value of a governable parameter in p.
func (p Policy) Param(key string) (int64, bool) {
	f := p.field(key)
	if f == nil {
		return 0, false
	}
	return f.get(), true
}

// WithParams returns p with every governable key that lookup knows set to
// its value, then validated: a set of changes that breaks a rule across
// fields (shares that no longer sum to 10,000) is an error, not a policy.
// A value out of its field's range is ErrPolicy. Keys lookup does not know
// keep p's value.
//
// Changing rewards.emission_per_block re-parameterizes the schedule: the
// new schedule's Emission applies from the change's height on (its halving
// eras, decay and cap still count from block 1).
func (p Policy) WithParams(lookup func(key string) (int64, bool)) (Policy, error) {
	for _, k := range ParamKeys() {
		v, ok := lookup(k)
		if !ok {
			continue
		}
		if err := p.field(k).set(v); err != nil {
			return Policy{}, fmt.Errorf("%w: %s: %v", ErrPolicy, k, err)
		}
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// field is a governable Policy field: an int64 view of it with its range.
type field struct {
	get func() int64
	set func(int64) error
}

func (p *Policy) field(key string) *field {
	bps := func(b *Bps) *field {
		return &field{get: func() int64 { return int64(*b) }, set: func(v int64) error {
			if v < 0 || v > int64(BpsOne) {
				return fmt.Errorf("%d bps is outside 0 … %d", v, BpsOne)
			}
			*b = Bps(v)
			return nil
		}}
	}
	tokens := func(t *Tokens) *field {
		return &field{get: func() int64 { return int64(min(*t, Tokens(math.MaxInt64))) }, set: func(v int64) error {
			if v < 0 {
				return fmt.Errorf("%d base units is negative", v)
			}
			*t = Tokens(v)
			return nil
		}}
	}
	switch key {
	case ParamEmissionPerBlock:
		return tokens(&p.Emission.Initial)
	case ParamShareCompute:
		return bps(&p.Shares[ClassCompute])
	case ParamShareData:
		return bps(&p.Shares[ClassData])
	case ParamShareValidators:
		return bps(&p.Shares[ClassValidators])
	case ParamShareTreasury:
		return bps(&p.Shares[ClassTreasury])
	case ParamFeeBurn:
		return bps(&p.Fees.BurnBps)
	case ParamFeeProvider:
		return bps(&p.Fees.ProviderBps)
	case ParamSlashLazyWork:
		return bps(&p.Slash[LazyWork])
	case ParamSlashEquivocation:
		return bps(&p.Slash[Equivocation])
	case ParamSlashFalseApproval:
		return bps(&p.Slash[FalseApproval])
	case ParamParticipationReward:
		return tokens(&p.ParticipationReward)
	case ParamStakingYield:
		return &field{get: func() int64 { return int64(p.StakingYieldPPB) }, set: func(v int64) error {
			if v < 0 || v > 1_000_000_000 {
				return fmt.Errorf("%d ppb is outside 0 … 10^9", v)
			}
			p.StakingYieldPPB = uint32(v)
			return nil
		}}
	}
	return nil
}
