//go:build !unix

package blockprop

// cpuSeconds is not measured here: BenchmarkScale then reports no CPU rate.
func cpuSeconds() float64 { return 0 }
