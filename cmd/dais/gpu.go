package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/telemetry"
	"github.com/dais-sim/dais/reports"
)

func newGPUCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gpu",
		Short: "This machine's GPUs, and the simulator's GPU catalog",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "info",
		Short: "List this machine's NVIDIA GPUs through NVML",
		Long: `Info lists each NVIDIA GPU with its memory, utilization, power and temperature, read
through NVML. On a machine without the NVIDIA driver it says so and exits 0: dais then runs
training on the CPU.`,
		Example: "  dais gpu info",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			lib, err := telemetry.Open()
			if errors.Is(err, telemetry.ErrNoDriver) {
				fmt.Fprintln(cmd.OutOrStdout(), "no NVIDIA GPU: NVML (libnvidia-ml.so.1) is not installed or no driver is loaded.")
				fmt.Fprintln(cmd.OutOrStdout(), "dais runs on the CPU here; GPU telemetry is off. The simulator's catalog: dais gpu catalog")
				return nil
			}
			if err != nil {
				return err
			}
			defer lib.Close()
			devs, err := lib.Devices()
			if err != nil {
				return err
			}
			printDevices(cmd.OutOrStdout(), lib, devs)
			return nil
		},
	})
	cmd.AddCommand(newGPUBenchCmd())
	cmd.AddCommand(&cobra.Command{
		Use:     "catalog",
		Short:   "Print the GPU classes the simulator models, with their datasheet figures",
		Example: "  dais gpu catalog",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := reports.NewTable(cmd.OutOrStdout())
			t.Header("class", "model", "FP32 TFLOP/s", "FP16 TFLOP/s", "memory GB", "bandwidth GB/s", "TDP W")
			for _, c := range gpu.Classes() {
				_ = t.Append([]string{c.Name, c.Model, fmt.Sprint(c.FP32TFLOPS), fmt.Sprint(c.FP16TFLOPS),
					fmt.Sprint(c.MemoryGB), fmt.Sprint(c.MemBandwidthGBs), fmt.Sprint(c.TDPW)})
			}
			return t.Render()
		},
	})
	return cmd
}

func printDevices(w io.Writer, lib *telemetry.Lib, devs []telemetry.Device) {
	fmt.Fprintf(w, "NVIDIA driver %s, CUDA %s, %d GPU(s)\n\n", lib.Driver, lib.CUDA, len(devs))
	t := reports.NewTable(w)
	t.Header("#", "name", "memory used / total", "GPU util", "power / limit", "temp")
	for _, d := range devs {
		_ = t.Append([]string{
			fmt.Sprint(d.Index), d.Name,
			humanize.IBytes(d.MemoryUsedB) + " / " + humanize.IBytes(d.MemoryTotalB),
			fmt.Sprintf("%d%%", d.UtilGPUPct),
			fmt.Sprintf("%.0f W / %.0f W", d.PowerW, d.PowerLimitW),
			fmt.Sprintf("%d °C", d.TemperatureC),
		})
	}
	_ = t.Render()
}
