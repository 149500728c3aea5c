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
// path parts), no control or bidi-override characters, no leading dots, no
// Windows device name ("CON.txt" becomes "_CON.txt"), at most 200 bytes with
// the extension kept, and never empty ("file"). Student uploads and Spark
// submission files both pass through it. It is a display name only; files
// are stored under their hash.
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
	if stem, _, _ := strings.Cut(name, "."); windowsReserved[strings.ToUpper(strings.TrimRight(stem, " "))] {
		name = "_" + name
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

// DisplayName is the name a stored file is offered under: SafeFilename of
// the client's name, with the canonical extension of contentType (the
// sniffed type) appended when the name's own extension does not agree with
// it ("notes.html" holding plain text becomes "notes.html.txt"), still at
// most 200 bytes.
func DisplayName(name, contentType string) string {
	name = SafeFilename(name)
	base, _, _ := strings.Cut(contentType, ";")
	exts := extensions[strings.TrimSpace(base)]
	if len(exts) == 0 {
		return name
	}
	ext := strings.ToLower(path.Ext(name))
	for _, e := range exts {
		if ext == e {
			return name
		}
	}
	want := exts[0]
	if len(name)+len(want) > maxFilenameBytes {
		name = strings.TrimRight(truncateUTF8(name, maxFilenameBytes-len(want)), ". \t")
	}
	return name + want
}

// windowsReserved are device names Windows will not save a file under,
// whatever the extension ("NUL.tar.gz" too).
var windowsReserved = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
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
