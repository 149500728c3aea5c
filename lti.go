package optio

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
)

// LTI 1.3 (1EdTech) is Optio's second connector beside Spark: a school's LMS
// (Canvas, Moodle, Schoology, Brightspace…) registers Optio as a tool, and
// its launches sign people in, map its courses to quests and enrol its
// students — the same identity → course → quest pipeline Spark feeds.

// LTIPlatform is an LMS an administrator registered to launch Optio: what
// the tool needs to verify its launches and call its services.
type LTIPlatform struct {
	ID string `json:"id"`
	// Issuer is the platform's iss; with ClientID it names the registration.
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// DeploymentIDs are the deployments of this registration Optio accepts
	// launches from (lti/claim/deployment_id).
	DeploymentIDs []string `json:"deployment_ids"`
	// AuthURL is the platform's OIDC authorization endpoint (login step 2).
	AuthURL string `json:"auth_url"`
	// TokenURL is its OAuth2 token endpoint (LTI Advantage services).
	TokenURL string `json:"token_url"`
	// JWKSURL is where its public keys are: id_tokens are verified with them.
	JWKSURL string `json:"jwks_url"`
	// FrameOrigin is the origin whose pages frame Optio after a launch
	// (Content-Security-Policy frame-ancestors); derived from AuthURL when empty.
	FrameOrigin string    `json:"frame_origin"`
	CreatedAt   time.Time `json:"created_at"`
}

// LMSPlatform is the lms_integrations / quests.lms_platform value of the
// platform's users and courses: "lti:<platform id>".
func (p *LTIPlatform) LMSPlatform() string { return "lti:" + p.ID }

// HasDeployment reports whether id is one of the platform's deployments.
func (p *LTIPlatform) HasDeployment(id string) bool { return slices.Contains(p.DeploymentIDs, id) }

// Normalize trims the fields and fills FrameOrigin, then validates: every
// URL absolute, https unless allowHTTP (a local or demo Optio), at least one
// deployment.
func (p *LTIPlatform) Normalize(allowHTTP bool) error {
	p.Issuer, p.ClientID = strings.TrimSpace(p.Issuer), strings.TrimSpace(p.ClientID)
	p.AuthURL, p.TokenURL, p.JWKSURL = strings.TrimSpace(p.AuthURL), strings.TrimSpace(p.TokenURL), strings.TrimSpace(p.JWKSURL)
	p.FrameOrigin = strings.TrimRight(strings.TrimSpace(p.FrameOrigin), "/")
	var deps []string
	for _, d := range p.DeploymentIDs {
		for _, part := range strings.Split(d, ",") {
			if part = strings.TrimSpace(part); part != "" && !slices.Contains(deps, part) {
				deps = append(deps, part)
			}
		}
	}
	p.DeploymentIDs = deps
	fields := map[string]string{}
	if p.Issuer == "" {
		fields["issuer"] = "required"
	} else if !ValidText(p.Issuer) || len(p.Issuer) > 255 {
		fields["issuer"] = "at most 255 characters of text"
	}
	if p.ClientID == "" {
		fields["client_id"] = "required"
	} else if !ValidText(p.ClientID) || len(p.ClientID) > 255 {
		fields["client_id"] = "at most 255 characters of text"
	}
	if len(p.DeploymentIDs) == 0 {
		fields["deployment_ids"] = "at least one deployment id"
	}
	for _, d := range p.DeploymentIDs {
		if !ValidText(d) || len(d) > 255 {
			fields["deployment_ids"] = "each at most 255 characters of text"
		}
	}
	for name, v := range map[string]string{"auth_url": p.AuthURL, "token_url": p.TokenURL, "jwks_url": p.JWKSURL} {
		if msg := checkPlatformURL(v, allowHTTP); msg != "" {
			fields[name] = msg
		}
	}
	if p.FrameOrigin == "" && fields["auth_url"] == "" {
		u, _ := url.Parse(p.AuthURL)
		p.FrameOrigin = u.Scheme + "://" + u.Host
	}
	if p.FrameOrigin != "" {
		u, err := url.Parse(p.FrameOrigin)
		if msg := checkPlatformURL(p.FrameOrigin, allowHTTP); msg != "" {
			fields["frame_origin"] = msg
		} else if err != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			fields["frame_origin"] = "an origin: scheme://host[:port], nothing after"
		}
	}
	if len(fields) > 0 {
		return &Error{Code: EINVALID, Message: "The platform registration is not valid.", Fields: fields}
	}
	return nil
}

