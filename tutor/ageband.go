package tutor

import (
	"strings"
	"time"
)

// AgeBand is the coarse age group that decides how strict the safety checks
// and the system prompt are. The tutor never needs an exact age.
type AgeBand string

// The age bands. Anything else, including "", is treated as AgeUnder13 so an
// unknown age gets the strictest rules.
const (
	AgeUnder13 AgeBand = "under13"
	AgeTeen    AgeBand = "teen" // 13 to 17
	AgeAdult   AgeBand = "adult"
)

// Normalize returns b when it is a known band and AgeUnder13 otherwise.
func (b AgeBand) Normalize() AgeBand {
	switch b {
	case AgeTeen, AgeAdult:
		return b
	default:
		return AgeUnder13
	}
}

// ParseAgeBand reads a band name; unknown names count as AgeUnder13.
func ParseAgeBand(s string) AgeBand {
	return AgeBand(strings.ToLower(strings.TrimSpace(s))).Normalize()
}

// AgeBandFor is the band of someone born on birth at now. A nil birth date
// (unknown age) is AgeUnder13.
func AgeBandFor(birth *time.Time, now time.Time) AgeBand {
	switch {
	case birth == nil:
		return AgeUnder13
	case !birth.AddDate(13, 0, 0).After(now) && birth.AddDate(18, 0, 0).After(now):
		return AgeTeen
	case !birth.AddDate(18, 0, 0).After(now):
		return AgeAdult
	default:
		return AgeUnder13
	}
}

// bands is a set of age bands a safety rule applies to.
type bands uint8

const (
	bUnder13 bands = 1 << iota
	bTeen
	bAdult

	bMinors = bUnder13 | bTeen
	bAll    = bUnder13 | bTeen | bAdult
	// bNever is a flag set that no band belongs to: a rule row uses it to
	// refuse without flagging where its group would flag.
	bNever bands = 1 << 7
)

func (s bands) has(b AgeBand) bool {
	switch b.Normalize() {
	case AgeTeen:
		return s&bTeen != 0
	case AgeAdult:
		return s&bAdult != 0
	default:
		return s&bUnder13 != 0
	}
}
