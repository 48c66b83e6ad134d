package node

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/dais-sim/dais/metrics"
	"github.com/dais-sim/dais/protocol/learn"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/rewards"
)

// Protocol events in the events file. The events the marketplace and the
// federated job emit (market.*, rewards.*, learn.*) are written as they
// are: Kind is the event's metrics.Event Kind, Data its fields as JSON, so
// that dais testnet report hands them to the simulator's own summaries
// (sim/marketrun, sim/learnrun) and the figures are the simulator's.
// learn.Committed is written without its Params (the model, kilobytes a
// round); the coordinator's measure of that model follows it as a
// LearnMeasured event.

// LearnMeasured is emitted by the coordinator's node after a round
// commits: the committed model's test accuracy, measured on the node's
// copy of optdigits (learnrun.Federation.Accuracy).
type LearnMeasured struct {
	Round    uint64
	Accuracy float64
}

// Kind implements metrics.Event.
func (LearnMeasured) Kind() string { return "live.learn_measured" }

// protocolEvents decodes the Data of each protocol event kind the events
// file holds.
var protocolEvents = map[string]func(json.RawMessage) (metrics.Event, error){}

func registerEvent[E metrics.Event]() {
	var zero E
	protocolEvents[zero.Kind()] = func(b json.RawMessage) (metrics.Event, error) {
		var e E
		err := json.Unmarshal(b, &e)
		return e, err
	}
}

func init() {
	registerEvent[market.Computed]()
	registerEvent[market.JobPosted]()
	registerEvent[market.JobFinished]()
	registerEvent[market.JobOpened]()
	registerEvent[market.Assigned]()
	registerEvent[market.Verified]()
	registerEvent[market.LateAgreement]()
	registerEvent[market.Rescinded]()
	registerEvent[market.FraudProven]()
	registerEvent[market.TimedOut]()
	registerEvent[market.JobClosed]()
	registerEvent[market.Block]()
	registerEvent[market.Rejected]()
	registerEvent[market.CommitteeLoad]()
	registerEvent[rewards.Paid]()
	registerEvent[rewards.Slashed]()
	registerEvent[learn.RoundStarted]()
	registerEvent[learn.Trained]()
	registerEvent[learn.Rejected]()
	registerEvent[learn.Committed]()
	registerEvent[learn.Dissent]()
	registerEvent[learn.SecureRound]()
	registerEvent[LearnMeasured]()
	protocolEvents[learn.Scored{}.Kind()] = func(b json.RawMessage) (metrics.Event, error) {
		var s scoredJSON
		err := json.Unmarshal(b, &s)
		s.Scored.Score = float64(s.Score)
		return s.Scored, err
	}
}

// protocolEvent returns the events-file line of a protocol event, or false
// for an event of another kind.
func protocolEvent(at int64, ev metrics.Event) (Event, bool, error) {
	if _, ok := protocolEvents[ev.Kind()]; !ok {
		return Event{}, false, nil
	}
	var v any = ev
	switch e := ev.(type) {
	case learn.Committed:
		e.Params = nil
		v = e
	case learn.Scored:
		v = scoredJSON{Scored: e, Score: jsonFloat(e.Score)}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Event{}, true, fmt.Errorf("node: encoding a %s event: %w", ev.Kind(), err)
	}
	return Event{Kind: ev.Kind(), AtNs: at, Data: b}, true, nil
}

// Protocol decodes a protocol event's line (Kind market.*, rewards.*,
// learn.*, live.*): ok is false for a line of another kind.
func (e *Event) Protocol() (ev metrics.Event, ok bool, err error) {
	dec, ok := protocolEvents[e.Kind]
	if !ok {
		return nil, false, nil
	}
	ev, err = dec(e.Data)
	if err != nil {
		return nil, true, fmt.Errorf("node: decoding a %s event: %w", e.Kind, err)
	}
	return ev, true, nil
}

// scoredJSON writes learn.Scored's Score, which is NaN when no validator
// scored an update and −Inf when it was out of bounds.
type scoredJSON struct {
	learn.Scored
	Score jsonFloat
}

// jsonFloat is a float64 whose NaN and infinities are JSON strings.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(s, 64)
		*f = jsonFloat(v)
		return err
	}
	var v float64
	err := json.Unmarshal(b, &v)
	*f = jsonFloat(v)
	return err
}
