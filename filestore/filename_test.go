package filestore_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio/filestore"
)

func TestSafeFilename(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 150) + ".pdf" // 300 bytes of stem
	cases := map[string]string{
		"essay.pdf":                  "essay.pdf",
		"../../etc/passwd":           "passwd",
		`C:\Users\ada\My Essay.docx`: "My Essay.docx",
		"..\\..\\boot.ini":           "boot.ini",
		"/abs/path/":                 "path",
		".htaccess":                  "htaccess",
		"...":                        "file",
		"":                           "file",
		"/":                          "file",
		"..":                         "file",
		"a\x00b\r\nc.txt":            "abc.txt",
		"evil\u202Efdp.exe":          "evilfdp.exe",
		`what?<is>"this":|*.txt`:     "what__is__this____.txt",
		"  spaced name .txt  ":       "spaced name .txt",
		"report.pdf.":                "report.pdf",
		"bad\xffutf8.txt":            "badutf8.txt",
		"ok-名前.png":                  "ok-名前.png",
	}
	for in, want := range cases {
		require.Equal(t, want, filestore.SafeFilename(in), "SafeFilename(%q)", in)
	}

	got := filestore.SafeFilename(long)
	require.LessOrEqual(t, len(got), 200)
	require.True(t, strings.HasSuffix(got, ".pdf"), got)
	require.True(t, utf8.ValidString(got))

	got = filestore.SafeFilename(strings.Repeat("x", 300) + "." + strings.Repeat("y", 50))
	require.Len(t, got, 200, "an absurd extension is not kept whole")
}

func FuzzSafeFilename(f *testing.F) {
	for _, s := range []string{"essay.pdf", "../../x", "..", "\x00", "a/b\\c", strings.Repeat("a", 300) + ".txt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := filestore.SafeFilename(in)
		if got == "" || len(got) > 200 || !utf8.ValidString(got) ||
			strings.ContainsAny(got, "/\\\x00") || strings.HasPrefix(got, ".") || got == ".." {
			t.Fatalf("SafeFilename(%q) = %q", in, got)
		}
	})
}
