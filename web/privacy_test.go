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
// parent's (the student gets 403), of an adult the student's; so is
// cancelling one (admins may always).
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

		// Both the student's account page and the parent dashboard show it;
		// only the parent's has a way to cancel: the parent asked.
		code, page := f.call("student", http.MethodGet, "/account", nil)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, "Deletion scheduled for "+due.Format("2 Jan 2006 15:04 UTC"))
		require.NotContains(t, page, `action="/privacy/`+f.S.ID+`/deletion/cancel"`)
		require.Contains(t, page, "Your parent asked for this: only a parent linked to your account can cancel it.")
		code, page = f.call("parent", http.MethodGet, "/parent", nil)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, "Deletion scheduled for "+due.Format("2 Jan 2006 15:04 UTC"))
		require.Contains(t, page, `action="/privacy/`+f.S.ID+`/deletion/cancel"`)
		require.Contains(t, page, "Export queued")

		// Cancelling a minor's deletion, by every caller: the parent and an
		// admin may; the student may not undo what the parent asked for.
		pending := func() string {
			t.Helper()
			code, body := f.call("parent", http.MethodGet, deletion, nil)
			require.Equal(t, http.StatusOK, code)
			return jsonField(t, body, "status")
		}
		for i, role := range roles {
			code, body := f.call("parent", http.MethodPost, deletion, nil)
			require.Equal(t, http.StatusAccepted, code, body)
			code, body = f.call(role, http.MethodDelete, deletion, nil)
			//                     S    S2   P    P2   OC   ON   OR   Adm  anon
			require.Equal(t, want(403, 404, 200, 404, 404, 404, 404, 200, 401)[i], code, "%s cancels a minor's deletion: %s", role, body)
			if code == http.StatusOK {
				require.Equal(t, optio.RequestCancelled, pending(), role)
			} else {
				require.Equal(t, optio.RequestPending, pending(), "%s changed nothing", role)
			}
		}
		code, body = f.call("student", http.MethodPost, "/privacy/"+f.S.ID+"/deletion/cancel", url.Values{})
		require.Equal(t, http.StatusForbidden, code, "the form refuses the student too")
		require.Contains(t, body, "only a parent linked to your account can cancel it")
		require.Equal(t, optio.RequestPending, pending())
		code, _ = f.call("parent", http.MethodPost, "/privacy/"+f.S.ID+"/deletion/cancel", url.Values{})
		require.Equal(t, http.StatusSeeOther, code)
		require.Equal(t, optio.RequestCancelled, pending())
		code, _ = f.call("parent", http.MethodDelete, deletion, nil)
		require.Equal(t, http.StatusNotFound, code, "nothing left to cancel")

		// An adult (age recorded by the parent) decides alone, and only they
		// (or an admin) cancel what they asked for.
		_, err = f.db.SetParentConsent(context.Background(), f.P.ID, f.S.ID, true, ptrTime(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)))
		require.NoError(t, err)
		code, body = f.call("parent", http.MethodPost, deletion, nil)
		require.Equal(t, http.StatusForbidden, code, body)
		for i, role := range roles {
			code, body := f.call("student", http.MethodPost, deletion, nil)
			require.Equal(t, http.StatusAccepted, code, body)
			code, body = f.call(role, http.MethodDelete, deletion, nil)
			//                     S    S2   P    P2   OC   ON   OR   Adm  anon
			require.Equal(t, want(200, 404, 403, 404, 404, 404, 404, 200, 401)[i], code, "%s cancels an adult's deletion: %s", role, body)
		}
		code, page = f.call("parent", http.MethodGet, "/parent", nil)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, "Your child is an adult: only they can cancel a deletion of their account.")

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
