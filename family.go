package optio

import (
	"context"
	"crypto/rand"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Family limits.
const (
	LinkCodeTTL          = 7 * 24 * time.Hour // a student's parent-link code lives a week
	MaxCommentLength     = 2000               // characters in an encouragement comment
	CommentsPerHour      = 10                 // comments one observer may post per hour
	DefaultInviteDays    = 14                 // observer invitation lifetime when none is given
	MaxInviteDays        = 30                 // longest observer invitation lifetime
	maxInvitationNoteLen = 500
)

// codeAlphabet is Crockford's base32: digits and letters without I, L, O
// and U, so a code read aloud or copied by hand survives, and the look-alikes
// a person may type instead are read as the digit they resemble.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// CodeBits is the entropy of a link or invitation code: 16 base32
// characters. With 10,000 codes live at once a guess hits one with
// probability 10⁴/2⁸⁰ ≈ 8·10⁻²¹ (docs/family.md).
const CodeBits = 80

// NewCode returns a random link or invitation code: 80 bits as 16 Crockford
// base32 characters in four groups of four (7KQ2-M9XD-4HTB-0WCE).
func NewCode() string {
	var raw [CodeBits / 8]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand panics instead)
	var b strings.Builder
	acc, bits := uint(0), 0
	for i, n := 0, 0; n < CodeBits/5; {
		if bits < 5 {
			acc, bits = acc<<8|uint(raw[i]), bits+8
			i++
		}
		if n > 0 && n%4 == 0 {
			b.WriteByte('-')
		}
		bits -= 5
		b.WriteByte(codeAlphabet[acc>>bits&31])
		n++
	}
	return b.String()
}

// NormalizeCode makes a typed code comparable: upper-case, without spaces,
// dashes or underscores, and O, I and L read as 0, 1 and 1 (Crockford).
// Codes made before codes grew to 80 bits (8 or 12 characters without 0, 1,
// I, L or O) normalise to themselves, so they keep working until they expire.
func NormalizeCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == '_' || unicode.IsSpace(r):
			return -1
		case r == 'O':
			return '0'
		case r == 'I' || r == 'L':
			return '1'
		}
		return r
	}, strings.ToUpper(s))
}

// LinkCode is a single-use code a student gives a parent so the parent can
// link to them. Only its hash is stored; Code is set once, on creation.
type LinkCode struct {
	Code      string    `json:"code"`
	StudentID string    `json:"student_id"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// ParentLink says a parent may see a student's data.
type ParentLink struct {
	ParentID  string    `json:"parent_id"`
	StudentID string    `json:"student_id"`
	LinkedVia string    `json:"linked_via"` // sso, code, admin
	CreatedAt time.Time `json:"created_at"`
}

// LinkedChild is one of a parent's links as the parent sees it
// (GET /api/parent/links): the child, how the link was made and when.
type LinkedChild struct {
	StudentID     string    `json:"student_id"`
	GivenName     string    `json:"given_name"`
	FamilyName    string    `json:"family_name"`
	PortfolioSlug string    `json:"portfolio_slug"`
	LinkedVia     string    `json:"linked_via"` // sso, code, admin
	LinkedAt      time.Time `json:"linked_at"`
}

// Ways a parent link is made (besides LinkedViaSSO, from a Spark token).
const (
	LinkedViaCode  = "code"
	LinkedViaAdmin = "admin"
)

// ObserverInvitation invites extended family to follow a student. Only the
// code's hash is stored; Code is set once, on creation.
type ObserverInvitation struct {
	ID         string     `json:"id"`
	Code       string     `json:"code,omitempty"`
	StudentID  string     `json:"student_id"`
	CreatedBy  string     `json:"created_by"`
	CanComment bool       `json:"can_comment"`
	Note       string     `json:"note"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedBy *string    `json:"accepted_by,omitempty"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// NewInvitation is what it takes to invite an observer.
type NewInvitation struct {
	StudentID     string `json:"student_id"`
	CreatedBy     string `json:"-"`
	CanComment    bool   `json:"can_comment"`
	ExpiresInDays int    `json:"expires_in_days"`
	Note          string `json:"note"`
}

// Validate checks a NewInvitation, filling the default lifetime.
func (n *NewInvitation) Validate() error {
	f := FieldErrors{}
	if n.ExpiresInDays == 0 {
		n.ExpiresInDays = DefaultInviteDays
	}
	if n.ExpiresInDays < 1 || n.ExpiresInDays > MaxInviteDays {
		f.Add("expires_in_days", "must be between 1 and 30")
	}
	n.Note = strings.TrimSpace(n.Note)
	if utf8.RuneCountInString(n.Note) > maxInvitationNoteLen {
		f.Add("note", "must be at most 500 characters")
	}
	return f.Err(EINVALID, "The invitation is not valid.")
}

// ObserverLink lets an observer view a student's portfolio (and comment when
// CanComment) until it is revoked.
type ObserverLink struct {
	ID           string     `json:"id"`
	ObserverID   string     `json:"observer_id"`
	StudentID    string     `json:"student_id"`
	CanComment   bool       `json:"can_comment"`
	CreatedAt    time.Time  `json:"created_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	ObserverName string     `json:"observer_name,omitempty"`
	StudentName  string     `json:"student_name,omitempty"`
	StudentSlug  string     `json:"student_slug,omitempty"`
}

