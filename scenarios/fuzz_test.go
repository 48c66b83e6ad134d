package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input makes the loader panic; every input gives a scenario
// or an error that wraps ErrInvalid and names a position.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("*.yaml")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Add([]byte("run: &r {name: t}\nother: *r\n"))
	f.Add([]byte("network: {jitter: {dist: weibull, scale: 1h, shape: 0.5}}\nrun: {name: x}\npopulation: {nodes: 2}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("fuzz.yaml", data)
		if err == nil {
			if sc == nil || sc.NodeCount() <= 0 || sc.Run.Name == "" {
				t.Fatalf("accepted a scenario without nodes or name: %+v", sc)
			}
			return
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 || es[0].Pos.File != "fuzz.yaml" {
			t.Fatalf("error without a position: %v", err)
		}
	})
}
