package optio

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// NormalizeEmail is the one rule by which Optio stores and compares email
// addresses (registration, sign-in, Spark SSO and webhook claims, admin
// create, account linking). field names the input in the error.
//
//   - Surrounding spaces are trimmed; there is exactly one "@".
//   - The domain is ASCII-lowercased. A domain written in Unicode is turned
//     into its ASCII (xn--) form by IDNA's registration profile, which
//     refuses, rather than maps, anything not already in canonical form (a
//     Kelvin sign, a full-width letter, an upper-case non-ASCII letter).
//   - The local part is ASCII-lowercased, and only ASCII letters change: a
//     non-ASCII character is kept exactly as written and never folded to an
//     ASCII one (Unicode case mapping turned "\u212Aate" into "kate" and
//     "İ" into "i"). A local part with non-ASCII characters must be in NFKC
//     form (no compatibility characters such as the Kelvin sign or full-width
//     letters), made of letters, digits and the usual punctuation, and its
//     letters must all come from one script ("kаte" with a Cyrillic "а" is
//     refused as a look-alike of "kate").
//
// A refused address answers EINVALID naming field.
func NormalizeEmail(field, s string) (string, error) {
	bad := func(why string) (string, error) {
		return "", &Error{Code: EINVALID, Message: "The email address is not valid.", Fields: map[string]string{field: why}}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return bad("is required")
	}
	if !utf8.ValidString(s) || len(s) > 254 {
		return bad("is not a valid email address")
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || at == len(s)-1 {
		return bad("is not a valid email address")
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 {
		return bad("is not a valid email address")
	}
	local, ok := normalizeLocal(local)
	if !ok {
		return bad("uses characters that could be mistaken for others; write it as your mail provider shows it")
	}
	domain, ok = normalizeDomain(domain)
	if !ok {
		return bad("has a domain that is not valid")
	}
	out := local + "@" + domain
	if !ValidEmail(out) {
		return bad("is not a valid email address")
	}
	return out, nil
}

// emailPunct is the ASCII punctuation allowed in a local part besides
// letters and digits (RFC 5322 atext without the rarely used ones that
// break quoting in pages and logs).
const emailPunct = ".!#$%&'*+-/=?^_`{|}~"

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// normalizeLocal applies the local-part rule of NormalizeEmail.
func normalizeLocal(local string) (string, bool) {
	local = asciiLower(local)
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "", false
	}
	if !isASCII(local) && !norm.NFKC.IsNormalString(local) {
		return "", false
	}
	var script *unicode.RangeTable
	prev := rune(0)
	for _, r := range local {
		last := prev
		prev = r
		switch {
		case r < utf8.RuneSelf:
			if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune(emailPunct, r)) {
				return "", false
			}
			if 'a' <= r && r <= 'z' && !sameScript(&script, unicode.Latin) {
				return "", false
			}
		case unicode.IsLetter(r):
			if !unicode.IsLower(r) && !unicode.Is(unicode.Lo, r) {
				// Upper- and title-case non-ASCII letters are where case
				// folding used to merge accounts; refuse rather than guess.
				return "", false
			}
			t := scriptOf(r)
			if t == nil || !sameScript(&script, t) {
				return "", false
			}
		case unicode.Is(unicode.Mn, r):
			// A combining mark that NFKC kept belongs to the non-ASCII
			// letter before it; on an ASCII letter ("i" + U+0307) it makes
			// a look-alike of the bare letter.
			if last < utf8.RuneSelf || !unicode.IsLetter(last) {
				return "", false
			}
		default:
			return "", false
		}
	}
	return local, true
}

// scripts are the scripts a non-ASCII local part may be written in.
var scripts = []*unicode.RangeTable{unicode.Latin, unicode.Greek, unicode.Cyrillic, unicode.Arabic, unicode.Hebrew,
	unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Devanagari, unicode.Thai, unicode.Armenian,
	unicode.Georgian, unicode.Bengali, unicode.Tamil}

func scriptOf(r rune) *unicode.RangeTable {
	for _, t := range scripts {
		if unicode.Is(t, r) {
			return t
		}
	}
	return nil
}

// sameScript records the first script seen and reports whether t is it.
// Japanese mixes Han, Hiragana and Katakana, and is one script here.
func sameScript(seen **unicode.RangeTable, t *unicode.RangeTable) bool {
	group := func(x *unicode.RangeTable) *unicode.RangeTable {
		if x == unicode.Hiragana || x == unicode.Katakana {
			return unicode.Han
		}
		return x
	}
	if *seen == nil {
		*seen = group(t)
		return true
	}
	return *seen == group(t)
}

// idnaProfile validates a domain as registered (nothing is mapped: a
// non-canonical character is an error, not a silent change).
var idnaProfile = idna.New(idna.ValidateForRegistration(), idna.BidiRule(), idna.StrictDomainName(true))

// normalizeDomain applies the domain rule of NormalizeEmail.
func normalizeDomain(domain string) (string, bool) {
	domain = asciiLower(domain)
	if isASCII(domain) {
		for _, label := range strings.Split(domain, ".") {
			if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
				return "", false
			}
			for i := 0; i < len(label); i++ {
				c := label[i]
				if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
					return "", false
				}
			}
		}
		return domain, true
	}
	a, err := idnaProfile.ToASCII(domain)
	if err != nil || a == "" {
		return "", false
	}
	// The ASCII form must read back as exactly what was written: nothing
	// was mapped on the way.
	if u, err := idnaProfile.ToUnicode(a); err != nil || u != domain {
		return "", false
	}
	return a, true
}
