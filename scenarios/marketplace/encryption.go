package marketplace

import (
	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/seal"
)

// Encryption models end-to-end encrypted work (protocol/seal): each
// unit's input is sealed by its requester and opened by whoever runs it,
// and its result sealed to the requester, at the measured cost. The
// simulated marketplace carries no payloads (a unit is its cost and
// hashes), so the model charges the processors and counts the bytes
// sealing adds; the payload sizes are the scenario's.
type Encryption struct {
	// InputBytes and OutputBytes are one unit's input and result.
	InputBytes, OutputBytes int64
	// Cost is sealing's price (zero: seal.DefaultCost, measured).
	Cost seal.Cost
}

// sealing charges and counts what Encryption costs over a run.
type sealing struct {
	e      Encryption
	charge func(protocol.NodeID, protocol.Duration)

	// CPU is the modeled processor time, by role; Bytes what envelopes
	// add to the payloads (tags and key wraps).
	requesterNs, providerNs, validatorNs int64
	overheadBytes, payloadBytes          int64
	units                                int64
}

func newSealing(e *Encryption) *sealing {
	if e == nil {
		return nil
	}
	s := &sealing{e: *e}
	if s.e.Cost == (seal.Cost{}) {
		s.e.Cost = seal.DefaultCost
	}
	return s
}

// record charges the processor of the node that did the sealing: the
// requester seals every unit's input when it posts the job (one wrap,
// for the unit's provider); a provider opens its input and seals the
// result to the requester before its Result leaves; a re-executor opens
// the input under the wrap it was granted.
func (s *sealing) record(ev metrics.Stamped) {
	if s == nil {
		return
	}
	c, id := s.e.Cost, protocol.NodeID(ev.Node)
	switch e := ev.Event.(type) {
	case market.JobPosted:
		d := protocol.Duration(e.Units) * c.Seal(int(s.e.InputBytes), 1)
		s.charge(id, d)
		s.requesterNs += int64(d)
		s.payloadBytes += int64(e.Units) * s.e.InputBytes
		s.overheadBytes += int64(e.Units) * int64(seal.Overhead(1))
	case market.Computed:
		d := c.Open(int(s.e.InputBytes))
		// A re-executor's grant is another wrap of the input's key.
		s.overheadBytes += seal.WrapSize
		if e.Replay {
			s.charge(id, d)
			s.validatorNs += int64(d)
			return
		}
		d += c.Seal(int(s.e.OutputBytes), 1)
		s.charge(id, d)
		s.providerNs += int64(d)
		s.units++
		s.payloadBytes += s.e.OutputBytes
		s.overheadBytes += int64(seal.Overhead(1))
	}
}

// figures are encryption's figures for the summary.
func (s *sealing) figures() metrics.Figures {
	if s == nil {
		return nil
	}
	f := func(key string, v float64, unit, help string) metrics.Figure {
		return metrics.Figure{Key: key, Value: v, Unit: unit, Help: help, Better: metrics.Lower}
	}
	units := float64(max(s.units, 1))
	return metrics.Figures{
		f("encryption_overhead_bytes", float64(s.overheadBytes), "bytes", "bytes end-to-end encryption added to the units' inputs and results: AEAD tags and X25519 key wraps (grants to re-executors included)"),
		f("encryption_overhead_share", float64(s.overheadBytes)/float64(max(s.payloadBytes, 1)), "share", "encryption's added bytes over the payload bytes sealed"),
		f("encryption_provider_cpu_ms_per_unit", float64(s.providerNs)/1e6/units, "ms", "modeled processor time a provider spends opening a unit's input and sealing its result (measured ChaCha20-Poly1305 and X25519 costs); the result leaves that much later"),
		f("encryption_requester_cpu_s", float64(s.requesterNs)/1e9, "s", "modeled processor time requesters spent sealing inputs, all jobs"),
		f("encryption_validator_cpu_s", float64(s.validatorNs)/1e9, "s", "modeled processor time re-executors spent opening inputs they were granted, all replays"),
	}
}
