package optio

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidText reports whether s can be stored as text on every engine: valid
// UTF-8 with no NUL character. PostgreSQL refuses both, in text columns and
// in JSON, so input is checked for them before it reaches the store.
func ValidText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// InvalidTextProblem is the field message for text ValidText refuses.
const InvalidTextProblem = "must be UTF-8 text without NUL characters"

// printable reports whether s is valid UTF-8 with no control character
// (not even a line break): a single-line name or identifier.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}
