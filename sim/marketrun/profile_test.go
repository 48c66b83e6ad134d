package marketrun

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/dais-sim/dais/scenarios/marketplace"

	"github.com/dais-sim/dais/scenarios"
)

// A scenario whose group names a measured class (a hardware profile) runs
// its providers on the profile's figures, and reports the class beside the
// catalog ones.
func TestScenarioWithHardwareProfile(t *testing.T) {
	prof, err := filepath.Abs("../../scenarios/testdata/profiles/test_box.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load("../../scenarios/marketplace-fairness.yaml",
		"run.duration=1m", "population.hardware_profiles=["+prof+"]", "population.groups[7].gpu=test_box")
	if err != nil {
		t.Fatal(err)
	}
	want, err := sc.GPUClass("test_box")
	if err != nil {
		t.Fatal(err)
	}
	p, err := marketplace.FromScenario(sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := marketplace.Summary(res).Validate(); err != nil {
		t.Errorf("the run's summary: %v", err)
	}
	n := 0
	for _, nd := range res.Nodes {
		if nd.Class.Name == "test_box" {
			n++
			if nd.Class != want {
				t.Errorf("node class %+v, want the profile's %+v", nd.Class, want)
			}
		}
	}
	if n != 4 {
		t.Errorf("%d nodes on test_box, want the group's 4", n)
	}
	var names []string
	for _, c := range res.Classes {
		names = append(names, c.Class)
		if c.Class == "test_box" && c.Providers != 4 {
			t.Errorf("class stats for test_box count %d providers, want 4", c.Providers)
		}
	}
	if !slices.Contains(names, "test_box") || slices.Contains(names, "cpu") || !slices.IsSorted(names) {
		t.Errorf("classes %v: want test_box in place of cpu, sorted", names)
	}
}
