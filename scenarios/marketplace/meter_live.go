package marketplace

import (
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/metrics/record"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/market"
)

// Meter measures a marketplace from its events, for a driver that runs
// the roles itself: dais testnet report feeds it the events a live
// network's nodes wrote, so that its figures (Summary) are those of a
// simulated run, under the same keys. Not safe for concurrent use.
type Meter struct {
	m          *meter
	enc        *sealing
	rec        *record.Recorder
	start, end protocol.Time
	sybils     [][]protocol.NodeID
}

// NewMeter measures a run of p (its tokenomics, prices and time-series
// step; defaults filled in as Run fills them) over nodes, indexed by
// NodeID (Role "" for the committee's node, and for nodes without a
// market role), from start to end. honest says whether a verified
// result is the honest one; nil takes every result as honest (live units'
// results are hashes of real outputs, not verify.Honest's modeled ones,
// and live runs no adversaries).
func NewMeter(p *Params, nodes []Node, start, end protocol.Time, honest func(market.Verified) bool) *Meter {
	q := *p
	q.Defaults()
	m := newMeter(&q)
	m.startAt = start
	if honest != nil {
		m.honest = honest
	} else {
		m.honest = func(market.Verified) bool { return true }
	}
	m.start(nodes, end)
	rec := record.New(record.Config{StepNs: q.StepNs, EndNs: int64(end)}, Recorded...)
	return &Meter{m: m, enc: newSealing(q.Encryption), rec: rec, start: start, end: end}
}

// SetCharge gives the meter the driver's way to charge a node's processor
// (sim.World.Charge), for what end-to-end encryption costs
// (Params.Encryption): without it, sealing is counted, not charged.
func (mt *Meter) SetCharge(charge func(protocol.NodeID, protocol.Duration)) {
	if mt.enc != nil {
		mt.enc.charge = charge
	}
}

// SetSybils names the identities of each Sybil attacker, for the Sybil
// gain.
func (mt *Meter) SetSybils(sybils [][]protocol.NodeID) { mt.sybils = sybils }

// Up counts node id as online from at (true) or ends its online span at
// at (false): a driver that tells every change (the simulator's
// sim.Config.Online hook) gets exact online time, whatever the step.
func (mt *Meter) Up(id protocol.NodeID, at protocol.Time, on bool) { mt.m.up(id, at, on) }

// Close ends the online spans still open at the end of the run.
func (mt *Meter) Close() { mt.m.close(mt.end) }

// Online counts node id as online from from to to (a live node's process
// running); the simulator samples it from the world instead.
func (mt *Meter) Online(id protocol.NodeID, from, to protocol.Time) {
	if int(id) < len(mt.m.nodes) {
		mt.m.online(id, from, to)
	}
}

// Record measures one event; call it in time order, each committee event
// once.
func (mt *Meter) Record(s metrics.Stamped) {
	mt.enc.record(s)
	mt.m.record(s)
	mt.rec.Record(s)
}

// Result is what the events said; escrow is what openJobs jobs still hold
// at the end.
func (mt *Meter) Result(escrow uint64, openJobs int) *Result {
	res := mt.m.result(mt.end, escrow, openJobs, mt.sybils, mt.rec)
	res.sealing = mt.enc
	return res
}
