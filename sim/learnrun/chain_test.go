package learnrun

import (
	"slices"
	"testing"

	"github.com/dais-sim/dais/scenarios"
)

// The training job is paid on the coordinator's ledger: the budget
// escrowed at the start is exactly what was paid to learners plus what
// was refunded, the ledger paid what the Scored events say, and the
// versions on the ledger are the committed ones, round by round. The
// refund is what rounding left in each pot plus the base unit the pots
// leave over.
func TestTrainingJobOnChain(t *testing.T) {
	singleThreaded(t)
	p := DefaultParams()
	p.Rounds, p.Providers, p.Epochs = 3, 6, 1
	p.Budget, p.Pot = 3_000_001, 0 // pot 1,000,000; 1 base unit left over
	p.Attack = Attack{Kind: SignFlip, Share: 0.34}
	res, err := Run(&p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("budget %d: paid %d, refunded %d; %d versions on chain", res.Budget, res.ChainPaid, res.Refunded, len(res.ChainVersions))
	if res.Budget != p.Budget || res.ChainPaid+res.Refunded != res.Budget {
		t.Errorf("budget %d (want %d) ≠ paid %d + refunded %d", res.Budget, p.Budget, res.ChainPaid, res.Refunded)
	}
	if res.ChainPaid != res.Paid || res.Paid == 0 || res.Refunded == 0 {
		t.Errorf("ledger paid %d, Scored payouts %d, refunded %d: want equal payouts and a refund", res.ChainPaid, res.Paid, res.Refunded)
	}
	if len(res.Versions) != p.Rounds+1 || !slices.Equal(res.ChainVersions, res.Versions) {
		t.Errorf("versions on the ledger %x, committed %x", res.ChainVersions, res.Versions)
	}
	run := Summary(res)
	for key, want := range map[string]float64{
		"training_budget_tokens":   0.003000001,
		"training_paid_tokens":     float64(res.ChainPaid) / 1e9,
		"training_refunded_tokens": float64(res.Refunded) / 1e9,
		"versions_on_chain":        float64(p.Rounds + 1),
	} {
		if f, ok := run.Figure(key); !ok || f.Value != want {
			t.Errorf("%s = %v (found %v), want %v", key, f.Value, ok, want)
		}
	}

	// The default keeps the old pot: 0.001 token a round.
	d := DefaultParams()
	if d.budget() != uint64(d.Rounds)*1_000_000 {
		t.Errorf("default budget %d", d.budget())
	}
	// protocol.learning.budget sets the budget, and the pot follows it.
	sc, err := scenarios.Load("../../scenarios/federated-poisoning.yaml", "protocol.learning.budget=2.5")
	if err != nil {
		t.Fatal(err)
	}
	q, err := FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	if q.Budget != 2_500_000_000 || q.Pot != 0 || q.budget() != 2_500_000_000 {
		t.Errorf("budget %d, pot %d from the scenario", q.Budget, q.Pot)
	}
	q.Pot = q.Budget/uint64(q.Rounds) + 1
	if q.Validate() == nil {
		t.Error("a pot over budget ÷ rounds was accepted")
	}
}