func checkPlatformURL(v string, allowHTTP bool) string {
	if v == "" {
		return "required"
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") || strings.ContainsAny(v, " \t\r\n'\";") {
		return "an absolute http(s) URL"
	}
	if u.Scheme == "http" && !allowHTTP {
		return "must be https (Optio's own URL is https)"
	}
	return ""
}

// LTIState is one login initiation waiting for its launch: state and nonce
// are single-use and expire (LTIStateTTL).
type LTIState struct {
	// StateHash is the SHA-256 (hex) of the state value; the value itself is
	// only in the browser's cookie and the platform's form post.
	StateHash  string
	Nonce      string
	PlatformID string
	ExpiresAt  time.Time
}

// LTIStateTTL is how long a login initiation waits for its launch.
const LTIStateTTL = 10 * time.Minute

// LTI roles Optio acts on (LIS vocabulary, LTI Core 1.3 §A.2).
const (
	LTIRoleLearner    = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
	LTIRoleInstructor = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
	LTIRoleMentor     = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"
	LTIRoleTA         = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
	LTIRoleCtxAdmin   = "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator"
	LTIRoleContentDev = "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"
)

// LTI course roles as Optio records them (lti_memberships.role).
const (
	LTICourseLearner    = "learner"
	LTICourseInstructor = "instructor"
	LTICourseMentor     = "mentor"
)

