package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDocsPackageMapComplete: the README's package map (the code block under
// "## Architecture") names every package directory of the module, and no
// directory that is not one.
func TestDocsPackageMapComplete(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	_, arch, ok := strings.Cut(string(readme), "\n## Architecture\n")
	require.True(t, ok, "README has no Architecture section")
	m := regexp.MustCompile("(?s)```\n(.*?)\n```").FindStringSubmatch(arch)
	require.NotNil(t, m, "the Architecture section has no package map")
	listed := map[string]bool{}
	for _, line := range strings.Split(m[1], "\n") {
		name, _, _ := strings.Cut(line, " ")
		if strings.HasSuffix(name, "/") {
			listed[strings.TrimSuffix(name, "/")] = true
		}
	}

	packages := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "optio-data") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") && filepath.Dir(rel) != "." {
			packages[filepath.ToSlash(filepath.Dir(rel))] = true
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, len(packages), 10)
	for p := range packages {
		require.True(t, listed[p], "README's package map does not list %s/", p)
	}
	for p := range listed {
		require.True(t, packages[p], "README's package map lists %s/, which holds no package", p)
	}
}
