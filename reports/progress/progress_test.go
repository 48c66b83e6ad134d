package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLines(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var b bytes.Buffer
	r := New(&b, int64(60*time.Second), Options{Now: c.now}) // a buffer is not a terminal
	c.t = c.t.Add(5 * time.Second)
	r.Update(int64(10*time.Second), 5e6)
	if b.Len() != 0 {
		t.Fatalf("a line before the interval: %q", b.String())
	}
	// 10 s of wall for a quarter of the run: 30 s to go; 8 M events in
	// the 10 s since the last line.
	c.t = c.t.Add(5 * time.Second)
	r.Update(int64(15*time.Second), 8e6)
	want := "progress: sim 15s of 1m0s (25%), 800 k events/s, ETA 30s\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	c.t = c.t.Add(30 * time.Second)
	r.Done(int64(60*time.Second), 40e6)
	r.Done(int64(60*time.Second), 40e6)
	if got := strings.TrimPrefix(b.String(), want); got != "done: sim 1m0s in 40s of wall time, 1 M events/s\n" {
		t.Errorf("done line %q", got)
	}
}

func TestBar(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var b bytes.Buffer
	r := New(&b, int64(10*time.Second), Options{Mode: Bar, Now: c.now})
	for i := 1; i <= 10; i++ {
		c.t = c.t.Add(200 * time.Millisecond)
		r.Update(int64(i)*int64(time.Second), uint64(i)*1000)
	}
	r.Done(int64(10*time.Second), 10000)
	out := b.String()
	for _, want := range []string{"100%", "sim 10s", "events/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output lacks %q: %q", want, out)
		}
	}
}

// A run counted in rounds shows counts, no simulated time and no events.
func TestLinesInRounds(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var b bytes.Buffer
	r := New(&b, 30, Options{Now: c.now, Unit: "rounds"})
	c.t = c.t.Add(10 * time.Second)
	r.Update(10, 0)
	c.t = c.t.Add(20 * time.Second)
	r.Done(30, 0)
	want := "progress: 10 of 30 rounds (33%), ETA 20s\ndone: 30 rounds in 30s of wall time\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

// The counter's ETA extrapolates the points this process ran, not those
// it found done: 2 points in 20 s with 4 left is 40 s to go.
func TestCounterLines(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var b bytes.Buffer
	r := NewCounter(&b, 10, 4, Options{Now: c.now})
	c.t = c.t.Add(5 * time.Second)
	r.Add(1)
	if b.Len() != 0 {
		t.Fatalf("a line before the interval: %q", b.String())
	}
	c.t = c.t.Add(15 * time.Second)
	r.Add(1)
	want := "progress: 6 of 10 points (60%), ETA 40s\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	c.t = c.t.Add(40 * time.Second)
	r.Add(4)
	r.Done()
	r.Done()
	if got := strings.TrimPrefix(b.String(), want); got != "done: 10 of 10 points (6 run in 1m0s, 4 already done)\n" {
		t.Errorf("done line %q", got)
	}
}
