package filestore

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFilenameBytes bounds a stored display name; the extension is kept.
const maxFilenameBytes = 200

// SafeFilename turns a client-supplied name into one safe to store and to
// offer back in Content-Disposition: the base name only (no "../" or "\"
// path parts), no control or bidi-override characters, no leading dots, at
// most 200 bytes with the extension kept, and never empty ("file").
// It is a display name only; files are stored under their hash.
func SafeFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base("/" + name) // "/" so that an empty or all-slash name yields "/"
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r): // Cf: bidi overrides, zero-width
			return -1
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ". \t")
	name = strings.TrimRight(name, ". \t")
	if name == "" || name == "/" {
		return "file"
	}
	if len(name) <= maxFilenameBytes {
		return name
	}
	ext := path.Ext(name)
	if len(ext) > 20 || len(ext) == len(name) {
		ext = ""
	}
	stem := truncateUTF8(strings.TrimSuffix(name, ext), maxFilenameBytes-len(ext))
	return strings.TrimRight(stem, ". \t") + ext
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
