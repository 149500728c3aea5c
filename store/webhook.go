package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/optio-edu/optio"
)

// webhookAttempts bounds how often a webhook transaction is retried after a
// unique violation caused by a concurrent writer (two first-time webhooks for
// the same new student on PostgreSQL both try to create them; the loser's
// retry finds the winner's row).
const webhookAttempts = 3

// webhookTx runs fn in one write transaction, retrying on ECONFLICT.
func (db *DB) webhookTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.inTx(ctx, fn)
		if err == nil || attempt == webhookAttempts || optio.ErrorCode(err) != optio.ECONFLICT {
			return err
		}
	}
}

// claimDeliveryTx records webhookID as received, with ref (what the
// delivery created, for admins tracing a webhook) when it is known up front.
// It reports false when the id was claimed before, by this or any other
// process: the primary key decides, and on PostgreSQL a concurrent claim
// waits for the first to commit or roll back.
func (db *DB) claimDeliveryTx(ctx context.Context, tx *sql.Tx, webhookID, endpoint, ref string) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (webhook_id, endpoint, outcome, ref_id, received_at)
		VALUES ($1,$2,'accepted',$3,$4) ON CONFLICT (webhook_id) DO NOTHING`, webhookID, endpoint, nullString(ref), db.now())
	if err != nil {
		return false, translate(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// setDeliveryRefTx notes what a delivery created (a user, a course mapping)
// when it was not known at the claim.
func (db *DB) setDeliveryRefTx(ctx context.Context, tx *sql.Tx, webhookID, ref string) error {
	_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET ref_id = $1 WHERE webhook_id = $2`, ref, webhookID)
	return translate(err)
}

// syncSoon hands committed queue rows to the Enqueuer for their sync jobs.
// Sync jobs are enqueued after the commit, not inside the transaction: a
// pending row is the durable record (the sweeper gives any row without a
// job one), and batching the job inserts of many webhooks into one is a
// third of what a webhook costs (docs/PERFORMANCE.md). Without an Enqueuer
// the rows wait for the sweeper.
func (db *DB) syncSoon(queueIDs ...string) {
	if db.enqueue != nil && len(queueIDs) > 0 {
		db.enqueue.EnqueueSoon(queueIDs...)
	}
}

