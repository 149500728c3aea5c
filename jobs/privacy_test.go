package jobs_test

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/internal/browsertest"
	"github.com/optio-edu/optio/jobs"
	"github.com/optio-edu/optio/openbadges"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

// student is a student seeded through the real paths with data that
// appears nowhere else: a unique name, email and file content.
type student struct {
	user        *optio.User
	sparkID     string
	given       string
	family      string
	email       string
	fileContent string
	parent      *optio.User
	observer    *optio.User
}

// seedStudent gives a Spark student everything Optio can hold about one:
// a synced submission with text, a text file and an image, a badge, a
// parent with consent, an observer (invitation note, comment), a tutor
// conversation, a session, audit rows and an export.
func seedStudent(t *testing.T, b *bundle, r *jobs.Runner) *student {
	t.Helper()
	ctx := context.Background()
	db := b.db
	uniq := strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	s := &student{sparkID: "spark-" + uniq, given: "Zelphine" + uniq, family: "Quorrow" + uniq,
		email: "zq" + uniq + "@pupils.example", fileContent: "my secret essay " + uniq + " about cells\n"}
	var err error
	s.user, err = db.ResolveSparkUser(ctx, optio.SparkIdentity{SparkUserID: s.sparkID, Email: s.email, GivenName: s.given,
		FamilyName: s.family, Role: optio.RoleStudent}, "sso")
	require.NoError(t, err)
	_, err = db.CreateBadge(ctx, optio.BadgeInput{Name: strp("Cell biologist " + uniq), RequiredCourses: &[]string{"course-1"}})
	require.NoError(t, err)

	qid := submit(t, db, s.sparkID, time.Now().Add(-time.Minute), "Essay by "+s.given+" "+s.family,
		spark.SubmissionFile{URL: b.srv.put("/"+uniq+".txt", []byte(s.fileContent)), Type: "text/plain", Filename: s.given + "-essay.txt"},
		spark.SubmissionFile{URL: b.srv.put("/"+uniq+".png", pngBytes(t)), Type: "image/png", Filename: "cell.png"})
	waitStatus(t, db, qid, optio.SyncCompleted)
	awarded, err := db.AwardBadges(ctx, s.user.ID)
	require.NoError(t, err)
	require.Len(t, awarded, 1, "finishing the course's only assignment earns the badge")

	s.parent = storetest.MustCreateUser(t, db, optio.RoleParent, "Pat", "Parent"+uniq)
	_, err = db.LinkParent(ctx, "", s.parent.ID, s.user.ID, "admin")
	require.NoError(t, err)
	_, err = db.SetParentConsent(ctx, s.parent.ID, s.user.ID, true, nil)
	require.NoError(t, err)
	inv, err := db.CreateInvitation(ctx, optio.NewInvitation{StudentID: s.user.ID, CreatedBy: s.parent.ID, CanComment: true,
		ExpiresInDays: 7, Note: "for granny, about " + s.given})
	require.NoError(t, err)
	s.observer = storetest.MustCreateUser(t, db, optio.RoleObserver, "Granny", "Observer"+uniq)
	_, err = db.AcceptInvitation(ctx, s.observer.ID, inv.Code)
	require.NoError(t, err)
	done, err := db.RecentCompletions(ctx, s.user.ID, 10, 0)
	require.NoError(t, err)
	require.Len(t, done, 1)
	_, err = db.AddComment(ctx, done[0].Completion.ID, s.observer.ID, "Well done "+s.given+"!")
	require.NoError(t, err)

	conv, err := db.CreateTutorConversation(ctx, optio.NewTutorConversation{UserID: s.user.ID, Mode: "study_buddy", Title: "Cells with " + s.given})
	require.NoError(t, err)
	q, err := db.AddTutorQuestion(ctx, optio.TutorQuestion{ConversationID: conv.ID, UserID: s.user.ID, Limit: -1,
		Text: "I am " + s.given + " " + s.family + ", what is a cell?", DayStart: time.Now().Add(-time.Hour), DayEnd: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, err = db.AnswerTutorQuestion(ctx, optio.TutorAnswer{QuestionID: q.ID, Text: "Hello " + s.given + ", a cell is…"})
	require.NoError(t, err)
	_, err = db.CreateSession(ctx, s.user.ID, "hash-"+uniq, time.Hour)
	require.NoError(t, err)
	require.NoError(t, db.Audit(ctx, s.parent.ID, "parent.view_dashboard", s.user.ID, map[string]any{"note": "looked at " + s.given}))
	require.NoError(t, db.Audit(ctx, s.user.ID, "student.something", "", map[string]any{"email": s.email}))

	exp, err := db.RequestExport(ctx, s.user.ID, s.parent.ID)
	require.NoError(t, err)
	waitExport(t, db, exp.ID)
	return s
}

func strp(s string) *string { return &s }

// waitExport waits for an export job to finish and returns the request.
func waitExport(t *testing.T, db *store.DB, id string) *optio.DataRequest {
	t.Helper()
	var req *optio.DataRequest
	require.Eventually(t, func() bool {
		var err error
		req, err = db.DataRequestByID(context.Background(), id)
		require.NoError(t, err)
		require.NotEqual(t, optio.RequestFailed, req.Status, "export failed: %s", req.Error)
		return req.Status == optio.RequestReady
	}, 30*time.Second, 20*time.Millisecond)
	return req
}

// An export holds every file as stored, the badges as verifiable OB 3.0
// credentials, records matching the database, and an index.html that a
// browser shows from the extracted folder without a server.
func TestExportZipMatchesTheDatabaseAndOpensOffline(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		r := b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs
		s := seedStudent(t, b, r)

		// Asking twice at once makes one request (and one job).
		a1, err := db.RequestExport(ctx, s.user.ID, s.user.ID)
		require.NoError(t, err)
		a2, err := db.RequestExport(ctx, s.user.ID, s.parent.ID)
		require.NoError(t, err)
		if a1.Live() {
			require.Equal(t, a1.ID, a2.ID, "a second request while one is live is the same request")
		}
		req := waitExport(t, db, a2.ID)
		require.Equal(t, req.Total, req.Done, "progress reaches the total")
		require.Positive(t, req.Total)

		zr, err := b.files.OpenExport(ctx, req.BlobKey)
		require.NoError(t, err)
		dir := t.TempDir()
		zipPath := filepath.Join(dir, "export.zip")
		out, err := os.Create(zipPath)
		require.NoError(t, err)
		_, err = io.Copy(out, zr)
		require.NoError(t, err)
		require.NoError(t, zr.Close())
		require.NoError(t, out.Close())
		z, err := zip.OpenReader(zipPath)
		require.NoError(t, err)
		defer z.Close()
		entries := map[string][]byte{}
		for _, f := range z.File {
			rc, err := f.Open()
			require.NoError(t, err)
			body, err := io.ReadAll(rc)
			require.NoError(t, err)
			rc.Close()
			entries[f.Name] = body
			p := filepath.Join(dir, "x", filepath.FromSlash(f.Name))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, body, 0o644))
		}

		// Every file, byte for byte as the database describes it.
		files, err := db.StudentFiles(ctx, s.user.ID)
		require.NoError(t, err)
		require.Len(t, files, 2)
		var textPath, imgPath string
		for _, f := range files {
			var found bool
			for name, body := range entries {
				if strings.HasPrefix(name, "files/"+f.ID+"-") {
					found = true
					sum := sha256.Sum256(body)
					require.Equal(t, f.SHA256, hex.EncodeToString(sum[:]), name)
					require.EqualValues(t, f.Size, len(body))
					if strings.HasPrefix(f.ContentType, "text/") {
						textPath = name
					} else {
						imgPath = name
					}
				}
			}
			require.True(t, found, "file %s (%s) is in the ZIP", f.ID, f.Filename)
		}
		require.Equal(t, s.fileContent, string(entries[textPath]))

		// Badges: a credential signed by Optio's issuer, for this student.
		awards, err := db.EarnedBadges(ctx, s.user.ID)
		require.NoError(t, err)
		require.Len(t, awards, 1)
		jwt := entries["badges/"+awards[0].Badge.ID+".jwt"]
		require.NotEmpty(t, jwt)
		is, err := openbadges.LoadIssuer(ctx, db, b.cfg.BaseURL)
		require.NoError(t, err)
		res, err := openbadges.Verify(ctx, string(jwt), localKeys{is}, time.Now())
		require.NoError(t, err)
		cred := res.Credential
		require.False(t, res.Revoked)
		require.Equal(t, awards[0].Badge.Name, cred.Name)
		var payload struct{ ID, Name string }
		require.NoError(t, json.Unmarshal(entries["badges/"+awards[0].Badge.ID+".json"], &payload))
		require.Equal(t, cred.ID, payload.ID, "the .json is the signed credential's content")
		require.Equal(t, cred.Name, payload.Name)

		// records.json: the database's rows.
		var doc struct {
			Format  string                       `json:"format"`
			Profile optio.User                   `json:"profile"`
			Records map[string][]json.RawMessage `json:"records"`
		}
		require.NoError(t, json.Unmarshal(entries["records.json"], &doc))
		require.Equal(t, s.email, doc.Profile.Email)
		require.Equal(t, s.given, doc.Profile.GivenName)
		done, err := db.RecentCompletions(ctx, s.user.ID, 100, 0)
		require.NoError(t, err)
		require.Len(t, doc.Records["completions"], len(done))
		require.Contains(t, string(doc.Records["completions"][0]), done[0].Completion.ID)
		xp, err := db.XPSummary(ctx, s.user.ID)
		require.NoError(t, err)
		sum := 0
		for _, row := range doc.Records["xp_ledger"] {
			var l struct{ Amount int }
			require.NoError(t, json.Unmarshal(row, &l))
			sum += l.Amount
		}
		require.Equal(t, xp.Total, sum)
		for _, section := range []string{"comments_received", "tutor_conversations", "parent_links", "observer_links", "spark_links", "spark_submissions", "sessions", "audit_log", "badges"} {
			require.NotEmpty(t, doc.Records[section], "records.json has %s", section)
		}
		require.Contains(t, string(doc.Records["comments_received"][0]), "Well done "+s.given)
		require.Contains(t, string(doc.Records["tutor_messages"][0]), "what is a cell?")
		require.Contains(t, string(doc.Records["spark_links"][0]), s.sparkID)
		require.NotContains(t, string(entries["records.json"]), "hash-", "session token hashes are not exported")
		for _, row := range doc.Records["audit_log"] {
			if strings.Contains(string(row), "parent_consent.set") {
				goto consentFound
			}
		}
		t.Fatalf("the consent history is in records.json's audit_log: %s", doc.Records["audit_log"])
	consentFound:

		// The portfolio page, opened from disk in a browser.
		index := string(entries["index.html"])
		require.Contains(t, index, `href="`+textPath+`"`, "links are relative to index.html")
		require.NotContains(t, index, "http://", "nothing points back at a server")
		bctx := browsertest.Start(t)
		require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("file://"+filepath.ToSlash(filepath.Join(dir, "x", "index.html")))))
		name, err := chromedp.Run(bctx, chromedp.Text("#student-name"))
		require.NoError(t, err)
		essay, err := chromedp.Run(bctx, chromedp.Text("article.completion pre"))
		require.NoError(t, err)
		loaded, err := chromedp.Run(bctx, chromedp.Poll[bool](`(() => { const i = document.querySelector('article.completion img'); return i && i.complete && i.naturalWidth > 0; })()`,
			chromedp.WithPollingTimeout(10*time.Second)))
		require.NoError(t, err)
		require.Equal(t, s.given+" "+s.family, name)
		require.Equal(t, "Essay by "+s.given+" "+s.family, essay)
		require.True(t, loaded, "the image loads from the extracted folder")
		require.Contains(t, index, `src="`+imgPath+`"`)
		require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("file://"+filepath.ToSlash(filepath.Join(dir, "x", filepath.FromSlash(textPath))))))
		fileText, err := chromedp.Run(bctx, chromedp.Text("body"))
		require.NoError(t, err)
		require.Equal(t, strings.TrimSpace(s.fileContent), strings.TrimSpace(fileText))
	})
}

