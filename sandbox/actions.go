package sandbox

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/spark"
)

// SSOTTL is the lifetime of the SSO tokens the sandbox mints.
const SSOTTL = 5 * time.Minute

// MaxUploadBytes caps one file submitted through the sandbox.
const MaxUploadBytes = 50 << 20

// Submit stores a student's work on an assignment and sends the signed
// submission webhook, whose file URLs point at PublicURL/files/{id}. files
// are generated samples (see SampleFiles) or uploads wrapped as a
// SampleFile with Name, ContentType and Data. It returns the submission id.
func (s *Sandbox) Submit(ctx context.Context, studentID, assignmentID, text string, files []SampleFile) (string, error) {
	return s.SubmitAt(ctx, studentID, assignmentID, text, files, time.Time{})
}

// SubmitAt is Submit with the submission stamped submittedAt (zero: now)
// while it appears in the API now: late-appearing work, as a Spark whose
// records reach its API after their timestamp produces it.
func (s *Sandbox) SubmitAt(ctx context.Context, studentID, assignmentID, text string, files []SampleFile, submittedAt time.Time) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	fe := optio.FieldErrors{}
	if strings.TrimSpace(text) == "" && len(files) == 0 {
		fe.Add("text", "write something or attach a file")
	}
	if len(files) > spark.MaxSubmissionFiles {
		fe.Add("files", fmt.Sprintf("at most %d files", spark.MaxSubmissionFiles))
	}
	for i, f := range files {
		key := fmt.Sprintf("files[%d]", i)
		switch {
		case len(f.Data) == 0:
			fe.Add(key, "the file is empty")
		case len(f.Data) > MaxUploadBytes:
			fe.Add(key, fmt.Sprintf("the file is larger than %d MB", MaxUploadBytes>>20))
		case filestore.SafeFilename(f.Name) == "":
			fe.Add(key, "the file needs a name")
		}
	}
	if err := fe.Err(optio.EINVALID, "The submission is invalid."); err != nil {
		return "", err
	}

	s.mu.Lock()
	stu, a, err := s.enrolledStudent(studentID, assignmentID)
	if err != nil {
		s.mu.Unlock()
		return "", err
	}
	if s.publicURL == "" {
		s.mu.Unlock()
		return "", optio.Errorf(optio.ENOTCONFIG, "The sandbox has no public URL yet: configure PublicURL or call Start.")
	}
	now := s.clock.Now().UTC().Truncate(time.Second)
	at := now
	if !submittedAt.IsZero() {
		at = submittedAt.UTC().Truncate(time.Second)
	}
	rec := &SubmissionRecord{ID: s.nextID("sub"), StudentID: stu.ID, AssignmentID: a.ID, CourseID: a.CourseID, Text: text,
		SubmittedAt: at, UpdatedAt: now}
	for _, f := range files {
		id := s.nextID("file")
		// Like an LMS, the sandbox keeps any attachment; Optio decides what
		// it can import (an .exe becomes a "could not import" entry there).
		ct, _, ok := spark.ResolveFileType(f.ContentType, f.Name)
		if strings.HasPrefix(f.ContentType, "text/") || !ok {
			ct = cmp.Or(f.ContentType, "application/octet-stream")
		}
		s.files[id] = &storedFile{name: filestore.SafeFilename(f.Name), contentType: ct, data: f.Data, modTime: now}
		rec.Files = append(rec.Files, FileRef{ID: id, Name: filestore.SafeFilename(f.Name), ContentType: ct, Size: len(f.Data), URL: s.publicURL + "/files/" + id})
	}
	body, err := json.Marshal(submissionPayload(rec))
	if err == nil {
		s.submissions = append(s.submissions, rec)
	}
	s.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("sandbox: encode submission: %w", err)
	}

	id, err := s.sender.enqueue("submission", body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Nothing was reported, so nothing is kept.
		s.submissions = slices.DeleteFunc(s.submissions, func(r *SubmissionRecord) bool { return r == rec })
		for _, f := range rec.Files {
			delete(s.files, f.ID)
		}
		return "", err
	}
	rec.WebhookID = id
	return rec.ID, nil
}

// enrolledStudent checks that studentID is a student actively enrolled in
// the assignment's course. The caller holds s.mu.
func (s *Sandbox) enrolledStudent(studentID, assignmentID string) (*User, *Assignment, error) {
	stu := s.userByID[studentID]
	if stu == nil || stu.Role != RoleStudent {
		return nil, nil, notFound("student", studentID)
	}
	a := s.assignByID[assignmentID]
	if a == nil {
		return nil, nil, notFound("assignment", assignmentID)
	}
	if e := s.enrollments[studentID][a.CourseID]; e == nil || e.Status != StatusActive {
		return nil, nil, optio.Errorf(optio.ECONFLICT, "%s is not enrolled in %s; enrol first.", stu.Name(), s.courseByID[a.CourseID].Title)
	}
	return stu, a, nil
}

// submissionPayload is the submission webhook body (and, with the id, the
// API's submission object).
func submissionPayload(r *SubmissionRecord) spark.Submission {
	p := spark.Submission{SparkUserID: r.StudentID, SparkAssignmentID: r.AssignmentID, SparkCourseID: r.CourseID,
		Text: r.Text, SubmittedAt: r.SubmittedAt}
	for _, f := range r.Files {
		p.Files = append(p.Files, spark.SubmissionFile{URL: f.URL, Type: f.ContentType, Filename: f.Name})
	}
	return p
}

