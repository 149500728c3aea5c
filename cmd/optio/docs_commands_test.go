package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// docCommand is an `optio …` command line found in a document.
type docCommand struct {
	where string // file:line
	text  string // from "optio" on
}

var (
	inlineCode  = regexp.MustCompile("`([^`]+)`")
	optioInDocs = regexp.MustCompile(`(?:^|[\s($])(?:\./optio|optio|go run \./cmd/optio)\s+([^\s./].*)$`)
)

// documentedCommands lists every `optio …` command in the README and the
// Markdown under docs/: inline code spans, and the lines of code blocks
// (shell blocks only; comments and what follows a pipe, `&&`, `;`, `&` or `)` dropped).
func documentedCommands(t *testing.T) []docCommand {
	t.Helper()
	root := filepath.Join("..", "..")
	files := []string{filepath.Join(root, "README.md")}
	for _, glob := range []string{"docs/*.md", "docs/spark/*.md", "docs/lti/*.md"} {
		m, err := filepath.Glob(filepath.Join(root, glob))
		require.NoError(t, err)
		files = append(files, m...)
	}
	var out []docCommand
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, f)
		inBlock, shell := false, false
		for n, line := range strings.Split(string(raw), "\n") {
			where := rel + ":" + strconv.Itoa(n+1)
			if fence, ok := strings.CutPrefix(strings.TrimSpace(line), "```"); ok {
				inBlock = !inBlock
				shell = inBlock && slices.Contains([]string{"sh", "bash", "shell", "console"}, fence)
				continue
			}
			var candidates []string
			switch {
			case inBlock && !shell:
			case inBlock:
				if i := strings.Index(line, " #"); i >= 0 {
					line = line[:i]
				}
				candidates = append(candidates, line)
			default:
				for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
					candidates = append(candidates, strings.ReplaceAll(m[1], `\|`, "|"))
				}
			}
			for _, c := range candidates {
				m := optioInDocs.FindStringSubmatch(c)
				if m == nil {
					continue
				}
				rest := m[1]
				if inBlock {
					for _, sep := range []string{" | ", "&&", ";", " &", ")"} {
						if i := strings.Index(rest, sep); i >= 0 {
							rest = rest[:i]
						}
					}
				}
				out = append(out, docCommand{where: where, text: "optio " + strings.TrimSpace(rest)})
			}
		}
	}
	return out
}

// resolveCommand walks text's words down the command tree and returns the
// command they name and the words after it.
func resolveCommand(root *cobra.Command, text string) (*cobra.Command, []string) {
	words := strings.Fields(text)[1:]
	cmd := root
	for len(words) > 0 {
		var next *cobra.Command
		for _, c := range cmd.Commands() {
			if c.Name() == words[0] || slices.Contains(c.Aliases, words[0]) {
				next = c
			}
		}
		if next == nil {
			break
		}
		cmd, words = next, words[1:]
	}
	return cmd, words
}

var docFlag = regexp.MustCompile(`^\[?--([a-z][a-z0-9-]*)`)

