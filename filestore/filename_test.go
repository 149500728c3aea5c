package filestore_test

import (
	"strings"
	"testing"
	"unicode"
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
		"CON.txt":                    "_CON.txt",
		"nul.tar.gz":                 "_nul.tar.gz",
		"lpt1":                       "_lpt1",
		"CONSOLE.txt":                "CONSOLE.txt",
		"zero\u200bwidth.pdf":        "zerowidth.pdf",
		"essays/final.pdf":           "final.pdf",
		"a/../../b.pdf":              "b.pdf",
		`C:\Users\ada\essay.docx`:    "essay.docx",
		`what?<is>:this|"*.md`:       "what__is__this___.md",
		"  .hidden  ":                "hidden",
		"bad\x00name\n.txt":          "badname.txt",
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
	for _, s := range []string{"essay.pdf", "../../x", "..", "\x00", "a/b\\c", strings.Repeat("a", 300) + ".txt", "CON .txt", "evil\u202Efdp.exe", ".\u200b."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := filestore.SafeFilename(in)
		if got == "" || len(got) > 200 || !utf8.ValidString(got) ||
			strings.ContainsAny(got, "/\\\x00") || strings.HasPrefix(got, ".") || got == ".." {
			t.Fatalf("SafeFilename(%q) = %q", in, got)
		}
		if strings.IndexFunc(got, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0 {
			t.Fatalf("SafeFilename(%q) = %q keeps a control or format character", in, got)
		}
		if again := filestore.SafeFilename(got); again != got {
			t.Fatalf("SafeFilename is not stable: %q → %q → %q", in, got, again)
		}
	})
}

func TestDisplayName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, contentType, want string }{
		{"beds.png", "image/png", "beds.png"},
		{"Beds.PNG", "image/png", "Beds.PNG"},
		{"photo", "image/jpeg", "photo.jpg"},
		{"photo.jpeg", "image/jpeg", "photo.jpeg"},
		{"notes.html", "text/plain; charset=utf-8", "notes.html.txt"},
		{"notes.md", "text/plain; charset=utf-8", "notes.md"},
		{"cat.exe", "image/png", "cat.exe.png"},
		{"report\u202Efdp.exe", "application/pdf", "reportfdp.exe.pdf"},
		{"../../etc/passwd", "text/plain", "passwd.txt"},
		{"essay.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "essay.docx"},
		{"essay.pdf", "application/x-unknown", "essay.pdf"},
	} {
		require.Equal(t, c.want, filestore.DisplayName(c.name, c.contentType), "DisplayName(%q, %q)", c.name, c.contentType)
	}
	long := filestore.DisplayName(strings.Repeat("a", 198)+".js", "image/gif")
	require.LessOrEqual(t, len(long), 200)
	require.True(t, strings.HasSuffix(long, ".gif"), long)
}
