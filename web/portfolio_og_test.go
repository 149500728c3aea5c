package web

import (
	"bytes"
	"image/png"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
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
