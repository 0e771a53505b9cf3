package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/genzai/genzai"

// Size limits: a function a reader can hold in view, a domain file a reader
// can read in one sitting.
const (
	maxFuncLines       = 80
	maxDomainFileLines = 400
)

// importExceptions are imports outside the rules, each with its reason.
// There are none: IDNA, the one candidate, sits behind ports.DomainNames.
var importExceptions = map[string][]string{}

// funcSizeExempt are functions the line limit does not apply to.
var funcSizeExempt = map[string]string{
	// Reading the configuration is one flat list of variables, read in
	// order; splitting it would hide which variable is read where.
	"app/config.go:LoadConfig": "config reading",
}

// goFile is one parsed Go file of the module.
type goFile struct {
	rel   string // slash-separated path from the module root
	dir   string // its package directory, relative
	test  bool
	gen   bool
	lines int
	fset  *token.FileSet
	ast   *ast.File
}

// repoRoot is the module root: two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.Contains(string(b), "module "+module+"\n") {
		t.Fatalf("%s is not the root of %s: %v", root, module, err)
	}
	return root
}

// parseTree parses every Go file under the given top-level directories.
func parseTree(t *testing.T, tops ...string) []goFile {
	t.Helper()
	root := repoRoot(t)
	var files []goFile
	for _, top := range tops {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") || name == "node_modules" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			files = append(files, goFile{
				rel: rel, dir: filepath.ToSlash(filepath.Dir(rel)),
				test:  strings.HasSuffix(rel, "_test.go"),
				gen:   ast.IsGenerated(f) || strings.HasSuffix(rel, ".gen.go"),
				lines: strings.Count(string(src), "\n"),
				fset:  fset, ast: f,
			})
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", top, err)
		}
	}
	if len(files) == 0 {
		t.Fatalf("no Go files under %v", tops)
	}
	return files
}

func imports(f goFile) []string {
	var out []string
	for _, spec := range f.ast.Imports {
		p, _ := strconv.Unquote(spec.Path.Value)
		out = append(out, p)
	}
	return out
}

// isStdlib reports whether an import path is the standard library's: its
// first element has no dot (no host name).
func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// TestLayers checks that dependencies point inward: domain and ports import
// only the standard library and each other; a use case under domain/ also
// the other domain packages and ports; cmd/genzai reaches adapters only
// through app.
func TestLayers(t *testing.T) {
	t.Parallel()
	for _, f := range parseTree(t, "domain", "ports", "cmd/genzai") {
		for _, imp := range imports(f) {
			if problem := layerProblem(f, imp); problem != "" {
				t.Errorf("%s imports %s: %s", f.rel, imp, problem)
			}
		}
	}
}

// layerProblem is why f may not import imp, or "" when it may.
func layerProblem(f goFile, imp string) string {
	if isStdlib(imp) || slices.Contains(importExceptions[f.dir], imp) {
		return ""
	}
	inModule := strings.HasPrefix(imp, module+"/")
	rel := strings.TrimPrefix(imp, module+"/")
	switch {
	case f.dir == "domain" || f.dir == "ports":
		if f.test {
			return "" // tests may use testify and the memory adapter
		}
		if inModule && (rel == "domain" || rel == "ports") {
			return ""
		}
		return "domain and ports import only the standard library and each other"
	case f.dir == "ports/portstest":
		// Test support: the contract suites every adapter of a port runs.
		// They speak testify but, like the ports, know no adapter.
		if inModule && (rel == "adapters" || strings.HasPrefix(rel, "adapters/")) {
			return "ports/portstest (contract suites) knows no adapter"
		}
		return ""
	case strings.HasPrefix(f.dir, "domain/"):
		if f.test {
			return ""
		}
		if inModule && (rel == "domain" || strings.HasPrefix(rel, "domain/") || rel == "ports") {
			return ""
		}
		return "a use case imports only the standard library, domain, domain/* and ports"
	case f.dir == "cmd/genzai":
		if !f.test && inModule && (rel == "adapters" || strings.HasPrefix(rel, "adapters/")) {
			return "cmd reaches adapters only through app"
		}
	}
	return ""
}

