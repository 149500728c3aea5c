package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// TestHostileJSONBodies sends oversized and deeply nested JSON to every JSON
// endpoint family a signed-in user or a stranger can reach: each answer is a
// clear 400 or 413 with a code, and nothing is written.
func TestHostileJSONBodies(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFamilyFixture(t, db.Dialect)
		q := storetest.MustCreateQuest(t, f.db, "Bridges", 40, optio.PillarSTEM)
		deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
		deepArray := `{"evidence":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`
		huge := `{"title":"` + strings.Repeat("x", 3<<20) + `"}`
		tables := []string{"users", "sessions", "quests", "tasks", "quest_task_completions", "evidence_document_blocks",
			"xp_ledger", "tutor_conversations", "observer_invitations", "parent_links"}
		before := map[string]int{}
		for _, tb := range tables {
			before[tb] = count(t, f.db, tb)
		}
		cases := []struct {
			name, role, method, path, body string
		}{
			{"register deep", "anonymous", "POST", "/api/auth/register", deep},
			{"register huge", "anonymous", "POST", "/api/auth/register", huge},
			{"login deep", "anonymous", "POST", "/api/auth/login", deep},
			{"login huge", "anonymous", "POST", "/api/auth/login", huge},
			{"profile deep", "student", "PATCH", "/api/me", deep},
			{"quest deep", "admin", "POST", "/api/admin/quests", deep},
			{"quest huge", "admin", "POST", "/api/admin/quests", huge},
			{"complete deep", "student", "POST", "/api/tasks/" + q.Tasks[0].ID + "/complete", deepArray},
			{"complete huge", "student", "POST", "/api/tasks/" + q.Tasks[0].ID + "/complete", huge},
			{"invitation deep", "student", "POST", "/api/observer-invitations", deep},
			{"invitation huge", "student", "POST", "/api/observer-invitations", huge},
			{"link code deep", "parent", "POST", "/api/parent/links", deep},
			{"badge deep", "admin", "POST", "/api/admin/badges", deep},
			{"badge huge", "admin", "POST", "/api/admin/badges", huge},
		}
		for _, c := range cases {
			req, err := http.NewRequest(c.method, f.srv.URL+c.path, strings.NewReader(c.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			if tok, ok := f.tokens[c.role]; ok {
				req.AddCookie(&http.Cookie{Name: "optio_session", Value: tok})
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err, c.name)
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			decodeBody(t, resp, &e)
			require.Contains(t, []int{400, 413}, resp.StatusCode, "%s: %d %+v", c.name, resp.StatusCode, e)
			require.Contains(t, []string{optio.EMALFORMED, optio.ETOOLARGE, optio.EINVALID}, e.Error.Code, c.name)
			require.NotEmpty(t, e.Error.Message, c.name)
		}
		for _, tb := range tables {
			require.Equal(t, before[tb], count(t, f.db, tb), "no rows written to %s", tb)
		}
	})
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.R.QueryRow(`SELECT COUNT(*) FROM `+table).Scan(&n))
	return n
}

func decodeBody(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v), "a JSON error body")
}
