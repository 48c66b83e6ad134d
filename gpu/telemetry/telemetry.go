// Package telemetry reads NVIDIA GPUs through NVML (NVIDIA/go-nvml):
// names, memory, utilization, power and temperature, once or sampled over
// time for live runs. It is the one package that pulls in go-nvml's large
// cgo file, so only the commands that need it pay for its build.
//
// NVML is loaded at Open with dlopen: a machine without the NVIDIA driver
// gets ErrNoDriver, never a crash.
//
//	lib, err := telemetry.Open()
//	if errors.Is(err, telemetry.ErrNoDriver) { … run on CPU … }
//	defer lib.Close()
//	devs, err := lib.Devices()
package telemetry

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ErrNoDriver means NVML could not be loaded: no NVIDIA driver here.
var ErrNoDriver = errors.New("telemetry: no NVIDIA driver (libnvidia-ml.so.1 could not be loaded); dais runs on the CPU and GPU telemetry is off")

// Device is one GPU's identity and state at the moment it was read. A
// figure the driver does not report is left at its zero value and named in
// Unsupported.
type Device struct {
	Index         int
	Name          string
	UUID          string
	MemoryTotalB  uint64
	MemoryUsedB   uint64
	UtilGPUPct    uint32 // share of the last sample period a kernel ran
	UtilMemoryPct uint32
	PowerW        float64
	PowerLimitW   float64
	TemperatureC  uint32
	Unsupported   []string
}

// Lib is an open NVML session. Its methods may be called from several
// goroutines (NVML is thread-safe).
type Lib struct {
	n      nvml.Interface
	Driver string
	CUDA   string // CUDA driver version, e.g. "12.4"
	once   sync.Once
}

// Open loads NVML from the system.
func Open() (*Lib, error) { return OpenWith(nvml.New()) }

// OpenWith uses the given NVML implementation (tests pass go-nvml's mocks).
func OpenWith(n nvml.Interface) (lib *Lib, err error) {
	defer func() {
		if r := recover(); r != nil {
			lib, err = nil, fmt.Errorf("%w: %v", ErrNoDriver, r)
		}
	}()
	switch ret := n.Init(); ret {
	case nvml.SUCCESS:
	case nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED:
		return nil, ErrNoDriver
	default:
		return nil, fmt.Errorf("telemetry: NVML init: %s", errorString(n, ret))
	}
	l := &Lib{n: n}
	if v, ret := try(n.SystemGetDriverVersion); ret == nvml.SUCCESS {
		l.Driver = v
	}
	if v, ret := try(n.SystemGetCudaDriverVersion); ret == nvml.SUCCESS {
		l.CUDA = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	}
	return l, nil
}

// Close ends the NVML session; later calls fail.
func (l *Lib) Close() {
	l.once.Do(func() { l.n.Shutdown() })
}

// Devices reads every GPU.
func (l *Lib) Devices() ([]Device, error) {
	count, ret := try(l.n.DeviceGetCount)
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("telemetry: counting devices: %s", errorString(l.n, ret))
	}
	out := make([]Device, 0, count)
	for i := 0; i < count; i++ {
		h, ret := try(func() (nvml.Device, nvml.Return) { return l.n.DeviceGetHandleByIndex(i) })
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("telemetry: device %d: %s", i, errorString(l.n, ret))
		}
		out = append(out, read(i, h))
	}
	return out, nil
}

func read(i int, h nvml.Device) Device {
	d := Device{Index: i}
	miss := func(what string) { d.Unsupported = append(d.Unsupported, what) }
	if v, ret := try(h.GetName); ret == nvml.SUCCESS {
		d.Name = v
	} else {
		miss("name")
	}
	if v, ret := try(h.GetUUID); ret == nvml.SUCCESS {
		d.UUID = v
	} else {
		miss("uuid")
	}
	if v, ret := try(h.GetMemoryInfo); ret == nvml.SUCCESS {
		d.MemoryTotalB, d.MemoryUsedB = v.Total, v.Used
	} else {
		miss("memory")
	}
	if v, ret := try(h.GetUtilizationRates); ret == nvml.SUCCESS {
		d.UtilGPUPct, d.UtilMemoryPct = v.Gpu, v.Memory
	} else {
		miss("utilization")
	}
	if v, ret := try(h.GetPowerUsage); ret == nvml.SUCCESS {
		d.PowerW = float64(v) / 1000 // NVML reports milliwatts
	} else {
		miss("power")
	}
	if v, ret := try(h.GetEnforcedPowerLimit); ret == nvml.SUCCESS {
		d.PowerLimitW = float64(v) / 1000
	} else {
		miss("power limit")
	}
	if v, ret := try(func() (uint32, nvml.Return) { return h.GetTemperature(nvml.TEMPERATURE_GPU) }); ret == nvml.SUCCESS {
		d.TemperatureC = v
	} else {
		miss("temperature")
	}
	return d
}

// try calls an NVML query, turning a panic (a mock without that query, or
// a symbol the installed driver lacks) into ERROR_NOT_SUPPORTED.
func try[T any](f func() (T, nvml.Return)) (v T, ret nvml.Return) {
	defer func() {
		if recover() != nil {
			ret = nvml.ERROR_NOT_SUPPORTED
		}
	}()
	return f()
}

func errorString(n nvml.Interface, ret nvml.Return) string {
	s, r := try(func() (string, nvml.Return) { return n.ErrorString(ret), nvml.SUCCESS })
	if r != nvml.SUCCESS || s == "" {
		return fmt.Sprintf("NVML error %d", int(ret))
	}
	return s
}

// Sample is every device's utilization and power at one moment.
type Sample struct {
	At      time.Time
	Devices []Device
}

// Sampler reads the devices every interval on its own goroutine and hands
// each Sample to fn (on that goroutine). Live nodes feed utilization and
// power into their metrics with it.
type Sampler struct {
	stop chan struct{}
	done chan struct{}
}

// StartSampler starts sampling; call Stop to end it.
func (l *Lib) StartSampler(interval time.Duration, fn func(Sample)) *Sampler {
	s := &Sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case now := <-t.C:
				if devs, err := l.Devices(); err == nil {
					fn(Sample{At: now, Devices: devs})
				}
			}
		}
	}()
	return s
}

// Stop ends sampling and waits for the goroutine; it is idempotent.
func (s *Sampler) Stop() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}
