// Package livetest holds what the live-mode tests share: skipping where
// loopback networking is refused, and waiting for a condition rather than
// for a time.
//
// Live tests run real processes and goroutines on a machine that may be
// loaded (CI runs them beside other jobs): how long something takes there
// says nothing about whether it works. So a test waits for the condition it
// needs, and gives up only near the end of its own time (go test -timeout),
// never after a guess at how long the condition should take.
package livetest

import (
	"context"
	"net"
	"testing"
	"time"
)

// RequireLoopback skips the test when the OS will not let it bind
// 127.0.0.1; any later network failure is then a real one.
func RequireLoopback(t testing.TB) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("skipping: the OS refuses to bind a loopback TCP port (%v); live tests need 127.0.0.1", err)
	}
	l.Close()
}

// margin is how long before the test binary's deadline a wait gives up,
// so that the test fails with its own message (and its cleanups run)
// rather than in go test's panic.
const margin = 30 * time.Second

// noDeadline bounds a wait when the test has no deadline (-timeout 0).
const noDeadline = 10 * time.Minute

// Deadline is when a wait in t gives up: margin before the test binary's
// deadline.
func Deadline(t testing.TB) time.Time {
	if tt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := tt.Deadline(); ok {
			return d.Add(-margin)
		}
	}
	return time.Now().Add(noDeadline)
}

// Context is a context that ends at Deadline(t), or when the test ends.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), Deadline(t))
	t.Cleanup(cancel)
	return ctx
}

// WaitFor polls cond every 10 ms until it holds, failing the test with
// what it waited for if the test runs out of time first.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	start, deadline := time.Now(), Deadline(t)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", time.Since(start).Round(time.Millisecond), what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
