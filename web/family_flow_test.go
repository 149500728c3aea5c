package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// exec runs a statement on the fixture's database (Spark rows the sync
// colleagues' code would write).
func (f *familyFixture) exec(q string, args ...any) {
	f.t.Helper()
	_, err := f.db.W.Exec(q, args...)
	require.NoError(f.t, err)
}

type dashboardJSON struct {
	Student struct {
		ParentConsent bool `json:"parent_consent"`
	} `json:"student"`
	Rhythm    optio.RhythmStatus          `json:"rhythm"`
	Courses   []optio.StudentCourseStatus `json:"courses"`
	Upcoming  []optio.AssignmentStatus    `json:"upcoming"`
	Overdue   []optio.AssignmentStatus    `json:"overdue"`
	Submitted []optio.AssignmentStatus    `json:"submitted"`
	XP        optio.XPSummary             `json:"xp"`
	Work      []struct {
		Comments []optio.Comment `json:"comments"`
	} `json:"recent_work"`
}

func (f *familyFixture) dashboard() dashboardJSON {
	f.t.Helper()
	status, raw := f.call("parent", "GET", "/api/parent/students/"+f.S.ID+"/dashboard", nil)
	require.Equal(f.t, 200, status, raw)
	var d dashboardJSON
	require.NoError(f.t, json.Unmarshal([]byte(raw), &d))
	return d
}

