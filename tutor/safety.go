package tutor

import (
	"regexp"
	"strings"
)

// Safety categories. They are stable strings: they are stored with flagged
// exchanges, shown to parents and used as metric labels.
const (
	CategoryPersonalInfo = "personal_info" // addresses, phone numbers, emails, full names with school, passwords
	CategoryContact      = "contact"       // "add me on", social handles, meeting up
	CategorySelfHarm     = "self_harm"
	CategoryViolence     = "violence"
	CategorySexual       = "sexual"
	CategoryDrugs        = "drugs"
	CategoryHate         = "hate"
	CategoryJailbreak    = "jailbreak"     // attempts to talk the tutor out of its rules
	CategoryBullying     = "bullying"      // allowed, but parents should know
	CategoryModelBlocked = "model_blocked" // the model's own safety filter stopped the answer
)

// Verdict is the outcome of a safety check on one message.
type Verdict struct {
	// Allowed is false when the message must not reach the model (input) or
	// the student (output).
	Allowed bool
	// Category names what was found, "" when nothing was.
	Category string
	// Reason says in plain words what matched, for logs and for parents; it
	// never quotes the message.
	Reason string
	// Flag means parents should see this exchange. It can be true for an
	// allowed message (a student saying they are bullied).
	Flag bool
	// Message is what the student sees instead, when Allowed is false.
	Message string
}

// CheckInput decides whether a student's message may be sent to the model.
// Refusals carry a kind message suited to band; self-harm always points to a
// trusted adult and is always flagged.
func CheckInput(text string, band AgeBand) Verdict {
	return check(inputRules, text, band, false)
}

// CheckOutput decides whether a model's answer may be shown to the student.
// A failed check is always flagged and its Message says the answer was
// withheld.
func CheckOutput(text string, band AgeBand) Verdict {
	return check(outputRules, text, band, true)
}

func check(rules []rule, text string, band AgeBand, output bool) Verdict {
	band = band.Normalize()
	norm := normalize(text)
	var soft *rule // first allowed-but-flagged match
	for i := range rules {
		r := &rules[i]
		if !r.bands.has(band) || !r.matches(norm) {
			continue
		}
		if r.allow {
			if soft == nil {
				soft = r
			}
			continue
		}
		v := Verdict{Category: r.category, Reason: r.reason, Flag: r.flag.has(band)}
		if output {
			v.Flag = true
			v.Message = WithheldMessage
		} else {
			v.Message = refusalMessage(r.category, band)
		}
		return v
	}
	if soft != nil {
		return Verdict{Allowed: true, Category: soft.category, Reason: soft.reason, Flag: soft.flag.has(band)}
	}
	return Verdict{Allowed: true}
}

// WithheldMessage replaces a model answer that failed the output check.
const WithheldMessage = "I started to answer, but my answer didn't pass Optio's safety check, so I've held it back. " +
	"Could you ask your question a different way?"

func refusalMessage(category string, band AgeBand) string {
	switch category {
	case CategorySelfHarm:
		msg := "I'm really glad you told me, and I'm sorry you're feeling this way. You deserve support from someone " +
			"who cares about you. Please talk to a trusted adult right now — a parent, a teacher or your school " +
			"counselor. If you might be in danger, tell an adult near you or call your local emergency number."
		if band != AgeUnder13 {
			msg += " You can also reach a crisis helpline any time: in the US call or text 988, and " +
				"https://findahelpline.com lists free, confidential helplines in other countries."
		}
		return msg
	case CategoryPersonalInfo:
		return "Let's keep personal details private — things like addresses, phone numbers, emails, passwords, " +
			"full names and school names. I don't need them to help you learn! What are you working on?"
	case CategoryContact:
		return "I can't help with adding, messaging or meeting people. If someone online asks to add you or meet " +
			"you, please tell a trusted adult. Now, what would you like to learn about?"
	case CategoryJailbreak:
		return "I have to stick to my tutor rules, but I'm happy to help you learn. What are you working on?"
	default:
		msg := "That's not something I can help with here. Let's get back to learning — what are you working on?"
		if band == AgeUnder13 {
			msg += " If something you saw or heard is worrying you, please talk to a trusted adult."
		}
		return msg
	}
}

