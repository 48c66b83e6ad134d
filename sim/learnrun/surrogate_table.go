package learnrun

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dais-sim/dais/scenarios/learning"
)

// attackTableJSON is the attack table of BENCHMARKS.md ("Federated
// learning under attack") as TestAttackTable writes it (-tablejson, seed
// 1): for each partition, rule, attack and attacker share, the final test
// accuracy and the mean attack success rate (1→7, second half of the
// rounds) after 20 rounds of 20 providers training the MLP. The surrogate
// scales its learning curve by it (attackEffect);
// TestAttackTableInBenchmarks checks that its Markdown is BENCHMARKS.md's.
//
//go:embed attack_table.json
var attackTableJSON []byte

// measuredTable decodes attackTableJSON once.
var measuredTable = sync.OnceValues(func() (*TableData, error) {
	var d TableData
	if err := json.Unmarshal(attackTableJSON, &d); err != nil {
		return nil, fmt.Errorf("learnrun: attack_table.json: %w", err)
	}
	if len(d.Shares) < 2 || d.Shares[0] != 0 || !slices.IsSorted(d.Shares) {
		return nil, fmt.Errorf("learnrun: attack_table.json: shares %v, want 0 and more, ascending", d.Shares)
	}
	return &d, nil
})

// surrogateAttacks are the attacks whose measured effect the surrogate
// applies; Sybil identities are not modeled.
var surrogateAttacks = []learning.AttackKind{learning.LabelFlip, learning.SignFlip, learning.Scaling, learning.LittleIsEnough, learning.FreeRider}

// measuredRow returns, for p's partition (Dirichlet of any α reads the
// table's Dirichlet partition, anything else its IID one), rule and
// attack, the table's shares and the measured final accuracy and attack
// success at each (share 0: the clean run).
func measuredRow(p *learning.Params) (shares, acc, asr []float64, err error) {
	d, err := measuredTable()
	if err != nil {
		return nil, nil, nil, err
	}
	rule := p.Rule
	if p.Filter {
		rule += FilterSuffix
	}
	kind, part := "iid", "iid"
	if p.Partition.Kind == "dirichlet" {
		kind = "dirichlet"
		if i := slices.IndexFunc(d.Partitions, func(p string) bool { return strings.HasPrefix(p, "dirichlet(") }); i >= 0 {
			part = d.Partitions[i]
		}
	}
	missing := fmt.Errorf("%w: no measured effect of %s under %s (%s) for the surrogate", learning.ErrParams, p.Attack.Kind, rule, kind)
	if !slices.Contains(surrogateAttacks, p.Attack.Kind) || (kind == "dirichlet" && part == "iid") {
		return nil, nil, nil, missing
	}
	for _, s := range d.Shares {
		c, ok := d.Cell(part, rule, string(p.Attack.Kind), s)
		if !ok {
			return nil, nil, nil, missing
		}
		acc, asr = append(acc, float64(c.Accuracy)), append(asr, float64(c.AttackSuccess))
	}
	return d.Shares, acc, asr, nil
}
