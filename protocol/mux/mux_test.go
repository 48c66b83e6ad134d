package mux_test

import (
	"testing"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/protocol/market"
	"github.com/dais-sim/dais/protocol/mux"
	"github.com/dais-sim/dais/protocol/prototest"
	"github.com/dais-sim/dais/protocol/wire"
)

// recorder is a protocol.Node that notes its inputs and sets a timer and
// submits a job when told to (a Join).
type recorder struct{ ins []protocol.Input }

func (r *recorder) Handle(env protocol.Env, in protocol.Input) {
	r.ins = append(r.ins, in)
	if rv, ok := in.(protocol.Recv); ok {
		if _, ok := rv.Msg.(*market.Join); ok {
			env.SetTimer(protocol.Second, 7)
			env.Submit(gpu.Job{FLOPs: 1})
		}
	}
}

func TestRoutesByKindTimerAndJob(t *testing.T) {
	eng, app := &recorder{}, &recorder{}
	ready := false
	var started []string
	m := mux.New(eng, []mux.App{{Name: "a", Node: app, Kinds: []wire.Kind{wire.KindJoin}, Ready: func() bool { return ready }}},
		mux.Options{Started: func(name string, held int) { started = append(started, name) }})
	env := prototest.NewEnv(0, 1)
	env.Node = m
	m.Handle(env, protocol.Start{})
	m.Handle(env, protocol.Recv{From: 1, Msg: &market.Join{Role: market.RoleProvider}}) // held: not ready
	m.Handle(env, protocol.Recv{From: 1, Msg: &market.Leave{}})                         // not the app's: the engine's
	if len(app.ins) != 0 || len(eng.ins) != 2 {
		t.Fatalf("before ready: app got %v, engine %v", app.ins, eng.ins)
	}
	if m.AppEnv(env, "a") != nil {
		t.Error("AppEnv of an App not started")
	}
	ready = true
	env.Advance(200 * protocol.Millisecond) // the poll starts the app, which gets the held Join
	if len(app.ins) != 2 || len(started) != 1 {
		t.Fatalf("after ready: app got %v, want Start and the held Join; started %v", app.ins, started)
	}
	jobs := env.TakeJobs()
	env.Advance(protocol.Second) // the app's timer
	m.Handle(env, protocol.JobDone{ID: jobs[0].ID})
	m.Handle(env, protocol.JobDone{ID: 999}) // nobody's: the engine's
	if len(app.ins) != 4 || len(eng.ins) != 3 {
		t.Errorf("app got %v, engine %v", app.ins, eng.ins)
	}
	if _, ok := app.ins[2].(protocol.TimerFired); !ok {
		t.Errorf("the app's timer went elsewhere: %v", app.ins)
	}
	// A timer set through AppEnv, between inputs, comes back to the App.
	m.AppEnv(env, "a").SetTimer(protocol.Second, 9)
	env.Advance(protocol.Second)
	if last, ok := app.ins[len(app.ins)-1].(protocol.TimerFired); !ok || last.Tag != 9 {
		t.Errorf("the timer set through AppEnv: app got %v", app.ins)
	}
	m.Handle(env, protocol.Stop{})
	if _, ok := app.ins[len(app.ins)-1].(protocol.Stop); !ok || len(eng.ins) != 4 {
		t.Errorf("Stop: app got %v, engine %v", app.ins, eng.ins)
	}
}

// A node that rejoins after being down: the started Apps get the Rejoin,
// and an App that was not ready is polled again (its poll timer died).
func TestRejoin(t *testing.T) {
	eng, a, b := &recorder{}, &recorder{}, &recorder{}
	ready := false
	m := mux.New(eng, []mux.App{{Name: "a", Node: a}, {Name: "b", Node: b, Ready: func() bool { return ready }}}, mux.Options{})
	env := prototest.NewEnv(0, 1)
	env.Node = m
	m.Handle(env, protocol.Start{})
	// Down: the driver drops the node's timers (the poll) without firing them.
	for _, tm := range env.Timers() {
		env.CancelTimer(tm.ID)
	}
	m.Handle(env, protocol.Start{Rejoin: true})
	if st, ok := a.ins[len(a.ins)-1].(protocol.Start); !ok || !st.Rejoin || len(eng.ins) != 2 {
		t.Fatalf("after the rejoin: app a got %v, engine %v", a.ins, eng.ins)
	}
	ready = true
	env.Advance(200 * protocol.Millisecond)
	if len(b.ins) != 1 {
		t.Errorf("app b got %v after it became ready: it was not polled again", b.ins)
	}
}
