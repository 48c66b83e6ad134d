package testnet

import (
	"fmt"
	"strings"

	"github.com/dais-sim/dais/live/node"
	"github.com/dais-sim/dais/protocol/chain"
)

// LearningSummary is one node's part in the federated job for a status
// table: its roles, the round, the test accuracy the coordinator
// measured, and the tokens paid or earned on chain; "-" without one.
func LearningSummary(l *node.LearningStatus) string {
	if l == nil {
		return "-"
	}
	parts := []string{strings.Join(l.Roles, "+"), fmt.Sprintf("round %d", l.Round)}
	if l.TestAccuracy != nil {
		parts = append(parts, fmt.Sprintf("acc %.1f%%", 100**l.TestAccuracy))
	}
	if l.Done {
		parts = append(parts, "done")
	}
	tokens := func(b uint64) string { return fmt.Sprintf("%.2f", float64(b)/float64(chain.Token)) }
	for _, r := range l.Roles {
		switch r {
		case node.LearnCoordinator:
			parts = append(parts, fmt.Sprintf("paid %s in %d payouts", tokens(l.Paid), l.Payouts))
		case node.LearnLearner:
			parts = append(parts, "earned "+tokens(l.Earned))
		}
	}
	return strings.Join(parts, ", ")
}
