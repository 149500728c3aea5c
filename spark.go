package optio

import "context"

// PlatformSpark names Spark in lms_integrations and quests.lms_platform.
const PlatformSpark = "spark"

// How a user came to be linked to their Spark account (lms_integrations.linked_via).
const (
	LinkedViaSSO     = "sso"     // created by, or first seen in, an SSO login
	LinkedViaEmail   = "email"   // an existing Optio account matched by email
	LinkedViaWebhook = "webhook" // a provisional user created from a webhook
	LinkedViaLTI     = "lti"     // created by an LTI launch (platform user, or a mentor's parent link)
)

// SparkIdentity is what Spark says about one of its users, from an SSO token
// or a webhook. Empty fields are unknown, not blank.
type SparkIdentity struct {
	SparkUserID string
	Email       string
	GivenName   string
	FamilyName  string
	Role        Role
}

// SparkIdentityStore resolves Spark users to Optio users.
type SparkIdentityStore interface {
	// ResolveSparkUser finds the Optio user for a Spark user — by their
	// Spark link, else by email when that account has no Spark link yet —
	// or creates one (provisional when there is no email). via says whether
	// this is an SSO login or a webhook. Names and email are brought up to
	// date from Spark; the role is never changed here.
	ResolveSparkUser(ctx context.Context, id SparkIdentity, via string) (*User, error)
	// UserBySparkID returns the user linked to a Spark user id, or ENOTFOUND.
	UserBySparkID(ctx context.Context, sparkUserID string) (*User, error)
}

// SyncSubmissionJob asks a worker to sync one queued Spark submission
// (a spark_evidence_sync_queue row) into portfolio evidence. The queue row is
// written in the transaction that stores the submission; the job is enqueued
// just after that commits, and the sweeper gives one to any pending row left
// without a job (a crash in between).
type SyncSubmissionJob struct {
	QueueID string `json:"queue_id"`
}

// Kind names the job for River.
func (SyncSubmissionJob) Kind() string { return "spark_sync_submission" }

// Spark submission storage, shared by the webhook (writer) and the sync job
// (reader): spark_assignment_submissions.submission_files holds the files
// array exactly as Spark sent it, as JSON ([]spark.SubmissionFile: url, type,
// filename, content_base64), and revision counts resubmissions; each queue
// row records the revision it syncs.
