// Package metrics holds the typed measurements nodes emit and the math that
// summarizes them. It knows nothing of the simulator or live mode: a driver
// stamps each Event with the node and the driver's time and hands it to a Sink.
//
// Protocol packages declare Measures and make their events Observable; the
// recorder in metrics/record keeps them in bounded memory and produces a
// Run, the model that metrics.json stores and package reports reads. The
// math is here too: fairness (Jain, Gini, Nakamoto, Lorenz), confidence
// intervals over repetitions and Welch's t-test. docs/metrics.md documents
// every key.
package metrics

// Event is one typed measurement. Protocol packages define their own event
// types; Kind names the type in outputs and is stable across versions.
type Event interface {
	Kind() string
}

// Stamped is an Event with the node that emitted it and the driver's time
// (nanoseconds since the run started).
type Stamped struct {
	Node  uint32
	AtNs  int64
	Event Event
}

// Sink receives stamped events. Drivers call Record from one goroutine at a
// time; the sink must not keep the Event past the call if it is mutable.
type Sink interface {
	Record(s Stamped)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(s Stamped)

// Record calls f(s).
func (f SinkFunc) Record(s Stamped) { f(s) }
