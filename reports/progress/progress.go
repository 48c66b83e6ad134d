// Package progress shows how far a long run has got: a live bar when the
// output is a terminal (simulated time against the end, events/s, ETA) and
// a plain line every few seconds otherwise, for CI logs. It only reads what
// the driver passes in, so it cannot change a run's results.
//
//	p := progress.New(os.Stderr, endNs, progress.Options{})
//	for world.Step() { if n++; n%65536 == 0 { p.Update(int64(world.Now()), world.Events()) } }
//	p.Done(int64(world.Now()), world.Events())
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Mode picks the display.
type Mode int

const (
	Auto  Mode = iota // a bar on a terminal, lines otherwise
	Bar               // always the bar
	Lines             // always plain lines
)

// Options tune a Reporter; the zero value is the default.
type Options struct {
	Mode Mode
	// Interval between plain lines (10 s if 0).
	Interval time.Duration
	// Now is the wall clock (time.Now if nil); tests set it.
	Now func() time.Time
	// Unit, if not empty, says the run counts this ("rounds") instead of
	// simulated nanoseconds: New's end and Update's position are counts,
	// and events are not shown.
	Unit string
}

// Reporter shows one run's progress. Call Update as often as is cheap (it
// reads the clock once and redraws at most every 100 ms), then Done once.
// It is not safe for concurrent use.
type Reporter struct {
	w      io.Writer
	endNs  int64
	opt    Options
	bar    *progressbar.ProgressBar
	start  time.Time
	last   time.Time // when the last line or redraw was written
	lastEv uint64
	done   bool
}

// New returns a Reporter writing to w for a run that ends at simulated time
// endNs.
func New(w io.Writer, endNs int64, opt Options) *Reporter {
	if opt.Interval <= 0 {
		opt.Interval = 10 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	r := &Reporter{w: w, endNs: max(endNs, 1), opt: opt}
	r.start, r.last = opt.Now(), opt.Now()
	bar := opt.Mode == Bar
	if opt.Mode == Auto {
		f, ok := w.(*os.File)
		bar = ok && term.IsTerminal(int(f.Fd()))
	}
	if bar {
		r.bar = progressbar.NewOptions64(r.scaled(r.endNs),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return r
}

// Update reports that the run has reached simulated time simNs after events
// events.
func (r *Reporter) Update(simNs int64, events uint64) {
	if r.done {
		return
	}
	now := r.opt.Now()
	if r.bar != nil {
		if now.Sub(r.last) >= 100*time.Millisecond {
			r.bar.Describe(r.position(simNs, "/") + r.speed(events, now.Sub(r.start)))
			r.last = now
		}
		_ = r.bar.Set64(r.scaled(min(simNs, r.endNs)))
		return
	}
	if now.Sub(r.last) < r.opt.Interval {
		return
	}
	frac := float64(simNs) / float64(r.endNs)
	eta := "?"
	if frac > 0 {
		eta = (time.Duration(float64(now.Sub(r.start))*(1-frac)/frac) + time.Second/2).Truncate(time.Second).String()
	}
	fmt.Fprintf(r.w, "progress: %s (%.0f%%)%s, ETA %s\n",
		r.position(simNs, "of"), 100*min(frac, 1), r.speed(events-r.lastEv, now.Sub(r.last)), eta)
	r.last, r.lastEv = now, events
}

// Done ends the display with the run's totals.
func (r *Reporter) Done(simNs int64, events uint64) {
	if r.done {
		return
	}
	r.done = true
	wall := r.opt.Now().Sub(r.start)
	if r.bar != nil {
		r.bar.Describe(r.at(simNs) + r.speed(events, wall))
		_ = r.bar.Finish()
		return
	}
	fmt.Fprintf(r.w, "done: %s in %s of wall time%s\n", r.at(simNs), wall.Round(time.Millisecond), r.speed(events, wall))
}

// scaled is a position in the bar's steps: milliseconds of simulated
// time, or the count.
func (r *Reporter) scaled(v int64) int64 {
	if r.opt.Unit != "" {
		return v
	}
	return v / 1e6
}

// at is a position for people: "sim 1m0s", or "7 rounds".
func (r *Reporter) at(v int64) string {
	if r.opt.Unit != "" {
		return fmt.Sprintf("%d %s", v, r.opt.Unit)
	}
	return "sim " + simTime(v)
}

// position is the position against the end: "sim 15s of 1m0s", "7 of 30
// rounds".
func (r *Reporter) position(v int64, sep string) string {
	if r.opt.Unit != "" {
		return fmt.Sprintf("%d %s %d %s", v, sep, r.endNs, r.opt.Unit)
	}
	return fmt.Sprintf("sim %s %s %s", simTime(v), sep, simTime(r.endNs))
}

// speed is ", 800 k events/s", or nothing for counted runs.
func (r *Reporter) speed(events uint64, d time.Duration) string {
	if r.opt.Unit != "" {
		return ""
	}
	return ", " + rate(events, d) + " events/s"
}

func simTime(ns int64) string { return time.Duration(ns).Round(time.Millisecond).String() }

func rate(events uint64, d time.Duration) string {
	if d <= 0 {
		return "?"
	}
	return humanize.SIWithDigits(float64(events)/d.Seconds(), 3, "")
}
