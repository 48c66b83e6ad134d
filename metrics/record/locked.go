package record

import (
	"sync"

	"github.com/dais-sim/dais/metrics"
)

// Locked is a Recorder safe for concurrent use, for live drivers whose
// nodes emit from their own goroutines. Events from different goroutines
// are recorded in the order they take the lock, so a live run's figures are
// measured, not reproducible.
type Locked struct {
	mu sync.Mutex
	r  *Recorder
}

// NewLocked wraps r; r must not be used directly afterwards.
func NewLocked(r *Recorder) *Locked { return &Locked{r: r} }

// Record implements metrics.Sink.
func (l *Locked) Record(s metrics.Stamped) {
	l.mu.Lock()
	l.r.Record(s)
	l.mu.Unlock()
}

// Do runs f with the recorder, holding the lock: to observe outside events
// (f calls r.At) or to take a Summary.
func (l *Locked) Do(f func(r *Recorder)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l.r)
}