// TestSizes checks the size rules: no function or function literal over
// maxFuncLines lines in domain/, adapters/httpapi/ and app/, no domain file
// over maxDomainFileLines lines (tests and generated code aside).
func TestSizes(t *testing.T) {
	t.Parallel()
	for _, f := range parseTree(t, "domain", "adapters/httpapi", "app") {
		if f.test || f.gen {
			continue
		}
		if strings.HasPrefix(f.rel, "domain/") && f.lines > maxDomainFileLines {
			t.Errorf("%s has %d lines (at most %d in domain/): split it by concern", f.rel, f.lines, maxDomainFileLines)
		}
		for _, fn := range longFuncs(f) {
			t.Error(fn)
		}
	}
}

// longFuncs lists f's functions and function literals over the limit.
func longFuncs(f goFile) []string {
	var out []string
	var enclosing string
	ast.Inspect(f.ast, func(n ast.Node) bool {
		var name string
		switch n := n.(type) {
		case *ast.FuncDecl:
			enclosing = n.Name.Name
			name = enclosing
		case *ast.FuncLit:
			name = "func literal in " + enclosing
		default:
			return true
		}
		start, end := f.fset.Position(n.Pos()).Line, f.fset.Position(n.End()).Line
		lines := end - start + 1
		key := f.rel + ":" + name
		if _, exempt := funcSizeExempt[key]; lines > maxFuncLines && !exempt {
			out = append(out, fmt.Sprintf("%s:%d %s has %d lines (at most %d)", f.rel, start, name, lines, maxFuncLines))
		}
		return true
	})
	return out
}

// TestRulesCatchOffenders keeps the checks honest: each rule, given a file
// that breaks it, reports it.
func TestRulesCatchOffenders(t *testing.T) {
	t.Parallel()
	parse := func(rel, src string) goFile {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, rel, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		return goFile{rel: rel, dir: filepath.ToSlash(filepath.Dir(rel)), fset: fset, ast: f}
	}
	for _, tc := range []struct {
		rel, imp string
		allowed  bool
	}{
		{"domain/user.go", "strings", true},
		{"domain/user.go", "golang.org/x/net/idna", false},
		{"domain/user.go", module + "/domain/email", false},
		{"ports/ports.go", module + "/domain", true},
		{"ports/ports.go", module + "/adapters/memory", false},
		{"domain/email/email.go", "golang.org/x/net/idna", false},
		{"adapters/idn/idn.go", "golang.org/x/net/idna", true},
		{"domain/login/service.go", module + "/domain/email", true},
		{"ports/portstest/user.go", "github.com/stretchr/testify/require", true},
		{"ports/portstest/user.go", module + "/adapters/memory", false},
		{"domain/login/service.go", module + "/ports", true},
		{"domain/login/service.go", module + "/adapters/jwt", false},
		{"domain/login/service.go", "github.com/labstack/echo/v4", false},
		{"cmd/genzai/serve.go", module + "/app", true},
		{"cmd/genzai/serve.go", module + "/adapters/httpapi", false},
		{"cmd/genzai/e2e_test.go", module + "/adapters/postgres/pgtest", true},
	} {
		f := parse(tc.rel, "package x\n")
		f.test = strings.HasSuffix(tc.rel, "_test.go")
		if got := layerProblem(f, tc.imp) == ""; got != tc.allowed {
			t.Errorf("%s importing %s: allowed %v, want %v", tc.rel, tc.imp, got, tc.allowed)
		}
	}

	body := strings.Repeat("\t_ = 1\n", maxFuncLines)
	long := parse("app/x.go", "package x\nfunc Long() {\n"+body+"}\nfunc Short() {}\nvar v = func() {\n"+body+"}\n")
	if got := longFuncs(long); len(got) != 2 {
		t.Errorf("long functions found: %q, want Long and the literal", got)
	}
	exempt := parse("app/config.go", "package x\nfunc LoadConfig() {\n"+body+"}\n")
	if got := longFuncs(exempt); len(got) != 0 {
		t.Errorf("LoadConfig is exempt, found %q", got)
	}
}
