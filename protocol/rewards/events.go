package rewards

import "github.com/dais-sim/dais/metrics"

// The measures rewards' events feed, in report order. Amounts are in whole
// tokens (floats, for reports only).
var (
	RewardCompute = &metrics.Measure{Name: "reward_compute", Unit: "tokens", Kind: metrics.Counter,
		Help: "tokens paid to compute providers pro rata to verified FLOPs"}
	RewardParticipation = &metrics.Measure{Name: "reward_participation", Unit: "tokens", Kind: metrics.Counter,
		Help: "tokens paid per identity under the per-identity payout (0 under the work-based default)"}
	RewardData = &metrics.Measure{Name: "reward_data", Unit: "tokens", Kind: metrics.Counter,
		Help: "tokens paid to data providers by quality x quantity x uniqueness"}
	RewardValidators = &metrics.Measure{Name: "reward_validators", Unit: "tokens", Kind: metrics.Counter,
		Help: "tokens paid to validators by stake x accuracy"}
	RewardTreasury = &metrics.Measure{Name: "reward_treasury", Unit: "tokens", Kind: metrics.Counter,
		Help: "tokens paid to the treasury: its share plus the pot of classes with no one to pay"}
	SupplyMinted = &metrics.Measure{Name: "supply_minted", Unit: "tokens", Kind: metrics.Counter,
		Help: "tokens minted by the emission schedule"}
	SupplyBurned = &metrics.Measure{Name: "supply_burned", Unit: "tokens", Kind: metrics.Counter,
		Help: "tokens burned: the burned share of fees, and slashes"}
	Slashes = &metrics.Measure{Name: "slashes", Kind: metrics.Counter, Better: metrics.Lower,
		Help: "slashing penalties applied, every offence kind"}
	SlashedStake = &metrics.Measure{Name: "slashed", Unit: "tokens", Kind: metrics.Counter,
		Help: "stake burned by slashing"}
	Earnings = &metrics.Measure{Name: "earnings", Unit: "tokens", Kind: metrics.PerNode,
		Help: "tokens a node's account received: rewards, participation, staking yield and fee shares"}
)

// Measures lists the measures above, for a recorder.
var Measures = []*metrics.Measure{
	RewardCompute, RewardParticipation, RewardData, RewardValidators, RewardTreasury,
	SupplyMinted, SupplyBurned, Slashes, SlashedStake, Earnings,
}

// Every replica of the ledger computes the same payouts, so a run should
// emit these events from one node (the block's proposer, or a designated
// observer), or the recorder counts every payment once per replica.

// Distributed summarizes one period's split.
type Distributed struct {
	Height         uint64
	Emission, Fees Tokens
	// Paid to each class; Treasury includes Unallocated.
	Compute, Participation, Data, Validators, Treasury Tokens
	Unallocated                                        Tokens
	// Recipients counts payments (treasury excluded); Duplicates counts
	// data contributions refused as already credited.
	Recipients, Duplicates int
}

// Kind implements metrics.Event.
func (Distributed) Kind() string { return "rewards.distributed" }

// Observe implements metrics.Observable.
func (e Distributed) Observe(_ metrics.Stamped, o metrics.Observer) {
	o.Add(RewardCompute, e.Compute.Float())
	o.Add(RewardParticipation, e.Participation.Float())
	o.Add(RewardData, e.Data.Float())
	o.Add(RewardValidators, e.Validators.Float())
	o.Add(RewardTreasury, e.Treasury.Float())
}

// Event summarizes the payout.
func (p Payout) Event() Distributed {
	return Distributed{
		Height: p.Height, Emission: p.Emission, Fees: p.Fees,
		Compute: Sum(p.Compute), Participation: Sum(p.Participation), Data: Sum(p.Data),
		Validators: Sum(p.Validators), Treasury: p.Treasury, Unallocated: p.Unallocated,
		Recipients: len(p.Compute) + len(p.Participation) + len(p.Data) + len(p.Validators),
		Duplicates: p.Duplicates,
	}
}

// Payment classes of Paid besides the recipient classes.
const (
	PaidParticipation = "participation"
	PaidStaking       = "staking"
	PaidFee           = "fee" // a provider's share of a job's fee
)

// Paid is one payment to one account. Class is a recipient class
// ("compute", "data", "validators", "treasury") or PaidParticipation,
// PaidStaking or PaidFee.
type Paid struct {
	Height uint64
	Class  string
	To     Account
	Amount Tokens
}

// Kind implements metrics.Event.
func (Paid) Kind() string { return "rewards.paid" }

// Observe implements metrics.Observable: a payment to a node's account
// (NodeAccount) adds to that node's earnings.
func (e Paid) Observe(_ metrics.Stamped, o metrics.Observer) {
	if id, ok := NodeOf(e.To); ok {
		o.AddTo(Earnings, uint32(id), e.Amount.Float())
	}
}

// Payments lists the payout's payments as events: compute, participation,
// data, validators, in that order, each in account order. The treasury is
// not an account here, so it has no event; Distributed carries it.
func (p Payout) Payments() []Paid {
	var out []Paid
	for _, g := range []struct {
		class string
		ps    []Payment
	}{{ClassCompute.String(), p.Compute}, {PaidParticipation, p.Participation},
		{ClassData.String(), p.Data}, {ClassValidators.String(), p.Validators}} {
		for _, pay := range g.ps {
			out = append(out, Paid{Height: p.Height, Class: g.class, To: pay.To, Amount: pay.Amount})
		}
	}
	return out
}

// Supply is what one block minted and burned.
type Supply struct {
	Height         uint64
	Minted, Burned Tokens
}

// Kind implements metrics.Event.
func (Supply) Kind() string { return "rewards.supply" }

// Observe implements metrics.Observable.
func (e Supply) Observe(_ metrics.Stamped, o metrics.Observer) {
	o.Add(SupplyMinted, e.Minted.Float())
	o.Add(SupplyBurned, e.Burned.Float())
}

// Slashed is one slashing penalty.
type Slashed struct {
	Height   uint64
	Offender Account
	Offence  Offence
	// Stake is the offender's stake before, Amount what was burned.
	Stake, Amount Tokens
}

// Kind implements metrics.Event.
func (Slashed) Kind() string { return "rewards.slashed" }

// Observe implements metrics.Observable.
func (e Slashed) Observe(_ metrics.Stamped, o metrics.Observer) {
	o.Add(Slashes, 1)
	o.Add(SlashedStake, e.Amount.Float())
}

var (
	_ metrics.Observable = Distributed{}
	_ metrics.Observable = Paid{}
	_ metrics.Observable = Supply{}
	_ metrics.Observable = Slashed{}
)
