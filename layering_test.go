// Package walrus_test holds repository-wide checks.
package walrus_test

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/walrus-go/walrus"

// allowed maps each top-level package of DESIGN.md §1 to the top-level
// packages of ours it may depend on, directly or not. Arrows only point down
// the table; cmd may use anything and nothing may use cmd.
var allowed = map[string][]string{
	"encoding": {},
	"proofs":   {"encoding"},
	"store":    {"encoding"},
	"p2p":      {"encoding", "proofs"},
	"chain":    {"encoding"},
	"node":     {"encoding", "proofs", "store", "p2p", "chain"},
	"client":   {"encoding", "proofs", "p2p", "chain"},
	"network":  {"encoding", "proofs", "store", "p2p", "chain", "node", "client"},
	"cmd":      {"encoding", "proofs", "store", "p2p", "chain", "node", "client", "network"},
}

// testOnly maps a top-level package to the packages above it that its tests
// (not its code) may import: the tests of node and client run on the test
// network of real parts (network/nettest), as storj's run on testplanet, and
// node's tests drive it through a real client.
var testOnly = map[string][]string{
	"node":   {"network", "client"},
	"client": {"network"},
}

// top returns the top-level package of an import path of ours ("chain" for
// ".../chain/local"), or "" for a path outside the module.
func top(path string) string {
	rest, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return ""
	}
	t, _, _ := strings.Cut(rest, "/")
	return t
}

// TestImportDirection fails when a package depends, directly or through
// others, on a package above it in DESIGN.md §1 — in its code or its tests.
func TestImportDirection(t *testing.T) {
	touchSources(t)
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}|{{join .Deps " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "|", 3)
		pkg := top(parts[0])
		if pkg == "" {
			continue // the module root (this test)
		}
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("%s: top-level package %q is not in DESIGN.md §1; add it to the layering table", parts[0], pkg)
			continue
		}
		checked++
		for _, dep := range strings.Fields(parts[1]) {
			d := top(dep)
			if d != "" && d != pkg && !contains(ok, d) {
				t.Errorf("%s depends on %s: %s may not use %s (DESIGN.md §1)", parts[0], dep, pkg, d)
			}
		}
		for _, dep := range strings.Fields(parts[2]) {
			d := top(dep)
			if d != "" && d != pkg && !contains(ok, d) && !contains(testOnly[pkg], d) {
				t.Errorf("%s's tests import %s: %s may not use %s (DESIGN.md §1)", parts[0], dep, pkg, d)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no packages checked")
	}
}

// TestTopDetectsUpwardArrow makes sure the check can fail.
func TestTopDetectsUpwardArrow(t *testing.T) {
	if got := top(module + "/chain/local"); got != "chain" {
		t.Fatalf("top = %q", got)
	}
	if contains(allowed["encoding"], top(module+"/chain")) {
		t.Fatal("encoding may not import chain, but the table allows it")
	}
	if contains(allowed["p2p"], "store") || contains(allowed["chain"], "node") {
		t.Fatal("the table allows an upward or sideways arrow")
	}
	if contains(allowed["node"], "network") || contains(allowed["client"], "network") || contains(testOnly["chain"], "network") {
		t.Fatal("the table lets code below the test network import it")
	}
}

// touchSources stats every Go file of the module, so that go test's cache,
// which cannot see what `go list` reads, reruns this test when one changes.
func touchSources(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
