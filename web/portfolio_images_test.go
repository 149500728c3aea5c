package web

import (
	"image/jpeg"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/sandbox"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestPortfolioImagesBrowsersCannotShow: an image with a web rendition is
// shown through the rendition with the original downloadable; one without
// (a HEIC image sequence Optio cannot convert) is a "download to view" card,
// never a broken <img>. The public JSON carries both URLs.
func TestPortfolioImagesBrowsersCannotShow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		q := e.sparkQuest("c-7", "Art", "Art studio", 2)
		orig := e.file("IMG_7.HEIC", testPNG(t, 4, 4))
		orig.ContentType, orig.Filename = "image/heic", "IMG_7.HEIC"
		preview := e.file("IMG_7.HEIC.jpg", testPNG(t, 5, 5))
		b := fileBlock(optio.BlockImage, orig, false, nil)
		b.Preview = preview
		v := e.complete(q.Tasks[0].ID, "spark", b)
		seq := e.file("burst.heics", testPNG(t, 6, 6))
		seq.ContentType = "image/heic-sequence"
		w := e.complete(q.Tasks[1].ID, "spark", fileBlock(optio.BlockImage, seq, false, nil))
		e.setVisibility(optio.VisibilityPublic)

		res := e.do("GET", "/portfolio/"+e.student.PortfolioSlug, nil, nil)
		require.Equal(t, 200, res.Code)
		page := res.Body.String()
		img := v.Evidence.Blocks[0]
		require.NotEmpty(t, img.Content.PreviewFileID)
		require.Contains(t, page, `<a class="sc-thumb" href="/files/`+img.Content.PreviewFileID+`?b=`+img.ID+`"`)
		require.Contains(t, page, `<img src="/files/`+img.Content.PreviewFileID+`/thumb?b=`+img.ID+`"`, "the card shows the rendition's thumbnail")
		require.Contains(t, page, `href="/files/`+img.Content.FileID+`?b=`+img.ID+`" download="IMG_7.HEIC">Download the original</a>`)
		burst := w.Evidence.Blocks[0]
		require.NotContains(t, page, `<img src="/files/`+burst.Content.FileID)
		require.Contains(t, page, `<p class="sc-doc-type">Image a browser cannot show</p>`)
		require.Contains(t, page, `download="burst.heics">Download to view it</a>`)

		// The rendition is served with the block's access check.
		got := e.do("GET", "/files/"+img.Content.PreviewFileID+"?b="+img.ID, nil, nil)
		require.Equal(t, 200, got.Code)
		require.Equal(t, "image/png", got.Header().Get("Content-Type"))
		require.Equal(t, 404, e.do("GET", "/files/"+img.Content.PreviewFileID+"?b="+burst.ID, nil, nil).Code)
		thumb := e.do("GET", "/files/"+img.Content.PreviewFileID+"/thumb?b="+img.ID, nil, nil)
		require.Equal(t, 200, thumb.Code)
		require.Equal(t, "image/jpeg", thumb.Header().Get("Content-Type"))
		require.Equal(t, 404, e.do("GET", "/files/"+img.Content.PreviewFileID+"/thumb?b="+burst.ID, nil, nil).Code, "a thumbnail has the file's access check")
		require.Equal(t, 404, e.do("GET", "/files/"+burst.Content.FileID+"/thumb?b="+burst.ID, nil, nil).Code, "no thumbnail of what cannot be read")

		js := e.do("GET", "/api/public/portfolio/"+e.student.PortfolioSlug, nil, nil)
		require.Equal(t, 200, js.Code)
		require.Contains(t, js.Body.String(), `"preview_url":"http://optio.test/files/`+img.Content.PreviewFileID)
	})
}

// TestPortfolioPDFFirstPage: a PDF's card shows its first page (a JPEG
// made by the thumbnail route under the file's own access rules); a PDF
// that cannot be drawn answers 404 there, which leaves its card as it was.
func TestPortfolioPDFFirstPage(t *testing.T) {
	t.Parallel()
	essay, ok := sandbox.Sample("essay-pdf")
	require.True(t, ok)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		q := e.sparkQuest("c-8", "Biology", "Biology essays", 2)
		v := e.complete(q.Tasks[0].ID, "spark", fileBlock(optio.BlockDocument, e.file(essay.Name, essay.Data), false, nil))
		w := e.complete(q.Tasks[1].ID, "spark", fileBlock(optio.BlockDocument, e.file("broken.pdf", testPDF), false, nil))
		e.setVisibility(optio.VisibilityPublic)

		page := e.do("GET", "/portfolio/"+e.student.PortfolioSlug, nil, nil).Body.String()
		doc, broken := v.Evidence.Blocks[0], w.Evidence.Blocks[0]
		thumb := "/files/" + doc.Content.FileID + "/thumb?b=" + doc.ID
		require.Contains(t, page, `<img class="sc-doc-page" src="`+thumb+`" alt="" loading="lazy">`)
		require.Contains(t, page, `<p class="sc-doc-type">PDF document</p>`, "the card still names the document")

		got := e.do("GET", thumb, nil, nil)
		require.Equal(t, 200, got.Code)
		require.Equal(t, "image/jpeg", got.Header().Get("Content-Type"))
		img, err := jpeg.DecodeConfig(got.Body)
		require.NoError(t, err)
		require.Equal(t, filestore.ThumbSide, img.Height, "page 1 of a Letter PDF, ThumbSide high")
		require.Equal(t, 404, e.do("GET", "/files/"+broken.Content.FileID+"/thumb?b="+broken.ID, nil, nil).Code)

		e.setVisibility(optio.VisibilityPrivate)
		require.Equal(t, 404, e.do("GET", thumb, nil, nil).Code, "a stranger gets no page of a private portfolio")
		require.Equal(t, 200, e.do("GET", thumb, e.sessionCookie(e.student), nil).Code, "the student does")
	})
}