// AcceptSparkSubmission implements optio.SparkWebhookStore.
func (db *DB) AcceptSparkSubmission(ctx context.Context, webhookID string, ev optio.SparkSubmissionEvent) (*optio.SubmissionReceipt, error) {
	files := string(ev.FilesJSON)
	if strings.TrimSpace(files) == "" || files == "null" {
		files = "[]"
	}
	if db.Dialect == Postgres {
		rc, err := db.acceptSubmissionOneStatement(ctx, webhookID, ev, files)
		if err != nil {
			return nil, fmt.Errorf("accept spark submission %s: %w", webhookID, err)
		}
		if rc != nil {
			if !rc.Duplicate {
				db.syncSoon(rc.SyncID)
			}
			return rc, nil
		}
	}
	var rc *optio.SubmissionReceipt
	err := db.webhookTx(ctx, func(tx *sql.Tx) error {
		// The delivery's ref is its sync row, made below: one statement
		// fewer on the hottest path than noting the submission afterwards.
		rc = &optio.SubmissionReceipt{SyncID: newID()}
		fresh, err := db.claimDeliveryTx(ctx, tx, webhookID, optio.WebhookSubmission, rc.SyncID)
		if err != nil || !fresh {
			rc = &optio.SubmissionReceipt{Duplicate: !fresh}
			return err
		}
		u, err := db.resolveSparkUserTx(ctx, tx, optio.SparkIdentity{SparkUserID: ev.SparkUserID}, optio.LinkedViaWebhook)
		if err != nil {
			return err
		}
		rc.UserID = u.ID
		now := db.now()
		// A resubmission (same user and assignment, new webhook) replaces the
		// work, bumps the revision and marks it unsynced; the worker keys
		// completions and XP by (user, task), so nothing is awarded twice.
		err = tx.QueryRowContext(ctx, `INSERT INTO spark_assignment_submissions (id, user_id, spark_user_id, spark_assignment_id,
			spark_course_id, submission_text, submission_files, submitted_at, grade, synced_to_optio, last_webhook_id, revision, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,FALSE,$10,1,$11,$11)
			ON CONFLICT (user_id, spark_assignment_id) DO UPDATE SET spark_course_id = excluded.spark_course_id,
				submission_text = excluded.submission_text, submission_files = excluded.submission_files,
				submitted_at = excluded.submitted_at, grade = excluded.grade, synced_to_optio = FALSE,
				last_webhook_id = excluded.last_webhook_id, revision = spark_assignment_submissions.revision + 1,
				updated_at = excluded.updated_at
			RETURNING id, revision`,
			newID(), u.ID, ev.SparkUserID, ev.SparkAssignmentID, ev.SparkCourseID, ev.Text, files,
			ev.SubmittedAt.UTC().Truncate(time.Microsecond), deref(ev.Grade), webhookID, now).Scan(&rc.SubmissionID, &rc.Revision)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO spark_evidence_sync_queue (id, submission_id, revision, status, attempts, created_at, updated_at)
			VALUES ($1,$2,$3,$4,0,$5,$5)`, rc.SyncID, rc.SubmissionID, rc.Revision, optio.SyncPending, now); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("accept spark submission %s: %w", webhookID, err)
	}
	if !rc.Duplicate {
		db.syncSoon(rc.SyncID)
	}
	return rc, nil
}

// acceptSubmissionSQL is a submission webhook in one statement, its own
// transaction: claim the delivery, find the student by their Spark link or
// create them (a provisional student with the admin's default visibility,
// and their link), upsert the submission and insert its queue row. All of
// it commits together or not at all, in one round trip instead of six for a
// known student and ten for a new one (docs/PERFORMANCE.md). Nothing past
// the claim is written when the webhook-id was claimed before, and nothing
// at all when the student is known but the full path would change their
// user row (refreshSparkUserTx: a provisional user with an email; a named
// student without a slug) — the caller then runs that path. Two first
// deliveries for one new student race on the link's unique key; the loser's
// statement fails whole and the caller runs the full path, which finds the
// winner's student. Parameters are cast to their columns' types, as a
// VALUES list would infer them.
const acceptSubmissionSQL = `WITH k AS (
		SELECT u.id, NOT (u.provisional AND COALESCE(u.email, '') <> '')
			AND NOT (u.role = 'student' AND COALESCE(u.portfolio_slug, '') = '' AND (u.given_name <> '' OR u.family_name <> '')) AS ok
		FROM lms_integrations l JOIN users u ON u.id = l.user_id
		WHERE l.platform = $1 AND l.external_user_id = $2
	), d AS (
		INSERT INTO webhook_deliveries (webhook_id, endpoint, outcome, ref_id, received_at)
		SELECT $3::text, $4::text, 'accepted', $5::text, $6::timestamptz WHERE NOT EXISTS (SELECT 1 FROM k WHERE NOT k.ok)
		ON CONFLICT (webhook_id) DO NOTHING
		RETURNING webhook_id
	), nu AS (
		INSERT INTO users (id, role, provisional, email_verified, portfolio_visibility, created_at, updated_at)
		SELECT $15::uuid, $16::text, TRUE, FALSE,
			COALESCE((SELECT value FROM app_settings WHERE key = $17), $18::text), $6, $6
		FROM d WHERE NOT EXISTS (SELECT 1 FROM k)
		RETURNING id
	), nl AS (
		INSERT INTO lms_integrations (id, user_id, platform, external_user_id, linked_via, created_at, updated_at)
		SELECT $19::uuid, nu.id, $1, $2, $20::text, $6, $6 FROM nu
	), u AS (
		SELECT id FROM k UNION ALL SELECT id FROM nu
	), s AS (
		INSERT INTO spark_assignment_submissions (id, user_id, spark_user_id, spark_assignment_id,
			spark_course_id, submission_text, submission_files, submitted_at, grade, synced_to_optio, last_webhook_id, revision, created_at, updated_at)
		SELECT $7::uuid, u.id, $2::text, $8::text, $9::text, $10::text, $11::jsonb, $12::timestamptz, $13::text, FALSE, d.webhook_id, 1, $6, $6
		FROM u, d
		ON CONFLICT (user_id, spark_assignment_id) DO UPDATE SET spark_course_id = excluded.spark_course_id,
			submission_text = excluded.submission_text, submission_files = excluded.submission_files,
			submitted_at = excluded.submitted_at, grade = excluded.grade, synced_to_optio = FALSE,
			last_webhook_id = excluded.last_webhook_id, revision = spark_assignment_submissions.revision + 1,
			updated_at = excluded.updated_at
		RETURNING id, user_id, revision
	), q AS (
		INSERT INTO spark_evidence_sync_queue (id, submission_id, revision, status, attempts, created_at, updated_at)
		SELECT $5::uuid, s.id, s.revision, $14::text, 0, $6, $6 FROM s
	)
	SELECT EXISTS (SELECT 1 FROM k WHERE NOT k.ok), s.id, s.user_id, s.revision FROM (SELECT 1) one LEFT JOIN s ON TRUE`

// acceptSubmissionOneStatement runs acceptSubmissionSQL (PostgreSQL only:
// SQLite has no data-modifying WITH), group-committed with other requests'
// statements (groupcommit.go). A nil receipt without an error means
// the full path must run.
func (db *DB) acceptSubmissionOneStatement(ctx context.Context, webhookID string, ev optio.SparkSubmissionEvent, files string) (*optio.SubmissionReceipt, error) {
	sparkUserID := ev.SparkUserID
	if sparkUserID == "" || strings.TrimSpace(sparkUserID) != sparkUserID {
		return nil, nil // the full path trims the id for the lookup and keeps it as sent
	}
	syncID := newID()
	var fullPath bool
	var subID, userID sql.NullString
	var revision sql.NullInt64
	args := []any{optio.PlatformSpark, sparkUserID, webhookID, optio.WebhookSubmission,
		syncID, db.now(), newID(), ev.SparkAssignmentID, ev.SparkCourseID, ev.Text, files,
		ev.SubmittedAt.UTC().Truncate(time.Microsecond), deref(ev.Grade), optio.SyncPending,
		newID(), optio.RoleStudent, settingSparkDefaultVisibility, string(optio.VisibilityPublic),
		newID(), optio.LinkedViaWebhook}
	err := db.group.queryRow(ctx, acceptSubmissionSQL, args, func(row scanner) error {
		return row.Scan(&fullPath, &subID, &userID, &revision)
	})
	switch {
	case optio.ErrorCode(translate(err)) == optio.ECONFLICT:
		return nil, nil // lost a race to create the student
	case err != nil:
		return nil, translate(err)
	case fullPath:
		return nil, nil
	case !subID.Valid:
		return &optio.SubmissionReceipt{Duplicate: true}, nil
	}
	return &optio.SubmissionReceipt{UserID: userID.String, SubmissionID: subID.String, SyncID: syncID, Revision: int(revision.Int64)}, nil
}

// rosterStatus maps a roster action to spark_enrollments.status and to the
// user_quests status it mirrors.
func rosterStatus(action string) (enrollment, quest string, ok bool) {
	switch action {
	case optio.RosterEnroll:
		return "enrolled", optio.EnrollmentActive, true
	case optio.RosterDrop:
		return "dropped", optio.EnrollmentDropped, true
	case optio.RosterComplete:
		return "completed", optio.EnrollmentCompleted, true
	}
	return "", "", false
}

// questStatusOf maps spark_enrollments.status to user_quests.status.
func questStatusOf(enrollment string) string {
	switch enrollment {
	case "dropped":
		return optio.EnrollmentDropped
	case "completed":
		return optio.EnrollmentCompleted
	}
	return optio.EnrollmentActive
}

// AcceptSparkRoster implements optio.SparkWebhookStore. An event whose
// occurred_at is older than the stored one is recorded as delivered but
// changes nothing, so out-of-order deliveries cannot regress a student's
// state; an event at the same instant as the stored one wins (Spark's
// latest word).
func (db *DB) AcceptSparkRoster(ctx context.Context, webhookID string, ev optio.SparkRosterEvent) (*optio.RosterReceipt, error) {
	status, questStatus, ok := rosterStatus(ev.Action)
	if !ok {
		return nil, &optio.Error{Code: optio.EPAYLOAD, Message: "The roster payload is invalid.",
			Fields: map[string]string{"action": "must be enroll, drop or complete"}}
	}
	var rc *optio.RosterReceipt
	err := db.webhookTx(ctx, func(tx *sql.Tx) error {
		rc = &optio.RosterReceipt{}
		fresh, err := db.claimDeliveryTx(ctx, tx, webhookID, optio.WebhookRoster, "")
		if err != nil || !fresh {
			rc.Duplicate = !fresh
			return err
		}
		u, err := db.resolveSparkUserTx(ctx, tx, optio.SparkIdentity{SparkUserID: ev.SparkUserID, Email: ev.Email,
			GivenName: ev.GivenName, FamilyName: ev.FamilyName}, optio.LinkedViaWebhook)
		if err != nil {
			return err
		}
		rc.UserID = u.ID
		res, err := tx.ExecContext(ctx, `INSERT INTO spark_enrollments (user_id, spark_course_id, status, occurred_at, updated_at)
			VALUES ($1,$2,$3,$4,$5)
			ON CONFLICT (user_id, spark_course_id) DO UPDATE SET status = excluded.status, occurred_at = excluded.occurred_at,
				updated_at = excluded.updated_at
			WHERE spark_enrollments.occurred_at <= excluded.occurred_at`,
			u.ID, ev.SparkCourseID, status, ev.OccurredAt.UTC().Truncate(time.Microsecond), db.now())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		rc.Applied = n == 1
		// A course first seen here is recorded, and with AutoMap mapped.
		c, err := db.ensureSparkCourseTx(ctx, tx, ev.SparkCourseID)
		if err != nil {
			return err
		}
		if rc.Applied && c != nil && c.QuestID.Valid && c.AutoEnroll {
			if _, err := db.enrollTx(ctx, tx, u.ID, c.QuestID.String, questStatus); err != nil {
				return err
			}
		}
		return db.setDeliveryRefTx(ctx, tx, webhookID, u.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("accept spark roster %s: %w", webhookID, err)
	}
	return rc, nil
}

// Limits that Optio's own quest and task editing enforce; Spark titles and
// descriptions may be longer, so they are cut to fit.
const (
	maxQuestTitleRunes = 200
	maxQuestDescRunes  = 10000
)

func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// AcceptSparkCourse implements optio.SparkWebhookStore: the delivery is
// claimed and the course applied (applySparkCourseTx) in one transaction.
func (db *DB) AcceptSparkCourse(ctx context.Context, webhookID string, ev optio.SparkCourseEvent) (*optio.CourseReceipt, error) {
	var rc *optio.CourseReceipt
	var requeued []string
	err := db.webhookTx(ctx, func(tx *sql.Tx) error {
		rc, requeued = &optio.CourseReceipt{}, nil
		fresh, err := db.claimDeliveryTx(ctx, tx, webhookID, optio.WebhookCourse, "")
		if err != nil || !fresh {
			rc.Duplicate = !fresh
			return err
		}
		var mappingID string
		if rc, mappingID, requeued, err = db.applySparkCourseTx(ctx, tx, ev); err != nil {
			return err
		}
		return db.setDeliveryRefTx(ctx, tx, webhookID, mappingID)
	})
	if err != nil {
		return nil, fmt.Errorf("accept spark course %s: %w", webhookID, err)
	}
	db.syncSoon(requeued...)
	return rc, nil
}

// upsertCourseQuestTx creates the course's quest or brings its title and
// description up to date, returning its id.
func (db *DB) upsertCourseQuestTx(ctx context.Context, tx *sql.Tx, ev optio.SparkCourseEvent) (string, error) {
	title := cutRunes(strings.TrimSpace(ev.Title), maxQuestTitleRunes)
	if title == "" {
		title = placeholderCourseTitle(ev.SparkCourseID)
	}
	desc := cutRunes(ev.Description, maxQuestDescRunes)
	now := db.now()
	var id string
	err := tx.QueryRowContext(ctx, `INSERT INTO quests (id, title, description, source, lms_platform, lms_course_id, active, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,TRUE,$7,$7)
		ON CONFLICT (lms_platform, lms_course_id) DO UPDATE SET title = excluded.title, description = excluded.description,
			updated_at = excluded.updated_at
		RETURNING id`, newID(), title, desc, optio.SourceLMS, optio.PlatformSpark, ev.SparkCourseID, now).Scan(&id)
	return id, translate(err)
}

// upsertAssignmentTaskTx creates or updates the task of one assignment,
// matched on (quest, lms_assignment_id), returning its id. XP is set at
// creation; a task made before Spark's max_points was known (a placeholder,
// still at the default XP) takes the XP of the max_points that arrives.
func (db *DB) upsertAssignmentTaskTx(ctx context.Context, tx *sql.Tx, questID string, pos int, a optio.SparkAssignmentInput, pillar optio.Pillar) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, `INSERT INTO tasks (id, quest_id, title, description, pillar, xp_value, position, lms_assignment_id,
		due_at, max_points, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)
		ON CONFLICT (quest_id, lms_assignment_id) DO UPDATE SET title = excluded.title, description = excluded.description,
			position = excluded.position, due_at = excluded.due_at, max_points = excluded.max_points, updated_at = excluded.updated_at,
			xp_value = CASE WHEN tasks.max_points IS NULL AND excluded.max_points IS NOT NULL AND tasks.xp_value = $12
				THEN excluded.xp_value ELSE tasks.xp_value END
		RETURNING id`,
		newID(), questID, cutRunes(strings.TrimSpace(a.Title), maxQuestTitleRunes), cutRunes(a.Description, maxQuestDescRunes),
		pillar, optio.SparkTaskXP(a.MaxPoints), pos, a.SparkAssignmentID, nullTime(a.DueAt), deref(a.MaxPoints), db.now(),
		optio.SparkTaskXP(nil)).Scan(&id)
	return id, translate(err)
}

// enrollRosterTx mirrors a course's Spark roster onto its newly mapped
// quest, unless the course's auto_enroll_students is off.
func (db *DB) enrollRosterTx(ctx context.Context, tx *sql.Tx, sparkCourseID, questID string) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT e.user_id, e.status FROM spark_enrollments e
		WHERE e.spark_course_id = $1 AND NOT EXISTS (SELECT 1 FROM spark_course_mappings m
			WHERE m.spark_course_id = e.spark_course_id AND NOT m.auto_enroll_students)
		ORDER BY e.user_id`, sparkCourseID)
	if err != nil {
		return 0, translate(err)
	}
	type member struct{ user, status string }
	var members []member
	for rows.Next() {
		var m member
		if err := rows.Scan(&m.user, &m.status); err != nil {
			rows.Close()
			return 0, err
		}
		members = append(members, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, m := range members {
		if _, err := db.enrollTx(ctx, tx, m.user, questID, questStatusOf(m.status)); err != nil {
			return 0, err
		}
	}
	return len(members), nil
}

// requeueAssignmentsTx puts the still-unsynced submissions of assignments that
// just got a task back in line: waiting rows become pending. It returns
// every such row, for the caller to give a sync job after the commit (the
// worker claims a row once, so a second job for a pending row is harmless).
func (db *DB) requeueAssignmentsTx(ctx context.Context, tx *sql.Tx, assignmentIDs []string) ([]string, error) {
	var ids []string
	for len(assignmentIDs) > 0 {
		chunk := assignmentIDs[:min(len(assignmentIDs), 500)]
		assignmentIDs = assignmentIDs[len(chunk):]
		in, args := inList(chunk, []any{optio.SyncPending, optio.SyncWaiting})
		rows, err := tx.QueryContext(ctx, db.requeueQuery(in), args...)
		if err != nil {
			return nil, translate(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	now := db.now()
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE spark_evidence_sync_queue SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4`,
			optio.SyncPending, now, id, optio.SyncWaiting); err != nil {
			return nil, translate(err)
		}
	}
	return ids, nil
}

// requeueQuery finds the pending and waiting queue rows of the assignments
// whose placeholders are in. It goes from the assignments' submissions to
// their queue rows by submission, never from the queue's status index: a
// backlog of pending rows (Spark's file host down, or a burst of new
// assignments before the tables were ever analyzed) made PostgreSQL's planner
// hash every pending row for each new task, 20–50 ms a time. The LATERAL
// subquery with OFFSET 0 is not pulled up into a join, so PostgreSQL keeps
// the per-submission index lookup whatever its statistics say; SQLite is
// told the index by name.
func (db *DB) requeueQuery(in string) string {
	if db.Dialect == Postgres {
		return `SELECT q.id FROM spark_assignment_submissions s
			CROSS JOIN LATERAL (SELECT q.id, q.created_at FROM spark_evidence_sync_queue q
				WHERE q.submission_id = s.id AND q.status IN ($1, $2) OFFSET 0) q
			WHERE s.spark_assignment_id IN (` + in + `) ORDER BY q.created_at, q.id`
	}
	return `SELECT q.id FROM spark_assignment_submissions s
		JOIN spark_evidence_sync_queue q INDEXED BY spark_sync_queue_submission_idx ON q.submission_id = s.id
		WHERE s.spark_assignment_id IN (` + in + `) AND q.status IN ($1, $2) ORDER BY q.created_at, q.id`
}

// deref turns an optional value into a query argument: NULL when nil.
func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
