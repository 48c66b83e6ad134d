package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The layering of DESIGN.md, as a lint over what every package of the
// module depends on (go list's Deps: the whole transitive closure; for
// live and sim, their test files' too). protocol/lint_test.go holds
// protocol's own purity.
//
// sim and live are two drivers of the same nodes and never import each
// other: what both need (a run's setup from a scenario, the meters and
// summaries that turn events into figures) lives below both, and the
// harness that runs both (cmd/dais/calibrate) above both. scenarios and
// gpu import nothing above them, and metrics knows no driver.

const module = "github.com/dais-sim/dais"

// layerRule: no package under From may depend on a package under any of
// Deny (directories of the module; a directory covers its subpackages).
type layerRule struct {
	From string
	Deny []string
	Why  string
}

var layerRules = []layerRule{
	{From: "live", Deny: []string{"sim", "cmd"},
		Why: "live is a driver: what it shares with the simulator lives below both"},
	// sim/runner, sweep and tune write report folders (reports): a
	// driver above reports, which reads only metrics.
	{From: "sim", Deny: []string{"live", "cmd"},
		Why: "sim is a driver: what it shares with live lives below both"},
	{From: "scenarios", Deny: []string{"sim", "live", "reports", "cmd"},
		Why: "scenarios describe runs for both drivers and import nothing above them"},
	{From: "gpu", Deny: []string{"sim", "live", "reports", "cmd", "protocol", "scenarios"},
		Why: "gpu is below protocol (protocol imports its root) and below both drivers"},
	{From: "metrics", Deny: []string{"sim", "live", "reports", "cmd"},
		Why: "metrics knows nothing of either driver"},
	{From: "protocol", Deny: []string{"sim", "live", "reports", "cmd", "scenarios"},
		Why: "protocol is the body of code both drivers run"},
}

// pending are edges a move has not yet made, package → dependency: the
// lint fails on any edge not listed, and on a listed edge that no longer
// exists, so this list only shrinks. Issue 17 emptied it: the federated
// job's parameters, split, Federation, Result and Summary moved to
// scenarios/learning, below both drivers.
var pending []string

// goPackage is the part of go list -json this lint reads.
type goPackage struct {
	ImportPath string
	Deps       []string
}

// under reports whether path is the module directory dir or below it.
func under(path, dir string) bool {
	p := module + "/" + dir
	return path == p || strings.HasPrefix(path, p+"/")
}

// packageOf is the package a go list -test entry belongs to: "p [p.test]",
// "p_test [p.test]" (external test files) and "p.test" (the test main) are
// p's.
func packageOf(importPath string) string {
	p, _, _ := strings.Cut(importPath, " ")
	p = strings.TrimSuffix(p, ".test")
	return strings.TrimSuffix(p, "_test")
}

// layerViolations applies rules to pkgs: one line per package and
// forbidden dependency, sorted; an edge on allowed ("pkg → dep", module
// directories) is left out and reported in used.
func layerViolations(rules []layerRule, pkgs []goPackage, allowed ...string) (out, used []string) {
	for _, p := range pkgs {
		for _, r := range rules {
			if !under(packageOf(p.ImportPath), r.From) {
				continue
			}
			for _, d := range p.Deps {
				for _, deny := range r.Deny {
					if !under(packageOf(d), deny) {
						continue
					}
					if edge := strings.TrimPrefix(p.ImportPath, module+"/") + " → " + strings.TrimPrefix(d, module+"/"); slices.Contains(allowed, edge) {
						used = append(used, edge)
						continue
					}
					out = append(out, p.ImportPath+" depends on "+d+": "+r.Why)
				}
			}
		}
	}
	slices.Sort(out)
	slices.Sort(used)
	return out, slices.Compact(used)
}

