package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// errorCodeName is how an error code constant is named (see error.go).
var errorCodeName = regexp.MustCompile(`^E[A-Z]`)

// declaredErrorCodes parses the non-test Go files of dir and returns every
// string constant named like an error code, by value, with where it is.
func declaredErrorCodes(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	fset := token.NewFileSet()
	codes := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !errorCodeName.MatchString(id.Name) || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					codes[v] = f.Name.Name + "." + id.Name + " (" + fset.Position(id.Pos()).String() + ")"
				}
			}
		}
	}
	return codes
}

// TestEveryErrorCodeHasAStatus: every error code declared in package optio or
// package spark has its HTTP status in codeStatus, and the table holds no code
// that is declared nowhere. Adding a code without a status fails here, not as
// a 500 in production.
func TestEveryErrorCodeHasAStatus(t *testing.T) {
	t.Parallel()
	declared := declaredErrorCodes(t, "..")
	for v, where := range declaredErrorCodes(t, filepath.Join("..", "spark")) {
		require.NotContains(t, declared, v, "code %q declared twice: %s and %s", v, declared[v], where)
		declared[v] = where
	}
	require.Greater(t, len(declared), 30, "the parser found too few codes; has the naming rule changed?")

	var missing, stale []string
	for v, where := range declared {
		if _, ok := codeStatus[v]; !ok {
			missing = append(missing, v+" from "+where)
		}
	}
	for v := range codeStatus {
		if _, ok := declared[v]; !ok {
			stale = append(stale, v)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	require.Empty(t, missing, "error codes without an HTTP status in codeStatus (web/errors.go)")
	require.Empty(t, stale, "codeStatus entries for codes no package declares")
}

// TestErrorCodesHaveOneHome: no package but optio and spark declares an error
// code, and nothing writes to codeStatus (an init() adding a status from
// another file): a code's status is read in one literal table.
func TestErrorCodesHaveOneHome(t *testing.T) {
	t.Parallel()
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "optio-data") {
			return filepath.SkipDir
		}
		if path == root || path == filepath.Join(root, "spark") {
			return nil
		}
		for v, where := range declaredErrorCodes(t, path) {
			t.Errorf("error code %q is declared in %s: declare it in error.go (or spark/codes.go) and give it a status in codeStatus", v, where)
		}
		return nil
	})
	require.NoError(t, err)

	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok {
				return true
			}
			for _, lhs := range as.Lhs {
				if ix, ok := lhs.(*ast.IndexExpr); ok {
					if id, ok := ix.X.(*ast.Ident); ok && id.Name == "codeStatus" {
						t.Errorf("%s writes to codeStatus: add the code to the literal table in errors.go instead", fset.Position(as.Pos()))
					}
				}
			}
			return true
		})
	}
}
