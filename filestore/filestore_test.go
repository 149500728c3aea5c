package filestore_test

import (
	"archive/zip"
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/internal/s3test"
)

const testMax = 10 << 20

// setup opens a Store on blobURL, a fresh bucket from s3test.EachDriver:
// every filestore test runs on the file:// driver (the embedded default)
// and on s3:// against an S3-protocol server on loopback (production's).
func setup(tb testing.TB, blobURL string) *filestore.Store {
	tb.Helper()
	s, err := filestore.Open(context.Background(), blobURL)
	require.NoError(tb, err)
	s.TempDir = tb.TempDir()
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

// MustPNG returns a small real PNG.
func MustPNG(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	require.NoError(tb, png.Encode(&buf, img))
	return buf.Bytes()
}

// MustZip builds a zip archive holding the given name → content entries, in order.
func MustZip(tb testing.TB, entries ...[2]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e[0])
		require.NoError(tb, err)
		_, err = io.WriteString(w, e[1])
		require.NoError(tb, err)
	}
	require.NoError(tb, zw.Close())
	return buf.Bytes()
}

// MustDocx builds a minimal but real Word document.
func MustDocx(tb testing.TB, extra ...[2]string) []byte {
	tb.Helper()
	entries := [][2]string{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>My essay</w:t></w:r></w:p></w:body></w:document>`},
	}
	return MustZip(tb, append(entries, extra...)...)
}

func requireCode(tb testing.TB, err error, code string) {
	tb.Helper()
	require.Error(tb, err)
	require.Equal(tb, code, optio.ErrorCode(err), "error: %v", err)
}

func TestPutRoundTrip(t *testing.T) {
	t.Parallel()
	s3test.EachDriver(t, func(t *testing.T, blobURL string) {
		s, ctx := setup(t, blobURL), context.Background()
		content := MustPNG(t)

		obj, err := s.Put(ctx, bytes.NewReader(content), "drawing.png", testMax)
		require.NoError(t, err)
		require.Equal(t, "image/png", obj.ContentType)
		require.Equal(t, filestore.KindImage, obj.Kind)
		require.Equal(t, int64(len(content)), obj.Size)
		require.Len(t, obj.SHA256, 64)
		require.Equal(t, "sha256/"+obj.SHA256[:2]+"/"+obj.SHA256, obj.Key)

		rd, err := s.Open(ctx, obj.Key)
		require.NoError(t, err)
		got, err := io.ReadAll(rd)
		require.NoError(t, err)
		require.NoError(t, rd.Close())
		require.Equal(t, content, got)
		require.Equal(t, "image/png", rd.ContentType())

		attrs, err := s.Attributes(ctx, obj.Key)
		require.NoError(t, err)
		require.Equal(t, int64(len(content)), attrs.Size)
		require.Equal(t, "image/png", attrs.ContentType)
		require.False(t, attrs.ModTime.IsZero())

		rr, err := s.NewRangeReader(ctx, obj.Key, 1, 3)
		require.NoError(t, err)
		part, err := io.ReadAll(rr)
		require.NoError(t, err)
		require.NoError(t, rr.Close())
		require.Equal(t, content[1:4], part)
	})
}

func TestPutDedupes(t *testing.T) {
	t.Parallel()
	s3test.EachDriver(t, func(t *testing.T, blobURL string) {
		ctx := context.Background()
		s := setup(t, blobURL)
		content := []byte("The same essay, submitted twice.\n")

		var (
			wg   sync.WaitGroup
			keys = make([]string, 8)
		)
		for i := range keys {
			wg.Go(func() {
				obj, err := s.Put(ctx, bytes.NewReader(content), "essay.txt", testMax)
				if !assertNoError(t, err) {
					return
				}
				keys[i] = obj.Key
			})
		}
		wg.Wait()
		for _, k := range keys {
			require.Equal(t, keys[0], k)
		}

		bucket, err := blob.OpenBucket(ctx, blobURL)
		require.NoError(t, err)
		defer bucket.Close()
		var n int
		it := bucket.List(nil)
		for {
			o, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			require.Equal(t, keys[0], o.Key)
			n++
		}
		require.Equal(t, 1, n, "one object however often the content is put")
	})
}

func assertNoError(t *testing.T, err error) bool {
	if err != nil {
		t.Errorf("put: %v", err)
		return false
	}
	return true
}

func TestPutLimit(t *testing.T) {
	t.Parallel()
	s3test.EachDriver(t, func(t *testing.T, blobURL string) {
		s, ctx := setup(t, blobURL), context.Background()
		content := bytes.Repeat([]byte("abcdefghij"), 1000) // 10,000 bytes of text

		obj, err := s.Put(ctx, bytes.NewReader(content), "at-limit.txt", int64(len(content)))
		require.NoError(t, err, "exactly at the limit is accepted")
		require.Equal(t, int64(len(content)), obj.Size)

		_, err = s.Put(ctx, bytes.NewReader(append(content, 'x')), "over.txt", int64(len(content)))
		requireCode(t, err, optio.ETOOLARGE)
		require.Contains(t, optio.ErrorMessage(err), "9.8 KB limit")

		_, err = s.Put(ctx, bytes.NewReader(make([]byte, 3<<20)), "big.bin", 2<<20)
		requireCode(t, err, optio.ETOOLARGE)
		require.Contains(t, optio.ErrorMessage(err), "2 MB limit")

		_, err = s.Put(ctx, strings.NewReader(""), "empty.txt", testMax)
		requireCode(t, err, optio.EINVALID)
	})
}

func TestPutSniffsTheBytes(t *testing.T) {
	t.Parallel()
	s3test.EachDriver(t, func(t *testing.T, blobURL string) {
		s, ctx := setup(t, blobURL), context.Background()

		elf := append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"), make([]byte, 200)...)
		accepted := []struct {
			name, filename string
			content        []byte
			contentType    string
			kind           filestore.Kind
		}{
			{"png named pdf is an image", "essay.pdf", MustPNG(t), "image/png", filestore.KindImage},
			{"docx", "essay.docx", MustDocx(t), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", filestore.KindDocument},
			{"docx with unusual entry order", "essay.docx", MustZip(t,
				[2]string{"word/document.xml", "<w:document/>"}, [2]string{"[Content_Types].xml", "<Types/>"}),
				"application/vnd.openxmlformats-officedocument.wordprocessingml.document", filestore.KindDocument},
			{"pdf", "essay", []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"), "application/pdf", filestore.KindDocument},
			{"markdown", "notes.md", []byte("# Notes\n\nSome *text* with <b>tags</b> inside.\n"), "text/plain; charset=utf-8", filestore.KindText},
			{"csv", "data.csv", []byte("name,score\nada,10\nbob,9\n"), "text/csv", filestore.KindText},
			{"keynote", "talk.key", MustZip(t, [2]string{"Index/Document.iwa", "x"}, [2]string{"Index/Slide-1.iwa", "x"},
				[2]string{"Metadata/Properties.plist", "x"}), "application/vnd.apple.keynote", filestore.KindDocument},
			{"pages", "essay.pages", MustZip(t, [2]string{"Index/Document.iwa", "x"}, [2]string{"Metadata/Properties.plist", "x"}),
				"application/vnd.apple.pages", filestore.KindDocument},
			{"tiff", "scan.tif", append([]byte("II*\x00"), make([]byte, 64)...), "image/tiff", filestore.KindImage},
		}
		for _, tc := range accepted {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				obj, err := s.Put(ctx, bytes.NewReader(tc.content), tc.filename, testMax)
				require.NoError(t, err)
				require.Equal(t, tc.contentType, obj.ContentType)
				require.Equal(t, tc.kind, obj.Kind)
			})
		}

		refused := []struct {
			name, filename string
			content        []byte
			mentions       string
		}{
			{"html named pdf", "essay.pdf", []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"), "text/html"},
			{"elf", "essay.pdf", elf, "application/x-"},
			{"plain zip", "essay.docx", MustZip(t, [2]string{"a.txt", "hello"}), "zip"},
			{"macro docx", "essay.docx", MustDocx(t, [2]string{"word/vbaProject.bin", "macro"}), "macro"},
			{"svg", "drawing.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "SVG"},
			{"xml", "data.xml", []byte(`<?xml version="1.0"?><root><a/></root>`), "text/xml"},
			{"javascript", "app.txt", []byte("#!/usr/bin/env node\nconsole.log(1)\n"), "javascript"},
			{"pdf html polyglot", "essay.pdf", []byte("%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"), "polyglot"},
			{"png html polyglot", "me.png", append(MustPNG(t), []byte("<script>alert(1)</script>")...), "polyglot"},
			{"exe", "game.pdf", append([]byte("MZ\x90\x00"), make([]byte, 128)...), "application/"},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				_, err := s.Put(ctx, bytes.NewReader(tc.content), tc.filename, testMax)
				requireCode(t, err, optio.EUNSUPPORTED)
				require.Contains(t, optio.ErrorMessage(err), tc.mentions)
			})
		}
	})
}

func TestPutRemovesTempFiles(t *testing.T) {
	t.Parallel()
	s3test.EachDriver(t, func(t *testing.T, blobURL string) {
		s, ctx := setup(t, blobURL), context.Background()
		_, err := s.Put(ctx, bytes.NewReader(MustPNG(t)), "a.png", testMax)
		require.NoError(t, err)
		_, err = s.Put(ctx, strings.NewReader("<html></html>"), "a.html", testMax)
		require.Error(t, err)
		_, err = s.Put(ctx, bytes.NewReader(make([]byte, 2048)), "a.bin", 1024)
		require.Error(t, err)

		left, err := os.ReadDir(s.TempDir)
		require.NoError(t, err)
		require.Empty(t, left)
	})
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	s3test.EachDriver(t, func(t *testing.T, blobURL string) {
		s, ctx := setup(t, blobURL), context.Background()
		key := filestore.KeyFor(strings.Repeat("ab", 32))

		_, err := s.Open(ctx, key)
		requireCode(t, err, optio.ENOTFOUND)
		_, err = s.NewRangeReader(ctx, key, 10, 10)
		requireCode(t, err, optio.ENOTFOUND)
		_, err = s.Attributes(ctx, key)
		requireCode(t, err, optio.ENOTFOUND)

		_, err = s.Open(ctx, "../../etc/passwd")
		requireCode(t, err, optio.EINVALID)
	})
}

func TestPutHonoursContext(t *testing.T) {
	t.Parallel()
	s3test.EachDriver(t, func(t *testing.T, blobURL string) {
		s := setup(t, blobURL)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Put(ctx, strings.NewReader("hello"), "a.txt", testMax)
		require.ErrorIs(t, err, context.Canceled)
	})
}