// LTICourseRole is what a launch's roles make of the person in the course:
// instructor (teaching roles win), mentor, learner, or "" for roles Optio
// does not serve. Short context role names ("Instructor") are accepted as
// the spec's deprecated simple names.
func LTICourseRole(roles []string) string {
	has := func(names ...string) bool {
		for _, r := range roles {
			for _, n := range names {
				if r == n || r == n[strings.LastIndexAny(n, "#/")+1:] {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has(LTIRoleInstructor, LTIRoleTA, LTIRoleCtxAdmin, LTIRoleContentDev):
		return LTICourseInstructor
	case has(LTIRoleMentor):
		return LTICourseMentor
	case has(LTIRoleLearner):
		return LTICourseLearner
	}
	return ""
}

// LTILaunch is a verified resource-link (or deep-linking) launch for the
// store to carry out in one transaction: nonce, identity, course, enrolment,
// mentor links and the session.
type LTILaunch struct {
	Platform *LTIPlatform
	// Subject is the platform's user id (sub).
	Subject    string
	Email      string
	GivenName  string
	FamilyName string
	// Role is LTICourseRole of the launch's roles.
	Role string
	// Nonce is the id_token's nonce, single-use per platform until NonceExpiry.
	Nonce       string
	NonceExpiry time.Time
	// ContextID and ContextTitle name the course (may be empty: no course).
	ContextID    string
	ContextTitle string
	// MentorOf lists the subs a mentor mentors (role_scope_mentor).
	MentorOf []string
	// MembershipsURL (NRPS) and LineItemsURL (AGS) are the course's services
	// the launch named, "" when it named none.
	MembershipsURL   string
	LineItemsURL     string
	SessionTokenHash string
	SessionDevice    string
	SessionTTL       time.Duration
}

// LTILaunchResult is what a launch did.
type LTILaunchResult struct {
	User    *User
	Created bool
	// Course is the launch's course, nil without a context.
	Course *LTICourse
	// LinkedChildren are the students a mentor was newly linked to.
	LinkedChildren []string
}

// LTICourse is an LMS course (LTI context) and the quest it maps to.
type LTICourse struct {
	ID             string     `json:"id"`
	PlatformID     string     `json:"platform_id"`
	ContextID      string     `json:"context_id"`
	Title          string     `json:"title"`
	QuestID        string     `json:"quest_id"`
	MembershipsURL string     `json:"-"`
	LineItemsURL   string     `json:"-"`
	LineItemURL    string     `json:"-"`
	RosterSyncedAt *time.Time `json:"roster_synced_at,omitempty"`
	RosterError    string     `json:"roster_error,omitempty"`
}

// LTIMember is a person a platform's roster (NRPS) lists in a course.
type LTIMember struct {
	Subject, Email, GivenName, FamilyName string
	// Role is LTICourseRole of their roles.
	Role string
}

// LTIScoreContext is what an AGS score post needs for one completion: the
// learner's progress in the course quest the task belongs to.
type LTIScoreContext struct {
	Platform   *LTIPlatform
	Course     *LTICourse
	Subject    string
	QuestTitle string
	TasksDone  int
	TasksTotal int
	At         time.Time
}

// LTIRosterSyncJob reads a course's roster from the platform (NRPS) and
// applies it: the counterpart of Spark's roster webhook.
type LTIRosterSyncJob struct {
	CourseID string `json:"course_id"`
}

// Kind implements Job.
func (LTIRosterSyncJob) Kind() string { return "lti_roster_sync" }

// LTIScoreJob posts a learner's progress in an LTI course's quest to the
// platform's gradebook (AGS) after they finished a task: the counterpart
// of Spark grade passback.
type LTIScoreJob struct {
	CompletionID string `json:"completion_id"`
}

// Kind implements Job.
func (LTIScoreJob) Kind() string { return "lti_score" }

// LTIRosterEntry is one learner of a course with their progress in its quest.
type LTIRosterEntry struct {
	UserID     string `json:"user_id"`
	Name       string `json:"name"`
	Slug       string `json:"portfolio_slug,omitempty"`
	TasksDone  int    `json:"tasks_done"`
	TasksTotal int    `json:"tasks_total"`
	XP         int    `json:"xp"`
}

// LTIStore keeps platform registrations, login states and what launches
// bring (the store package implements it for both engines).
type LTIStore interface {
	CreateLTIPlatform(ctx context.Context, p LTIPlatform) (*LTIPlatform, error)
	LTIPlatforms(ctx context.Context) ([]LTIPlatform, error)
	LTIPlatformByID(ctx context.Context, id string) (*LTIPlatform, error)
	// LTIPlatformsByIssuer lists the registrations of one issuer (several
	// client ids are possible).
	LTIPlatformsByIssuer(ctx context.Context, issuer string) ([]LTIPlatform, error)
	// DeleteLTIPlatform removes a registration; its users keep their accounts.
	DeleteLTIPlatform(ctx context.Context, id string) error

	// SaveLTIState records a login initiation.
	SaveLTIState(ctx context.Context, s LTIState) error
	// TakeLTIState spends a state: it returns it once, and ELTIStateInvalid
	// for an unknown, expired or already used one.
	TakeLTIState(ctx context.Context, stateHash string) (*LTIState, error)

	// LTILaunch carries out a verified launch in one transaction.
	LTILaunch(ctx context.Context, in LTILaunch) (*LTILaunchResult, error)
	// LTICourses lists every course launches brought, newest first, for admins.
	LTICourses(ctx context.Context) ([]LTICourse, error)
	// LTICourseByID returns a course, ENOTFOUND otherwise.
	LTICourseByID(ctx context.Context, id string) (*LTICourse, error)
	// LTICourseRole is userID's recorded role in a course, "" when none.
	LTICourseRole(ctx context.Context, courseID, userID string) (string, error)
	// LTICourseRoster lists a course's learners with their progress.
	LTICourseRoster(ctx context.Context, courseID string) ([]LTIRosterEntry, error)
	// ApplyLTIRoster records a roster read from the platform: each member
	// found or created (never linked by email), their role, learners
	// enrolled in the quest; it returns how many members were new to the
	// course. It records the sync's time and clears its error.
	ApplyLTIRoster(ctx context.Context, courseID string, members []LTIMember) (int, error)
	// RecordLTIRosterProblem keeps why a roster sync failed, for admins.
	RecordLTIRosterProblem(ctx context.Context, courseID, problem string) error
	// LTIScoreFor is what to post for a completion, ENOTFOUND when it is
	// not of an LTI course with AGS.
	LTIScoreFor(ctx context.Context, completionID string) (*LTIScoreContext, error)
	// SetLTILineItem keeps the line item of a course's quest.
	SetLTILineItem(ctx context.Context, courseID, lineItemURL string) error
}
