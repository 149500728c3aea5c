package main

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/store"
)

// openAPIScope says which registered routes the OpenAPI file must describe:
// the JSON API, Spark's endpoints, the portfolio pages, the evidence files
// they link and operations.
func openAPIScope(path string) bool {
	for _, p := range []string{"/api/", "/spark/", "/portfolio/", "/files/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// registeredRoutes reads every pattern the web package registers
// (mux.HandleFunc / mux.Handle with a literal "METHOD /path"). A route
// registered with a computed pattern fails the test, so none can hide.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "..", "web", "*.go"))
	require.NoError(t, err)
	var routes []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") || len(call.Args) != 2 {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			require.True(t, ok && lit.Kind == token.STRING, "%s: a route pattern that is not a literal", fset.Position(call.Pos()))
			p, err := strconv.Unquote(lit.Value)
			require.NoError(t, err)
			routes = append(routes, p)
			return true
		})
	}
	require.Greater(t, len(routes), 50)
	return routes
}

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(sparkDocsDir, "openapi.yaml"))
	require.NoError(t, err)
	return doc
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestDocsOpenAPI lints openapi.yaml as OpenAPI 3.1 and checks it against
// the real routes both ways; its request examples are sent to a real Optio.
func TestDocsOpenAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	doc := loadOpenAPI(t)
	require.True(t, doc.IsOpenAPI31OrLater(), "openapi.yaml must be OpenAPI 3.1, is %s", doc.OpenAPI)
	require.NoError(t, doc.Validate(ctx, openapi3.EnableExamplesValidation()))

	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range registeredRoutes(t) {
		registered[r] = true
		if _, path, ok := strings.Cut(r, " "); ok && openAPIScope(path) {
			require.True(t, documented[r], "route %q is registered but not in openapi.yaml", r)
		}
	}

	// Every documented operation is served by exactly that pattern in the real mux.
	a := startApp(t, testEnv(t, store.SQLite, map[string]string{"SPARK_WEBHOOK_SECRET": docsWebhookSecret, "OPTIO_WORKERS": "0",
		"OPTIO_LOG_LEVEL": "error"}))
	var ops []string
	for op := range documented {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		concrete := pathParam.ReplaceAllString(path, "x1")
		require.Equal(t, op, a.Web.RoutePattern(method, concrete), "openapi.yaml documents %s, which Optio does not serve", op)
		require.True(t, registered[op], "%s is served but was not found in web/*.go", op)
	}

	// Request examples are accepted: webhooks signed as Spark does, and the
	// account endpoints in order (register, then log in).
	sent := 0
	for _, path := range []string{"/spark/webhook/submission", "/spark/webhook/roster", "/spark/webhook/course", "/api/auth/register", "/api/auth/login"} {
		op := doc.Paths.Find(path).Post
		mt := op.RequestBody.Value.Content.Get("application/json")
		require.NotNil(t, mt.Example, "%s has no request example", path)
		body, err := json.Marshal(mt.Example)
		require.NoError(t, err)
		require.NoError(t, mt.Schema.Value.VisitJSON(mt.Example, openapi3.EnableJSONSchema2020()), path)
		var got answer
		if strings.HasPrefix(path, "/spark/webhook/") {
			got = postWebhook(t, a.URL(), path, freshID(), body, docsWebhookSecret)
		} else {
			req, _ := http.NewRequest(http.MethodPost, a.URL()+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			got = do(t, http.DefaultClient, req)
		}
		require.Contains(t, []int{200, 201, 202}, got.status, "%s: %s", path, got.body)
		sent++
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Example != nil {
				require.Contains(t, []string{"/spark/webhook/submission", "/spark/webhook/roster", "/spark/webhook/course",
					"/api/auth/register", "/api/auth/login"}, path, "%s %s has an example this test does not send", method, path)
			}
		}
	}
	require.Equal(t, 5, sent)
}

// TestDocsExamplesMatchOpenAPI checks the Markdown examples against the
// OpenAPI schemas, so the two descriptions cannot drift apart.
func TestDocsExamplesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	n := 0
	for _, b := range allBlocks(sparkDocs(t)) {
		var v any
		if b.Lang == "json" {
			require.NoError(t, json.Unmarshal([]byte(b.Body), &v), b.where())
		}
		if m, ok := b.marker("request"); ok && m != "sso-claims" {
			method, path, _ := strings.Cut(m, " ")
			op := doc.Paths.Find(path).GetOperation(method)
			require.NotNil(t, op, "%s: %s is not in openapi.yaml", b.where(), m)
			schema := op.RequestBody.Value.Content.Get("application/json").Schema.Value
			require.NoError(t, schema.VisitJSON(v, openapi3.EnableJSONSchema2020()), b.where())
			n++
		}
		if m, ok := b.marker("response"); ok {
			key, _ := parseExampleKey(m)
			f := strings.Fields(key)
			op := doc.Paths.Find(f[1]).GetOperation(f[0])
			require.NotNil(t, op, "%s: %s is not in openapi.yaml", b.where(), key)
			status, _ := strconv.Atoi(f[2])
			res := op.Responses.Status(status)
			require.NotNil(t, res, "%s: openapi.yaml has no %d answer for %s %s", b.where(), status, f[0], f[1])
			schema := res.Value.Content.Get("application/json").Schema.Value
			require.NoError(t, schema.VisitJSON(v, openapi3.EnableJSONSchema2020()), b.where())
			n++
		}
	}
	require.GreaterOrEqual(t, n, 10)
}