// localKeys resolves the issuer's own keys and an empty status list, as
// Optio serves them, without HTTP.
type localKeys struct{ is *openbadges.Issuer }

func (l localKeys) Key(_ context.Context, kid string) (jwk.Key, error) {
	for _, id := range []string{kid, strings.TrimPrefix(kid, l.is.KeyURL(""))} {
		if k, ok := l.is.PublicKey(id); ok {
			return k, nil
		}
	}
	return nil, fmt.Errorf("unknown key %s", kid)
}

func (localKeys) StatusList(context.Context, string) (*openbadges.StatusList, error) {
	return openbadges.NewStatusList(), nil
}

// After a deletion nothing in any table (enumerated from the schema
// catalog, River's included) nor any blob holds the student's name, email,
// id or file content; a later webhook for the same Spark id makes a new,
// empty provisional user.
func TestDeletionLeavesNoPersonalData(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		r := b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs
		s := seedStudent(t, b, r)
		needles := []string{s.given, s.family, s.email, strings.TrimSpace(s.fileContent), s.user.ID}
		// Precondition: the search finds them before the deletion (the
		// file's content lives in the blob store only).
		for _, n := range []string{s.given, s.family, s.email, s.user.ID} {
			require.NotEmpty(t, findInTables(t, db, n), "the search finds %q before deletion", n)
		}
		require.NotEmpty(t, findInBlobs(t, b.files, strings.TrimSpace(s.fileContent)))

		del, err := r.Privacy.DeleteStudent(ctx, s.user.ID, s.parent.ID)
		require.NoError(t, err)
		require.Len(t, del.BlobKeys, 3, "the text file, the image and the export ZIP")

		for _, n := range needles {
			require.Empty(t, findInTables(t, db, n), "no table holds %q after deletion", n)
			require.Empty(t, findInBlobs(t, b.files, n), "no blob holds %q after deletion", n)
		}
		// The other people stay, without their links to the student.
		_, err = db.UserByID(ctx, s.parent.ID)
		require.NoError(t, err)
		kids, err := db.ChildrenOf(ctx, s.parent.ID)
		require.NoError(t, err)
		require.Empty(t, kids)
		following, err := db.FollowedBy(ctx, s.observer.ID)
		require.NoError(t, err)
		require.Empty(t, following)

		// Spark sends the old id again: a new provisional user, none of the old data.
		_, err = db.UserBySparkID(ctx, s.sparkID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err), "the Spark link went with the student")
		qid := submit(t, db, s.sparkID, time.Now(), "new term", spark.SubmissionFile{URL: b.srv.put("/new.txt", []byte("fresh start\n")), Type: "text/plain", Filename: "new.txt"})
		waitStatus(t, db, qid, optio.SyncCompleted)
		fresh, err := db.UserBySparkID(ctx, s.sparkID)
		require.NoError(t, err)
		require.NotEqual(t, s.user.ID, fresh.ID)
		require.True(t, fresh.Provisional)
		kids, err = db.ChildrenOf(ctx, s.parent.ID)
		require.NoError(t, err)
		require.Empty(t, kids, "the new account is not linked to the old family")
		work, err := db.RecentCompletions(ctx, fresh.ID, 10, 0)
		require.NoError(t, err)
		require.Len(t, work, 1, "only the new submission")
		require.Equal(t, "new term", work[0].Evidence.Blocks[0].Content.Text)
	})
}

