package profile_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dais-sim/dais/gpu"
	"github.com/dais-sim/dais/gpu/profile"
)

func sample() *profile.Profile {
	return &profile.Profile{
		Version: profile.Version,
		Class: profile.Class{Name: "test_box", Model: "test CPU", FP32TFLOPS: 0.0066, FP16TFLOPS: 0.0066,
			MemoryGB: 25, MemBandwidthGBs: 26.5, TDPW: 20, IdleW: 6, Source: "test"},
		Fit: profile.FitTrain,
		Host: profile.Host{CPU: "test CPU", Cores: 2, GOMAXPROCS: 2, MemoryGB: 25, GoVersion: "go1.26.8", OS: "linux", Arch: "amd64", Ran: "cpu",
			GPUs: []profile.GPU{{Name: "NVIDIA H100", MemoryGB: 80, PowerLimitW: 700}}},
		Date: time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC),
		Measured: profile.Measured{
			GEMM:   []profile.GEMM{{Precision: "fp32", N: 256, Runs: 78, GFLOPS: 22.93}},
			Stream: []profile.Stream{{Kernel: "triad", Elements: 1 << 22, Runs: 39, GBs: 21.19}},
			Train:  []profile.Train{{Model: "mlp", Batch: 32, Steps: 700, StepUsP50: 203.4, StepUsMin: 159.5, FLOPsPerStep: 677800, GFLOPS: 3.333}},
		},
		Notes: []string{"a note: with a colon"},
	}
}

func TestRoundTrip(t *testing.T) {
	want := sample()
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := want.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := profile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the profile:\ngot  %+v\nwant %+v", got, want)
	}
	c := got.GPUClass()
	if c.Name != "test_box" || c.FP32TFLOPS != 0.0066 || c.MemBandwidthGBs != 26.5 || c.TDPW != 20 {
		t.Errorf("GPUClass = %+v", c)
	}
	if profile.FromGPUClass(c) != want.Class {
		t.Errorf("FromGPUClass(GPUClass()) = %+v, want %+v", profile.FromGPUClass(c), want.Class)
	}
}

// Each bad file fails with ErrProfile naming file:line:col and the key.
func TestErrors(t *testing.T) {
	good, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(string(good), old) {
			t.Fatalf("sample has no %q", old)
		}
		return strings.Replace(string(good), old, new, 1)
	}
	cases := []struct {
		name, text string
		want       []string
	}{
		{"unknown key", edit("fit: train", "fit: train\nfitt: x"), []string{"p.yaml:", "fitt"}},
		{"bad type", edit("tdp_w: 20", "tdp_w: lots"), []string{"p.yaml:", "tdp_w"}},
		{"zero figure", edit("mem_bandwidth_gbs: 26.5", "mem_bandwidth_gbs: 0"), []string{"p.yaml:", "class.mem_bandwidth_gbs", "want a finite number > 0"}},
		{"fp16 below fp32", edit("fp16_tflops: 0.0066", "fp16_tflops: 0.001"), []string{"class.fp16_tflops", "below"}},
		{"idle above tdp", edit("idle_w: 6", "idle_w: 60"), []string{"class.idle_w", "exceeds"}},
		{"catalog name", edit("name: test_box", "name: h100"), []string{"class.name", "built-in catalog"}},
		{"bad name", edit("name: test_box", "name: Test Box"), []string{"class.name"}},
		{"dashed name", edit("name: test_box", "name: test-box"), []string{"class.name", "snake_case"}},
		{"version", edit("version: 1", "version: 2"), []string{"version", "want 1"}},
		{"fit", edit("fit: train", "fit: guess"), []string{"fit", "want train, gemm or matmul"}},
		{"matmul fit without the kernel", edit("fit: train", "fit: matmul"), []string{"measured.kernel", "missing"}},
		{"empty", "  \n", []string{"empty"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := profile.Parse("p.yaml", []byte(c.text))
			if !errors.Is(err, profile.ErrProfile) {
				t.Fatalf("err = %v, want ErrProfile", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// The zero figure's line is the line of the key.
	_, err = profile.Parse("p.yaml", []byte(edit("mem_bandwidth_gbs: 26.5", "mem_bandwidth_gbs: 0")))
	line := 1 + strings.Count(string(good[:strings.Index(string(good), "mem_bandwidth_gbs")]), "\n")
	if !strings.Contains(err.Error(), "p.yaml:"+strconv.Itoa(line)+":") {
		t.Errorf("error %q does not name line %d", err, line)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := profile.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, profile.ErrProfile) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v, want ErrProfile and ErrNotExist naming the file", err)
	}
}

func TestMarshalRefusesInvalid(t *testing.T) {
	p := sample()
	p.Class.TDPW = 0
	if _, err := p.Marshal(); !errors.Is(err, profile.ErrProfile) {
		t.Fatalf("Marshal of a class with no power: err = %v, want ErrProfile", err)
	}
}

func TestCatalogWithProfile(t *testing.T) {
	c := sample().GPUClass()
	cat, err := gpu.NewCatalog(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := cat.Lookup("TEST_BOX"); !ok || got != c {
		t.Errorf("Lookup(TEST_BOX) = %+v, %v", got, ok)
	}
	if got, ok := cat.Lookup("h100"); !ok || got.Name != "h100" {
		t.Errorf("Lookup(h100) = %+v, %v: the built-in classes stay", got, ok)
	}
	if _, err := gpu.NewCatalog(c, c); err == nil {
		t.Error("NewCatalog with a class twice: no error")
	}
	h100, _ := gpu.Lookup("h100")
	if _, err := gpu.NewCatalog(h100); err == nil {
		t.Error("NewCatalog shadowing h100: no error")
	}
	var none *gpu.Catalog
	if _, ok := none.Lookup("test_box"); ok {
		t.Error("the nil catalog resolves a measured class")
	}
	if n := cat.Names(); n[len(n)-1] != "test_box" || len(n) != len(gpu.Names())+1 {
		t.Errorf("Names = %v", n)
	}
}
