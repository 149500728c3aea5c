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

// windowsReserved are names Windows refuses, whatever the extension.
var windowsReserved = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
}

// SafeFilename returns a name safe to store and to put in a
// Content-Disposition header: the base name only (either slash), with
// control and reserved characters replaced, leading and trailing dots and
// spaces trimmed, at most 255 bytes (keeping the extension), and "file"
// when nothing is left.
func SafeFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r):
			return -1
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		}
		return r
	}, name)
	name = strings.Trim(name, ". ")
	if name == "" {
		return "file"
	}
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	if windowsReserved[strings.ToUpper(stem)] {
		stem = "_" + stem
	}
	if len(ext) > 32 {
		stem, ext = stem+ext, ""
	}
	for len(stem)+len(ext) > MaxFilenameBytes {
		_, size := utf8.DecodeLastRuneInString(stem)
		stem = stem[:len(stem)-size]
	}
	if stem == "" {
		return "file" + ext
	}
	return stem + ext
}
