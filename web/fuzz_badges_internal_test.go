package web

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store/storetest"
)

// checkStoredBadge fails unless b keeps every rule a badge has, and its
// image is a well-formed SVG with nothing in it but the fixed shapes.
func checkStoredBadge(t *testing.T, e *pfEnv, b *optio.Badge) {
	t.Helper()
	printable := func(s string) bool {
		return optio.ValidText(s) && strings.IndexFunc(s, unicode.IsControl) < 0
	}
	n := utf8.RuneCountInString(b.Name)
	switch {
	case n == 0 || n > 100 || b.Name != strings.TrimSpace(b.Name) || !printable(b.Name):
		t.Fatalf("stored name %q", b.Name)
	case utf8.RuneCountInString(b.Description) > 2000 || !optio.ValidText(b.Description):
		t.Fatalf("stored description %q", b.Description)
	case len(b.RequiredCourses) == 0 || len(b.RequiredCourses) > optio.MaxBadgeCourses:
		t.Fatalf("stored %d courses", len(b.RequiredCourses))
	case b.XPRequired < 0 || b.XPRequired > optio.MaxBadgeXP:
		t.Fatalf("stored xp_required %d", b.XPRequired)
	case b.Pillar != nil && !b.Pillar.Valid():
		t.Fatalf("stored pillar %q", *b.Pillar)
	}
	seen := map[string]bool{}
	for _, c := range b.RequiredCourses {
		if c == "" || len(c) > 200 || c != strings.TrimSpace(c) || seen[c] || !printable(c) {
			t.Fatalf("stored course id %q in %q", c, b.RequiredCourses)
		}
		seen[c] = true
	}
	res := e.send("GET", optio.BadgeImagePath(b.ID), nil, "", nil)
	if res.Code != 200 || res.Header().Get("Content-Type") != "image/svg+xml" || res.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("image: %d %v", res.Code, res.Header())
	}
	d := xml.NewDecoder(strings.NewReader(res.Body.String()))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the image of %q is not well-formed SVG: %v\n%s", b.Name, err, res.Body.String())
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "svg", "title", "polygon", "text":
			default:
				t.Fatalf("the image of %q has a <%s>", b.Name, se.Name.Local)
			}
		}
	}
}

// FuzzBadgeAdmin sends arbitrary badge payloads through the admin API
// (create and edit) and arbitrary form bodies through the admin page (create
// and edit), on every engine. Each answer is a success or a client error
// with its code; a saved badge keeps every rule and draws a well-formed
// image; a refused one changes nothing.
func FuzzBadgeAdmin(f *testing.F) {
	for _, s := range []struct{ body, form string }{
		{`{"name":"STEM Scholar","required_courses":["spark-physics"],"xp_required":1500,"pillar":"stem"}`, "name=Art+Star&courses=a,b&xp_required=10&pillar=art"},
		{`{"name":"<script>alert(1)</script>","description":"x","required_courses":["c"]}`, "name=%3Csvg+onload%3Dalert(1)%3E&courses=x"},
		{`{"name":"  ","required_courses":[]}`, "name=&courses="},
		{`{"name":"a\u0000b","required_courses":["c\u0000"]}`, "name=a%00b&courses=c%00"},
		{`{"name":"bell\u0007","required_courses":["x"]}`, "name=%FF%FE&courses=x"},
		{`{"name":"]]><![CDATA[","required_courses":["x","x"," x "]}`, "name=%E2%80%AEevil&courses=x%0Ay%0Dz"},
		{`{"xp_required":-1,"pillar":"space"}`, "xp_required=lots"},
		{`{"name":"` + strings.Repeat("n", 101) + `","required_courses":["c"]}`, "active=true&active=false"},
		{`{"required_courses":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20","21"]}`, "courses=" + strings.Repeat("c", 201)},
		{`{"name":5}`, "%zz"},
		{`{"name":"x"}{"name":"y"}`, "name=dup&name=dup2&courses=a"},
	} {
		f.Add([]byte(s.body), s.form)
	}
	type env struct {
		*pfEnv
		cookie *http.Cookie
		fixed  string
	}
	var envs []*env
	for _, d := range fuzzDialects() {
		e := &env{pfEnv: setupPortfolio(f, storetest.Open(f, d, nil))}
		e.cookie = e.sessionCookie(storetest.MustCreateUser(f, e.db, optio.RoleAdmin, "Ada", "Admin"))
		name, courses := "Fixed", []string{"c1"}
		b, err := e.db.CreateBadge(context.Background(), optio.BadgeInput{Name: &name, RequiredCourses: &courses})
		if err != nil {
			f.Fatal(err)
		}
		e.fixed = b.ID
		envs = append(envs, e)
	}
	const formType = "application/x-www-form-urlencoded"
	f.Fuzz(func(t *testing.T, body []byte, form string) {
		for _, e := range envs {
			ctx := context.Background()
			fixed := func() *optio.Badge {
				b, err := e.db.BadgeByID(ctx, e.fixed)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			saved := func(res interface{ Bytes() []byte }) *optio.Badge {
				var out badgeSaved
				if err := json.Unmarshal(res.Bytes(), &out); err != nil || out.Badge == nil {
					t.Fatalf("saved without a badge: %s", res.Bytes())
				}
				b, err := e.db.BadgeByID(ctx, out.Badge.ID)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			type try struct {
				method, path, contentType string
				body                      []byte
				ok                        int
				edits                     bool
			}
			for _, c := range []try{
				{"POST", "/api/admin/badges", "application/json", body, http.StatusCreated, false},
				{"PATCH", "/api/admin/badges/" + e.fixed, "application/json", body, http.StatusOK, true},
				{"POST", "/admin/spark-badges", formType, []byte(form), http.StatusSeeOther, false},
				{"POST", "/admin/spark-badges/" + e.fixed, formType, []byte(form), http.StatusSeeOther, true},
			} {
				count, before := e.rowCount(t, "badges"), fixed()
				res := e.send(c.method, c.path, e.cookie, c.contentType, c.body)
				if res.Code != c.ok {
					requireClientError(t, res, 400, 409, 413)
					if e.rowCount(t, "badges") != count || !reflect.DeepEqual(before, fixed()) {
						t.Fatalf("%s %s refused (%d) but changed badges", c.method, c.path, res.Code)
					}
					continue
				}
				var b *optio.Badge
				switch {
				case c.edits:
					b = fixed()
				case res.Code == http.StatusSeeOther:
					loc, err := url.Parse(res.Header().Get("Location"))
					if err != nil || !strings.HasPrefix(loc.Fragment, "b-") {
						t.Fatalf("created, redirected to %q", res.Header().Get("Location"))
					}
					if b, err = e.db.BadgeByID(ctx, strings.TrimPrefix(loc.Fragment, "b-")); err != nil {
						t.Fatal(err)
					}
				default:
					b = saved(res.Body)
				}
				if want := count + map[bool]int{false: 1, true: 0}[c.edits]; e.rowCount(t, "badges") != want {
					t.Fatalf("%s %s: %d badges, want %d", c.method, c.path, e.rowCount(t, "badges"), want)
				}
				checkStoredBadge(t, e.pfEnv, b)
			}
		}
	})
}
