package rewards_test

import (
	"fmt"

	"github.com/dais-sim/dais/protocol/rewards"
)

// A block's pot split under the default policy: the H100 and the RTX 3060
// each verified one 10¹⁵-FLOP unit, so they earn the same.
func Example() {
	p := rewards.DefaultPolicy()
	sched, _ := p.Emission.Schedule()
	d, _ := rewards.NewDistributor(p)
	fee := p.Fees.Split(2 * rewards.Token) // a requester's job fee
	out, _ := d.Distribute(rewards.Period{
		Height:   1,
		Emission: sched.Emission(1),
		Fees:     fee.Pot,
		Work:     []rewards.VerifiedWork{{Provider: "h100", FLOPs: 1e15}, {Provider: "rtx3060", FLOPs: 1e15}},
		Validators: []rewards.ValidatorScore{
			{Validator: "val", Stake: 1000 * rewards.Token, Accuracy: rewards.PPMOne},
		},
	})
	fmt.Println("fee: burn", fee.Burn, "provider", fee.Provider, "pot", fee.Pot)
	fmt.Println("pot", out.Total, "classes", out.Class)
	for _, p := range out.Payments() {
		fmt.Println(p.Class, p.To, p.Amount)
	}
	fmt.Println("treasury", out.Treasury, "of which unallocated", out.Unallocated)
	// Output:
	// fee: burn 0.2 provider 1.6 pot 0.2
	// pot 1.2 classes [0.72 0.18 0.24 0.06]
	// compute h100 0.36
	// compute rtx3060 0.36
	// validators val 0.24
	// treasury 0.24 of which unallocated 0.18
}
