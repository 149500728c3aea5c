package web

import (
	"bytes"
	"image/png"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/openbadges"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestPortfolioOGImage: a portfolio strangers may see has a 1200×630 PNG
// link preview, kept until the portfolio changes; any other has none, for
// anyone, its owner included, and its page does not name one.
func TestPortfolioOGImage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.everyEvidence()
		v := e.viewers()
		og := "/portfolio/" + e.student.PortfolioSlug + "/og.png"

		res := e.do("GET", og, nil, nil)
		require.Equal(t, http.StatusOK, res.Code)
		require.Equal(t, "image/png", res.Header().Get("Content-Type"))
		cfg, err := png.DecodeConfig(bytes.NewReader(res.Body.Bytes()))
		require.NoError(t, err)
		require.Equal(t, 1200, cfg.Width)
		require.Equal(t, 630, cfg.Height)
		etag := res.Header().Get("ETag")
		require.NotEmpty(t, etag)
		require.Equal(t, http.StatusNotModified, e.do("GET", og, nil, map[string]string{"If-None-Match": etag}).Code)
		again := e.do("GET", og, nil, nil)
		require.Equal(t, etag, again.Header().Get("ETag"), "the same picture while nothing changed")
		e.complete(storetest.MustCreateQuest(t, db, "Bird count", 30, optio.PillarSTEM).Tasks[0].ID, "optio",
			optio.BlockInput{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "Forty sparrows"}})
		require.NotEqual(t, etag, e.do("GET", og, nil, nil).Header().Get("ETag"), "new work, new numbers")

		for _, c := range []struct {
			name  string
			setup func()
		}{
			{"private", func() { e.setVisibility(optio.VisibilityPrivate) }},
			{"school only", func() { e.setVisibility(optio.VisibilitySchool) }},
			{"waiting for consent", func() { e.setVisibility(optio.VisibilityPublic); e.setAge(14) }},
		} {
			c.setup()
			for _, who := range []*http.Cookie{nil, v.owner, v.parent} {
				require.Equal(t, http.StatusNotFound, e.do("GET", og, who, nil).Code, c.name)
			}
			require.NotContains(t, e.do("GET", "/portfolio/"+e.student.PortfolioSlug, v.owner, nil).Body.String(), "og.png", c.name)
		}
		require.Equal(t, http.StatusNotFound, e.do("GET", "/portfolio/nobody/og.png", nil, nil).Code)
	})
}

// TestPortfolioBadgeCredential: the showcase's credential link gives anyone
// who may see the portfolio the signed credential of an earned badge, which
// verifies against Optio's key set; not an unearned badge, and nothing of a
// portfolio the caller may not see.
func TestPortfolioBadgeCredential(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.everyEvidence()
		ctx := t.Context()
		name, courses := "Storyteller", []string{"c-101"}
		earned, err := db.CreateBadge(ctx, optio.BadgeInput{Name: &name, RequiredCourses: &courses})
		require.NoError(t, err)
		e.exec(`INSERT INTO user_badges (id, user_id, badge_id, earned_at, evidence) VALUES ($1,$2,$3,$4,'{}')`,
			uuid.NewString(), e.student.ID, earned.ID, testNow)
		name2, courses2 := "Explorer", []string{"c-999"}
		open, err := db.CreateBadge(ctx, optio.BadgeInput{Name: &name2, RequiredCourses: &courses2})
		require.NoError(t, err)
		cred := func(id string) string {
			return "/portfolio/" + e.student.PortfolioSlug + "/badges/" + id + "/credential"
		}

		res := e.do("GET", cred(earned.ID), nil, nil)
		require.Equal(t, http.StatusOK, res.Code, res.Body.String())
		require.Equal(t, "application/vc+jwt", res.Header().Get("Content-Type"))
		require.Contains(t, res.Header().Get("Content-Disposition"), `filename="optio-badge-storyteller.jwt"`)
		jwks := e.do("GET", "/.well-known/jwks.json", nil, nil)
		require.Equal(t, http.StatusOK, jwks.Code)
		set, err := jwk.Parse(jwks.Body.Bytes())
		require.NoError(t, err)
		c, err := openbadges.Verify(res.Body.String(), set)
		require.NoError(t, err)
		require.Equal(t, "Storyteller", c.CredentialSubject.Achievement.Name)

		require.Equal(t, http.StatusNotFound, e.do("GET", cred(open.ID), nil, nil).Code, "not earned")
		e.setVisibility(optio.VisibilityPrivate)
		res = e.do("GET", cred(earned.ID), nil, nil)
		require.Equal(t, http.StatusNotFound, res.Code)
		require.NotContains(t, res.Body.String(), "eyJ")
		require.Equal(t, http.StatusOK, e.do("GET", cred(earned.ID), e.sessionCookie(e.student), nil).Code, "the owner still may")
	})
}
