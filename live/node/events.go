package node

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// EventsFile is the name of a node's events file in its data dir: one JSON
// Event per line, appended as the node measures, read by dais testnet
// report to build the same report a simulated run gets.
const EventsFile = "events.jsonl"

// Kinds of Event.
const (
	EventStart        = "start"        // the node started (Replayed: heights replayed from its store)
	EventCommitted    = "committed"    // consensus.Committed: a block became final here
	EventApplied      = "applied"      // chain.Applied: what the block held
	EventHeightDone   = "height_done"  // bft.HeightDone: what deciding the height cost this validator
	EventTimeout      = "timeout"      // bft.TimeoutFired
	EventEquivocation = "equivocation" // bft.Equivocation seen
	EventStop         = "stop"         // the node shut down gracefully
	// A protocol event's kind is its metrics.Event Kind: market.verified,
	// learn.committed, … (Event.Protocol decodes it).
)

// Event is one line of a node's events file. Times are protocol time:
// nanoseconds since the network's epoch. Fields a kind does not use are
// left out.
type Event struct {
	Kind string `json:"kind"`
	AtNs int64  `json:"at_ns"`

	Height uint64 `json:"height,omitempty"`
	Hash   string `json:"hash,omitempty"`
	Round  uint32 `json:"round,omitempty"`
	// ProposedNs and LatencyNs: when the block was proposed, and commit
	// time less that (committed).
	ProposedNs int64 `json:"proposed_ns,omitempty"`
	LatencyNs  int64 `json:"latency_ns,omitempty"`
	// Bytes is the block's size (committed, applied) or what the validator
	// sent for the height (height_done).
	Bytes uint64 `json:"bytes,omitempty"`

	// applied
	Txs     int    `json:"txs,omitempty"` // user transactions
	Fees    uint64 `json:"fees,omitempty"`
	Minted  uint64 `json:"minted,omitempty"`
	Burned  uint64 `json:"burned,omitempty"`
	Pending int    `json:"pending,omitempty"`

	// height_done
	Msgs     uint64 `json:"msgs,omitempty"`
	Timeouts uint32 `json:"timeouts,omitempty"`

	// timeout: the step; start: the role.
	Step string `json:"step,omitempty"`
	Role string `json:"role,omitempty"`
	// start
	Replayed uint64 `json:"replayed,omitempty"`
	// equivocation
	Validator uint32 `json:"validator,omitempty"`

	// Data is a protocol event's fields (Kind market.*, rewards.*,
	// learn.*, live.*; see protoevents.go and Event.Protocol).
	Data json.RawMessage `json:"data,omitempty"`
}

// eventLog appends Events to a file. Each line is written whole with one
// write (no fsync: the file is for measurement, and a line lost to a crash
// is a sample lost, not a block), so a reader sees at most a torn last line.
type eventLog struct {
	f   *os.File
	buf []byte
	err error
}

func openEventLog(path string) (*eventLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("node: opening the events file: %w", err)
	}
	return &eventLog{f: f}, nil
}

func (l *eventLog) write(ev *Event) {
	if l.err != nil {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		l.err = err
		return
	}
	l.buf = append(append(l.buf[:0], b...), '\n')
	if _, err := l.f.Write(l.buf); err != nil {
		l.err = err
	}
}

func (l *eventLog) close() error {
	return errors.Join(l.err, l.f.Close())
}

// ReadEvents reads an events file. A torn last line (the node was killed
// mid-write) is skipped; a malformed line elsewhere is an error.
func ReadEvents(r io.Reader) ([]Event, error) {
	var out []Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var bad error
	line := 0
	for sc.Scan() {
		line++
		if bad != nil {
			return nil, bad // the malformed line was not the last
		}
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			bad = fmt.Errorf("node: events line %d: %w", line, err)
			continue
		}
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("node: reading events: %w", err)
	}
	return out, nil
}
