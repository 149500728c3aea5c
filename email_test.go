package optio_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/idna"

	"github.com/optio-edu/optio"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"  Kate@Home.Example ":      "kate@home.example",
		"KATE+school@HOME.example":  "kate+school@home.example",
		"josé@école.example":        "josé@xn--cole-9oa.example",
		"ката@почта.example":        "ката@xn--80a1acny.example",
		"o'brien@school.test":       "o'brien@school.test",
		"kate@XN--COLE-9OA.example": "kate@xn--cole-9oa.example",
		"李雷@school.test":            "李雷@school.test",
		"すずき@school.test":           "すずき@school.test",
	}
	for in, want := range ok {
		got, err := optio.NormalizeEmail("email", in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	refused := []string{
		"\u212Aate@home.example",  // Kelvin sign: NFC maps it to K, case mapping to k
		"\u0130nci@home.example",  // İ: lower-cases to i + U+0307
		"i\u0307nci@home.example", // that lower-case form, a look-alike of inci
		"k\u0430te@home.example",  // Cyrillic а among Latin letters
		"ｋａｔｅ@home.example",       // full-width
		"kate@home.e\u212Axample", // Kelvin sign in the domain
		"kate@HOME.ÉXAMPLE",       // upper-case non-ASCII in the domain is not mapped either
		"kate@@home.example", "kate", "@home.example", "kate@", "kate@home", "ka te@home.example",
		".kate@home.example", "ka..te@home.example", "kate@-home.example", "",
		"kate\x00@home.example", "kate\u202e@home.example", "kate@home..example",
	}
	for _, in := range refused {
		_, err := optio.NormalizeEmail("email", in)
		require.Equal(t, optio.EINVALID, optio.ErrorCode(err), "%q", in)
		require.Contains(t, err.(*optio.Error).Fields, "email", "%q", in)
	}
}

// FuzzNormalizeEmail checks the rule's invariants on any input: the result
// is valid and stable, ASCII letters are only lower-cased, and no non-ASCII
// character is ever turned into an ASCII one (the account-merging bug).
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"kate@home.example", "\u212Aate@home.example", "\u0130nci@x.example", "josé@école.example",
		"ката@почта.example", "KATE@HOME.EXAMPLE", "a@b.c", "ｋａｔｅ@home.example", "k\u0430te@x.example", "李雷@school.test"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := optio.NormalizeEmail("email", in)
		if err != nil {
			require.Equal(t, optio.EINVALID, optio.ErrorCode(err))
			return
		}
		require.True(t, optio.ValidEmail(out), "%q → %q", in, out)
		require.True(t, utf8.ValidString(out))
		again, err := optio.NormalizeEmail("email", out)
		require.NoError(t, err, "%q → %q", in, out)
		require.Equal(t, out, again, "idempotent")

		trimmed := strings.TrimSpace(in)
		at := strings.IndexByte(trimmed, '@')
		oat := strings.IndexByte(out, '@')
		inLocal, outLocal := trimmed[:at], out[:oat]
		require.Equal(t, strings.Map(lowerASCII, inLocal), outLocal, "the local part only loses ASCII upper case")
		u, err := idna.ToUnicode(out[oat+1:])
		require.NoError(t, err)
		require.Equal(t, strings.Map(lowerASCII, trimmed[at+1:]), u, "the domain reads back as written")
		for i, r := range []rune(outLocal) {
			if r < utf8.RuneSelf {
				require.Less(t, []rune(strings.Map(lowerASCII, inLocal))[i], rune(utf8.RuneSelf), "no non-ASCII character became ASCII")
			}
		}
	})
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}
