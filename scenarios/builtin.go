package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
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
	if err != nil {
		return nil, fmt.Errorf("scenarios: no built-in scenario %q; there are %s", name, strings.Join(BuiltinNames(), ", "))
	}
	return Parse("scenarios/"+file, data, overrides...)
}

// BuiltinNames lists the shipped scenarios.
func BuiltinNames() []string {
	ents, _ := fs.ReadDir(library, ".")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}
