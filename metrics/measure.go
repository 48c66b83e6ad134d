package metrics

import (
	"fmt"
	"regexp"
)

// Kind says how the observations of a Measure combine.
type Kind uint8

const (
	// Counter is a running total: messages delivered, bytes sent, tokens
	// minted. Figure: the total; time series: the total in each step.
	Counter Kind = iota + 1
	// Distribution is a value whose spread matters: a latency, a size.
	// Figures: count, mean, p50, p90, p95, p99, max; a quantile list for
	// CDF plots; time series: count and mean in each step.
	Distribution
	// PerNode is a total kept per node: earnings, verified work, stake. It
	// feeds fairness math (Jain, Gini, Nakamoto) and per-class tables.
	// Figure: the total over nodes; time series: the total in each step.
	PerNode
)

func (k Kind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Distribution:
		return "distribution"
	case PerNode:
		return "per-node"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Better says which direction of a figure is an improvement; dais compare
// uses it to say whether a difference is a gain or a loss.
type Better string

const (
	Lower  Better = "lower"
	Higher Better = "higher"
)

// Measure names one measured quantity. Packages declare their measures once,
// as package-level pointers; the pointer is the measure's identity in a
// recorder, so two declarations with the same name are a programming error
// that the recorder reports.
type Measure struct {
	// Name is snake_case, without the unit: "propagation", "earnings".
	Name string
	// Unit is snake_case and comes last in every key: "ms", "bytes",
	// "tokens". Empty for a plain count.
	Unit string
	Kind Kind
	// Help is one line: what is measured, from when to when.
	Help   string
	Better Better
}

var keyPart = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Key is Name, or Name_Unit: the stem of every figure key of the measure.
func (m *Measure) Key() string {
	if m.Unit == "" {
		return m.Name
	}
	return m.Name + "_" + m.Unit
}

// Validate checks that the name and unit make stable snake_case keys.
func (m *Measure) Validate() error {
	switch {
	case !keyPart.MatchString(m.Name):
		return fmt.Errorf("metrics: measure name %q is not snake_case", m.Name)
	case m.Unit != "" && !keyPart.MatchString(m.Unit):
		return fmt.Errorf("metrics: measure %s: unit %q is not snake_case", m.Name, m.Unit)
	case m.Kind < Counter || m.Kind > PerNode:
		return fmt.Errorf("metrics: measure %s: unknown kind %d", m.Name, m.Kind)
	case m.Help == "":
		return fmt.Errorf("metrics: measure %s: no help text", m.Name)
	case m.Better != "" && m.Better != Lower && m.Better != Higher:
		return fmt.Errorf("metrics: measure %s: better is %q, want lower, higher or empty", m.Name, m.Better)
	}
	return nil
}

// Observer takes observations. A recorder implements it and attributes each
// observation to the time of the event being recorded. Using a measure with
// the method of another kind is a programming error and panics.
type Observer interface {
	// Add adds v to a Counter.
	Add(m *Measure, v float64)
	// Sample records one value of a Distribution, in the measure's unit.
	Sample(m *Measure, v float64)
	// AddTo adds v to node's total of a PerNode measure.
	AddTo(m *Measure, node uint32, v float64)
}

// Observable is an Event that knows which measures it feeds: the one
// extension point between protocol events and the recorder, so that the
// recorder never imports a protocol package and the sim and live drivers
// record the same figures from the same events. s is the event as stamped
// (s.Event is the receiver); Observe must not keep o.
type Observable interface {
	Event
	Observe(s Stamped, o Observer)
}