func TestParentDashboardSparkAndRhythm(t *testing.T) {
	t.Parallel()
	eachFamily(t, func(t *testing.T, f *familyFixture) {
		db := f.db
		now := f.clock.Now()
		f.exec(`INSERT INTO spark_course_mappings (id, spark_course_id, course_title, created_at, updated_at) VALUES ($1,'c1','OnFire Biology',$2,$2)`,
			"0193e6a0-0000-7000-8000-000000000001", now)
		f.exec(`INSERT INTO spark_enrollments (user_id, spark_course_id, status, occurred_at, updated_at) VALUES ($1,'c1','enrolled',$2,$2)`, f.S.ID, now)
		for _, a := range []struct {
			id  string
			due time.Time
		}{{"a-late", now.Add(-48 * time.Hour)}, {"a-done", now.Add(-72 * time.Hour)}, {"a-next", now.Add(72 * time.Hour)}} {
			f.exec(`INSERT INTO spark_assignments (spark_assignment_id, spark_course_id, title, due_at, created_at, updated_at) VALUES ($1,'c1',$2,$3,$4,$4)`,
				a.id, "Essay "+a.id, a.due, now)
		}
		f.exec(`INSERT INTO spark_assignment_submissions (id, user_id, spark_user_id, spark_assignment_id, spark_course_id, submission_files, submitted_at, created_at, updated_at)
			VALUES ($1,$2,'sp-1','a-done','c1','[]',$3,$3,$3)`, "0193e6a0-0000-7000-8000-000000000002", f.S.ID, now.Add(-80*time.Hour))

		d := f.dashboard()
		require.Len(t, d.Courses, 1)
		require.Equal(t, "OnFire Biology", d.Courses[0].Title)
		require.Equal(t, []string{"a-next"}, ids(d.Upcoming))
		require.Equal(t, []string{"a-late"}, ids(d.Overdue))
		require.Equal(t, []string{"a-done"}, ids(d.Submitted))
		require.Equal(t, 50, d.XP.Total)
		require.Equal(t, optio.RhythmStatus{Color: "yellow", Label: "needs support", Reason: "1 assignment overdue; last completion today"}, d.Rhythm)

		// The overdue essay is handed in: flow, then 9 quiet days later, yellow.
		f.exec(`INSERT INTO spark_assignment_submissions (id, user_id, spark_user_id, spark_assignment_id, spark_course_id, submission_files, submitted_at, created_at, updated_at)
			VALUES ($1,$2,'sp-1','a-late','c1','[]',$3,$3,$3)`, "0193e6a0-0000-7000-8000-000000000003", f.S.ID, now.Add(time.Minute))
		f.clock.Advance(time.Hour)
		require.Equal(t, optio.RhythmStatus{Color: "green", Label: "flow", Reason: "last submission today"}, f.dashboard().Rhythm)
		f.exec(`DELETE FROM spark_assignments WHERE spark_assignment_id = 'a-next'`)
		f.clock.Advance(9 * 24 * time.Hour)
		require.Equal(t, optio.RhythmStatus{Color: "yellow", Label: "needs support", Reason: "last submission 9 days ago"}, f.dashboard().Rhythm)

		// Every parent view is in the audit trail.
		var n int
		require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'parent.view_dashboard' AND actor_id = $1 AND subject_id = $2`, f.P.ID, f.S.ID).Scan(&n))
		require.Equal(t, 3, n)
	})
}

func ids(list []optio.AssignmentStatus) []string {
	out := []string{}
	for _, a := range list {
		out = append(out, a.SparkAssignmentID)
	}
	return out
}

func TestFamilyCodesAndComments(t *testing.T) {
	t.Parallel()
	eachFamily(t, func(t *testing.T, f *familyFixture) {
		db := f.db
		ctx := context.Background()
		errCode := func(raw string) string {
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(raw), &e), raw)
			return e.Error.Code
		}

		// Link codes: 80 bits in Crockford base32 (no I, L, O, U), four
		// groups of four, single use, a week long.
		status, raw := f.call("other student", "POST", "/api/student/link-codes", nil)
		require.Equal(t, 201, status)
		var lc optio.LinkCode
		require.NoError(t, json.Unmarshal([]byte(raw), &lc))
		require.Regexp(t, `^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`, lc.Code)
		spaced := strings.ToLower(" " + strings.ReplaceAll(lc.Code, "-", " ") + " ")
		status, _ = f.call("parent", "POST", "/api/parent/links", map[string]string{"code": spaced})
		require.Equal(t, 201, status, "codes are accepted however they are typed")
		status, raw = f.call("parent", "POST", "/api/parent/links", map[string]string{"code": lc.Code})
		require.Equal(t, 409, status)
		require.Equal(t, optio.EINVITATIONUSED, errCode(raw))
		kids, err := db.ChildrenOf(ctx, f.P.ID)
		require.NoError(t, err)
		require.Len(t, kids, 2, "a parent may have several children")

		old, err := db.CreateLinkCode(ctx, f.S2.ID)
		require.NoError(t, err)
		f.clock.Advance(7*24*time.Hour + time.Second)
		status, raw = f.call("other parent", "POST", "/api/parent/links", map[string]string{"code": old.Code})
		require.Equal(t, 410, status)
		require.Equal(t, optio.EINVITATIONEXPIRED, errCode(raw))
		status, raw = f.call("other parent", "POST", "/api/parent/links", map[string]string{"code": ""})
		require.Equal(t, 400, status, raw)

		// Invitations: lifetime bounds, expiry and reuse.
		status, raw = f.call("student", "POST", "/api/observer-invitations", map[string]any{"expires_in_days": 31})
		require.Equal(t, 400, status)
		require.Contains(t, raw, "expires_in_days")
		status, raw = f.call("student", "POST", "/api/observer-invitations", map[string]any{"expires_in_days": 1, "can_comment": true})
		require.Equal(t, 201, status)
		var inv struct {
			Code      string `json:"code"`
			AcceptURL string `json:"accept_url"`
		}
		require.NoError(t, json.Unmarshal([]byte(raw), &inv))
		require.Contains(t, inv.AcceptURL, "/observer/accept?code="+inv.Code)
		f.clock.Advance(24*time.Hour + time.Second)
		status, raw = f.call("observer (view only)", "POST", "/api/observer-invitations/accept", map[string]string{"code": inv.Code})
		require.Equal(t, 410, status)
		require.Equal(t, optio.EINVITATIONEXPIRED, errCode(raw))
		code := f.freshInvitation()
		status, _ = f.call("observer (view only)", "POST", "/api/observer-invitations/accept", map[string]string{"code": code})
		require.Equal(t, 200, status)
		status, raw = f.call("observer (comments)", "POST", "/api/observer-invitations/accept", map[string]string{"code": code})
		require.Equal(t, 409, status)
		require.Equal(t, optio.EINVITATIONUSED, errCode(raw))

		// Comments: plain text escaped, length limit, rate limit, hiding.
		path := "/api/completions/" + f.Completion + "/comments"
		status, _ = f.call("observer (comments)", "POST", path, map[string]string{"body": strings.Repeat("é", 2001)})
		require.Equal(t, 400, status)
		status, raw = f.call("observer (comments)", "POST", path, map[string]string{"body": "<script>alert(1)</script> so proud"})
		require.Equal(t, 201, status)
		var cm optio.Comment
		require.NoError(t, json.Unmarshal([]byte(raw), &cm))
		_, page := f.call("parent", "GET", "/parent", nil)
		require.Contains(t, page, "&lt;script&gt;alert(1)&lt;/script&gt; so proud")
		require.NotContains(t, page, "<script>alert(1)")
		for i := 1; i < optio.CommentsPerHour; i++ {
			status, _ = f.call("observer (comments)", "POST", path, map[string]string{"body": "Yay"})
			require.Equal(t, 201, status)
		}
		status, raw = f.call("observer (comments)", "POST", path, map[string]string{"body": "One more"})
		require.Equal(t, 429, status)
		require.Equal(t, optio.ERATELIMIT, errCode(raw))
		f.clock.Advance(time.Hour + time.Second)
		status, _ = f.call("observer (comments)", "POST", path, map[string]string{"body": "Next hour"})
		require.Equal(t, 201, status)

		status, _ = f.call("student", "POST", "/api/comments/"+cm.ID+"/hide", nil)
		require.Equal(t, 204, status)
		_, raw = f.call("observer (view only)", "GET", path, nil)
		require.NotContains(t, raw, "so proud", "observers do not see hidden comments")
		_, raw = f.call("parent", "GET", path, nil)
		require.Contains(t, raw, `"hidden":true`, "the family sees what was hidden")

		// Revoking ends access at once.
		links, err := db.ObserverLinksOf(ctx, f.S.ID)
		require.NoError(t, err)
		for _, l := range links {
			if l.ObserverID == f.OC.ID {
				status, _ = f.call("parent", "DELETE", "/api/observers/"+l.ID, nil)
				require.Equal(t, 204, status)
			}
		}
		status, _ = f.call("observer (comments)", "POST", path, map[string]string{"body": "Still here?"})
		require.Equal(t, 404, status)

		// The trail records links, invitations, views and moderation.
		var actions []string
		rows, err := db.R.Query(`SELECT DISTINCT action FROM audit_log ORDER BY action`)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var a string
			require.NoError(t, rows.Scan(&a))
			actions = append(actions, a)
		}
		require.Subset(t, actions, []string{"comment.hide", "observer.view_comments", "observer_invitation.create", "observer_link.create",
			"observer_link.revoke", "parent.view_comments", "parent.view_dashboard", "parent_link.create", "parent_link_code.create"})
	})
}
