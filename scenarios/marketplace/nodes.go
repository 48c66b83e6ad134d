package marketplace

import (
	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol/govern"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// Node is one node of a run as the runner placed it.
type Node struct {
	Role   Role // "" for the committee
	Group  int  // index into Params.Groups; −1 for the committee and Sybil extras' own
	Class  gpu.Class
	Region int
	// Adversary is the attack the node runs ("" for honest nodes).
	Adversary string
	// Sybil is the index of the Sybil attacker the identity belongs to
	// (−1 for everyone else).
	Sybil int
	// Link is the node's access link (a Sybil's extra identities share
	// the attacker's).
	Link netspec.Link
}

// Recorded are the measures of Observable events the recorder keeps.
var Recorded = append(append(append([]*metrics.Measure{}, market.Measures...), rewards.Measures...), govern.Measures...)
