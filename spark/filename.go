package spark

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxFilenameBytes caps a submission file's name.
const MaxFilenameBytes = 255

// filenameProblem says what is wrong with a submitted filename, or "" when
// it is acceptable. Sub-folders ("essays/final.pdf") are allowed, leaving
// the folder ("../x", "/etc/x", `C:\x`) is not.
func filenameProblem(name string) string {
	switch {
	case name == "":
		return "required"
	case len(name) > MaxFilenameBytes:
		return "must be at most 255 bytes"
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	n := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':') {
		return "must not be an absolute path"
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return "must not contain path traversal (..)"
		}
	}
	if b := path.Base(n); b == "." || b == "/" || strings.Trim(b, ". ") == "" {
		return "must name a file"
	}
	return ""
}
