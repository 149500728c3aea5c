package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sparkDocsDir is the Spark team's documents, relative to this package.
var sparkDocsDir = filepath.Join("..", "..", "docs", "spark")

// docBlock is one fenced code block of a Markdown document with the HTML
// comment markers right above it (<!-- request: POST /spark/webhook/roster -->).
type docBlock struct {
	File    string
	Line    int
	Lang    string
	Body    string
	Markers []string
}

// where names the block in failure messages.
func (b docBlock) where() string { return fmt.Sprintf("%s:%d", b.File, b.Line) }

// marker returns the value of the marker "name: value" (or "" and true for a
// bare "name").
func (b docBlock) marker(name string) (string, bool) {
	for _, m := range b.Markers {
		if m == name {
			return "", true
		}
		if v, ok := strings.CutPrefix(m, name+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

var markerLine = regexp.MustCompile(`^<!--\s*(.*?)\s*-->$`)

// parseDoc splits a Markdown file into its fenced blocks.
func parseDoc(t *testing.T, path string) []docBlock {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var blocks []docBlock
	var pending []string
	var cur *docBlock
	var body strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.Body = body.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		case strings.HasPrefix(line, "```"):
			cur = &docBlock{File: filepath.Base(path), Line: n, Lang: strings.TrimPrefix(line, "```"), Markers: pending}
			body.Reset()
			pending = nil
		case markerLine.MatchString(line):
			pending = append(pending, markerLine.FindStringSubmatch(line)[1])
		case strings.TrimSpace(line) != "":
			pending = nil
		}
	}
	require.NoError(t, sc.Err())
	require.Nil(t, cur, "%s: a code block is not closed", path)
	return blocks
}

// sparkDocs is every Markdown document in docs/spark, parsed, by file name.
func sparkDocs(t *testing.T) map[string][]docBlock {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(sparkDocsDir, "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	docs := map[string][]docBlock{}
	for _, p := range paths {
		docs[filepath.Base(p)] = parseDoc(t, p)
	}
	return docs
}

// allBlocks lists the blocks of every document in file order.
func allBlocks(docs map[string][]docBlock) []docBlock {
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []docBlock
	for _, n := range names {
		out = append(out, docs[n]...)
	}
	return out
}

// shapeDiff compares the keys of a documented JSON example with a real
// answer: objects must have the same keys (except those in optional, which
// may be missing on either side), recursively; arrays compare their first
// elements; scalars compare only their kind (object, array, other).
func shapeDiff(doc, real any, optional []string, path string) []string {
	switch d := doc.(type) {
	case map[string]any:
		r, ok := real.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: documented an object, real answer has %T", path, real)}
		}
		var out []string
		for k, dv := range d {
			rv, ok := r[k]
			switch {
			case ok:
				out = append(out, shapeDiff(dv, rv, optional, path+"."+k)...)
			case !slices.Contains(optional, k):
				out = append(out, fmt.Sprintf("%s.%s: documented, missing from the real answer", path, k))
			}
		}
		for k := range r {
			if _, ok := d[k]; !ok && !slices.Contains(optional, k) {
				out = append(out, fmt.Sprintf("%s.%s: in the real answer, not documented", path, k))
			}
		}
		sort.Strings(out)
		return out
	case []any:
		r, ok := real.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: documented an array, real answer has %T", path, real)}
		}
		if len(d) > 0 && len(r) > 0 {
			return shapeDiff(d[0], r[0], optional, path+"[0]")
		}
		return nil
	default:
		switch real.(type) {
		case map[string]any, []any:
			return []string{fmt.Sprintf("%s: documented a scalar, real answer has %T", path, real)}
		}
		return nil
	}
}

// requireSameShape fails when a documented example and a real answer differ in keys.
func requireSameShape(t *testing.T, where, docJSON string, real []byte, optional []string) {
	t.Helper()
	var d, r any
	require.NoError(t, json.Unmarshal([]byte(docJSON), &d), "%s: example is not JSON", where)
	require.NoError(t, json.Unmarshal(real, &r), "%s: real answer is not JSON: %s", where, real)
	require.Empty(t, shapeDiff(d, r, optional, "$"), "%s: the example's keys differ from a real answer:\n%s", where, real)
}

// parseExampleKey splits "POST /path 202 optional=a,b" into its key
// ("POST /path 202") and the optional keys.
func parseExampleKey(v string) (key string, optional []string) {
	var parts []string
	for _, f := range strings.Fields(v) {
		if o, ok := strings.CutPrefix(f, "optional="); ok {
			optional = strings.Split(o, ",")
			continue
		}
		parts = append(parts, f)
	}
	return strings.Join(parts, " "), optional
}

func TestDocsMarkdownIsWellFormed(t *testing.T) {
	t.Parallel()
	known := []string{"request", "bad-request", "response", "spark-request", "spark-response", "expect", "norun",
		"worked-example", "error-catalogue"}
	for _, b := range allBlocks(sparkDocs(t)) {
		for _, m := range b.Markers {
			name, _, _ := strings.Cut(m, ":")
			require.Contains(t, known, name, "%s: unknown marker %q", b.where(), m)
		}
		if b.Lang == "json" {
			var v any
			require.NoError(t, json.Unmarshal([]byte(b.Body), &v), "%s: not JSON", b.where())
		}
	}
}