// A sync running while its student is deleted stops and brings nothing back.
func TestSyncDuringDeletionDoesNotResurrect(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setup(t, db)
		r := b.runner(t, nil)
		db = b.db // the runner's store: it inserts the jobs
		path := "/slow.txt"
		url := b.srv.put(path, []byte("slow file\n"))
		b.srv.holdPath(path)
		qid := submit(t, db, "spark-racer", time.Now(), "racing", spark.SubmissionFile{URL: url, Type: "text/plain", Filename: "slow.txt"})
		waitStatus(t, db, qid, optio.SyncProcessing)
		u, err := db.UserBySparkID(ctx, "spark-racer")
		require.NoError(t, err)
		_, err = r.Privacy.DeleteStudent(ctx, u.ID, "")
		require.NoError(t, err)
		b.srv.release(path)
		// The job ends (cancelled), and no user, completion or file row comes back.
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'spark_sync_submission'
				AND state IN ('available','running','retryable','scheduled')`).Scan(&n))
			return n == 0
		}, 30*time.Second, 20*time.Millisecond)
		for _, table := range []string{"users", "quest_task_completions", "files", "spark_assignment_submissions", "xp_ledger"} {
			var n int
			require.NoError(t, db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n))
			require.Zero(t, n, "%s is empty after the deleted student's sync ended", table)
		}
	})
}

// findInTables searches every column of every table in the database (the
// catalog's list, not a hand-written one) for needle and returns where it is.
func findInTables(t *testing.T, db *store.DB, needle string) []string {
	t.Helper()
	ctx := context.Background()
	type col struct{ table, column string }
	var cols []col
	if db.Dialect == store.SQLite {
		rows, err := db.R.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table'`)
		require.NoError(t, err)
		for rows.Next() {
			var c col
			require.NoError(t, rows.Scan(&c.table, &c.column))
			cols = append(cols, c)
		}
		require.NoError(t, rows.Close())
	} else {
		rows, err := db.R.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name IN (SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')`)
		require.NoError(t, err)
		for rows.Next() {
			var c col
			require.NoError(t, rows.Scan(&c.table, &c.column))
			cols = append(cols, c)
		}
		require.NoError(t, rows.Close())
	}
	require.Greater(t, len(cols), 100, "the catalog lists every table's columns")
	var hits []string
	for _, c := range cols {
		var n int
		q := fmt.Sprintf(`SELECT COUNT(*) FROM %q WHERE CAST(%q AS TEXT) LIKE $1`, c.table, c.column)
		require.NoError(t, db.R.QueryRowContext(ctx, q, "%"+needle+"%").Scan(&n), q)
		if n > 0 {
			hits = append(hits, c.table+"."+c.column)
		}
	}
	return hits
}

// findInBlobs returns the keys of stored objects whose bytes hold needle.
func findInBlobs(t *testing.T, files *filestore.Store, needle string) []string {
	t.Helper()
	ctx := context.Background()
	keys, err := files.Keys(ctx)
	require.NoError(t, err)
	var hits []string
	for _, k := range keys {
		var body []byte
		if strings.HasPrefix(k, "exports/") {
			rd, err := files.OpenExport(ctx, k)
			require.NoError(t, err)
			body, err = io.ReadAll(rd)
			require.NoError(t, err)
			rd.Close()
			// A ZIP's entries may be compressed: look inside too.
			z, err := zip.NewReader(strings.NewReader(string(body)), int64(len(body)))
			require.NoError(t, err)
			for _, f := range z.File {
				rc, err := f.Open()
				require.NoError(t, err)
				b, err := io.ReadAll(rc)
				require.NoError(t, err)
				rc.Close()
				body = append(body, b...)
			}
		} else {
			rd, err := files.Open(ctx, k)
			require.NoError(t, err)
			body, err = io.ReadAll(rd)
			require.NoError(t, err)
			rd.Close()
		}
		if strings.Contains(string(body), needle) {
			hits = append(hits, k)
		}
	}
	return hits
}
