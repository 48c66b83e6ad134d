package seal

import "github.com/dais-sim/dais/protocol"

// Cost is what sealing takes on one core: per payload byte (ChaCha20-
// Poly1305, either way) and per wrap made or opened (an X25519 key
// generation and agreement, or an agreement; HKDF; the wrap's AEAD).
type Cost struct {
	NsPerByte, NsPerWrap, NsPerUnwrap float64
}

// Seal is the time to seal n bytes to recipients keys.
func (c Cost) Seal(n, recipients int) protocol.Duration {
	return protocol.Duration(c.NsPerByte*float64(n) + c.NsPerWrap*float64(recipients) + 0.5)
}

// Open is the time to unwrap a data key and open n bytes.
func (c Cost) Open(n int) protocol.Duration {
	return protocol.Duration(c.NsPerByte*float64(n) + c.NsPerUnwrap + 0.5)
}

// DefaultCost is measured on the development machine (2 cores of an
// "Oxide Virtual Turin-like Processor", Go 1.26.8) by BenchmarkSeal (ns/byte of a 1 MiB payload), BenchmarkWrap
// and BenchmarkUnwrap, in process CPU time, as the machine is shared
// (BENCHMARKS.md).
var DefaultCost = Cost{NsPerByte: 1.83, NsPerWrap: 84_300, NsPerUnwrap: 81_100}
