package web

import (
	"fmt"
	"regexp"

	"github.com/optio-edu/optio"
)

// pillarToken is one pillar's colour token in optio.css:
// "--pillar-stem: #1d4ed8;".
var pillarToken = regexp.MustCompile(`--pillar-([a-z]+):\s*(#[0-9a-fA-F]{6})\s*;`)

// pillarColors are the pillars' colours as the design tokens in
// static/optio.css define them (--pillar-<key>), the one place they are
// set: pages colour charts and chips with var(--pillar-<key>), and the
// images Optio draws itself (badge SVGs, Open Graph cards) read them here.
var pillarColors = mustPillarColors()

func mustPillarColors() map[optio.Pillar]string {
	css, err := staticFS.ReadFile("static/optio.css")
	if err != nil {
		panic(fmt.Sprintf("web: read optio.css: %v", err))
	}
	colors := map[optio.Pillar]string{}
	for _, m := range pillarToken.FindAllStringSubmatch(string(css), -1) {
		colors[optio.Pillar(m[1])] = m[2]
	}
	for _, p := range optio.Pillars {
		if colors[p] == "" {
			panic(fmt.Sprintf("web: optio.css defines no --pillar-%s colour", p))
		}
	}
	return colors
}