// flagsIn lists the long flags named in words ("--role", "[--ttl", "--url=…").
func flagsIn(words []string) []string {
	var out []string
	for _, w := range words {
		if m := docFlag.FindStringSubmatch(w); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

func hasFlag(cmd *cobra.Command, name string) bool {
	return name == "help" || cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil
}

// TestDocsCommandsExist: every `optio …` command the README and docs/ show is
// a real command, and every flag they give it is one of its flags.
func TestDocsCommandsExist(t *testing.T) {
	t.Parallel()
	root := newRootCmd(func(string) string { return "" })
	cmds := documentedCommands(t)
	require.Greater(t, len(cmds), 40, "the documents' optio commands were not found")
	for _, c := range cmds {
		cmd, rest := resolveCommand(root, c.text)
		if len(rest) > 0 && (rest[0] == "…" || rest[0] == "...") {
			continue // "optio …": any command
		}
		if cmd == root && len(rest) > 0 && tagOf[rest[0]] != "" {
			// Built only with its tag (root.go's taggedCommands): the
			// documents say how to build it, and CI builds it (.ci/run).
			require.Contains(t, docText(t), "-tags "+tagOf[rest[0]], "%s: `%s` needs its build tag documented", c.where, c.text)
			continue
		}
		if cmd == root {
			require.True(t, len(rest) == 0 || strings.HasPrefix(rest[0], "-") || strings.HasPrefix(rest[0], "["),
				"%s: `%s`: optio has no command %q", c.where, c.text, rest[0])
			continue
		}
		require.False(t, cmd.HasSubCommands() && len(rest) > 0 && !strings.HasPrefix(rest[0], "-"),
			"%s: `%s`: optio %s has no command %q", c.where, c.text, cmd.Name(), firstOrEmpty(rest))
		for _, f := range flagsIn(rest) {
			require.True(t, hasFlag(cmd, f), "%s: `%s`: %s has no flag --%s", c.where, c.text, cmd.CommandPath(), f)
		}
	}
}

// tagOf is the build tag of each command built only with one.
var tagOf = map[string]string{"loadtest": "loadtest"}

// docText is the README and docs/PERFORMANCE.md, where tagged builds are told.
func docText(t *testing.T) string {
	var b strings.Builder
	for _, f := range []string{"README.md", "docs/PERFORMANCE.md"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", f))
		require.NoError(t, err)
		b.Write(raw)
	}
	return b.String()
}

func firstOrEmpty(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// signTokenSynopsis is how the README, INTEGRATION.md and ONBOARDING.md
// state `optio spark sign-token`'s flags: all of them, in one wording.
const signTokenSynopsis = "optio spark sign-token --sub ID [--email E] [--given-name G] [--family-name F] [--role R] [--course C] [--student S] [--ttl 5m]"

// TestDocsSignTokenSynopsis: the three documents that list sign-token's
// flags list the same ones, and those are exactly the command's flags.
func TestDocsSignTokenSynopsis(t *testing.T) {
	t.Parallel()
	root := newRootCmd(func(string) string { return "" })
	cmd, rest := resolveCommand(root, signTokenSynopsis)
	require.Equal(t, "sign-token", cmd.Name())
	var real []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			real = append(real, f.Name)
		}
	})
	documented := flagsIn(rest)
	slices.Sort(real)
	slices.Sort(documented)
	require.Equal(t, real, documented, "the synopsis must list every flag of optio spark sign-token")

	found := map[string]bool{}
	for _, c := range documentedCommands(t) {
		if strings.HasPrefix(c.text, "optio spark sign-token") && strings.Contains(c.text, "[--") {
			require.Equal(t, signTokenSynopsis, c.text, "%s: sign-token's flags are listed differently from the README, INTEGRATION.md and ONBOARDING.md", c.where)
			found[strings.Split(c.where, ":")[0]] = true
		}
	}
	for _, f := range []string{"README.md", "docs/spark/INTEGRATION.md", "docs/spark/ONBOARDING.md"} {
		require.True(t, found[f], "%s does not list sign-token's flags as %q", f, signTokenSynopsis)
	}
}

// TestDocsPollIntervalMinimum: the README and API_SPECIFICATION.md state
// the shortest SPARK_POLL_INTERVAL Optio accepts, and it is the real one.
func TestDocsPollIntervalMinimum(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "SPARK_POLL_INTERVAL" {
				return v
			}
			return ""
		}
	}
	_, err := optio.LoadConfig(env("9s"))
	require.ErrorContains(t, err, "SPARK_POLL_INTERVAL")
	_, err = optio.LoadConfig(env("10s"))
	require.NoError(t, err)
	for _, f := range []string{"README.md", "docs/spark/API_SPECIFICATION.md"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", f))
		require.NoError(t, err)
		var row string
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(l, "|") && strings.Contains(l, "SPARK_POLL_INTERVAL") {
				row = l
			}
		}
		require.Contains(t, row, "at least `10s`", "%s: the SPARK_POLL_INTERVAL row must state the 10s minimum", f)
	}
}
