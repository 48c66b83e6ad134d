package p2p

import (
	"cmp"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Reasons an input is refused, as Refusals counts them (stable snake_case:
// they label dais_p2p_refused_total).
const (
	// ReasonUnknownPeer: a connection, stream or publication whose peer (a
	// publication's origin) is not in the address book.
	ReasonUnknownPeer = "unknown_peer"
	// ReasonOversize: a frame longer than its kind's limit, or than any.
	ReasonOversize = "oversize"
	// ReasonUndecodable: a bad length prefix, an unknown codec version or
	// kind, or a body the kind's decoder rejects.
	ReasonUndecodable = "undecodable"
	// ReasonRateLimited: a frame over its peer's frame or byte rate.
	ReasonRateLimited = "rate_limited"
	// ReasonTimeout: a frame whose bytes did not all arrive in time.
	ReasonTimeout = "read_timeout"
	// ReasonMemory: a frame the resource manager had no memory for.
	ReasonMemory = "memory"
	// ReasonBadSignature: a signed message whose signature does not verify
	// against its claimed author's key, or whose author has no key.
	ReasonBadSignature = "bad_signature"
	// ReasonUnsigned: a message of a kind that must come signed by its
	// author (the services') without a signature.
	ReasonUnsigned = "unsigned"
	// ReasonStale: a vote, proposal or commit for a height already
	// committed (a replay, or a very late message); the engine would
	// ignore it.
	ReasonStale = "stale"
)

// logEvery is how often Refusals logs one reason at most.
const logEvery = 10 * time.Second

// Refusal is a count of inputs refused for one reason, of one kind (a wire
// kind's name, or what was refused where no message kind applies: conn,
// stream, gossip, length, header).
type Refusal struct {
	Reason, Kind string
	Count        uint64
}

type refusalKey struct{ reason, kind string }

// Refusals counts refused inputs by reason and kind and logs them, at most
// one line per reason every 10 s (with how many were refused since the
// last line), so that a flood cannot flood the log. Safe for concurrent
// use; the zero value counts without logging.
type Refusals struct {
	log *slog.Logger

	mu     sync.Mutex
	counts map[refusalKey]uint64
	lines  map[string]*logLine
}

type logLine struct {
	at     time.Time
	unseen uint64 // refused since the last line
}

// NewRefusals returns Refusals that log to log (nil: no logging).
func NewRefusals(log *slog.Logger) *Refusals { return &Refusals{log: log} }

// Add counts one refused input; from says whose it was, for the log.
func (r *Refusals) Add(reason, kind string, from any) {
	now := time.Now()
	r.mu.Lock()
	if r.counts == nil {
		r.counts, r.lines = map[refusalKey]uint64{}, map[string]*logLine{}
	}
	r.counts[refusalKey{reason, kind}]++
	l, ok := r.lines[reason]
	if !ok {
		l = &logLine{}
		r.lines[reason] = l
	}
	l.unseen++
	emit := r.log != nil && (!ok || now.Sub(l.at) >= logEvery)
	var n uint64
	if emit {
		n, l.unseen, l.at = l.unseen, 0, now
	}
	r.mu.Unlock()
	if emit {
		r.log.Warn("refused input", "reason", reason, "kind", kind, "from", from, "refused_since_last_line", n)
	}
}

// Count is how many inputs were refused for reason, of every kind.
func (r *Refusals) Count(reason string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n uint64
	for k, c := range r.counts {
		if k.reason == reason {
			n += c
		}
	}
	return n
}

// Of is how many inputs of kind were refused for reason.
func (r *Refusals) Of(reason, kind string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[refusalKey{reason, kind}]
}

// All returns every count, by reason then kind. The caller owns the slice.
func (r *Refusals) All() []Refusal {
	r.mu.Lock()
	out := make([]Refusal, 0, len(r.counts))
	for k, c := range r.counts {
		out = append(out, Refusal{Reason: k.reason, Kind: k.kind, Count: c})
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b Refusal) int {
		return cmp.Or(cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}
