package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// library holds the shipped scenarios, so the binary can run them from any
// folder and tests can check every one of them.
//
//go:embed *.yaml
var library embed.FS

// Builtin loads a shipped scenario by name ("demo", "quickstart", or the
// file name), with overrides applied.
func Builtin(name string, overrides ...string) (*Scenario, error) {
	file := strings.TrimSuffix(name, ".yaml") + ".yaml"
	data, err := library.ReadFile(file)
	if err != nil || !IsScenarioFile(file) {
		return nil, fmt.Errorf("scenarios: no built-in scenario %q; there are %s", name, strings.Join(BuiltinNames(), ", "))
	}
	return Parse("scenarios/"+file, data, overrides...)
}

// BuiltinNames lists the shipped scenarios.
func BuiltinNames() []string {
	ents, _ := fs.ReadDir(library, ".")
	var out []string
	for _, e := range ents {
		if IsScenarioFile(e.Name()) {
			out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
		}
	}
	sort.Strings(out)
	return out
}

// IsScenarioFile tells a scenario file from the tune and sweep files
// (tune-*.yaml, sweep-*.yaml) shipped beside the scenarios they run, by
// its name.
func IsScenarioFile(name string) bool {
	base := filepath.Base(name)
	return !strings.HasPrefix(base, "tune-") && !strings.HasPrefix(base, "sweep-")
}

// Shipped returns a file of the shipped library by name ("lazy-providers.yaml",
// "tune-tokenomics.yaml"): scenarios, and the tune and sweep files.
func Shipped(file string) ([]byte, error) {
	return library.ReadFile(file)
}
