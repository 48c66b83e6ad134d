package node

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dais-sim/dais/protocol"
)

// An API call whose caller gave up (its context ended, or the node did not
// take it in time) never runs: were it to run later, a submission the
// user was told failed would land all the same, and the call would write
// results its caller no longer reads. A call that reports success ran
// exactly once. The node goroutine (the gate) and the caller race here,
// many times; under -race this also checks that they share nothing else.
func TestAbandonedAPICallNeverRuns(t *testing.T) {
	gate := &apiGate{Node: protocol.NodeFunc(func(protocol.Env, protocol.Input) {
		t.Error("an API call reached the protocol")
	})}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	var abandoned, took int
	for range 2000 {
		ran := 0
		c := &apiCall{fn: func(protocol.Env) { ran++ }, done: make(chan struct{})}
		var wg sync.WaitGroup
		wg.Go(func() { gate.Handle(nil, protocol.Recv{Msg: c}) })
		err := c.await(canceled, time.Hour)
		wg.Wait()
		switch {
		case err != nil && ran != 0:
			t.Fatalf("the call ran %d times after its caller was told %v", ran, err)
		case err == nil && ran != 1:
			t.Fatalf("the call reported success and ran %d times", ran)
		case err != nil:
			abandoned++
		default:
			took++
		}
	}
	// Not run at all (delivered after the caller gave up) must also hold
	// when nothing races: the caller times out, then the gate sees it.
	ran := false
	c := &apiCall{fn: func(protocol.Env) { ran = true }, done: make(chan struct{})}
	if err := c.await(context.Background(), time.Millisecond); err == nil {
		t.Fatal("a call nobody took reported success")
	}
	gate.Handle(nil, protocol.Recv{Msg: c})
	if ran {
		t.Error("a call ran after its caller had timed out")
	}
	t.Logf("of 2,000 raced calls, %d were abandoned and %d taken first", abandoned, took)
}
