package optio

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Badge rewards a cluster of Spark courses plus an XP bar. RequiredCourses
// are Spark course ids; XPRequired counts XP earned in those courses.
type Badge struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Description     string    `json:"description"`
	ImageURL        string    `json:"image_url"`
	RequiredCourses []string  `json:"required_courses"`
	XPRequired      int       `json:"xp_required"`
	Pillar          *Pillar   `json:"pillar,omitempty"`
	Active          bool      `json:"active"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// CourseRef names a Spark course in progress views, with its OnFire
// catalog link.
type CourseRef struct {
	SparkCourseID string `json:"spark_course_id"`
	Title         string `json:"title"`
	CatalogURL    string `json:"catalog_url,omitempty"`
}

// BadgeProgress is one badge as one student stands with it: earned or not,
// which courses are done and missing, XP so far, and the sentence to show
// ("Complete 2 more Spark courses to earn this badge").
type BadgeProgress struct {
	Badge    Badge      `json:"badge"`
	Earned   bool       `json:"earned"`
	EarnedAt *time.Time `json:"earned_at,omitempty"`
	// CredentialID is the earned award's id: its verification page is
	// /credentials/{CredentialID}.
	CredentialID   string      `json:"credential_id,omitempty"`
	CoursesDone    []CourseRef `json:"courses_done"`
	CoursesMissing []CourseRef `json:"courses_missing"`
	XP             int         `json:"xp"`
	XPRequired     int         `json:"xp_required"`
	Percent        int         `json:"percent"`
	Text           string      `json:"text"`
}

// BadgeStore keeps badge definitions and awards. The two rules that decide a
// badge (docs/badges.md) live in its implementation, once, and every view of
// badges — progress, awarding, portfolio, parent dashboard — goes through it.
type BadgeStore interface {
	// CreateBadge defines a badge. A name already used (ignoring case) is ECONFLICT.
	CreateBadge(ctx context.Context, in BadgeInput) (*Badge, error)
	// UpdateBadge changes the fields set in in; nil fields stay as they are.
	UpdateBadge(ctx context.Context, id string, in BadgeInput) (*Badge, error)
	// RetireBadge stops a badge from being awarded; earned awards stay.
	RetireBadge(ctx context.Context, id string) (*Badge, error)
	// BadgeByID returns one badge or ENOTFOUND.
	BadgeByID(ctx context.Context, id string) (*Badge, error)
	// ListBadges lists badges by name; retired ones only when includeRetired.
	ListBadges(ctx context.Context, includeRetired bool) ([]Badge, error)
	// UnknownSparkCourses returns the ids, of those given, that have no
	// spark_course_mappings row (admins are warned about them).
	UnknownSparkCourses(ctx context.Context, ids []string) ([]string, error)
	// AwardBadges awards a student every active badge they now qualify for and
	// returns the newly awarded ones. Safe to call any number of times,
	// concurrently: each (student, badge) is awarded exactly once.
	AwardBadges(ctx context.Context, userID string) ([]Badge, error)
	// AwardBadgesAll runs AwardBadges for every student with Spark activity
	// and returns how many awards were made (after a badge is defined or edited).
	AwardBadgesAll(ctx context.Context) (int, error)
	// AwardBadgesInCourse runs AwardBadges for the students of one Spark
	// course (enrolled in it or with work submitted in it): after the
	// course's mapping changes, only they can newly qualify.
	AwardBadgesInCourse(ctx context.Context, sparkCourseID string) (int, error)
	// BadgeProgressFor reports each active badge, and each retired badge the
	// student earned, as the student stands with it. CatalogURL is left empty
	// (see WithCatalogLinks).
	BadgeProgressFor(ctx context.Context, userID string) ([]BadgeProgress, error)
	// EarnedBadge returns a student's award of a badge, or ENOTFOUND.
	EarnedBadge(ctx context.Context, userID, badgeID string) (*BadgeAward, error)
	// SeedPlanBadges creates the Spark plan's example badges when missing.
	SeedPlanBadges(ctx context.Context) error
	// SigningKeys returns every stored key for purpose, the active one first
	// and then retired ones (newest first). When there is no active key of
	// alg, the active key (if any) is retired and the key generate makes is
	// stored as the active one (when processes race, exactly one wins).
	SigningKeys(ctx context.Context, purpose, alg string, generate func() (string, error)) ([]SigningKey, error)
	// RotateSigningKey retires purpose's active key and stores the one
	// generate makes; retired keys stay for verification.
	RotateSigningKey(ctx context.Context, purpose, alg string, generate func() (string, error)) (*SigningKey, error)
	// BadgeAwardByID returns one award with its badge, or ENOTFOUND.
	BadgeAwardByID(ctx context.Context, id string) (*BadgeAward, error)
	// IssueBadgeCredential returns the award ready for its credential: on
	// the first call it gets a random unused status list index below
	// listSize and a salt (from newSalt) for the recipient's email hash;
	// later calls return the same ones.
	IssueBadgeCredential(ctx context.Context, awardID string, listSize int64, newSalt func() string) (*BadgeAward, error)
	// RevokeBadgeAward revokes an award made in error (EINVALID without a
	// reason). Revoking again keeps the first revocation and its reason.
	RevokeBadgeAward(ctx context.Context, awardID, reason, byUserID string) (*BadgeAward, error)
	// RevokedStatusIndexes lists the status list indexes of revoked awards.
	RevokedStatusIndexes(ctx context.Context) ([]int64, error)
}

// SigningKey is one of Optio's private signing keys (a JWK). A retired key
// signs nothing new but still verifies what it signed.
type SigningKey struct {
	KID        string
	Purpose    string
	Alg        string
	PrivateKey string
	CreatedAt  time.Time
	RetiredAt  *time.Time
}

// MaxRevokeReason bounds a revocation reason (characters).
const MaxRevokeReason = 500

// BadgeAward is one earned badge: when, and the evidence snapshot of what
// satisfied the rules at that moment.
type BadgeAward struct {
	ID       string          `json:"id"`
	UserID   string          `json:"user_id"`
	Badge    Badge           `json:"badge"`
	EarnedAt time.Time       `json:"earned_at"`
	Evidence json.RawMessage `json:"evidence"`
	// StatusIndex is the award's bit in the revocation status list, set
	// when its first credential is issued.
	StatusIndex *int64 `json:"-"`
	// Salt salts the recipient's email hash in its credentials.
	Salt string `json:"-"`
	// RevokedAt and RevokedReason: an admin revoked the award (made in
	// error); it no longer counts as earned.
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
	RevokedReason string     `json:"revoked_reason,omitempty"`
}

// BadgeInput creates or edits a badge. On edit, nil fields are unchanged; on
// create, Name and RequiredCourses are required and XPRequired defaults to 0.
// An empty Pillar clears it.
type BadgeInput struct {
	Name            *string   `json:"name"`
	Description     *string   `json:"description"`
	RequiredCourses *[]string `json:"required_courses"`
	XPRequired      *int      `json:"xp_required"`
	Pillar          *string   `json:"pillar"`
	Active          *bool     `json:"active"`
}

// Badge limits.
const (
	MaxBadgeCourses = 20
	MaxBadgeXP      = 1_000_000
)

// Normalize trims names and course ids and drops duplicate and blank course ids.
func (in *BadgeInput) Normalize() {
	if in.Name != nil {
		s := strings.TrimSpace(*in.Name)
		in.Name = &s
	}
	if in.Description != nil {
		s := strings.TrimSpace(*in.Description)
		in.Description = &s
	}
	if in.Pillar != nil {
		s := strings.TrimSpace(*in.Pillar)
		in.Pillar = &s
	}
	if in.RequiredCourses != nil {
		seen := map[string]bool{}
		out := []string{}
		for _, c := range *in.RequiredCourses {
			c = strings.TrimSpace(c)
			if c != "" && !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
		in.RequiredCourses = &out
	}
}

// Validate checks a normalized BadgeInput, naming every bad field. create
// says whether the required fields must be present.
func (in BadgeInput) Validate(create bool) error {
	f := FieldErrors{}
	if in.Name == nil && create {
		f.Add("name", "is required")
	} else if in.Name != nil {
		if n := len([]rune(*in.Name)); n == 0 || n > 100 {
			f.Add("name", "is required and must be at most 100 characters")
		} else if !printable(*in.Name) {
			// The name is drawn in the badge's SVG, where control characters are not well-formed XML.
			f.Add("name", "must be UTF-8 text without control characters")
		}
	}
	if in.Description != nil {
		if len([]rune(*in.Description)) > 2000 {
			f.Add("description", "must be at most 2000 characters")
		} else if !ValidText(*in.Description) {
			f.Add("description", InvalidTextProblem)
		}
	}
	if in.RequiredCourses == nil && create {
		f.Add("required_courses", "needs at least one Spark course id")
	} else if in.RequiredCourses != nil {
		switch n := len(*in.RequiredCourses); {
		case n == 0:
			f.Add("required_courses", "needs at least one Spark course id")
		case n > MaxBadgeCourses:
			f.Add("required_courses", fmt.Sprintf("at most %d courses", MaxBadgeCourses))
		}
		for _, c := range *in.RequiredCourses {
			if len(c) > 200 || !printable(c) {
				f.Add("required_courses", "course ids must be at most 200 printable characters")
			}
		}
	}
	if in.XPRequired != nil && (*in.XPRequired < 0 || *in.XPRequired > MaxBadgeXP) {
		f.Add("xp_required", fmt.Sprintf("must be between 0 and %d", MaxBadgeXP))
	}
	if in.Pillar != nil && *in.Pillar != "" && !Pillar(*in.Pillar).Valid() {
		f.Add("pillar", "must be empty or one of stem, wellness, communication, civics, art")
	}
	return f.Err(EINVALID, "The badge is not valid.")
}

// BadgeImagePath is where a badge's generated SVG image is served.
func BadgeImagePath(badgeID string) string { return "/badges/" + badgeID + "/image.svg" }

// CatalogURL fills the OnFire catalog template (Config.SparkCatalogURL) with
// a course id, escaped so it is safe in a path or a query.
func CatalogURL(template, courseID string) string {
	esc := strings.ReplaceAll(url.QueryEscape(courseID), "+", "%20")
	return strings.ReplaceAll(template, "{course_id}", esc)
}

// WithCatalogLinks sets the catalog link of every missing course.
func WithCatalogLinks(ps []BadgeProgress, template string) []BadgeProgress {
	for i := range ps {
		for j := range ps[i].CoursesMissing {
			c := &ps[i].CoursesMissing[j]
			c.CatalogURL = CatalogURL(template, c.SparkCourseID)
		}
	}
	return ps
}

// BadgeProgressWithLinks is the progress function pages use (web.Server's
// BadgeProgress hook): the store's progress with catalog links filled in.
func BadgeProgressWithLinks(st BadgeStore, catalogTemplate string) func(ctx context.Context, userID string) ([]BadgeProgress, error) {
	return func(ctx context.Context, userID string) ([]BadgeProgress, error) {
		ps, err := st.BadgeProgressFor(ctx, userID)
		if err != nil {
			return nil, err
		}
		return WithCatalogLinks(ps, catalogTemplate), nil
	}
}

// Summarize fills Percent and Text from the rest of p. Courses and XP weigh
// half each (courses alone when no XP is required); an earned badge is 100%.
func (p *BadgeProgress) Summarize() {
	total := len(p.CoursesDone) + len(p.CoursesMissing)
	courseFrac := 1.0
	if total > 0 {
		courseFrac = float64(len(p.CoursesDone)) / float64(total)
	}
	frac := courseFrac
	if p.XPRequired > 0 {
		frac = (courseFrac + math.Min(1, float64(p.XP)/float64(p.XPRequired))) / 2
	}
	p.Percent = int(math.Floor(frac * 100))
	switch missing, xpShort := len(p.CoursesMissing), p.XPRequired-p.XP; {
	case p.Earned && p.EarnedAt != nil:
		p.Percent = 100
		p.Text = "Earned on " + p.EarnedAt.UTC().Format("2 Jan 2006")
	case missing == 1:
		p.Text = "Complete 1 more Spark course to earn this badge"
	case missing > 1:
		p.Text = fmt.Sprintf("Complete %d more Spark courses to earn this badge", missing)
	case xpShort > 0:
		p.Text = fmt.Sprintf("Earn %s more XP in these courses to earn this badge", thousands(xpShort))
	default:
		p.Text = "Every condition is met: the badge is on its way"
	}
}

// thousands writes n with comma separators (1,500).
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
