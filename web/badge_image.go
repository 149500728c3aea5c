package web

import (
	"fmt"
	"html/template"
	"strings"
	"unicode"

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
