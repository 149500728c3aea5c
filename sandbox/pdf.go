package sandbox

import (
	"bytes"
	"fmt"
	"strings"
)

// pdfPage is the text of one page, one string per line.
type pdfPage []string

// buildPDF writes a minimal valid PDF 1.4 with one Helvetica text page per
// entry of pages and a correct cross-reference table, so any viewer opens it.
func buildPDF(title string, pages []pdfPage) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	// 1 catalog, 2 page tree, 3 font, 4 info, then a page and its content per page.
	first := 5
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", first+2*i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj(fmt.Sprintf("<< /Title (%s) /Producer (Spark sandbox) >>", pdfEscape(title)))
	for i, p := range pages {
		var c strings.Builder
		c.WriteString("BT /F1 12 Tf 16 TL 72 740 Td\n")
		for j, line := range p {
			if j == 0 && i == 0 {
				fmt.Fprintf(&c, "/F1 18 Tf (%s) Tj T* T* /F1 12 Tf\n", pdfEscape(line))
				continue
			}
			fmt.Fprintf(&c, "(%s) Tj T*\n", pdfEscape(line))
		}
		fmt.Fprintf(&c, "ET\nBT /F1 9 Tf 290 40 Td (Page %d of %d) Tj ET\n", i+1, len(pages))
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", first+2*i+1))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", c.Len(), c.String()))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

// pdfEscape makes s a PDF literal string body (ASCII only, parentheses and
// backslashes escaped).
func pdfEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// wrapText breaks text into lines of at most width characters.
func wrapText(text string, width int) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			lines = append(lines, "")
			continue
		}
		line := words[0]
		for _, w := range words[1:] {
			if len(line)+1+len(w) > width {
				lines = append(lines, line)
				line = w
				continue
			}
			line += " " + w
		}
		lines = append(lines, line)
	}
	return lines
}