// Roster changes a student's enrolment (enroll, drop or complete) and sends
// the roster webhook: the plan's {spark_user_id, spark_course_id, action},
// plus occurred_at and the student's names with OptioExtras. It returns the
// webhook-id.
func (s *Sandbox) Roster(ctx context.Context, studentID, courseID string, action spark.RosterAction) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	status := map[spark.RosterAction]string{spark.RosterEnroll: StatusActive, spark.RosterDrop: StatusDropped, spark.RosterComplete: StatusCompleted}[action]
	if status == "" {
		return "", &optio.Error{Code: optio.EINVALID, Message: "The roster action is invalid.", Fields: map[string]string{"action": "must be enroll, drop or complete"}}
	}
	s.mu.Lock()
	stu := s.userByID[studentID]
	if stu == nil || stu.Role != RoleStudent {
		s.mu.Unlock()
		return "", notFound("student", studentID)
	}
	if s.courseByID[courseID] == nil {
		s.mu.Unlock()
		return "", notFound("course", courseID)
	}
	now := s.clock.Now().UTC().Truncate(time.Second)
	prev := s.enrollments[studentID][courseID]
	if s.enrollments[studentID] == nil {
		s.enrollments[studentID] = map[string]*Enrollment{}
	}
	s.enrollments[studentID][courseID] = &Enrollment{CourseID: courseID, Status: status, UpdatedAt: now}
	s.mu.Unlock()

	ev := spark.Roster{SparkUserID: stu.ID, SparkCourseID: courseID, Action: action}
	if s.cfg.OptioExtras {
		ev.Email, ev.GivenName, ev.FamilyName, ev.OccurredAt = stu.Email, stu.GivenName, stu.FamilyName, now
	}
	body, _ := json.Marshal(ev)
	id, err := s.sender.enqueue("roster", body)
	if err != nil {
		s.mu.Lock()
		if prev == nil {
			delete(s.enrollments[studentID], courseID)
		} else {
			s.enrollments[studentID][courseID] = prev
		}
		s.mu.Unlock()
		return "", err
	}
	return id, nil
}

// SendCourses sends one course webhook per course, with its assignments, so
// Optio maps courses to quests and assignments to tasks. The course webhook
// is an Optio extra, not in the plan: Optio learns courses without it (from
// SSO, roster events, submissions and Spark's API). It returns the
// webhook-ids in catalogue order.
func (s *Sandbox) SendCourses(ctx context.Context) ([]string, error) {
	var ids []string
	for _, c := range s.courses {
		if err := ctx.Err(); err != nil {
			return ids, err
		}
		body, err := json.Marshal(coursePayload(c))
		if err != nil {
			return ids, fmt.Errorf("sandbox: encode course %s: %w", c.ID, err)
		}
		id, err := s.sender.enqueue("course", body)
		if err != nil {
			return ids, fmt.Errorf("sandbox: send course %s: %w", c.ID, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func coursePayload(c *Course) spark.Course {
	p := spark.Course{SparkCourseID: c.ID, Title: c.Title, Description: c.Description}
	for _, a := range c.Assignments {
		due, pts := a.DueAt, a.MaxPoints
		p.Assignments = append(p.Assignments, spark.Assignment{SparkAssignmentID: a.ID, Title: a.Title,
			Description: a.Description, DueAt: &due, MaxPoints: &pts})
	}
	return p
}

// SSOURL mints a 5-minute SSO token for a seeded user, as Spark's "View
// Portfolio" button does, and returns OptioURL/spark/sso?token=…; a
// non-empty returnTo is passed as the next parameter (an Optio path).
// Students carry their active courses; parents their children's ids and
// courses; the admin every course.
func (s *Sandbox) SSOURL(userID, returnTo string) (string, error) {
	s.mu.Lock()
	u := s.userByID[userID]
	if u == nil {
		s.mu.Unlock()
		return "", notFound("user", userID)
	}
	c := spark.Claims{Issuer: spark.DefaultIssuer, Subject: u.ID, Email: u.Email, GivenName: u.GivenName,
		FamilyName: u.FamilyName, Role: optio.Role(u.Role)}
	switch u.Role {
	case RoleStudent:
		c.SparkCourseIDs = s.activeCourses(u.ID)
	case RoleParent:
		c.SparkStudentIDs = slices.Clone(u.ChildIDs)
		for _, child := range u.ChildIDs {
			for _, id := range s.activeCourses(child) {
				if !slices.Contains(c.SparkCourseIDs, id) {
					c.SparkCourseIDs = append(c.SparkCourseIDs, id)
				}
			}
		}
	case RoleAdmin:
		for _, co := range s.courses {
			c.SparkCourseIDs = append(c.SparkCourseIDs, co.ID)
		}
	}
	s.mu.Unlock()
	tok, err := spark.SignToken(s.cfg.SSOSecret, c, SSOTTL, s.clock.Now())
	if err != nil {
		return "", fmt.Errorf("sandbox: sso for %s: %w", userID, err)
	}
	q := url.Values{"token": {tok}}
	if returnTo != "" {
		q.Set("return_to", returnTo)
	}
	return s.cfg.OptioURL + "/spark/sso?" + q.Encode(), nil
}

// activeCourses lists a student's active course ids in catalogue order.
// The caller holds s.mu.
func (s *Sandbox) activeCourses(studentID string) []string {
	var ids []string
	for _, c := range s.courses {
		if e := s.enrollments[studentID][c.ID]; e != nil && e.Status == StatusActive {
			ids = append(ids, c.ID)
		}
	}
	return ids
}
