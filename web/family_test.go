package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
	"github.com/optio-edu/optio/web"
)

// role names the callers of the authorization table, in column order.
var roles = []string{"student", "other student", "parent", "other parent", "observer (comments)", "observer (view only)", "revoked observer", "admin", "anonymous"}

// familyFixture is one family and its neighbours: student S with parent P
// and three observers (commenting, view-only, revoked), another family (S2,
// P2), an admin, and one completed task of S.
type familyFixture struct {
	t          *testing.T
	db         *store.DB
	srv        *httptest.Server
	clock      *optio.FakeClock
	S, S2      *optio.User
	P, P2      *optio.User
	OC, ON, OR *optio.User
	Admin      *optio.User
	Completion string
	tokens     map[string]string // role → session token
}

func newFamilyFixture(t *testing.T, d store.Dialect) *familyFixture {
	t.Helper()
	clock := optio.NewFakeClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	db := storetest.Open(t, d, clock)
	cfg, err := optio.LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	s := newServer(t, web.Deps{Config: cfg, Store: db, Logger: slog.New(slog.DiscardHandler), Clock: clock})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	f := &familyFixture{t: t, db: db, srv: srv, clock: clock, tokens: map[string]string{}}
	f.S = storetest.MustCreateUser(t, db, optio.RoleStudent, "Sam", "Lee")
	f.S2 = storetest.MustCreateUser(t, db, optio.RoleStudent, "Other", "Kid")
	f.P = storetest.MustCreateUser(t, db, optio.RoleParent, "Pat", "Lee")
	f.P2 = storetest.MustCreateUser(t, db, optio.RoleParent, "Other", "Parent")
	f.Admin = storetest.MustCreateUser(t, db, optio.RoleAdmin, "Ada", "Admin")
	ctx := context.Background()
	_, err = db.LinkParent(ctx, f.Admin.ID, f.P.ID, f.S.ID, optio.LinkedViaAdmin)
	require.NoError(t, err)
	_, err = db.LinkParent(ctx, f.Admin.ID, f.P2.ID, f.S2.ID, optio.LinkedViaAdmin)
	require.NoError(t, err)
	f.OC, _ = f.observe(f.S, true)
	f.ON, _ = f.observe(f.S, false)
	var revoked string
	f.OR, revoked = f.observe(f.S, true)
	require.NoError(t, db.RevokeObserverLink(ctx, f.S.ID, revoked))

	q := storetest.MustCreateQuest(t, db, "Robots", 50, optio.PillarSTEM)
	c, err := db.CompleteTask(ctx, optio.CompletionInput{UserID: f.S.ID, TaskID: q.Tasks[0].ID, Source: "optio",
		Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "I built a robot arm."}}}})
	require.NoError(t, err)
	f.Completion = c.Completion.ID

	for role, u := range map[string]*optio.User{"student": f.S, "other student": f.S2, "parent": f.P, "other parent": f.P2,
		"observer (comments)": f.OC, "observer (view only)": f.ON, "revoked observer": f.OR, "admin": f.Admin} {
		f.tokens[role] = f.session(u)
	}
	return f
}

// eachFamily runs fn as a parallel subtest on each store engine with a
// fresh fixture on a fake clock.
func eachFamily(t *testing.T, fn func(t *testing.T, f *familyFixture)) {
	t.Helper()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		fn(t, newFamilyFixture(t, d))
	})
}

// session signs u in and returns the cookie value.
func (f *familyFixture) session(u *optio.User) string {
	f.t.Helper()
	token := "tok-" + u.ID
	sum := sha256.Sum256([]byte(token))
	_, err := f.db.CreateSession(context.Background(), u.ID, hex.EncodeToString(sum[:]), time.Hour*24*365)
	require.NoError(f.t, err)
	return token
}

// observe makes a new observer following student through an accepted
// invitation, returning the observer and the link id.
func (f *familyFixture) observe(student *optio.User, canComment bool) (*optio.User, string) {
	f.t.Helper()
	ctx := context.Background()
	o := storetest.MustCreateUser(f.t, f.db, optio.RoleObserver, "Gran", "Lee")
	inv, err := f.db.CreateInvitation(ctx, optio.NewInvitation{StudentID: student.ID, CreatedBy: student.ID, CanComment: canComment})
	require.NoError(f.t, err)
	l, err := f.db.AcceptInvitation(ctx, o.ID, inv.Code)
	require.NoError(f.t, err)
	return o, l.ID
}

func (f *familyFixture) freshStudent() *optio.User {
	return storetest.MustCreateUser(f.t, f.db, optio.RoleStudent, "Fresh", "Student")
}

