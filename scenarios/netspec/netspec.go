// Package netspec describes the network a run is placed on — region
// latencies (Matrix, with the measured DefaultMatrix), access links,
// partitions, churn and the processing a node pays per message — as data
// that both drivers read: the simulator's sim/netmodel turns it into
// delivery times, the scenario loader (scenarios) builds it from YAML, and
// live calibration (dais calibrate) fills it with what it measured.
//
//	m := netspec.DefaultMatrix()            // ten measured regions
//	l := netspec.Link{UpBps: 1e9, DownBps: 1e9}
//
// Nothing here runs a network: it imports only protocol and protocol/dist.
package netspec

import (
	"fmt"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/dist"
)

// Link is a node's access bandwidth in bits per second; 0 means unlimited.
type Link struct {
	UpBps, DownBps float64
}

// Partition cuts a set of nodes off from the rest between From and Until:
// a message between a node inside and one outside is lost if either its send
// or its arrival falls in [From, Until). Nodes inside still reach each other.
type Partition struct {
	From, Until protocol.Time
	// Regions (indexes into Matrix.Regions) and Nodes inside the cut.
	Regions []int
	Nodes   []protocol.NodeID
}

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
		return fmt.Errorf("netspec: churn session: %w", err)
	}
	if c.Downtime != nil {
		if err := dist.Validate(c.Downtime); err != nil {
			return fmt.Errorf("netspec: churn downtime: %w", err)
		}
	}
	if !(c.CrashShare >= 0 && c.CrashShare <= 1) {
		return fmt.Errorf("netspec: churn crash share %g outside [0, 1]", c.CrashShare)
	}
	return nil
}

// CPU is the processing a node's messages cost it, in nanoseconds of its
// own processor: what a live runtime spends beside the network, measured
// by dais calibrate and charged by the simulator (sim.Config.CPU).
type CPU struct {
	// SendNs is charged for each message a node sends: encoding and
	// signing, once however many peers it goes to (a Publish; or Sends of
	// the same message, by pointer, while handling one input, as a
	// broadcast does). Gossip relays are the router's and free.
	SendNs int64
	// RecvNs is charged for each message a node receives (a gossip
	// duplicate the router drops costs nothing): decoding and checking
	// signatures, before the node acts on it.
	RecvNs int64
}
