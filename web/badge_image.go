package web

import (
	"bytes"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"strings"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"github.com/optio-edu/optio"
)

// badgeSVG draws a badge's image: fixed shapes in the pillar's colour, the
// badge's initials and its name. Text is the only variable content and is
// always escaped.
func badgeSVG(b *optio.Badge) string {
	color := "#334155"
	if b.Pillar != nil {
		if c, ok := pillarColors[*b.Pillar]; ok {
			color = c
		}
	}
	name := []rune(b.Name)
	if len(name) > 24 {
		name = append(name[:23], '…')
	}
	esc := template.HTMLEscapeString
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240" role="img" aria-label="%s">`, esc(b.Name))
	fmt.Fprintf(&sb, `<title>%s</title>`, esc(b.Name))
	fmt.Fprintf(&sb, `<polygon points="120,8 217,64 217,176 120,232 23,176 23,64" fill="%s"/>`, color)
	sb.WriteString(`<polygon points="120,24 203,72 203,168 120,216 37,168 37,72" fill="none" stroke="#ffffff" stroke-width="4"/>`)
	fmt.Fprintf(&sb, `<text x="120" y="128" text-anchor="middle" font-family="sans-serif" font-size="56" font-weight="700" fill="#ffffff">%s</text>`, esc(initials(b.Name)))
	fmt.Fprintf(&sb, `<text x="120" y="170" text-anchor="middle" font-family="sans-serif" font-size="14" fill="#ffffff">%s</text>`, esc(string(name)))
	sb.WriteString(`</svg>`)
	return sb.String()
}

// initials are the first letters of up to three words.
func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
				break
			}
		}
		if len(out) == 3 {
			break
		}
	}
	return string(out)
}

// badgePNG draws the badge as a 240×240 PNG, the raster twin of badgeSVG
// (the hexagon in the pillar's colour, a white inner line, the initials),
// for baking: places that show badges often take PNG only.
func badgePNG(b *optio.Badge) ([]byte, error) {
	fill := color.RGBA{0x33, 0x41, 0x55, 0xff}
	if b.Pillar != nil {
		if c, ok := pillarColors[*b.Pillar]; ok {
			var r, g, bl uint8
			if _, err := fmt.Sscanf(c, "#%02x%02x%02x", &r, &g, &bl); err == nil {
				fill = color.RGBA{r, g, bl, 0xff}
			}
		}
	}
	const size = 240
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	hexagon := func(r float32, c color.Color) {
		z := vector.NewRasterizer(size, size)
		pts := [][2]float32{{120, 120 - r}, {120 + r*0.866, 120 - r/2}, {120 + r*0.866, 120 + r/2}, {120, 120 + r}, {120 - r*0.866, 120 + r/2}, {120 - r*0.866, 120 - r/2}}
		z.MoveTo(pts[0][0], pts[0][1])
		for _, p := range pts[1:] {
			z.LineTo(p[0], p[1])
		}
		z.ClosePath()
		z.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{})
	}
	hexagon(112, fill)
	hexagon(96, color.White)
	hexagon(92, fill)
	f, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, err
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 56, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, err
	}
	defer face.Close()
	d := &font.Drawer{Dst: img, Src: image.White, Face: face}
	text := initials(b.Name)
	d.Dot = fixed.P(size/2-d.MeasureString(text).Round()/2, 140)
	d.DrawString(text)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
