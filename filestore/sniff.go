package filestore

import (
	"archive/zip"
	"bytes"
	"io"
	"mime"
	"os"
	"strings"

	"github.com/gabriel-vasile/mimetype"

	"github.com/optio-edu/optio"
)

// sniffLen is how much of the start of a file is kept for type detection and
// the polyglot scan. mimetype itself looks at no more than its read limit.
const sniffLen = 64 << 10

// Zip-based Office files: the archive is read (its directory, never its
// compressed content) to refuse macros and implausible expansion.
const (
	maxZipEntries      = 10000
	maxZipExpansion    = 100     // declared uncompressed size / file size
	maxZipUncompressed = 1 << 30 // only beyond this is the ratio enforced
)

const (
	mimeZip  = "application/zip"
	mimeDocx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	mimeXlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	mimePptx = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	mimeOdt  = "application/vnd.oasis.opendocument.text"
	mimeOds  = "application/vnd.oasis.opendocument.spreadsheet"
	mimeOdp  = "application/vnd.oasis.opendocument.presentation"
	// Apple iWork (2013 and later) is a zip of IWA files; mimetype calls it a
	// plain zip and checkZip recognises it from its entries.
	mimeKeynote = "application/vnd.apple.keynote"
	mimePages   = "application/vnd.apple.pages"
	mimeNumbers = "application/vnd.apple.numbers"
)

// htmlMarkers betray a polyglot: a binary file that a browser could also
// sniff as a page. Compared case-insensitively with the start of the file.
var htmlMarkers = [][]byte{
	[]byte("<html"), []byte("<!doctype html"), []byte("<head"), []byte("<body"),
	[]byte("<script"), []byte("<iframe"), []byte("<svg"),
}

// sniff decides what a file really is from head (its first bytes) and, for
// zip-based formats, from the archive directory in f. It returns the content
// type to store and the kind, or an EUNSUPPORTED error naming what was found.
func sniff(head []byte, f *os.File, size int64) (string, Kind, error) {
	m := mimetype.Detect(head)
	base, _, err := mime.ParseMediaType(m.String())
	if err != nil {
		base = m.String()
	}
	contentType := base

	switch base {
	case mimeZip, mimeDocx, mimeXlsx, mimePptx, mimeOdt, mimeOds, mimeOdp:
		base, err = checkZip(f, size, base)
		if err != nil {
			return "", "", err
		}
		contentType = base
	}

	kind, ok := allowed[base]
	if !ok {
		return "", "", optio.Errorf(optio.EUNSUPPORTED, "files of type %s are not accepted", describe(base))
	}
	if kind == KindText {
		// Keep the charset mimetype found ("text/plain; charset=utf-8").
		contentType = m.String()
	} else if marker := findHTML(head); marker != "" {
		return "", "", optio.Errorf(optio.EUNSUPPORTED,
			"the file looks like %s but also contains HTML (%s); it is refused as a possible polyglot", base, marker)
	}
	return contentType, kind, nil
}

// describe names a detected type for a user-facing message.
func describe(base string) string {
	switch base {
	case "application/octet-stream":
		return "unknown binary (application/octet-stream)"
	case mimeZip:
		return "zip archive (application/zip)"
	case "image/svg+xml":
		return "SVG (image/svg+xml), which can carry script,"
	}
	return base
}

// findHTML returns the first HTML marker in head, or "".
func findHTML(head []byte) string {
	lower := bytes.ToLower(head)
	for _, m := range htmlMarkers {
		if bytes.Contains(lower, m) {
			return string(m)
		}
	}
	return ""
}

// checkZip reads the central directory of a zip-based file. A plain zip is
// upgraded to the Office type its entries prove, or refused; macro-enabled
// documents and archives that claim to expand implausibly are refused.
func checkZip(f *os.File, size int64, detected string) (string, error) {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return "", optio.Errorf(optio.EUNSUPPORTED, "the file looks like %s but is not a readable zip archive", describe(detected))
	}
	if len(zr.File) > maxZipEntries {
		return "", optio.Errorf(optio.EUNSUPPORTED, "the archive has too many entries (%d)", len(zr.File))
	}
	var total uint64
	names := make(map[string]*zip.File, len(zr.File))
	for _, e := range zr.File {
		total += e.UncompressedSize64
		name := strings.ToLower(e.Name)
		names[name] = e
		if strings.HasSuffix(name, "vbaproject.bin") || strings.HasSuffix(name, "vbadata.xml") ||
			strings.HasPrefix(name, "basic/") || strings.HasPrefix(name, "scripts/") {
			return "", optio.Errorf(optio.EUNSUPPORTED, "macro-enabled Office files are not accepted")
		}
	}
	if total > maxZipUncompressed && total/uint64(max(size, 1)) > maxZipExpansion {
		return "", optio.Errorf(optio.EUNSUPPORTED, "the archive claims to expand to %s; it is refused", optio.FormatBytes(int64(min(total, 1<<62))))
	}
	if detected != mimeZip {
		return detected, nil
	}
	if _, ok := names["[content_types].xml"]; ok {
		switch {
		case names["word/document.xml"] != nil:
			return mimeDocx, nil
		case names["xl/workbook.xml"] != nil:
			return mimeXlsx, nil
		case names["ppt/presentation.xml"] != nil:
			return mimePptx, nil
		}
	}
	if names["index/document.iwa"] != nil || names["index.zip"] != nil {
		return iworkType(names), nil
	}
	if e := names["mimetype"]; e != nil {
		switch t := readSmall(e); t {
		case mimeOdt, mimeOds, mimeOdp:
			return t, nil
		}
	}
	return "", optio.Errorf(optio.EUNSUPPORTED, "files of type %s are not accepted", describe(mimeZip))
}

// readSmall reads at most 128 bytes of a zip entry, for the OpenDocument
// "mimetype" marker; errors yield "".
func readSmall(e *zip.File) string {
	rc, err := e.Open()
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 128))
	return strings.TrimSpace(string(b))
}

// iworkType tells Keynote, Pages and Numbers apart by the entries only each
// has: slides for Keynote, a calculation engine for Numbers.
func iworkType(names map[string]*zip.File) string {
	for n := range names {
		switch {
		case strings.HasPrefix(n, "index/slide"), strings.HasPrefix(n, "index/masterslide"):
			return mimeKeynote
		case strings.HasPrefix(n, "index/calculationengine"), strings.HasPrefix(n, "index/tables/"):
			return mimeNumbers
		}
	}
	return mimePages
}
