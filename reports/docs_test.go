package reports

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListEveryKey fails when the golden run has a key that
// docs/metrics.md does not name (in backticks).
func TestDocsListEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	run, err := Load("testdata/golden/metrics.json")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range run.Figures {
		keys = append(keys, f.Key)
	}
	for _, d := range run.Dists {
		keys = append(keys, d.Key)
	}
	for _, c := range run.Series.Columns {
		keys = append(keys, c.Key)
	}
	for _, g := range run.Groups {
		keys = append(keys, g.Key)
	}
	for _, k := range keys {
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/metrics.md does not document %s", k)
		}
	}
	if len(keys) < 20 {
		t.Errorf("only %d keys checked", len(keys))
	}
}
