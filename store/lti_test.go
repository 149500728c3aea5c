package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/store"
	"github.com/optio-edu/optio/store/storetest"
)

func mustLTIPlatform(t *testing.T, db *store.DB, issuer string) *optio.LTIPlatform {
	t.Helper()
	p := optio.LTIPlatform{Issuer: issuer, ClientID: "optio-client", DeploymentIDs: []string{"dep-1, dep-2"},
		AuthURL: "https://lms.test/auth", TokenURL: "https://lms.test/token", JWKSURL: "https://lms.test/jwks"}
	require.NoError(t, p.Normalize(false))
	created, err := db.CreateLTIPlatform(context.Background(), p)
	require.NoError(t, err)
	return created
}

func TestLTIPlatformRegistration(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := mustLTIPlatform(t, db, "https://lms.test")
		require.Equal(t, []string{"dep-1", "dep-2"}, p.DeploymentIDs)
		require.Equal(t, "https://lms.test", p.FrameOrigin, "the frame origin defaults to the authorization endpoint's")

		again := *p
		_, err := db.CreateLTIPlatform(ctx, again)
		require.Equal(t, optio.ECONFLICT, optio.ErrorCode(err), "one issuer + client id is one registration")

		got, err := db.LTIPlatformByID(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, p, got)
		byIss, err := db.LTIPlatformsByIssuer(ctx, "https://lms.test")
		require.NoError(t, err)
		require.Len(t, byIss, 1)

		require.NoError(t, db.DeleteLTIPlatform(ctx, p.ID))
		_, err = db.LTIPlatformByID(ctx, p.ID)
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(err))
		require.Equal(t, optio.ENOTFOUND, optio.ErrorCode(db.DeleteLTIPlatform(ctx, p.ID)))
	})
}

func TestLTIPlatformValidation(t *testing.T) {
	t.Parallel()
	p := optio.LTIPlatform{Issuer: " ", AuthURL: "http://lms.test/auth", TokenURL: "ftp://x", JWKSURL: "https://lms.test/jwks",
		FrameOrigin: "https://lms.test/path"}
	err := p.Normalize(false)
	require.Equal(t, optio.EINVALID, optio.ErrorCode(err))
	fields := err.(*optio.Error).Fields
	for _, f := range []string{"issuer", "client_id", "deployment_ids", "auth_url", "token_url", "frame_origin"} {
		require.Contains(t, fields, f)
	}
	require.NotContains(t, fields, "jwks_url")
	require.Contains(t, fields["auth_url"], "https", "an https Optio refuses http platform URLs")
}

func TestLTIStateIsSingleUseAndExpires(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clock := optio.NewFakeClock(start)
		db := storetest.Open(t, d, clock)
		ctx := context.Background()
		p := mustLTIPlatform(t, db, "https://lms.test")
		save := func(hash string) {
			require.NoError(t, db.SaveLTIState(ctx, optio.LTIState{StateHash: hash, Nonce: "n-" + hash, PlatformID: p.ID,
				ExpiresAt: clock.Now().Add(optio.LTIStateTTL)}))
		}
		save("s1")
		st, err := db.TakeLTIState(ctx, "s1")
		require.NoError(t, err)
		require.Equal(t, "n-s1", st.Nonce)
		_, err = db.TakeLTIState(ctx, "s1")
		require.Equal(t, optio.ELTIStateInvalid, optio.ErrorCode(err), "a state is spent by its first launch")

		save("s2")
		clock.Advance(optio.LTIStateTTL)
		_, err = db.TakeLTIState(ctx, "s2")
		require.Equal(t, optio.ELTIStateInvalid, optio.ErrorCode(err), "an expired state is refused")
		_, err = db.TakeLTIState(ctx, "never")
		require.Equal(t, optio.ELTIStateInvalid, optio.ErrorCode(err))
	})
}

