package sweep

import (
	"os"
	"runtime/debug"

	"github.com/pbnjay/memory"
)

// GCPercent is the garbage collector's target a sweep process runs with
// (GOGC, where the environment does not set it). A point's simulations
// keep a small live heap (the marketplace's: 3 to 15 MB) and allocate
// fast, so at Go's default of 100 the collector ran every few tens of
// milliseconds and, with the page faults of a heap it kept returning, took
// about a third of the CPU. One worker leaves the collector the other
// core; two workers pay for it in wall time, so it held -j 2 at 0.67 of
// -j 1's wall time on the 2-core machine, and 0.55 at 400
// (BENCHMARKS.md, "Sweeps").
const GCPercent = 400

// TuneGC sets the garbage collector for a process that runs sweep points:
// GCPercent, and a soft memory limit of half the machine's memory so that
// a larger heap target cannot run it out of memory (the collector works
// harder near the limit instead). GOGC and GOMEMLIMIT in the environment
// win. Results do not depend on it: only how often memory is collected.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if total := memory.TotalMemory(); os.Getenv("GOMEMLIMIT") == "" && total > 0 {
		debug.SetMemoryLimit(int64(total / 2))
	}
}
