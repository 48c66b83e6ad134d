package protocol_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Rule 1 of DESIGN.md: protocol code is a pure state machine. The lint
// follows every package protocol/... imports, transitively (go list
// -deps), so a helper package elsewhere cannot carry in what protocol
// code may not use:
//
//   - a package of this module must be under protocol/, or the gpu or
//     metrics root (pure types and math); its source is linted like
//     protocol's own;
//   - a package of another module must come from a module on
//     pureModules;
//   - a linted file may import only the standard packages on pureStd,
//     may not dot-import, start a goroutine, read or wait on the clock,
//     draw from math/rand/v2's global stream, or use go:linkname.
//
// The standard library itself (fmt imports os and sync) and the modules
// on pureModules are trusted, not linted.

// firstParty are the packages of this module protocol code may import,
// beside its own: the roots DESIGN.md keeps pure.
var firstParty = []string{"gpu", "metrics"}

// pureModules are the other modules protocol code may import: pure-Go
// math and a canonical encoder. gonum's BLAS may split a large product
// across goroutines, each computing whole blocks in a fixed order, so its
// results do not depend on scheduling.
var pureModules = []string{"gonum.org/v1/gonum", "github.com/fxamacker/cbor/v2", "github.com/x448/float16",
	"golang.org/x/crypto",     // chacha20poly1305 (secagg, seal)
	"golang.org/x/sys",        // golang.org/x/crypto reads CPU features through it
	"github.com/google/btree", // ordered sets (the market's free providers); its free lists' mutex is never shared here
}

// pureStd are the standard packages linted code may import. Anything else
// fails the lint with why, if forbiddenStd names it, or as not on this
// list: add a package here only if it reaches neither the OS, the clock,
// the network, shared memory nor a random source.
var pureStd = []string{
	"bufio", "bytes", "cmp", "container/heap", "container/list", "container/ring",
	"crypto/ecdh", "crypto/ed25519", "crypto/hkdf", "crypto/hmac", "crypto/sha256", "crypto/sha512", "crypto/subtle",
	"encoding/base64", "encoding/binary", "encoding/hex", "encoding/json",
	"errors", "fmt", "hash", "hash/crc32", "hash/fnv", "io", "iter", "maps",
	"math", "math/big", "math/bits", "math/cmplx", "math/rand/v2",
	"regexp", "slices", "sort", "strconv", "strings", "time", "unicode", "unicode/utf8",
}

// forbiddenStd says why some standard packages are not on pureStd.
var forbiddenStd = map[string]string{
	"os": "the OS", "os/exec": "the OS", "os/signal": "the OS", "syscall": "the OS", "io/fs": "the OS",
	"net": "the network", "net/http": "the network",
	"sync": "goroutine synchronization", "sync/atomic": "goroutine synchronization",
	"context":      "cancellation across goroutines and deadlines on the clock",
	"math/rand":    "a global random stream (use env.Rand)",
	"crypto/rand":  "the OS's random source (use env.Rand)",
	"hash/maphash": "a random seed per process",
	"runtime":      "the scheduler and the process", "runtime/debug": "the process",
	"unsafe": "unsafe memory", "reflect": "reflection around the type system",
	"log": "the OS (stderr)", "plugin": "loading code", "C": "cgo",
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

// lintFile returns the violations in one parsed file.
func lintFile(fset *token.FileSet, f *ast.File) []string {
	var out []string
	report := func(pos token.Pos, format string, a ...any) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(pos), fmt.Sprintf(format, a...)))
	}
	names := map[string]string{} // local name → import path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		std := !strings.Contains(strings.Split(path, "/")[0], ".")
		switch why, bad := forbiddenStd[path]; {
		case bad:
			report(imp.Pos(), "imports %q: %s", path, why)
		case std && !slices.Contains(pureStd, path):
			report(imp.Pos(), "imports %q, which is not on pureStd (lint_test.go)", path)
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if path == "math/rand/v2" {
			name = "rand"
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if name == "." {
			report(imp.Pos(), "dot-imports %q: its names would escape this lint", path)
		}
		names[name] = path
	}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "//go:linkname") {
				report(c.Pos(), "uses go:linkname")
			}
		}
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

