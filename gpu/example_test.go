package gpu_test

import (
	"fmt"

	"github.com/dais-sim/dais/gpu"
)

// One mixed-precision training step of a 125M-parameter transformer on
// 8,192 tokens: 6 × params × tokens FLOPs, about 4 GB of memory traffic,
// 14 GB resident. Both cards are compute-bound; the T4 has a fifteenth of
// the H100's FP16 peak. The 12 GB RTX 3060 cannot hold the step at all.
func Example() {
	step := gpu.Job{
		Kind:      "train-step",
		FLOPs:     6 * 125e6 * 8192,
		Bytes:     4e9,
		MemBytes:  14e9,
		Precision: gpu.FP16,
	}
	for _, name := range []string{"h100", "t4", "rtx3060"} {
		c, _ := gpu.Lookup(name)
		ns, bound, err := gpu.DefaultModel.Duration(c, step)
		if err != nil {
			fmt.Printf("%-7s %v\n", name, err)
			continue
		}
		fmt.Printf("%-7s %8.3f ms  %s  %6.2f J\n", name, float64(ns)/1e6, bound, gpu.DefaultModel.Energy(c, ns))
	}
	// Output:
	// h100      12.430 ms  compute-bound    8.70 J
	// t4       189.056 ms  compute-bound   13.23 J
	// rtx3060 gpu: job needs 14.0 GB, rtx3060 has 12.0 GB
}
