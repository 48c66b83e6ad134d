package gpu

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestCatalogValidates(t *testing.T) {
	for _, c := range Classes() {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		if c.Model == "" || c.Source == "" {
			t.Errorf("%s: Model %q, Source %q: every catalog entry names its hardware and its datasheet", c.Name, c.Model, c.Source)
		}
		if c.Name != strings.ToLower(c.Name) {
			t.Errorf("%s: catalog names are lower case", c.Name)
		}
	}
}

func TestCatalogSortedUnique(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Errorf("Names() = %v, not sorted", names)
	}
	if len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("Names() = %v, has duplicates", names)
	}
	for _, want := range []string{"a100", "cpu", "h100", "l40s", "rtx3060", "rtx3090", "rtx4090", "t4"} {
		if !slices.Contains(names, want) {
			t.Errorf("catalog lacks %q", want)
		}
	}
	classes := Classes()
	if len(classes) != len(names) {
		t.Fatalf("Classes() has %d entries, Names() %d", len(classes), len(names))
	}
	for i, c := range classes {
		if c.Name != names[i] {
			t.Errorf("Classes()[%d] = %s, Names()[%d] = %s", i, c.Name, i, names[i])
		}
	}
}

// The figures are pinned so that an edit to the catalog is a deliberate
// edit to this table too.
func TestCatalogFigures(t *testing.T) {
	tests := []struct {
		name                           string
		fp32, fp16, memGB, bwGBs, tdpW float64
	}{
		{"a100", 19.5, 312, 80, 2039, 400},
		{"cpu", 1.536, 1.536, 128, 204.8, 155},
		{"h100", 67, 989.4, 80, 3350, 700},
		{"l40s", 91.6, 362.05, 48, 864, 350},
		{"rtx3060", 12.74, 25.48, 12, 360, 170},
		{"rtx3090", 35.6, 71, 24, 936, 350},
		{"rtx4090", 82.6, 165.2, 24, 1008, 450},
		{"t4", 8.1, 65, 16, 320, 70},
	}
	for _, tt := range tests {
		c, ok := Lookup(tt.name)
		if !ok {
			t.Errorf("Lookup(%q) not found", tt.name)
			continue
		}
		got := [5]float64{c.FP32TFLOPS, c.FP16TFLOPS, c.MemoryGB, c.MemBandwidthGBs, c.TDPW}
		want := [5]float64{tt.fp32, tt.fp16, tt.memGB, tt.bwGBs, tt.tdpW}
		if got != want {
			t.Errorf("%s: fp32, fp16, GB, GB/s, W = %v, want %v", tt.name, got, want)
		}
	}
	// The CPU entry's comment derives its peak; hold the arithmetic to it.
	cpu, _ := Lookup("cpu")
	if want := 16 * 2 * 8 * 2 * 3.0e9 / 1e12; cpu.FP32TFLOPS != want {
		t.Errorf("cpu FP32TFLOPS = %v, derivation gives %v", cpu.FP32TFLOPS, want)
	}
	if want := 8 * 25.6; math.Abs(cpu.MemBandwidthGBs-want) > 1e-9 {
		t.Errorf("cpu MemBandwidthGBs = %v, 8 × DDR4-3200 gives %v", cpu.MemBandwidthGBs, want)
	}
}

func TestLookupCaseInsensitive(t *testing.T) {
	for _, name := range []string{"h100", "H100", "Rtx4090", "CPU"} {
		c, ok := Lookup(name)
		if !ok || !strings.EqualFold(c.Name, name) {
			t.Errorf("Lookup(%q) = %q, %v", name, c.Name, ok)
		}
	}
	if c, ok := Lookup("h200"); ok {
		t.Errorf("Lookup(h200) = %q, true; want not found", c.Name)
	}
	if _, ok := Lookup(""); ok {
		t.Error("Lookup(\"\") found a class")
	}
}

func TestClassesIsACopy(t *testing.T) {
	cs := Classes()
	cs[0].FP32TFLOPS = -1
	ns := Names()
	ns[0] = "zzz"
	if c, _ := Lookup(Classes()[0].Name); c.FP32TFLOPS == -1 {
		t.Error("mutating Classes() changed the catalog")
	}
	if Names()[0] == "zzz" {
		t.Error("mutating Names() changed the catalog")
	}
}

func TestValidateRejects(t *testing.T) {
	good := Class{Name: "x", FP32TFLOPS: 10, FP16TFLOPS: 20, MemoryGB: 8, MemBandwidthGBs: 100, TDPW: 200, IdleW: 20}
	if err := good.Validate(); err != nil {
		t.Fatalf("good class: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Class)
		want   string // a fragment of the message
	}{
		{"no name", func(c *Class) { c.Name = "" }, "no name"},
		{"zero fp32", func(c *Class) { c.FP32TFLOPS = 0 }, "FP32TFLOPS is 0"},
		{"negative fp16", func(c *Class) { c.FP16TFLOPS = -1 }, "FP16TFLOPS is -1"},
		{"NaN memory", func(c *Class) { c.MemoryGB = math.NaN() }, "MemoryGB is NaN"},
		{"huge memory", func(c *Class) { c.MemoryGB = 2e9 }, "MemoryGB is 2e+09"},
		{"inf bandwidth", func(c *Class) { c.MemBandwidthGBs = math.Inf(1) }, "MemBandwidthGBs is +Inf"},
		{"zero tdp", func(c *Class) { c.TDPW = 0 }, "TDPW is 0"},
		{"zero idle", func(c *Class) { c.IdleW = 0 }, "IdleW is 0"},
		{"fp16 below fp32", func(c *Class) { c.FP16TFLOPS = 5 }, "FP16TFLOPS 5 is below FP32TFLOPS 10"},
		{"idle above tdp", func(c *Class) { c.IdleW = 300 }, "IdleW 300 exceeds TDPW 200"},
	}
	for _, tt := range tests {
		c := good
		tt.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestRidgePoint(t *testing.T) {
	h100, _ := Lookup("h100")
	// 989.4e12 FLOP/s ÷ 3350e9 B/s.
	if got, want := h100.RidgePoint(FP16), 989.4e3/3350; got != want {
		t.Errorf("h100 fp16 ridge = %v, want %v", got, want)
	}
	if got, want := h100.RidgePoint(FP32), 20.0; got != want {
		t.Errorf("h100 fp32 ridge = %v, want %v", got, want)
	}
	if got := h100.RidgePoint(Precision(9)); got != 0 {
		t.Errorf("ridge for unknown precision = %v, want 0", got)
	}
}