// listed is what go list says of a package.
type listed struct {
	ImportPath string
	Standard   bool
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// lintTree lints the packages matching pattern (protocol/...) in the
// module rooted at dir, named module, and everything they import.
func lintTree(t *testing.T, dir, module, pattern string) (violations []string, linted int) {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json", pattern)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pattern, err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var pkgs []listed
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	importers := map[string][]string{} // package → the packages that import it
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			importers[imp] = append(importers[imp], p.ImportPath)
		}
	}
	via := func(p string) string { return strings.Join(importers[p], ", ") }
	for _, p := range pkgs {
		switch {
		case p.Error != nil:
			violations = append(violations, fmt.Sprintf("%s: %s", p.ImportPath, p.Error.Err))
		case p.Standard:
		case p.Module != nil && p.Module.Path == module:
			rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
			if rel != "protocol" && !strings.HasPrefix(rel, "protocol/") && !slices.Contains(firstParty, rel) {
				violations = append(violations, fmt.Sprintf("%s (imported by %s): protocol code may import only protocol/..., %s of this module",
					p.ImportPath, via(p.ImportPath), strings.Join(firstParty, ", ")))
			}
			for _, name := range slices.Concat(p.GoFiles, p.CgoFiles) {
				fset := token.NewFileSet()
				f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
				if err != nil {
					t.Fatal(err)
				}
				linted++
				violations = append(violations, lintFile(fset, f)...)
			}
		default:
			mod := "(no module)"
			if p.Module != nil {
				mod = p.Module.Path
			}
			if !slices.Contains(pureModules, mod) {
				violations = append(violations, fmt.Sprintf("%s (imported by %s): module %s is not on pureModules (lint_test.go)",
					p.ImportPath, via(p.ImportPath), mod))
			}
		}
	}
	slices.Sort(violations)
	return violations, linted
}

func TestProtocolIsPure(t *testing.T) {
	violations, linted := lintTree(t, "..", "github.com/dais-sim/dais", "./protocol/...")
	if linted < 50 {
		t.Fatalf("linted only %d files; is go list run at the module root?", linted)
	}
	for _, v := range violations {
		t.Error(v)
	}
}

// TestLintCatches proves the lint can fail: a module in which protocol
// code reaches what it may not every way this lint knows (directly,
// through a helper package outside protocol/, through a dot import or an
// alias) is reported at each, and its pure package is not.
func TestLintCatches(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/fix\n\ngo 1.26\n",
		// A helper outside protocol/ that does all a driver would.
		"helper/helper.go": `package helper

import (
	"os"
	"time"
)

func Env() string {
	go func() {}()
	_ = time.Now()
	return os.Getenv("X")
}
`,
		"protocol/dist/dist.go": `package dist

import "example.com/fix/helper"

var X = helper.Env
`,
		"protocol/dot/dot.go": `package dot

import . "time"

func F() Time { return Now() }
`,
		"protocol/alias/alias.go": `package alias

import (
	t "time"
	r "math/rand/v2"
)

func F() (t.Time, int) { return t.Now(), r.IntN(3) }
`,
		"protocol/cr/cr.go":   "package cr\n\nimport \"crypto/rand\"\n\nvar R = rand.Reader\n",
		"protocol/rt/rt.go":   "package rt\n\nimport \"runtime\"\n\nvar N = runtime.NumCPU\n",
		"protocol/us/us.go":   "package us\n\nimport \"unsafe\"\n\nvar S = unsafe.Sizeof(0)\n",
		"protocol/rf/rf.go":   "package rf\n\nimport \"reflect\"\n\nvar T = reflect.TypeOf(0)\n",
		"protocol/sy/sy.go":   "package sy\n\nimport \"sync\"\n\nvar M sync.Mutex\n",
		"protocol/lg/lg.go":   "package lg\n\nimport \"log\"\n\nvar P = log.Println\n",
		"protocol/ln/ln.go":   "package ln\n\nimport _ \"unsafe\"\n\n//go:linkname now time.now\nfunc now() (int64, int32, int64)\n",
		"protocol/ok/ok.go":   "package ok\n\nimport (\n\t\"math/rand/v2\"\n\t\"time\"\n)\n\nfunc F(d time.Duration) *rand.Rand { _ = d.String(); return rand.New(rand.NewPCG(1, 2)) }\n",
		"protocol/ok/more.go": "package ok\n\nimport \"sort\"\n\nvar S = sort.Ints\n",
	}
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	violations, _ := lintTree(t, dir, "example.com/fix", "./protocol/...")
	got := strings.Join(violations, "\n")
	for _, want := range []string{
		"example.com/fix/helper (imported by example.com/fix/protocol/dist): protocol code may import only",
		`helper/helper.go:4:2: imports "os": the OS`,
		"helper/helper.go:9:2: starts a goroutine",
		"helper/helper.go:10:6: uses time.Now",
		`protocol/dot/dot.go:3:8: dot-imports "time"`,
		"protocol/alias/alias.go:8:33: uses time.Now",
		"protocol/alias/alias.go:8:42: uses rand.IntN",
		`protocol/cr/cr.go:3:8: imports "crypto/rand"`,
		`protocol/rt/rt.go:3:8: imports "runtime"`,
		`protocol/us/us.go:3:8: imports "unsafe"`,
		`protocol/rf/rf.go:3:8: imports "reflect"`,
		`protocol/sy/sy.go:3:8: imports "sync"`,
		`protocol/lg/lg.go:3:8: imports "log"`,
		"protocol/ln/ln.go:5:1: uses go:linkname",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lint missed %q; it reported:\n%s", want, got)
		}
	}
	if strings.Contains(got, "protocol/ok/") {
		t.Errorf("lint reported the pure package:\n%s", got)
	}
	if n := len(violations); n != 15 {
		t.Errorf("lint reported %d violations, want 15:\n%s", n, got)
	}
}
