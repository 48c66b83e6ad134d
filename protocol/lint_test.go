package protocol_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Rule 1 of DESIGN.md: protocol code is a pure state machine. These imports
// and calls would let the OS, the wall clock, the network, shared memory or
// a global random stream reach it.
var forbiddenImports = map[string]string{
	"os":          "the OS",
	"os/exec":     "the OS",
	"os/signal":   "the OS",
	"syscall":     "the OS",
	"net":         "the network",
	"net/http":    "the network",
	"sync":        "goroutine synchronization",
	"sync/atomic": "goroutine synchronization",
	"math/rand":   "a global random stream (use env.Rand)",
	"unsafe":      "unsafe memory",
}

var forbiddenPrefixes = []string{
	"github.com/libp2p/",
	"github.com/multiformats/",
	"net/",
	"github.com/dais-sim/dais/sim",
	"github.com/dais-sim/dais/live",
	"github.com/dais-sim/dais/reports",
	"github.com/dais-sim/dais/cmd",
	"github.com/dais-sim/dais/gpu/",     // executors; the gpu root is pure
	"github.com/dais-sim/dais/metrics/", // recorders; the metrics root is pure
}

// time is allowed for time.Duration (printing); these read or wait on the clock.
var forbiddenTime = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true,
}

// math/rand/v2 is allowed for explicit generators; its package-level
// functions draw from a global stream.
var allowedRandV2 = map[string]bool{
	"New": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true,
	"Rand": true, "Source": true, "PCG": true, "ChaCha8": true, "Zipf": true,
}

// lint returns the violations in one parsed file.
func lint(fset *token.FileSet, f *ast.File) []string {
	var out []string
	report := func(pos token.Pos, format string, a ...any) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(pos), fmt.Sprintf(format, a...)))
	}
	names := map[string]string{} // local name → import path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if why, bad := forbiddenImports[path]; bad {
			report(imp.Pos(), "imports %q: %s", path, why)
		}
		for _, p := range forbiddenPrefixes {
			if strings.HasPrefix(path, p) {
				report(imp.Pos(), "imports %q: protocol code must not depend on it", path)
			}
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if path == "math/rand/v2" {
			name = "rand"
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = path
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n.Pos(), "starts a goroutine")
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok {
				break
			}
			switch names[id.Name] {
			case "time":
				if forbiddenTime[n.Sel.Name] {
					report(n.Pos(), "uses time.%s: read the clock through env.Now and wait with env.SetTimer", n.Sel.Name)
				}
			case "math/rand/v2":
				if !allowedRandV2[n.Sel.Name] {
					report(n.Pos(), "uses rand.%s, the global stream: draw from env.Rand", n.Sel.Name)
				}
			}
		}
		return true
	})
	return out
}

func TestProtocolIsPure(t *testing.T) {
	var violations []string
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		violations = append(violations, lint(fset, f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("linted only %d files; is the walk rooted at protocol/?", files)
	}
	sort.Strings(violations)
	for _, v := range violations {
		t.Error(v)
	}
}

// TestLintCatches proves the lint can fail: every forbidden pattern in this
// source is reported.
func TestLintCatches(t *testing.T) {
	const src = `package bad

import (
	"math/rand"
	r2 "math/rand/v2"
	"os"
	"sync"
	"time"
	"github.com/libp2p/go-libp2p"
	"github.com/dais-sim/dais/sim"
)

func f() {
	go func() {}()
	_ = time.Now()
	<-time.After(time.Second)
	_ = r2.IntN(3)
	_ = r2.New(r2.NewPCG(1, 2)) // allowed
	_ = time.Duration(5).String() // allowed
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "bad.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(lint(fset, f), "\n")
	for _, want := range []string{
		`bad.go:4:2: imports "math/rand"`,
		`bad.go:6:2: imports "os"`,
		`bad.go:7:2: imports "sync"`,
		`bad.go:9:2: imports "github.com/libp2p/go-libp2p"`,
		`bad.go:10:2: imports "github.com/dais-sim/dais/sim"`,
		`bad.go:14:2: starts a goroutine`,
		`bad.go:15:6: uses time.Now`,
		`bad.go:16:4: uses time.After`,
		`bad.go:17:6: uses rand.IntN`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lint missed %q; it reported:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 9 {
		t.Errorf("lint reported %d violations, want 9:\n%s", n, got)
	}
}
