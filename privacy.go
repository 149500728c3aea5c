package optio

import (
	"context"
	"encoding/json"
	"time"
)

// Kinds of data request a family (or a school, through an admin) makes about
// a student (issue 25, docs/privacy.md).
const (
	RequestExport   = "export"
	RequestDeletion = "deletion"
)

// States of a data request. A live request (pending or running) is unique per
// student and kind, so asking twice never makes two jobs.
const (
	RequestPending   = "pending"   // export queued; deletion waiting out its cooling-off period
	RequestRunning   = "running"   // the job is working on it
	RequestReady     = "ready"     // export built; downloadable until ExpiresAt
	RequestFailed    = "failed"    // export failed; ask again
	RequestCancelled = "cancelled" // deletion cancelled during its cooling-off period
)

// DataRequest is one export or deletion of a student's data. A deletion's
// rows go with the student; what stays is an audit row without personal data.
type DataRequest struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	StudentID   string `json:"student_id"`
	RequestedBy string `json:"requested_by,omitempty"`
	Status      string `json:"status"`
	// Done and Total are the export's progress in files written.
	Done  int `json:"done"`
	Total int `json:"total"`
	// DueAt is when a pending deletion runs (the end of the cooling-off).
	DueAt *time.Time `json:"due_at,omitempty"`
	// ExpiresAt is when a ready export's download link stops working.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// BlobKey is where a ready export's ZIP is stored (never shown).
	BlobKey   string    `json:"-"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Live reports whether the request is still to run or running.
func (r *DataRequest) Live() bool { return r.Status == RequestPending || r.Status == RequestRunning }

// ExportJob builds the ZIP of a data request (jobs package).
type ExportJob struct {
	RequestID string `json:"request_id"`
}

// Kind names the job for the runner.
func (ExportJob) Kind() string { return "privacy_export" }

// DeletionJob deletes a student whose deletion request is due.
type DeletionJob struct {
	RequestID string `json:"request_id"`
}

// Kind names the job for the runner.
func (DeletionJob) Kind() string { return "privacy_deletion" }

// Retention is how long Optio keeps data that is not the student's work
// (Config, docs/privacy.md). A zero duration keeps that kind for ever.
type Retention struct {
	// TutorConversations: conversations untouched this long are deleted.
	TutorConversations time.Duration
	// SSONonces: used SSO nonces this long past their expiry are deleted.
	SSONonces time.Duration
	// WebhookDeliveries: webhook de-duplication records older than this.
	WebhookDeliveries time.Duration
	// Sessions: sessions this long past their expiry are deleted.
	Sessions time.Duration
	// SyncErrors: error texts of finished syncs older than this are cleared.
	SyncErrors time.Duration
}

// Purged counts what one retention pass removed, per kind.
type Purged struct {
	TutorConversations int64 `json:"tutor_conversations"`
	SSONonces          int64 `json:"sso_nonces"`
	WebhookDeliveries  int64 `json:"webhook_deliveries"`
	Sessions           int64 `json:"sessions"`
	SyncErrors         int64 `json:"sync_errors"`
	Exports            int64 `json:"exports"`
	// HealthHourly counts health_hourly rows older than HealthHistory.
	HealthHourly int64 `json:"health_hourly"`
}

// RetentionJob is the periodic purge of data past its retention period.
type RetentionJob struct{}

// Kind names the job for the runner.
func (RetentionJob) Kind() string { return "privacy_retention" }

// StudentRecords is every database record Optio holds about one student, as
// the export's records.json carries it. Each section is a list of rows as
// JSON objects, named for the table it comes from.
type StudentRecords struct {
	Profile  *User                        `json:"profile"`
	Sections map[string][]json.RawMessage `json:"records"`
}

// ExportFile is one evidence file of a student, for the export.
type ExportFile struct {
	ID          string `json:"id"`
	BlobKey     string `json:"-"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// DeletedStudent is what a deletion leaves for the caller to finish outside
// the database: blobs no other row refers to any more.
type DeletedStudent struct {
	BlobKeys []string
}

// PrivacyStore keeps data requests and carries out exports, deletions and
// retention (store/privacy.go).
type PrivacyStore interface {
	// RequestExport queues an export of studentID's data, with its job in
	// the same transaction; a live export request is returned instead of a
	// second one.
	RequestExport(ctx context.Context, studentID, requestedBy string) (*DataRequest, error)
	// RequestDeletion schedules studentID's deletion at dueAt; a live
	// deletion request is returned instead of a second one.
	RequestDeletion(ctx context.Context, studentID, requestedBy string, dueAt time.Time) (*DataRequest, error)
	// CancelDeletion cancels a pending deletion; ENOTFOUND when none is pending.
	CancelDeletion(ctx context.Context, studentID, by string) (*DataRequest, error)
	// DataRequestByID returns a request or ENOTFOUND.
	DataRequestByID(ctx context.Context, id string) (*DataRequest, error)
	// LatestDataRequest returns the newest request of a kind for a student, or ENOTFOUND.
	LatestDataRequest(ctx context.Context, studentID, kind string) (*DataRequest, error)
	// ClaimDataRequest moves a pending request to running; ENOTFOUND when it
	// is not pending (cancelled, already run, or gone with its student).
	ClaimDataRequest(ctx context.Context, id string) (*DataRequest, error)
	// ExportProgress records how many of the export's files are written.
	ExportProgress(ctx context.Context, id string, done, total int) error
	// FinishExport marks an export ready at blobKey, downloadable until
	// expiresAt; FailExport marks it failed.
	FinishExport(ctx context.Context, id, blobKey string, expiresAt time.Time) error
	FailExport(ctx context.Context, id, message string) error
	// DueDeletions lists pending deletions whose cooling-off ended by now.
	DueDeletions(ctx context.Context, now time.Time) ([]DataRequest, error)
	// StudentRecords gathers every record about a student (the export's JSON).
	StudentRecords(ctx context.Context, studentID string) (*StudentRecords, error)
	// StudentFiles lists a student's evidence files.
	StudentFiles(ctx context.Context, studentID string) ([]ExportFile, error)
	// EarnedBadges lists a student's badge awards.
	EarnedBadges(ctx context.Context, studentID string) ([]BadgeAward, error)
	// DeleteStudent deletes every row about a student and anonymises the
	// audit rows that name them, in one transaction, recording actorID's
	// deletion in the audit log without personal data. It returns the blobs
	// only the student's rows referred to (including export ZIPs).
	DeleteStudent(ctx context.Context, studentID, actorID string) (*DeletedStudent, error)
	// PurgeExpired deletes or clears what is past its retention at now, and
	// returns the blob keys of expired exports (to be removed by the caller).
	PurgeExpired(ctx context.Context, r Retention, now time.Time) (*Purged, []string, error)
}