// listPackages runs go list -json on the module's packages; with tests,
// their test variants too (go list -test), whose Deps include what the
// test files import.
func listPackages(t *testing.T, tests bool) []goPackage {
	t.Helper()
	args := []string{"list", "-json=ImportPath,Deps"}
	if tests {
		args = append(args, "-test")
	}
	cmd := exec.Command("go", append(args, module+"/...")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestLayers(t *testing.T) {
	pkgs := listPackages(t, false)
	// The lint must see the packages it rules on, or it passes vacuously.
	for _, dir := range []string{"live/node", "live/testnet", "sim/marketrun", "sim/learnrun", "scenarios", "gpu/kernel", "cmd/dais/calibrate"} {
		if !slices.ContainsFunc(pkgs, func(p goPackage) bool { return p.ImportPath == module+"/"+dir }) {
			t.Fatalf("go list did not list %s/%s", module, dir)
		}
	}
	bad, used := layerViolations(layerRules, pkgs, pending...)
	// The drivers' tests do not cross either: a test comparing the two
	// (calibrate's) sits above both, and each driver's own tests hold it to
	// what lies below (the node stream, a flood's figures on a graph).
	// Other layers' tests may run their code on the simulator (protocol's
	// consensus tests do).
	testBad, _ := layerViolations(layerRules[:2], listPackages(t, true))
	for _, v := range testBad {
		if !slices.Contains(bad, v) {
			bad = append(bad, v+" (in its tests)")
		}
	}
	for _, v := range bad {
		t.Error(v)
	}
	for _, e := range pending {
		if !slices.Contains(used, e) {
			t.Errorf("pending edge %s no longer exists: remove it from pending", e)
		}
	}
}

// TestLayerRules holds the lint to fake dependency lists: each forbidden
// edge the issue names is caught, and what the layering allows passes.
func TestLayerRules(t *testing.T) {
	m := func(dir string) string { return module + "/" + dir }
	for _, c := range []struct {
		pkg, dep string
		bad      bool
	}{
		{"live/node", "sim/learnrun", true},
		{"live/testnet", "sim/marketrun", true},
		{"live", "sim", true},
		{"live/p2p_test [" + module + "/live/p2p.test]", "sim", true}, // go list -test's external test package
		{"live.test", "sim/netmodel", true},                           // and a test main
		{"sim/marketrun", "live/node", true},
		{"scenarios", "sim/netmodel", true},
		{"scenarios/netspec", "sim", true},
		{"gpu/kernel", "protocol/verify", true},
		{"gpu", "live/node", true},
		{"metrics/record", "sim", true},
		{"protocol/market", "scenarios", true},
		{"live/node", "scenarios/netspec", false},
		{"sim/marketrun", "scenarios/marketplace", false},
		{"live/testnet", "metrics", false},
		{"cmd/dais/calibrate", "sim/consensusrun", false},
		{"cmd/dais/calibrate", "live/node", false},
		{"simulate", "live", false}, // a sibling directory whose name starts like sim
		{"gpu/bench", "gpu/kernel", false},
	} {
		got, _ := layerViolations(layerRules, []goPackage{{ImportPath: m(c.pkg), Deps: []string{"fmt", m(c.dep)}}})
		if bad := len(got) > 0; bad != c.bad {
			t.Errorf("%s → %s: violations %q, want forbidden=%v", c.pkg, c.dep, got, c.bad)
		}
	}
}

// TestLayerPending: a pending edge is let through, and only that edge.
func TestLayerPending(t *testing.T) {
	m := func(dir string) string { return module + "/" + dir }
	pkgs := []goPackage{{ImportPath: m("live/node"), Deps: []string{m("sim/learnrun"), m("sim/marketrun")}}}
	bad, used := layerViolations(layerRules, pkgs, "live/node → sim/learnrun")
	if len(bad) != 1 || !strings.Contains(bad[0], "sim/marketrun") || len(used) != 1 {
		t.Fatalf("violations %q, pending used %q: want only live/node → sim/marketrun, and the pending edge used", bad, used)
	}
}
