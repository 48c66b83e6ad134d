package metrics

import "sync"

// Memory is a Sink that keeps every event, safe for concurrent use: for
// tests and small runs. The zero value is ready.
type Memory struct {
	mu  sync.Mutex
	evs []Stamped
}

// Record implements Sink.
func (m *Memory) Record(s Stamped) {
	m.mu.Lock()
	m.evs = append(m.evs, s)
	m.mu.Unlock()
}

// Events returns a copy of the events recorded so far, in arrival order.
func (m *Memory) Events() []Stamped {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Stamped(nil), m.evs...)
}
