package govern_test

import (
	"fmt"

	"github.com/dais-sim/dais/protocol/govern"
	"github.com/dais-sim/dais/protocol/rewards"
)

// A proposal to burn 20% of job fees passes and takes effect at its
// activation height.
func Example() {
	reg, _ := govern.DefaultRegistry(rewards.DefaultPolicy())
	cfg := govern.DefaultConfig()
	cfg.VotingPeriod, cfg.MinDelay = 10, 5
	g, _ := govern.New(reg, cfg)
	change, _ := reg.Change(rewards.ParamFeeBurn, "2000")
	p, _ := g.Submit(1, govern.Submission{Proposer: "alice", Changes: []govern.Change{change}, Deposit: 10 * rewards.Token})
	_ = g.Vote(3, p.ID, "alice", govern.Yes)
	_ = g.Vote(4, p.ID, "bob", govern.No)
	_ = g.Vote(5, p.ID, "carol", govern.Yes)
	electorate := []govern.Voter{{Account: "alice", Stake: 400}, {Account: "bob", Stake: 300}, {Account: "carol", Stake: 300}}
	for h := uint64(1); h <= 20; h++ {
		closed, _ := g.EndBlock(h, electorate)
		for _, c := range closed {
			fmt.Printf("after block %d: proposal %d %s, yes %d no %d of %d, activates at %d\n",
				h, c.ID, c.Status, c.Tally.Yes, c.Tally.No, c.Tally.Total, c.Activation)
		}
	}
	for _, h := range []uint64{15, 16} {
		fmt.Println("fee burn at", h, "=", g.ParamsAt(h).Get(rewards.ParamFeeBurn), "bps")
	}
	// Output:
	// after block 10: proposal 1 passed, yes 700 no 300 of 1000, activates at 16
	// fee burn at 15 = 1000 bps
	// fee burn at 16 = 2000 bps
}
