package secagg

import "github.com/dais-sim/dais/protocol"

// Cost is what each operation of Work takes on one core, for a
// simulator that charges a party's processor for its part of a round.
type Cost struct {
	KeyAgreementNs, MaskWordNs, FieldMulNs, SealNs float64
}

// Of is the time Work w takes at cost c.
func (c Cost) Of(w Work) protocol.Duration {
	return protocol.Duration(c.KeyAgreementNs*float64(w.KeyAgreements) + c.MaskWordNs*float64(w.MaskWords) +
		c.FieldMulNs*float64(w.FieldMuls) + c.SealNs*float64(w.Seals) + 0.5)
}

// DefaultCost is measured on the development machine (2 cores of an
// "Oxide Virtual Turin-like Processor", Go 1.26.8) by this package's benchmarks: BenchmarkKeyAgreementX25519,
// BenchmarkMaskWord (ns/word), BenchmarkShamirDeal (ns/mul) and
// BenchmarkSealShares (ns/seal), in process CPU time (the machine is
// shared: its wall clock counts other processes' load); see BENCHMARKS.md
// for the command and the figures. A key agreement also stands for the
// derivation of a public key.
var DefaultCost = Cost{KeyAgreementNs: 42_300, MaskWordNs: 6.1, FieldMulNs: 2.5, SealNs: 504}
