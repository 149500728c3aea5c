package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/internal/s3test"
)

// The reader Open returns seeks, so http.ServeContent answers Range
// requests from it directly: the path the web layer takes.
func TestOpenServesRanges(t *testing.T) {
	t.Parallel()
	s3test.EachDriver(t, func(t *testing.T, blobURL string) {
		s, ctx := setup(t, blobURL), context.Background()
		content := MustPNG(t)
		obj, err := s.Put(ctx, bytes.NewReader(content), "a.png", testMax)
		require.NoError(t, err)

		rd, err := s.Open(ctx, obj.Key)
		require.NoError(t, err)
		defer rd.Close()
		req := httptest.NewRequest(http.MethodGet, "/files/x", nil)
		req.Header.Set("Range", "bytes=2-5")
		rec := httptest.NewRecorder()
		http.ServeContent(rec, req, "a.png", rd.ModTime(), rd)

		require.Equal(t, http.StatusPartialContent, rec.Code)
		require.Equal(t, content[2:6], rec.Body.Bytes())
	})
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// A download that fails mid-way (fetch's size cap, say) keeps its code.
func TestPutKeepsReaderErrorCode(t *testing.T) {
	t.Parallel()
	s3test.EachDriver(t, func(t *testing.T, blobURL string) {
		s := setup(t, blobURL)
		cause := optio.Errorf(optio.ETOOLARGE, "the file is larger than the 500 MB download limit")
		_, err := s.Put(context.Background(), io.MultiReader(bytes.NewReader([]byte("hello")), failingReader{cause}), "a.txt", testMax)
		require.True(t, errors.Is(err, cause))
		require.Equal(t, optio.ETOOLARGE, optio.ErrorCode(err))
	})
}
