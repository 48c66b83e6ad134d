package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/dais-sim/dais/sim/runner"
)

// heapProfile is a runner.Progress that writes the heap profile when a
// repetition reaches its simulated end: the last progress report comes
// before the runner lets go of the simulated world, so the profile shows
// what the simulation holds after its whole duration (what a profile
// taken after Run would miss). Each repetition overwrites the file; the
// last one's stays. It wraps the progress display, if any.
type heapProfile struct {
	runner.Progress // nil when quiet
	path            string
	w               io.Writer
	end             int64
	written         bool
	err             error
}

func (h *heapProfile) Start(rep int, endNs int64) {
	h.end, h.written = endNs, false
	if h.Progress != nil {
		h.Progress.Start(rep, endNs)
	}
}

func (h *heapProfile) Update(simNs int64, events uint64) {
	if simNs >= h.end && !h.written {
		h.write()
	}
	if h.Progress != nil {
		h.Progress.Update(simNs, events)
	}
}

func (h *heapProfile) Done(simNs int64, events uint64) {
	if !h.written {
		h.write() // a runner that reports no progress on the way
	}
	if h.Progress != nil {
		h.Progress.Done(simNs, events)
	}
}

// Units passes a learning run's unit on to the display.
func (h *heapProfile) Units(unit string) {
	if u, ok := h.Progress.(runner.Units); ok {
		u.Units(unit)
	}
}

func (h *heapProfile) write() {
	h.written = true
	runtime.GC() // the profile's in-use figures are as of the last GC
	f, err := os.Create(h.path)
	if err == nil {
		err = pprof.WriteHeapProfile(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		h.err = err
		return
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Fprintf(h.w, "heap profile: %s (heap in use %.1f MB, %d objects)\n", h.path, float64(m.HeapInuse)/1e6, m.HeapObjects)
}

// startCPUProfile profiles the CPU until the returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