// rule is one row of the phrase tables: a case-insensitive, word-bounded
// pattern run over normalised text.
type rule struct {
	category string
	reason   string
	re       *regexp.Regexp
	// unless, when set, cancels a match if it matches the text around it
	// (40 characters either side), for known innocent phrases.
	unless *regexp.Regexp
	// bands are the age bands the rule applies to; flag the bands for which
	// a match is flagged to parents.
	bands bands
	flag  bands
	// allow marks a rule that flags without refusing.
	allow bool
}

func (r *rule) matches(text string) bool {
	for _, loc := range r.re.FindAllStringIndex(text, -1) {
		if r.unless == nil {
			return true
		}
		lo, hi := max(0, loc[0]-40), min(len(text), loc[1]+40)
		if !r.unless.MatchString(text[lo:hi]) {
			return true
		}
	}
	return false
}

// phrases compiles alternatives into one case-insensitive pattern bounded by
// word boundaries. A space in a phrase matches one space of normalised text.
func phrases(alts ...string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(?:` + strings.Join(alts, "|") + `)\b`)
}

var (
	spaceRun   = regexp.MustCompile(`\s+`)
	quoteFolds = strings.NewReplacer("\u2019", "'", "\u2018", "'", "\u201c", `"`, "\u201d", `"`,
		"\u200b", "", "\u200c", "", "\u200d", "", "\u2060", "", "\ufeff", "")
)

// normalize lower-cases text, folds curly quotes, drops zero-width characters
// and collapses white space so phrase tables can use plain spaces.
func normalize(text string) string {
	return spaceRun.ReplaceAllString(strings.ToLower(quoteFolds.Replace(text)), " ")
}

var (
	mdImage    = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	mdLink     = regexp.MustCompile(`\[([^\]]+)\]\([^)]*\)`)
	mdRefDef   = regexp.MustCompile(`(?m)^\s*\[[^\]]+\]:\s*\S+.*$`)
	autoLink   = regexp.MustCompile(`<(?:https?|ftp)://[^>\s]*>`)
	bareURL    = regexp.MustCompile(`(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>()\[\]]*[^\s<>()\[\].,;:!?'"]`)
	bareDomain = regexp.MustCompile(`(?i)\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|co|uk|us|ly|me|gg|tv|app|dev|info|biz)\b(?:/[^\s<>()\[\]]*[^\s<>()\[\].,;:!?'"])?`)
	emptyParen = regexp.MustCompile(`\(\s*\)`)
	spaces     = regexp.MustCompile(`[ \t]{2,}`)
	spacePunct = regexp.MustCompile(`[ \t]+([.,;:!?])`)
)

// StripLinks removes URLs, bare web addresses and markdown links (keeping the
// link text) so a young student is never sent off-site by the tutor. It
// repeats until nothing changes: a removal can join what is left into a new
// address ("evil <link> .com" would become "evil.com"). Every pass that
// changes the text shortens it, so this ends.
func StripLinks(text string) string {
	for {
		next := stripLinksOnce(text)
		if next == text {
			return text
		}
		text = next
	}
}

func stripLinksOnce(text string) string {
	text = mdImage.ReplaceAllString(text, "$1")
	text = mdLink.ReplaceAllString(text, "$1")
	text = mdRefDef.ReplaceAllString(text, "")
	text = autoLink.ReplaceAllString(text, "")
	text = bareURL.ReplaceAllString(text, "")
	text = bareDomain.ReplaceAllString(text, "")
	text = emptyParen.ReplaceAllString(text, "")
	text = spaces.ReplaceAllString(text, " ")
	text = spacePunct.ReplaceAllString(text, "$1")
	return strings.TrimSpace(text)
}