func (f *familyFixture) freshLinkCode() string {
	lc, err := f.db.CreateLinkCode(context.Background(), f.freshStudent().ID)
	require.NoError(f.t, err)
	return lc.Code
}

func (f *familyFixture) freshInvitation() string {
	s := f.freshStudent()
	inv, err := f.db.CreateInvitation(context.Background(), optio.NewInvitation{StudentID: s.ID, CreatedBy: s.ID, CanComment: true})
	require.NoError(f.t, err)
	return inv.Code
}

// freshComment is a new comment on S's completion by a new commenting observer.
func (f *familyFixture) freshComment() string {
	o, _ := f.observe(f.S, true)
	c, err := f.db.AddComment(context.Background(), f.Completion, o.ID, "Well done!")
	require.NoError(f.t, err)
	return c.ID
}

// call sends a request as role: JSON bodies to /api/, form bodies elsewhere.
// It does not follow redirects.
func (f *familyFixture) call(role, method, path string, body any) (int, string) {
	f.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		require.NoError(f.t, err)
		rd, ct = strings.NewReader(string(raw)), "application/json"
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	require.NoError(f.t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if tok, ok := f.tokens[role]; ok {
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: tok})
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// want lists expected statuses in roles order.
func want(s ...int) []int { return s }

// TestFamilyAuthorization calls every endpoint of the family features as
// every kind of caller and asserts the exact status. Reads of another
// family's child answer 404, as for a child that does not exist.
func TestFamilyAuthorization(t *testing.T) {
	t.Parallel()
	type req func(f *familyFixture) (path string, body any)
	rows := []struct {
		method string
		name   string
		req    req
		want   []int //      S    S2   P    P2   OC   ON   OR   Adm  anon
	}{
		{"POST", "/api/student/link-codes", func(f *familyFixture) (string, any) { return "/api/student/link-codes", nil },
			want(201, 201, 403, 403, 403, 403, 403, 403, 401)},
		{"POST", "/api/parent/links", func(f *familyFixture) (string, any) {
			return "/api/parent/links", map[string]string{"code": f.freshLinkCode()}
		}, want(403, 403, 201, 201, 403, 403, 403, 403, 401)},
		{"POST", "/api/admin/parent-links", func(f *familyFixture) (string, any) {
			p := storetest.MustCreateUser(f.t, f.db, optio.RoleParent, "New", "Parent")
			return "/api/admin/parent-links", map[string]string{"parent_id": p.ID, "student_id": f.freshStudent().ID}
		}, want(403, 403, 403, 403, 403, 403, 403, 201, 401)},
		{"DELETE", "/api/admin/parent-links/{parent}/{student}", func(f *familyFixture) (string, any) {
			p := storetest.MustCreateUser(f.t, f.db, optio.RoleParent, "New", "Parent")
			s := f.freshStudent()
			_, err := f.db.LinkParent(context.Background(), f.Admin.ID, p.ID, s.ID, optio.LinkedViaAdmin)
			require.NoError(f.t, err)
			return "/api/admin/parent-links/" + p.ID + "/" + s.ID, nil
		}, want(403, 403, 403, 403, 403, 403, 403, 204, 401)},
		{"GET", "/api/parent/students/{S}/dashboard", func(f *familyFixture) (string, any) {
			return "/api/parent/students/" + f.S.ID + "/dashboard", nil
		}, want(403, 403, 200, 404, 403, 403, 403, 200, 401)},
		{"POST", "/api/parent/students/{S}/consent", func(f *familyFixture) (string, any) {
			return "/api/parent/students/" + f.S.ID + "/consent", map[string]any{"consent": true}
		}, want(403, 403, 200, 404, 403, 403, 403, 403, 401)},
		{"POST", "/api/observer-invitations", func(f *familyFixture) (string, any) {
			return "/api/observer-invitations", map[string]any{"student_id": f.S.ID, "can_comment": true}
		}, want(201, 404, 201, 404, 403, 403, 403, 403, 401)},
		{"POST", "/api/observer-invitations/accept", func(f *familyFixture) (string, any) {
			return "/api/observer-invitations/accept", map[string]string{"code": f.freshInvitation()}
		}, want(403, 403, 403, 403, 200, 200, 200, 403, 401)},
		{"GET", "/api/students/{S}/observers", func(f *familyFixture) (string, any) {
			return "/api/students/" + f.S.ID + "/observers", nil
		}, want(200, 404, 200, 404, 403, 403, 404, 200, 401)},
		{"DELETE", "/api/observers/{link}", func(f *familyFixture) (string, any) {
			_, link := f.observe(f.S, true)
			return "/api/observers/" + link, nil
		}, want(204, 404, 204, 404, 403, 403, 404, 204, 401)},
		{"GET", "/api/observer/students", func(f *familyFixture) (string, any) { return "/api/observer/students", nil },
			want(403, 403, 403, 403, 200, 200, 200, 403, 401)},
		{"POST", "/api/completions/{C}/comments", func(f *familyFixture) (string, any) {
			return "/api/completions/" + f.Completion + "/comments", map[string]string{"body": "Great work!"}
		}, want(403, 404, 403, 404, 201, 403, 404, 403, 401)},
		{"GET", "/api/completions/{C}/comments", func(f *familyFixture) (string, any) {
			return "/api/completions/" + f.Completion + "/comments", nil
		}, want(200, 404, 200, 404, 200, 200, 404, 200, 401)},
		{"POST", "/api/comments/{id}/hide", func(f *familyFixture) (string, any) {
			return "/api/comments/" + f.freshComment() + "/hide", nil
		}, want(204, 404, 204, 404, 403, 403, 404, 204, 401)},

		{"GET", "/parent", func(f *familyFixture) (string, any) { return "/parent", nil },
			want(403, 403, 200, 200, 403, 403, 403, 403, 303)},
		{"POST", "/parent/links", func(f *familyFixture) (string, any) {
			return "/parent/links", url.Values{"code": {f.freshLinkCode()}}
		}, want(403, 403, 303, 303, 403, 403, 403, 403, 303)},
		{"POST", "/parent/students/{S}/consent", func(f *familyFixture) (string, any) {
			return "/parent/students/" + f.S.ID + "/consent", url.Values{"consent": {"yes"}}
		}, want(403, 403, 303, 404, 403, 403, 403, 403, 303)},
		{"POST", "/parent/students/{S}/invitations", func(f *familyFixture) (string, any) {
			return "/parent/students/" + f.S.ID + "/invitations", url.Values{"can_comment": {"yes"}}
		}, want(403, 403, 201, 404, 403, 403, 403, 403, 303)},
		{"GET", "/family", func(f *familyFixture) (string, any) { return "/family", nil },
			want(200, 200, 403, 403, 403, 403, 403, 403, 303)},
		{"POST", "/family/link-codes", func(f *familyFixture) (string, any) { return "/family/link-codes", url.Values{} },
			want(201, 201, 403, 403, 403, 403, 403, 403, 303)},
		{"POST", "/family/invitations", func(f *familyFixture) (string, any) { return "/family/invitations", url.Values{"note": {"Hi"}} },
			want(201, 201, 403, 403, 403, 403, 403, 403, 303)},
		{"POST", "/observers/{link}/revoke", func(f *familyFixture) (string, any) {
			_, link := f.observe(f.S, false)
			return "/observers/" + link + "/revoke", url.Values{}
		}, want(303, 404, 303, 404, 403, 403, 403, 403, 303)},
		{"POST", "/comments/{id}/hide", func(f *familyFixture) (string, any) {
			return "/comments/" + f.freshComment() + "/hide", url.Values{}
		}, want(303, 404, 303, 404, 403, 403, 403, 403, 303)},
		{"GET", "/observer", func(f *familyFixture) (string, any) { return "/observer", nil },
			want(403, 403, 403, 403, 200, 200, 200, 403, 303)},
		{"GET", "/observer/students/{S}", func(f *familyFixture) (string, any) { return "/observer/students/" + f.S.ID, nil },
			want(403, 403, 403, 403, 200, 200, 404, 403, 303)},
		{"POST", "/observer/completions/{C}/comments", func(f *familyFixture) (string, any) {
			return "/observer/completions/" + f.Completion + "/comments", url.Values{"body": {"Proud of you"}}
		}, want(403, 403, 403, 403, 303, 403, 404, 403, 303)},
		{"GET", "/observer/accept", func(f *familyFixture) (string, any) { return "/observer/accept?code=ABCD", nil },
			want(200, 200, 200, 200, 200, 200, 200, 200, 200)},
		{"POST", "/observer/accept", func(f *familyFixture) (string, any) {
			return "/observer/accept", url.Values{"code": {f.freshInvitation()}}
		}, want(403, 403, 403, 403, 303, 303, 303, 403, 303)},
	}
	eachFamily(t, func(t *testing.T, f *familyFixture) {
		for _, row := range rows {
			require.Len(t, row.want, len(roles), row.name)
			for i, role := range roles {
				path, body := row.req(f)
				got, raw := f.call(role, row.method, path, body)
				require.Equal(t, row.want[i], got, "%s %s as %s: %s", row.method, row.name, role, raw)
			}
		}
	})
}
