package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Counter shows progress over a count of items (a sweep's points): a bar
// on a terminal, a plain line every Interval otherwise, with the ETA from
// the items done so far. Items already done before it started (skipped)
// count towards the total but not towards the rate. Unlike Reporter, it is
// safe for concurrent use: workers call Add as they finish.
type Counter struct {
	mu      sync.Mutex
	w       io.Writer
	total   int
	skipped int
	n       int // done by this process
	opt     Options
	bar     *progressbar.ProgressBar
	start   time.Time
	last    time.Time
	done    bool
}

// NewCounter returns a Counter of total items of which skipped are done
// already.
func NewCounter(w io.Writer, total, skipped int, opt Options) *Counter {
	if opt.Interval <= 0 {
		opt.Interval = 10 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	c := &Counter{w: w, total: total, skipped: skipped, opt: opt}
	c.start, c.last = opt.Now(), opt.Now()
	bar := opt.Mode == Bar
	if opt.Mode == Auto {
		f, ok := w.(*os.File)
		bar = ok && term.IsTerminal(int(f.Fd()))
	}
	if bar {
		c.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetItsString("points"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
		_ = c.bar.Set(skipped)
	}
	return c
}

// Add counts k more items done.
func (c *Counter) Add(k int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.n += k
	now := c.opt.Now()
	if c.bar != nil {
		c.bar.Describe("ETA " + c.eta(now))
		_ = c.bar.Set(c.skipped + c.n)
		return
	}
	if now.Sub(c.last) < c.opt.Interval || c.skipped+c.n >= c.total {
		return // the last item's line is Done's
	}
	c.last = now
	fmt.Fprintf(c.w, "progress: %d of %d points (%.0f%%), ETA %s\n", c.skipped+c.n, c.total, 100*float64(c.skipped+c.n)/float64(max(c.total, 1)), c.eta(now))
}

// eta extrapolates the rate of the items this process did to those left.
func (c *Counter) eta(now time.Time) string {
	left := c.total - c.skipped - c.n
	if left <= 0 {
		return "0s"
	}
	if c.n == 0 {
		return "?"
	}
	per := float64(now.Sub(c.start)) / float64(c.n)
	return (time.Duration(per*float64(left)) + time.Second/2).Truncate(time.Second).String()
}

// Done ends the display with the totals.
func (c *Counter) Done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.done = true
	wall := c.opt.Now().Sub(c.start)
	if c.bar != nil {
		c.bar.Describe(fmt.Sprintf("%d run, %d already done", c.n, c.skipped))
		_ = c.bar.Finish()
		return
	}
	fmt.Fprintf(c.w, "done: %d of %d points (%d run in %s, %d already done)\n", c.skipped+c.n, c.total, c.n, wall.Round(time.Millisecond), c.skipped)
}
