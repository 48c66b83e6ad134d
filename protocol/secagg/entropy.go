package secagg

import (
	"encoding/binary"
	"math/rand/v2"
)

// StreamReader reads bytes from a seeded stream: the io.Reader a
// simulated node passes as entropy, so that its keys and seeds are
// reproducible from the run's seed. A live node passes crypto/rand's
// Reader instead; nothing in this package reads the OS.
type StreamReader struct{ R *rand.Rand }

// Read fills p and never fails.
func (s StreamReader) Read(p []byte) (int, error) {
	var b [8]byte
	for i := 0; i < len(p); i += 8 {
		binary.LittleEndian.PutUint64(b[:], s.R.Uint64())
		copy(p[i:], b[:])
	}
	return len(p), nil
}