func TestLTILaunchCreatesMapsAndRefusesReplays(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := mustLTIPlatform(t, db, "https://lms.test")
		other := mustLTIPlatform(t, db, "https://other-lms.test")
		launch := func(pl *optio.LTIPlatform, sub, role, nonce, email string) (*optio.LTILaunchResult, error) {
			return db.LTILaunch(ctx, optio.LTILaunch{Platform: pl, Subject: sub, Email: email, GivenName: "Given " + sub, FamilyName: "Family",
				Role: role, Nonce: nonce, NonceExpiry: time.Now().Add(time.Hour), ContextID: "course-1", ContextTitle: "Biology 9"})
		}
		stu, err := launch(p, "u-1", optio.LTICourseLearner, "n1", "ana@school.test")
		require.NoError(t, err)
		require.True(t, stu.Created)
		require.Equal(t, optio.RoleStudent, stu.User.Role)
		require.NotEmpty(t, stu.User.PortfolioSlug)
		require.Equal(t, "Biology 9", stu.Course.Title)

		_, err = launch(p, "u-1", optio.LTICourseLearner, "n1", "ana@school.test")
		require.Equal(t, optio.ELTINonceInvalid, optio.ErrorCode(err), "a nonce is used once")
		again, err := launch(p, "u-1", optio.LTICourseLearner, "n2", "ana@school.test")
		require.NoError(t, err)
		require.False(t, again.Created)
		require.Equal(t, stu.User.ID, again.User.ID)
		require.Equal(t, stu.Course.ID, again.Course.ID, "one course, one quest")

		// Another platform's user with the same sub and the same email is another person.
		foreign, err := launch(other, "u-1", optio.LTICourseLearner, "n1", "ana@school.test")
		require.NoError(t, err, "nonces are per platform")
		require.NotEqual(t, stu.User.ID, foreign.User.ID)
		require.Empty(t, foreign.User.Email, "a platform's email never reaches another account, nor takes a verified one's")
		require.NotEqual(t, stu.Course.QuestID, foreign.Course.QuestID)

		teacher, err := launch(p, "t-1", optio.LTICourseInstructor, "n3", "")
		require.NoError(t, err)
		require.Equal(t, optio.RoleObserver, teacher.User.Role)
		role, err := db.LTICourseRole(ctx, stu.Course.ID, teacher.User.ID)
		require.NoError(t, err)
		require.Equal(t, optio.LTICourseInstructor, role)

		progress, err := db.QuestProgressFor(ctx, stu.User.ID)
		require.NoError(t, err)
		require.Len(t, progress, 1, "a learner is enrolled in the course's quest")
		xp := 50
		task, err := db.CreateTask(ctx, stu.Course.QuestID, optio.TaskInput{Title: "Cells", Pillar: optio.PillarSTEM, XPValue: &xp})
		require.NoError(t, err)
		_, err = db.CompleteTask(ctx, optio.CompletionInput{UserID: stu.User.ID, TaskID: task.ID,
			Blocks: []optio.BlockInput{{BlockType: optio.BlockText, Content: optio.BlockContent{Text: "done"}}}})
		require.NoError(t, err)
		roster, err := db.LTICourseRoster(ctx, stu.Course.ID)
		require.NoError(t, err)
		require.Len(t, roster, 1, "only learners are on the roster")
		require.Equal(t, "Given u-1 Family", roster[0].Name)
		require.Equal(t, 1, roster[0].TasksDone)
		require.Equal(t, 1, roster[0].TasksTotal)
		require.Positive(t, roster[0].XP)

		mentor, err := db.LTILaunch(ctx, optio.LTILaunch{Platform: p, Subject: "m-1", Role: optio.LTICourseMentor, Nonce: "n4",
			NonceExpiry: time.Now().Add(time.Hour), MentorOf: []string{"u-1", "unknown"}})
		require.NoError(t, err)
		require.Equal(t, optio.RoleParent, mentor.User.Role)
		require.Equal(t, []string{stu.User.ID}, mentor.LinkedChildren)
	})
}

func TestLTILaunchNeverTakesOverAnAccountByEmail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := mustLTIPlatform(t, db, "https://lms.test")
		squatter, err := db.CreateUser(ctx, optio.NewUser{Email: "lia@school.test", PasswordHash: "x", GivenName: "Not", FamilyName: "Lia", Role: optio.RoleStudent})
		require.NoError(t, err)
		admin, err := db.CreateUser(ctx, optio.NewUser{Email: "head@school.test", PasswordHash: "x", GivenName: "Head", Role: optio.RoleAdmin, EmailVerified: true})
		require.NoError(t, err)

		res, err := db.LTILaunch(ctx, optio.LTILaunch{Platform: p, Subject: "lia", Email: "Lia@School.test", GivenName: "Lia",
			Role: optio.LTICourseLearner, Nonce: "a", NonceExpiry: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		require.NotEqual(t, squatter.ID, res.User.ID, "a pre-registered password account is never linked")
		require.Equal(t, "lia@school.test", res.User.Email, "the platform's user gets the email")
		sq, err := db.UserByID(ctx, squatter.ID)
		require.NoError(t, err)
		require.Empty(t, sq.Email, "the unverified holder loses its claim to the email")

		res, err = db.LTILaunch(ctx, optio.LTILaunch{Platform: p, Subject: "head", Email: "head@school.test", GivenName: "Fake",
			Role: optio.LTICourseInstructor, Nonce: "b", NonceExpiry: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		require.NotEqual(t, admin.ID, res.User.ID, "a verified account is not reached by email either")
		require.Empty(t, res.User.Email)
		require.Equal(t, optio.RoleObserver, res.User.Role)
	})
}
