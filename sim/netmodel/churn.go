package netmodel

import (
	"math"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios/netspec"
)

// Driver is what churn needs of an engine: sim.World, or sim/blockprop's
// relay engine.
type Driver interface {
	Now() protocol.Time
	// At runs fn at t, ordered with the other events by (time, seq).
	At(t protocol.Time, fn func())
	// Leave takes a node offline at t (crash: without a goodbye).
	Leave(id protocol.NodeID, t protocol.Time, crash bool)
	// Rejoin brings it back at t.
	Rejoin(id protocol.NodeID, t protocol.Time)
}

// ApplyChurn schedules c for the given nodes of w from now until the end time.
// Events are scheduled one session at a time, so a long run holds at most
// one pending churn event per node.
func ApplyChurn(c netspec.Churn, w Driver, seed uint64, nodes []protocol.NodeID, until protocol.Time) error {
	if err := c.Validate(); err != nil {
		return err
	}
	for _, id := range nodes {
		r := protocol.Stream(seed, "churn", uint64(id))
		var leave func()
		leave = func() {
			crash := r.Float64() < c.CrashShare
			w.Leave(id, w.Now(), crash)
			if c.Downtime == nil {
				return
			}
			back := w.Now().Add(seconds(c.Downtime.Sample(r)))
			if back < until {
				w.Rejoin(id, back)
				if next := back.Add(seconds(c.Session.Sample(r))); next < until {
					w.At(next, leave)
				}
			}
		}
		if first := w.Now().Add(seconds(c.Session.Sample(r))); first < until {
			w.At(first, leave)
		}
	}
	return nil
}

func seconds(s float64) protocol.Duration {
	if !(s > 0) {
		return 0
	}
	return protocol.Duration(math.Round(s * float64(protocol.Second)))
}