// Active reports whether the link has not been revoked.
func (l *ObserverLink) Active() bool { return l.RevokedAt == nil }

// Comment is an observer's encouragement on a completed piece of work. Body
// is plain text; pages escape it.
type Comment struct {
	ID           string     `json:"id"`
	CompletionID string     `json:"completion_id"`
	StudentID    string     `json:"student_id"`
	AuthorID     string     `json:"author_id"`
	AuthorName   string     `json:"author_name"`
	Body         string     `json:"body"`
	Hidden       bool       `json:"hidden"`
	HiddenBy     *string    `json:"hidden_by,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	HiddenAt     *time.Time `json:"hidden_at,omitempty"`
}

// ValidateCommentBody checks and trims an encouragement comment.
func ValidateCommentBody(body string) (string, error) {
	body = strings.TrimSpace(body)
	f := FieldErrors{}
	switch n := utf8.RuneCountInString(body); {
	case !utf8.ValidString(body):
		f.Add("body", "must be valid text")
	case n == 0:
		f.Add("body", "is required")
	case n > MaxCommentLength:
		f.Add("body", "must be at most 2000 characters")
	}
	return body, f.Err(EINVALID, "The comment is not valid.")
}

// Relationship is what one user is to one student; every read and write of
// a child's data checks it.
type Relationship struct {
	Parent   bool          // a linked parent
	Observer *ObserverLink // an active observer link, or nil
}

// StudentCourseStatus is one Spark course a student is enrolled in.
type StudentCourseStatus struct {
	SparkCourseID string    `json:"spark_course_id"`
	Title         string    `json:"title"`
	Status        string    `json:"status"` // enrolled, dropped, completed
	QuestID       string    `json:"quest_id,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// AssignmentStatus is one Spark assignment with the student's submission, if any.
type AssignmentStatus struct {
	SparkAssignmentID string     `json:"spark_assignment_id"`
	SparkCourseID     string     `json:"spark_course_id"`
	CourseTitle       string     `json:"course_title"`
	Title             string     `json:"title"`
	DueAt             *time.Time `json:"due_at,omitempty"`
	SubmittedAt       *time.Time `json:"submitted_at,omitempty"`
	Grade             *string    `json:"grade,omitempty"`
	Synced            bool       `json:"synced_to_optio"`
}

// Overdue reports whether the assignment's due time has passed without a submission.
func (a AssignmentStatus) Overdue(now time.Time) bool {
	return a.SubmittedAt == nil && a.DueAt != nil && a.DueAt.Before(now)
}

// StudentActivity is what the store knows about a student's Spark work and
// recent activity, the raw material of the parent dashboard.
type StudentActivity struct {
	Courses          []StudentCourseStatus
	Assignments      []AssignmentStatus
	LastSubmission   *time.Time
	LastCompletion   *time.Time
	LastQuestStarted *time.Time
}

// Latest returns the most recent activity and its kind (submission,
// completion, quest start), or nil.
func (a *StudentActivity) Latest() (*time.Time, string) {
	var at *time.Time
	kind := ""
	for _, c := range []struct {
		t    *time.Time
		kind string
	}{{a.LastSubmission, "submission"}, {a.LastCompletion, "completion"}, {a.LastQuestStarted, "quest start"}} {
		if c.t != nil && (at == nil || c.t.After(*at)) {
			at, kind = c.t, c.kind
		}
	}
	return at, kind
}

// FamilyStore keeps the links between students, parents and observers, the
// codes that make them, comments, and the audit trail of who saw what.
type FamilyStore interface {
	CreateLinkCode(ctx context.Context, studentID string) (*LinkCode, error)
	RedeemLinkCode(ctx context.Context, parentID, code string) (*ParentLink, error)
	LinkParent(ctx context.Context, actorID, parentID, studentID, via string) (*ParentLink, error)
	UnlinkParent(ctx context.Context, actorID, parentID, studentID string) error
	ChildrenOf(ctx context.Context, parentID string) ([]User, error)
	// LinkedChildren lists a parent's own links with each child's name.
	LinkedChildren(ctx context.Context, parentID string) ([]LinkedChild, error)
	RelationshipOf(ctx context.Context, userID, studentID string) (*Relationship, error)
	SetParentConsent(ctx context.Context, parentID, studentID string, consent bool, birthDate *time.Time) (*User, error)
	StudentActivity(ctx context.Context, studentID string) (*StudentActivity, error)

	CreateInvitation(ctx context.Context, in NewInvitation) (*ObserverInvitation, error)
	AcceptInvitation(ctx context.Context, observerID, code string) (*ObserverLink, error)
	ObserverLinkByID(ctx context.Context, id string) (*ObserverLink, error)
	RevokeObserverLink(ctx context.Context, actorID, linkID string) error
	ObserverLinksOf(ctx context.Context, studentID string) ([]ObserverLink, error)
	FollowedBy(ctx context.Context, observerID string) ([]ObserverLink, error)

	AddComment(ctx context.Context, completionID, authorID, body string) (*Comment, error)
	CommentByID(ctx context.Context, id string) (*Comment, error)
	CommentsOn(ctx context.Context, completionIDs []string, includeHidden bool) ([]Comment, error)
	HideComment(ctx context.Context, actorID, commentID string) error

	Audit(ctx context.Context, actorID, action, subjectID string, detail map[string]any) error
}
