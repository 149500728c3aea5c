package dataexport

import (
	_ "embed"
	"html/template"
	"io"
	"time"

	"github.com/optio-edu/optio"
)

// portfolioHTML is the export's offline portfolio: one self-contained page
// (inline styles, no scripts) whose images, videos and documents are links
// relative to it, inside the ZIP. It is this package's own template, not the
// web showcase's, so it has no routes, assets or access rules to follow.
//
//go:embed portfolio.html.tmpl
var portfolioHTML string

var portfolioTmpl = template.Must(template.New("portfolio").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format("2 January 2006") },
	"xp":   func(s *optio.XPSummary, p optio.Pillar) int { return s.ByPillar[p] },
}).Parse(portfolioHTML))

type portfolioPage struct {
	Student     *optio.User
	XP          *optio.XPSummary
	Completions []optio.CompletionView
	FilePaths   map[string]string
	Badges      []credentialEntry
	Files       []optio.ExportFile
	ExportedAt  time.Time
}

// Pillars lists the pillars in display order, for the template.
func (portfolioPage) Pillars() []optio.Pillar { return optio.Pillars }

// Path is a file's place in the ZIP, relative to index.html ("" when unknown).
func (p portfolioPage) Path(fileID string) string { return p.FilePaths[fileID] }

func renderPortfolio(w io.Writer, p portfolioPage) error { return portfolioTmpl.Execute(w, p) }
