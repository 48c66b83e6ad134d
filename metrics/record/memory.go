package record

import (
	"sync"

	"github.com/dais-sim/dais/metrics"
)

// Memory is a metrics.Sink that keeps every event, safe for concurrent
// use: for tests and small runs. The zero value is ready. (It lives here,
// not in the metrics root, which protocol code imports and must not hold
// a mutex.)
type Memory struct {
	mu  sync.Mutex
	evs []metrics.Stamped
}

// Record implements Sink.
func (m *Memory) Record(s metrics.Stamped) {
	m.mu.Lock()
	m.evs = append(m.evs, s)
	m.mu.Unlock()
}

// Events returns a copy of the events recorded so far, in arrival order.
func (m *Memory) Events() []metrics.Stamped {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]metrics.Stamped(nil), m.evs...)
}
