package optio

import (
	"regexp"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Role is what a user is to Optio. It decides which pages and data they reach;
// relationships (parent of, observer of) decide whose data.
type Role string

// The four roles.
const (
	RoleStudent  Role = "student"
	RoleParent   Role = "parent"
	RoleObserver Role = "observer"
	RoleAdmin    Role = "admin"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleStudent, RoleParent, RoleObserver, RoleAdmin:
		return true
	}
	return false
}

// Visibility is who may see a student's portfolio.
type Visibility string

// Portfolio visibilities.
const (
	VisibilityPublic   Visibility = "public"   // listed and viewable by anyone (minors: after parent consent)
	VisibilityUnlisted Visibility = "unlisted" // viewable by anyone with the link, not indexed (minors: after parent consent)
	VisibilitySchool   Visibility = "school"   // like private, and inside Spark through a signed embed token
	VisibilityPrivate  Visibility = "private"  // only the student, linked family, observers and admins
)

// Valid reports whether v is a known visibility.
func (v Visibility) Valid() bool {
	switch v {
	case VisibilityPublic, VisibilityUnlisted, VisibilitySchool, VisibilityPrivate:
		return true
	}
	return false
}

// User is anyone who signs in to Optio, or a student Optio has heard of from
// Spark but who has not signed in yet (Provisional: no email, no password).
type User struct {
	ID            string     `json:"id"`
	Email         string     `json:"email,omitempty"`
	GivenName     string     `json:"given_name"`
	FamilyName    string     `json:"family_name"`
	Role          Role       `json:"role"`
	PortfolioSlug string     `json:"portfolio_slug,omitempty"`
	Visibility    Visibility `json:"portfolio_visibility"`
	BirthDate     *time.Time `json:"birth_date,omitempty"`
	ParentConsent bool       `json:"parent_consent"`
	// BirthDateFact and ConsentFact say who recorded the birth date and the
	// consent, and when (docs/architecture.md, "Age and consent").
	BirthDateFact *FactSource `json:"birth_date_recorded,omitempty"`
	ConsentFact   *FactSource `json:"parent_consent_recorded,omitempty"`
	// EmailVerified: ownership of Email was proven (Spark vouched for it, or
	// an administrator created the account); only such an account is ever
	// linked to a Spark identity by email.
	EmailVerified bool `json:"email_verified"`
	// HasPassword: the account can sign in with a password.
	HasPassword bool      `json:"has_password"`
	Provisional bool      `json:"provisional"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Sources of an age or consent fact. Only a student-recorded birth date can
// be changed by the student, and it never makes them an adult.
const (
	SourceStudent = "student"
	SourceParent  = "parent"
	SourceAdmin   = "admin"
	SourceSpark   = "spark"
)

// FactSource is who recorded a fact about a student, and when.
type FactSource struct {
	Source string    `json:"source"` // student, parent, admin, spark
	At     time.Time `json:"at"`
}

// Label is how pages name the source ("a parent", "the school through Spark").
func (f *FactSource) Label() string {
	if f == nil {
		return ""
	}
	switch f.Source {
	case SourceStudent:
		return "the student"
	case SourceParent:
		return "a parent"
	case SourceAdmin:
		return "an Optio administrator"
	case SourceSpark:
		return "the school through Spark"
	}
	return f.Source
}

// AdultForConsent reports whether the consent gate may treat the student as
// an adult at now: only a birth date recorded by a parent, an administrator
// or Spark counts. A birth date the student recorded themselves never does,
// and unknown age counts as a minor.
func (u *User) AdultForConsent(now time.Time) bool {
	if u.BirthDateFact == nil || u.BirthDateFact.Source == SourceStudent {
		return false
	}
	return !u.IsMinor(now)
}

// PublicAllowed is the consent gate: strangers may see a student's portfolio
// (when its visibility allows) only if a parent consented or a trusted
// source recorded that the student is an adult.
func (u *User) PublicAllowed(now time.Time) bool {
	return u.ParentConsent || u.AdultForConsent(now)
}

// DisplayName is the name shown on pages.
func (u *User) DisplayName() string {
	n := strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	if n == "" {
		return "Student"
	}
	return n
}

// IsMinor reports whether the user is under 18 at now. Unknown age counts as
// a minor, so a portfolio is never public by accident.
func (u *User) IsMinor(now time.Time) bool {
	if u.BirthDate == nil {
		return true
	}
	return u.BirthDate.AddDate(18, 0, 0).After(now)
}

var nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

// SlugBase turns a name into the base of a portfolio slug: first and last name,
// lower-case, accents folded, everything but letters and digits removed. The
// store appends -2, -3… on collision.
func SlugBase(given, family string) string {
	s := strings.ToLower(norm.NFKD.String(given + family))
	s = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, s)
	s = nonAlnum.ReplaceAllString(s, "")
	if s == "" {
		s = "student"
	}
	if len(s) > 48 {
		s = s[:48]
	}
	return s
}

// Session is a signed-in browser. The cookie carries a random token; the store
// keeps only its hash, so a database leak does not leak sessions.
type Session struct {
	ID        string
	UserID    string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// NewUser is what it takes to create a user. PasswordHash is empty for users
// who only sign in through Spark; Provisional users (first seen in a webhook)
// have neither email nor password until SSO completes them.
type NewUser struct {
	Email        string
	PasswordHash string
	GivenName    string
	FamilyName   string
	Role         Role
	Provisional  bool
	// EmailVerified marks an email whose ownership was proven: accounts an
	// administrator creates (`optio admin create`). Self-registration
	// leaves it false.
	EmailVerified bool
}

var emailRe = regexp.MustCompile(`^[^@\s<>"]+@[^@\s<>"]+\.[^@\s<>"]+$`)

// ValidEmail reports whether s looks like an email address.
func ValidEmail(s string) bool { return len(s) <= 254 && emailRe.MatchString(s) }

// Validate checks a NewUser.
func (n NewUser) Validate() error {
	f := FieldErrors{}
	if !n.Role.Valid() {
		f.Add("role", "must be student, parent, observer or admin")
	}
	if n.Email != "" {
		if _, err := NormalizeEmail("email", n.Email); err != nil {
			f.Add("email", err.(*Error).Fields["email"])
		}
	}
	if n.Email == "" && !n.Provisional {
		f.Add("email", "is required")
	}
	if len(n.GivenName) > 100 {
		f.Add("given_name", "must be at most 100 characters")
	}
	if len(n.FamilyName) > 100 {
		f.Add("family_name", "must be at most 100 characters")
	}
	return f.Err(EINVALID, "The user is not valid.")
}

// ProfileUpdate is a change a student makes to their portfolio settings; nil
// fields are left alone. A birth date set here is recorded as the student's
// own (SourceStudent): it is refused when a parent, an administrator or
// Spark recorded one, or when it would make the student an adult.
type ProfileUpdate struct {
	Visibility *Visibility `json:"portfolio_visibility"`
	BirthDate  *time.Time  `json:"birth_date"`
}

// Validate checks a ProfileUpdate.
func (p ProfileUpdate) Validate() error {
	f := FieldErrors{}
	if p.Visibility != nil && !p.Visibility.Valid() {
		f.Add("portfolio_visibility", "must be public, unlisted or private")
	}
	return f.Err(EINVALID, "The profile change is not valid.")
}
