package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withProfiles is a scenario in dir that loads the given profile paths and
// runs its one group on gpu.
func withProfiles(t *testing.T, dir, gpu string, profiles ...string) (*Scenario, error) {
	t.Helper()
	var b strings.Builder
	b.WriteString("run:\n  name: t\n  duration: 10s\npopulation:\n")
	if len(profiles) > 0 {
		b.WriteString("  hardware_profiles: [" + strings.Join(profiles, ", ") + "]\n")
	}
	b.WriteString("  groups:\n    - {name: g, gpu: " + gpu + ", count: 3}\n")
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

// A group naming a measured class resolves to the profile's figures,
// with the path relative to the scenario file; catalog classes still
// resolve.
func TestHardwareProfileResolves(t *testing.T) {
	dir := t.TempDir()
	prof, err := os.ReadFile("testdata/profiles/test_box.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "profiles", "test_box.yaml"), prof, 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := withProfiles(t, dir, "test_box", "profiles/test_box.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := sc.GPUClass("test_box")
	if err != nil {
		t.Fatal(err)
	}
	if c.FP32TFLOPS != 0.006666 || c.MemBandwidthGBs != 26.49 || c.TDPW != 20 || c.MemoryGB != 25.28 {
		t.Errorf("GPUClass(test_box) = %+v: not the profile's figures", c)
	}
	if h, err := sc.GPUClass("h100"); err != nil || h.Name != "h100" {
		t.Errorf("GPUClass(h100) = %+v, %v", h, err)
	}
	if _, err := sc.GPUClass("nope"); err == nil || !strings.Contains(err.Error(), "test_box") {
		t.Errorf("GPUClass(nope): err = %v, want one listing test_box", err)
	}
	// Without the profile, the name is unknown.
	plain, err := Parse("p.yaml", []byte("run: {name: t}\npopulation:\n  nodes: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.GPUClass("test_box"); err == nil {
		t.Error("a scenario without profiles resolves test_box")
	}
}

// Bad profiles are errors naming the scenario's file, line and key, and
// the profile's own file, line and key.
func TestHardwareProfileErrors(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("testdata/profiles/test_box.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(good), "tdp_w: 20.0", "tdp_w: -1", 1)
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "good.yaml"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	s := filepath.Join(dir, "s.yaml")
	for _, tc := range []struct {
		name, gpu string
		profiles  []string
		want      []string
	}{
		{"missing file", "cpu", []string{"missing.yaml"}, []string{s + ":5:", "population.hardware_profiles[0]", "missing.yaml", "no such file"}},
		{"bad figure", "cpu", []string{"bad.yaml"}, []string{s + ":5:", "population.hardware_profiles[0]", "bad.yaml:11:", "class.tdp_w"}},
		{"defined twice", "test_box", []string{"good.yaml", "good.yaml"}, []string{"population.hardware_profiles[1]", "an earlier profile defines too"}},
		{"unknown class", "test_bx", []string{"good.yaml"}, []string{s + ":7:", "population.groups[0].gpu", `did you mean "test_box"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := withProfiles(t, dir, tc.gpu, tc.profiles...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
