package openbadges

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"html"
	"io"
	"strings"
)

// Baking embeds a credential in its badge image, as Open Badges 3.0 says: a
// PNG gets one uncompressed iTXt chunk with keyword "openbadgecredential",
// an SVG an <openbadges:credential verify="…"> element right after <svg>.

// PNGKeyword is the iTXt keyword of a baked PNG.
const PNGKeyword = "openbadgecredential"

// SVGNamespace is the xmlns:openbadges of a baked SVG.
const SVGNamespace = "https://purl.imsglobal.org/ob/v3p0"

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// ErrNotBaked: the image or text carries no credential.
var ErrNotBaked = errors.New("no Open Badges credential found")

// BakePNG returns png with the credential in an iTXt chunk before IEND; an
// existing openbadgecredential chunk is replaced, so there is only ever one.
func BakePNG(png []byte, credential string) ([]byte, error) {
	if !bytes.HasPrefix(png, pngSignature) {
		return nil, fmt.Errorf("openbadges: not a PNG")
	}
	var out bytes.Buffer
	out.Write(pngSignature)
	data := png[len(pngSignature):]
	for len(data) >= 12 {
		n := binary.BigEndian.Uint32(data[:4])
		if uint64(n)+12 > uint64(len(data)) {
			return nil, fmt.Errorf("openbadges: truncated PNG chunk")
		}
		typ := string(data[4:8])
		chunk := data[:12+n]
		body := data[8 : 8+n]
		data = data[12+n:]
		if typ == "iTXt" && bytes.HasPrefix(body, []byte(PNGKeyword+"\x00")) {
			continue
		}
		if typ == "IEND" {
			writeChunk(&out, "iTXt", iTXt(credential))
			out.Write(chunk)
			return out.Bytes(), nil
		}
		out.Write(chunk)
	}
	return nil, fmt.Errorf("openbadges: PNG has no IEND chunk")
}

// iTXt is an uncompressed iTXt body: keyword, NUL, compression flag 0,
// method 0, empty language tag and translated keyword, then the text.
func iTXt(text string) []byte {
	var b bytes.Buffer
	b.WriteString(PNGKeyword)
	b.Write([]byte{0, 0, 0, 0, 0})
	b.WriteString(text)
	return b.Bytes()
}

func writeChunk(w io.Writer, typ string, body []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(body)))
	copy(hdr[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(body)
	_, _ = w.Write(hdr[:])
	_, _ = w.Write(body)
	_ = binary.Write(w, binary.BigEndian, crc.Sum32())
}

// ExtractPNG reads the credential from the first openbadgecredential iTXt
// chunk; each chunk's CRC must match.
func ExtractPNG(png []byte) (string, error) {
	if !bytes.HasPrefix(png, pngSignature) {
		return "", fmt.Errorf("openbadges: not a PNG")
	}
	data := png[len(pngSignature):]
	for len(data) >= 12 {
		n := binary.BigEndian.Uint32(data[:4])
		if uint64(n)+12 > uint64(len(data)) {
			return "", fmt.Errorf("openbadges: truncated PNG chunk")
		}
		typ, body := data[4:8], data[8:8+n]
		if crc32.ChecksumIEEE(data[4:8+n]) != binary.BigEndian.Uint32(data[8+n:12+n]) {
			return "", fmt.Errorf("openbadges: PNG chunk %q has a bad CRC", typ)
		}
		data = data[12+n:]
		if string(typ) == "IEND" {
			break
		}
		if string(typ) != "iTXt" {
			continue
		}
		kw, rest, ok := bytes.Cut(body, []byte{0})
		if !ok || string(kw) != PNGKeyword || len(rest) < 2 {
			continue
		}
		if rest[0] != 0 {
			return "", fmt.Errorf("openbadges: the credential chunk is compressed")
		}
		rest = rest[2:]
		for range 2 { // language tag, translated keyword
			_, after, ok := bytes.Cut(rest, []byte{0})
			if !ok {
				return "", fmt.Errorf("openbadges: malformed iTXt chunk")
			}
			rest = after
		}
		return string(rest), nil
	}
	return "", ErrNotBaked
}

// BakeSVG returns svg with the openbadges namespace on its root element and
// an <openbadges:credential verify="…"> element directly after it. svg must
// be a document Optio drew (one root <svg …> start tag, not yet baked).
func BakeSVG(svg, credential string) (string, error) {
	start := strings.Index(svg, "<svg")
	if start < 0 {
		return "", fmt.Errorf("openbadges: not an SVG")
	}
	end := strings.IndexByte(svg[start:], '>')
	if end < 0 || strings.Contains(svg[start:start+end], "xmlns:openbadges") {
		return "", fmt.Errorf("openbadges: SVG root tag is malformed or already baked")
	}
	end += start
	var b strings.Builder
	b.WriteString(svg[:end])
	b.WriteString(` xmlns:openbadges="` + SVGNamespace + `">`)
	b.WriteString(`<openbadges:credential verify="` + html.EscapeString(credential) + `"></openbadges:credential>`)
	b.WriteString(svg[end+1:])
	return b.String(), nil
}

// ExtractSVG reads the credential from a baked SVG: the verify attribute of
// its openbadges:credential element (VC-JWT), or the element's text (a JSON
// credential).
func ExtractSVG(svg []byte) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(svg))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return "", ErrNotBaked
		}
		if err != nil {
			return "", fmt.Errorf("openbadges: SVG: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Space != SVGNamespace || se.Name.Local != "credential" {
			continue
		}
		for _, a := range se.Attr {
			if a.Name.Local == "verify" && a.Name.Space == "" {
				return a.Value, nil
			}
		}
		var text struct {
			Body string `xml:",chardata"`
		}
		if err := dec.DecodeElement(&text, &se); err != nil {
			return "", fmt.Errorf("openbadges: SVG: %w", err)
		}
		if t := strings.TrimSpace(text.Body); t != "" {
			return t, nil
		}
		return "", ErrNotBaked
	}
}

// Extract finds the credential in an upload: a baked PNG, a baked SVG, or
// the VC-JWT itself as text.
func Extract(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, pngSignature):
		return ExtractPNG(data)
	case bytes.Contains(data[:min(len(data), 1024)], []byte("<svg")) || bytes.HasPrefix(bytes.TrimSpace(data), []byte("<")):
		return ExtractSVG(data)
	}
	t := strings.TrimSpace(string(data))
	if t == "" || strings.Count(t, ".") != 2 || strings.ContainsAny(t, " \n\r\t<{") {
		return "", ErrNotBaked
	}
	return t, nil
}
