// Package livetest holds what the live-mode tests share: skipping where
// loopback networking is refused, and waiting for a condition with a
// deadline instead of sleeping a fixed time.
package livetest

import (
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

// WaitFor polls cond every 10 ms until it holds, failing the test if it
// does not within the given time.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
