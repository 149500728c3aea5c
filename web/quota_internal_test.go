package web

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestUploadQuota: with a 3,000-byte quota a student's uploads fit until the
// next one would pass it; that one answers 413 quota_exceeded with the bytes
// used and the quota, and nothing is stored. Files synced from Spark count
// toward the usage (they are stored whatever the quota: the sync never asks),
// so after a large synced file further uploads are refused, naming it in the
// figures.
func TestUploadQuota(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setupPortfolio(t, db)
		e.srv.Config.UploadQuotaBytes = 3000 // before the first request
		c := e.sessionCookie(e.student)
		upload := func(name string, n int) (int, errorDetail) {
			t.Helper()
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			part, err := w.CreateFormFile("file", name)
			require.NoError(t, err)
			_, _ = part.Write(bytes.Repeat([]byte("notes "), n/6))
			require.NoError(t, w.Close())
			res := e.send("POST", "/api/uploads", c, w.FormDataContentType(), buf.Bytes())
			var body errorBody
			_ = json.Unmarshal(res.Body.Bytes(), &body)
			return res.Code, body.Error
		}
		files := func() int { return e.rowCount(t, "files") }

		status, _ := upload("week1.txt", 1998)
		require.Equal(t, http.StatusCreated, status)
		status, refusal := upload("week2.txt", 1500)
		require.Equal(t, http.StatusRequestEntityTooLarge, status)
		require.Equal(t, optio.EQUOTA, refusal.Code)
		require.Equal(t, "1998", refusal.Fields["used_bytes"])
		require.Equal(t, "3000", refusal.Fields["quota_bytes"])
		require.Equal(t, "Your files use 2 KB of your 2.9 KB upload quota, and this file does not fit in the 1002 bytes left. Remove old evidence or ask your school for more room.", refusal.Message)
		require.Equal(t, 1, files(), "nothing stored")
		status, _ = upload("week2-short.txt", 996)
		require.Equal(t, http.StatusCreated, status, "a file that fits")

		// A Spark sync stores a 5,000-byte file past the quota (as jobs' sync
		// does: it never consults the quota); uploads are then refused at once.
		synced := &optio.File{OwnerID: e.student.ID, BlobKey: "sha256/ab/cd", SHA256: "abcd", Filename: "essay.pdf", ContentType: "application/pdf", Size: 5000}
		require.NoError(t, db.CreateFile(context.Background(), synced))
		status, refusal = upload("tiny.txt", 6)
		require.Equal(t, http.StatusRequestEntityTooLarge, status)
		require.Equal(t, optio.EQUOTA, refusal.Code)
		require.Equal(t, "7994", refusal.Fields["used_bytes"])
		require.Equal(t, "Your files use 7.8 KB of your 2.9 KB upload quota: there is no room for more. Remove old evidence or ask your school for more room.", refusal.Message)
		require.Equal(t, 3, files())
		require.Equal(t, 2.0, testutil.ToFloat64(e.srv.Metrics.Quota))
	})
}
