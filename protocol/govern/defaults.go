package govern

import (
	"fmt"

	"github.com/dais-sim/dais/protocol/rewards"
)

// ParamSpotCheck is the probability that a verified work unit is replayed
// by a spot check, in millionths (written as a fraction: "0.05").
const ParamSpotCheck = "verify.spot_check_probability"

// DefaultRegistry returns dais's governable parameters, with their
// defaults taken from base (a valid policy) and the spot-check
// probability at 5%:
//
//   - rewards.emission_per_block: 0 … 1,000 tokens, written in tokens;
//   - rewards.share_{compute,data,validators,treasury}_bps: 0 … 10,000
//     each, and together exactly 10,000 (a proposal moves two at once);
//   - rewards.fee_{burn,provider}_bps: 0 … 10,000, together at most 10,000;
//   - rewards.staking_yield_ppb: 0 … 10,000,000 per epoch (1%);
//   - rewards.slash_{lazy_work,equivocation,false_approval}_bps: 0 … 10,000;
//   - rewards.participation_reward: 0 … 100 tokens (non-zero only under
//     the per-identity payout);
//   - verify.spot_check_probability: 0 … 1, written as a fraction.
//
// The rule across keys is rewards.Policy.WithParams on base: any set of
// values that makes an invalid policy is refused.
func DefaultRegistry(base rewards.Policy) (*Registry, error) {
	if err := base.Validate(); err != nil {
		return nil, err
	}
	const bpsMax = int64(rewards.BpsOne)
	bounds := map[string]struct {
		decimals uint8
		max      int64
		help     string
	}{
		rewards.ParamEmissionPerBlock:    {9, 1000 * int64(rewards.Token), "tokens the schedule mints in block 1 (every block, for a fixed schedule)"},
		rewards.ParamShareCompute:        {0, bpsMax, "share of each reward pot paid to compute providers"},
		rewards.ParamShareData:           {0, bpsMax, "share of each reward pot paid to data providers"},
		rewards.ParamShareValidators:     {0, bpsMax, "share of each reward pot paid to validators"},
		rewards.ParamShareTreasury:       {0, bpsMax, "share of each reward pot paid to the treasury"},
		rewards.ParamFeeBurn:             {0, bpsMax, "share of each job fee burned"},
		rewards.ParamFeeProvider:         {0, bpsMax, "share of each job fee paid to the provider"},
		rewards.ParamStakingYield:        {0, 10_000_000, "staking yield per epoch, parts per billion of stake, paid from the treasury"},
		rewards.ParamSlashLazyWork:       {0, bpsMax, "share of stake burned for lazy work"},
		rewards.ParamSlashEquivocation:   {0, bpsMax, "share of stake burned for equivocation"},
		rewards.ParamSlashFalseApproval:  {0, bpsMax, "share of stake burned for approving a wrong result"},
		rewards.ParamParticipationReward: {9, 100 * int64(rewards.Token), "per-identity reward per period (per-identity payout only)"},
	}
	var params []Param
	for _, k := range rewards.ParamKeys() {
		b, ok := bounds[k]
		if !ok {
			return nil, fmt.Errorf("%w: no bounds for %s", ErrConfig, k)
		}
		v, _ := base.Param(k)
		params = append(params, Param{Key: k, Help: b.help, Decimals: b.decimals, Min: 0, Max: b.max, Default: v})
	}
	params = append(params, Param{Key: ParamSpotCheck, Decimals: 6, Min: 0, Max: 1_000_000, Default: 50_000,
		Help: "probability that a verified work unit is replayed by a spot check"})
	return NewRegistry(func(ps Params) error {
		_, err := base.WithParams(ps.Lookup)
		return err
	}, params...)
}
