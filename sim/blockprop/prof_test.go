package blockprop

import (
	"os"
	"runtime"
	"testing"

	"github.com/dais-sim/dais/protocol"
	"github.com/dais-sim/dais/scenarios"
)

func TestProfRelay(t *testing.T) {
	f := os.Getenv("PROF_SCENARIO")
	if f == "" {
		t.Skip()
	}
	sc, err := scenarios.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec, sink := NewRecorder(int64(10*protocol.Second), int64(p.end()))
	p.Sink = sink
	r, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	_ = Summary(r, rec)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	t.Logf("%d events in %v: %.2f M/s; heap built %d MB, sys %d MB, total alloc %d MB, mallocs %d", r.Events, r.Wall, r.EventsPerSec()/1e6, r.HeapBuilt>>20, m.Sys>>20, m.TotalAlloc>>20, m.Mallocs)
}
