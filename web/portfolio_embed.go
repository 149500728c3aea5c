package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// embedGrant lets the request it rides on see one student's portfolio as
// Spark shows it (accessEmbed): set from a verified, unreplayed embed token
// on /portfolio/{slug}/embed, or from a file grant (?g=) on /files/{id}.
type embedGrant struct {
	slug      string // the token's portfolio claim (embed page)
	studentID string // the grant's student (files)
	subject   string // the Spark user looking, for the audit log
	expires   time.Time
}

type embedGrantKey struct{}

func withEmbedGrant(ctx context.Context, g *embedGrant) context.Context {
	return context.WithValue(ctx, embedGrantKey{}, g)
}

// embedGrantFor reports whether the request carries a grant for student.
func embedGrantFor(ctx context.Context, student *optio.User) bool {
	g, _ := ctx.Value(embedGrantKey{}).(*embedGrant)
	if g == nil {
		return false
	}
	return (g.slug != "" && g.slug == student.PortfolioSlug) || (g.studentID != "" && g.studentID == student.ID)
}

// embedFromToken verifies the embed token in ?token= for the slug in the
// path: signed like an SSO token (SPARK_SSO_SECRET or the JWKS), purpose
// portfolio_embed, the same portfolio, and a nonce never seen before.
func (s *Server) embedFromToken(r *http.Request) (*http.Request, error) {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		return r, nil
	}
	if s.SSO == nil {
		return nil, optio.Errorf(spark.ESSONotConfigured, "Spark SSO is not configured: set SPARK_SSO_SECRET or SPARK_SSO_JWKS_URL.")
	}
	c, err := s.SSO.VerifyEmbed(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	if c.Portfolio != r.PathValue("slug") {
		return nil, &optio.Error{Code: spark.ETokenInvalidClaim, Message: "Claim portfolio names another portfolio than this page."}
	}
	if err := s.Store.AcceptEmbedNonce(r.Context(), c.Nonce, c.NonceExpiry()); err != nil {
		if optio.ErrorCode(err) == optio.ETokenReplayed {
			return nil, optio.Errorf(optio.ETokenReplayed, "This embed token was already used; Spark makes a new one for every view.")
		}
		return nil, err
	}
	g := &embedGrant{slug: c.Portfolio, subject: c.Subject, expires: c.ExpiresAt}
	return r.WithContext(withEmbedGrant(r.Context(), g)), nil
}

// fileGrantTTL is how long the file links of an embed stay usable.
const fileGrantTTL = 30 * time.Minute

// embedKey signs file grants: derived from the first SPARK_SSO_SECRET, so
// every Optio process agrees; a random per-process key otherwise (JWKS-only
// setups: a grant then works on the process that rendered the embed).
func (s *Server) embedKey() []byte {
	s.embedKeyOnce.Do(func() {
		if len(s.Config.SparkSSOSecrets) > 0 {
			m := hmac.New(sha256.New, []byte(s.Config.SparkSSOSecrets[0]))
			m.Write([]byte("optio portfolio embed file grant"))
			s.embedKeyBytes = m.Sum(nil)
			return
		}
		s.embedKeyBytes = make([]byte, 32)
		_, _ = rand.Read(s.embedKeyBytes)
	})
	return s.embedKeyBytes
}

// fileGrant is the ?g= value that lets an embed's images and files load.
func (s *Server) fileGrant(studentID string, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	m := hmac.New(sha256.New, s.embedKey())
	m.Write([]byte(studentID + "|" + e))
	return e + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// fileGrantRequest returns r with an embed grant when ?g= is a valid,
// unexpired grant for studentID.
func (s *Server) fileGrantRequest(r *http.Request, studentID string) *http.Request {
	g := r.URL.Query().Get("g")
	e, _, ok := strings.Cut(g, ".")
	if !ok {
		return r
	}
	sec, err := strconv.ParseInt(e, 10, 64)
	if err != nil || !s.now().Before(time.Unix(sec, 0)) {
		return r
	}
	if !hmac.Equal([]byte(g), []byte(s.fileGrant(studentID, time.Unix(sec, 0)))) {
		return r
	}
	return r.WithContext(withEmbedGrant(r.Context(), &embedGrant{studentID: studentID, expires: time.Unix(sec, 0)}))
}

// grantFiles adds a file grant to every file link of an embed view.
func (s *Server) grantFiles(v *portfolioView, studentID string) {
	g := "&g=" + url.QueryEscape(s.fileGrant(studentID, s.now().Add(fileGrantTTL)))
	add := func(p *string) {
		if *p != "" && strings.Contains(*p, "/files/") {
			*p += g
		}
	}
	for _, groups := range [][]workGroup{v.SparkCourses, v.Quests} {
		for gi := range groups {
			for ii := range groups[gi].Items {
				ev := groups[gi].Items[ii].Evidence
				for ei := range ev {
					add(&ev[ei].Path)
					add(&ev[ei].ShowPath)
					add(&ev[ei].FileURL)
					add(&ev[ei].PreviewURL)
					add(&ev[ei].ThumbPath)
					add(&ev[ei].ThumbURL)
				}
			}
		}
	}
}
