package telemetry

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
)

func TestNoDriverIsAClearError(t *testing.T) {
	_, err := OpenWith(nvml.New(nvml.WithLibraryPath("/nonexistent/libnvidia-ml.so.1")))
	if !errors.Is(err, ErrNoDriver) {
		t.Fatalf("err = %v, want ErrNoDriver", err)
	}
}

// go-nvml's mock of a DGX A100 (eight A100 SXM4 40GB, driver 550.54.15).
func TestDevicesOnAMockDGX(t *testing.T) {
	lib, err := OpenWith(dgxa100.New())
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	devs, err := lib.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 8 || lib.Driver != "550.54.15" || lib.CUDA != "12.4" {
		t.Fatalf("%d devices, driver %q, CUDA %q; want 8, 550.54.15, 12.4", len(devs), lib.Driver, lib.CUDA)
	}
	for i, d := range devs {
		if d.Index != i || d.Name == "" || d.MemoryTotalB < 40e9 {
			t.Errorf("device %d: %+v", i, d)
		}
	}
}

func TestSamplerStops(t *testing.T) {
	lib, err := OpenWith(dgxa100.New())
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	s := lib.StartSampler(time.Millisecond, func(smp Sample) {
		if len(smp.Devices) == 8 {
			n.Add(1)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for n.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	s.Stop()
	s.Stop()
	after := n.Load()
	time.Sleep(10 * time.Millisecond)
	if after < 3 || n.Load() != after {
		t.Fatalf("%d samples, then %d after Stop; want ≥ 3 and no more", after, n.Load())
	}
}
