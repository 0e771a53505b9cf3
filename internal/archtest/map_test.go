package archtest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestArchitectureNamesEveryPackage keeps ARCHITECTURE.md true: every
// package under domain/, ports/, adapters/ and app/ is named in it (as
// `path`), and every package it names still exists.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatalf("read ARCHITECTURE.md: %v", err)
	}
	doc := string(raw)
	var dirs []string
	for _, f := range parseTree(t, "domain", "ports", "adapters", "app") {
		if !slices.Contains(dirs, f.dir) {
			dirs = append(dirs, f.dir)
		}
	}
	if len(dirs) < 20 {
		t.Fatalf("found only %d packages: the walk is broken", len(dirs))
	}
	for _, d := range dirs {
		if !strings.Contains(doc, "`"+d+"`") {
			t.Errorf("ARCHITECTURE.md does not name package `%s`: add a row saying what it owns", d)
		}
	}
	for _, top := range []string{"domain/", "ports/", "adapters/", "app/"} {
		for _, part := range strings.Split(doc, "`")[1:] {
			name, _, _ := strings.Cut(part, " ")
			if !strings.HasPrefix(name, top) || strings.ContainsAny(name, ".<*,") || strings.HasSuffix(name, "/") {
				continue
			}
			if st, err := os.Stat(filepath.Join(root, name)); err != nil || !st.IsDir() {
				t.Errorf("ARCHITECTURE.md names `%s`, which is not a directory any more", name)
			}
		}
	}
}
