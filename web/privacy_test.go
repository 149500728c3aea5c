package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// Export and deletion, asked by every kind of caller: only the student, a
// linked parent and an admin may; anyone else — another family, observers —
// gets 404 as for a child that does not exist. Deletion of a minor is the
// parent's (the student gets 403), of an adult the student's.
func TestPrivacyAuthorization(t *testing.T) {
	t.Parallel()
	eachFamily(t, func(t *testing.T, f *familyFixture) {
		export := "/api/students/" + f.S.ID + "/export"
		deletion := "/api/students/" + f.S.ID + "/deletion"
		for i, role := range roles {
			code, body := f.call(role, http.MethodPost, export, nil)
			//                     S    S2   P    P2   OC   ON   OR   Adm  anon
			require.Equal(t, want(202, 404, 202, 404, 404, 404, 404, 202, 401)[i], code, "%s exports: %s", role, body)
			code, body = f.call(role, http.MethodGet, export, nil)
			require.Equal(t, want(200, 404, 200, 404, 404, 404, 404, 200, 401)[i], code, "%s reads the export: %s", role, body)
		}
		// Asked three times, one request.
		var ids []string
		for _, role := range []string{"student", "parent", "admin"} {
			code, body := f.call(role, http.MethodPost, export, nil)
			require.Equal(t, http.StatusAccepted, code)
			ids = append(ids, jsonField(t, body, "id"))
		}
		require.Equal(t, ids[0], ids[1])
		require.Equal(t, ids[0], ids[2])

		for i, role := range roles {
			code, body := f.call(role, http.MethodPost, deletion, nil)
			//                     S    S2   P    P2   OC   ON   OR   Adm  anon
			require.Equal(t, want(403, 404, 202, 404, 404, 404, 404, 202, 401)[i], code, "%s deletes a minor: %s", role, body)
		}
		code, body := f.call("parent", http.MethodGet, deletion, nil)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, optio.RequestPending, jsonField(t, body, "status"))
		due, err := time.Parse(time.RFC3339Nano, jsonField(t, body, "due_at"))
		require.NoError(t, err)
		require.Equal(t, f.clock.Now().Add(72*time.Hour), due, "the default cooling-off is 72h")

		// Both the student's account page and the parent dashboard show it,
		// with a way to cancel.
		code, page := f.call("student", http.MethodGet, "/account", nil)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, "Deletion scheduled for "+due.Format("2 Jan 2006 15:04 UTC"))
		require.Contains(t, page, `action="/privacy/`+f.S.ID+`/deletion/cancel"`)
		code, page = f.call("parent", http.MethodGet, "/parent", nil)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, "Deletion scheduled for "+due.Format("2 Jan 2006 15:04 UTC"))
		require.Contains(t, page, "Export queued")

		// Others cannot cancel; the student can.
		for _, role := range []string{"other parent", "observer (comments)", "other student"} {
			code, _ := f.call(role, http.MethodDelete, deletion, nil)
			require.Equal(t, http.StatusNotFound, code, role)
		}
		code, _ = f.call("student", http.MethodPost, "/privacy/"+f.S.ID+"/deletion/cancel", url.Values{})
		require.Equal(t, http.StatusSeeOther, code)
		code, body = f.call("parent", http.MethodGet, deletion, nil)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, optio.RequestCancelled, jsonField(t, body, "status"))
		code, _ = f.call("parent", http.MethodDelete, deletion, nil)
		require.Equal(t, http.StatusNotFound, code, "nothing left to cancel")

		// An adult (age recorded by the parent) decides alone.
		_, err = f.db.SetParentConsent(context.Background(), f.P.ID, f.S.ID, true, ptrTime(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)))
		require.NoError(t, err)
		code, body = f.call("parent", http.MethodPost, deletion, nil)
		require.Equal(t, http.StatusForbidden, code, body)
		code, body = f.call("student", http.MethodPost, deletion, nil)
		require.Equal(t, http.StatusAccepted, code, body)

		// A form without the confirmation box deletes nothing.
		code, _ = f.call("parent", http.MethodPost, "/privacy/"+f.S2.ID+"/deletion", url.Values{"confirm": {"yes"}})
		require.Equal(t, http.StatusNotFound, code, "not the parent's child")

		// Download links: an unknown id or a wrong signature is 404.
		code, _ = f.call("anonymous", http.MethodGet, "/exports/"+ids[0]+"?sig=forged", nil)
		require.Equal(t, http.StatusNotFound, code)
		code, _ = f.call("anonymous", http.MethodGet, "/exports/not-an-id", nil)
		require.Equal(t, http.StatusNotFound, code)
	})
}

func ptrTime(t time.Time) *time.Time { return &t }

// jsonField reads one top-level string field of a JSON object.
func jsonField(t *testing.T, body, field string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m), body)
	s, _ := m[field].(string)
	return s
}
