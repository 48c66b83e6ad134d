package tune

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/dais-sim/dais/scenarios"
)

// BestYAML is the best candidate as a scenario file a user can `dais run`:
// the base scenario's own text, comments and layout kept, with the tune
// file's set and the best parameters written into it (keys the base did
// not have are added under their section), run.name suffixed "-tuned",
// and a header saying where it came from. The text is checked to load to
// the same scenario as the base with those overrides.
func (r *Result) BestYAML() ([]byte, error) {
	t := r.Tune
	best := r.BestEvaluation()
	overrides := append(append(append([]string(nil), t.Set...), best.Overrides...), "run.name="+t.Scenario.Run.Name+"-tuned")
	f, err := parser.ParseBytes(t.BaseSource, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("tune: %s: %w", t.BaseFile, err)
	}
	for _, o := range overrides {
		if err := setPath(f, o); err != nil {
			return nil, fmt.Errorf("tune: writing %s into %s: %w", o, t.BaseFile, err)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Tuned by `dais tune %s`: candidate %d of %d, the best score (%s).\n", t.Path, best.Index, len(r.Evaluations), t.direction())
	fmt.Fprintf(&b, "# It is %s with:\n", t.BaseFile)
	for _, o := range overrides {
		fmt.Fprintf(&b, "#   --set %s\n", o)
	}
	if m := t.Scenario.Network.Latency.Matrix; len(t.Scenario.Population.HardwareProfiles) > 0 || m != "measured" && m != "inline" {
		fmt.Fprintf(&b, "# Its latency CSV and hardware profiles are read relative to this file's folder, as the base read them from %s/.\n", filepath.Dir(t.BaseFile))
	}
	b.WriteString("\n")
	b.WriteString(strings.TrimLeft(f.String(), "\n"))
	b.WriteString("\n")

	want, err := scenarios.Parse(t.BaseFile, t.BaseSource, overrides...)
	if err != nil {
		return nil, err
	}
	got, err := scenarios.Parse(t.BaseFile, b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("tune: the best scenario's text does not load: %w", err)
	}
	if !sameScenario(want, got) {
		return nil, fmt.Errorf("tune: the best scenario's text loads to another scenario than %s with %s", t.BaseFile, strings.Join(overrides, " "))
	}
	return b.Bytes(), nil
}

// direction is the objective as the header states it.
func (t *Tune) direction() string {
	if t.maximize {
		return "maximize " + t.objective.String()
	}
	return "minimize " + t.objective.String()
}

// setPath writes one key.path=value into the YAML file: replacing the
// value where the key is written, else adding the missing keys under the
// deepest section that is.
func setPath(f *ast.File, override string) error {
	key, value, _ := strings.Cut(override, "=")
	parts := strings.Split(key, ".")
	for i := len(parts); i >= 0; i-- {
		at := "$"
		if i > 0 {
			at += "." + strings.Join(parts[:i], ".")
		}
		p, err := yaml.PathString(at)
		if err != nil {
			return err
		}
		if _, err := p.FilterFile(f); err != nil {
			continue
		}
		if i == len(parts) {
			return p.ReplaceWithReader(f, strings.NewReader(value))
		}
		missing := parts[i:]
		if strings.Contains(strings.Join(missing, "."), "[") {
			return fmt.Errorf("%s is not in the file, and a list item cannot be added", key)
		}
		var b strings.Builder
		for d, k := range missing {
			b.WriteString(strings.Repeat("  ", d) + k + ":")
			if d == len(missing)-1 {
				b.WriteString(" " + value)
			}
			b.WriteString("\n")
		}
		return p.MergeFromReader(f, strings.NewReader(b.String()))
	}
	return fmt.Errorf("the file has no root mapping")
}

// sameScenario compares two loaded scenarios by everything they decode to
// (their exported fields), not by text or positions.
func sameScenario(a, b *scenarios.Scenario) bool {
	canon := func(s *scenarios.Scenario) []byte {
		c := *s
		c.File, c.Source = "", nil
		j, err := json.Marshal(c)
		if err != nil {
			panic(err)
		}
		return j
	}
	return bytes.Equal(canon(a), canon(b))
}
