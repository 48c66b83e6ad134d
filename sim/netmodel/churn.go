package netmodel

import (
	"fmt"
	"math"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
)

// Churn makes nodes leave and come back. Each node alternates an online
// session and a downtime, both drawn (in seconds) from the node's own churn
// stream, so adding nodes does not change the schedule of others.
type Churn struct {
	// Session is how long a node stays online before it leaves.
	Session dist.Dist
	// Downtime is how long it stays away; nil means it never comes back.
	Downtime dist.Dist
	// CrashShare is the share of leaves that are crashes (no Stop input, state
	// as the node left it) rather than graceful leaves.
	CrashShare float64
}

// Validate checks the churn parameters.
func (c Churn) Validate() error {
	if err := dist.Validate(c.Session); err != nil {
		return fmt.Errorf("netmodel: churn session: %w", err)
	}
	if c.Downtime != nil {
		if err := dist.Validate(c.Downtime); err != nil {
			return fmt.Errorf("netmodel: churn downtime: %w", err)
		}
	}
	if !(c.CrashShare >= 0 && c.CrashShare <= 1) {
		return fmt.Errorf("netmodel: churn crash share %g outside [0, 1]", c.CrashShare)
	}
	return nil
}

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

// Apply schedules churn for the given nodes of w from now until the end time.
// Events are scheduled one session at a time, so a long run holds at most
// one pending churn event per node.
func (c Churn) Apply(w Driver, seed uint64, nodes []protocol.NodeID, until protocol.Time) error {
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
