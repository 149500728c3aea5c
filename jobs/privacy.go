package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/dataexport"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/openbadges"
	"github.com/optio-edu/optio/store"
)

// Privacy carries out what families ask of their data (issue 25,
// docs/privacy.md): exports built into the blob store, deletions after
// their cooling-off, and the retention purge. The CLI's `optio admin export`
// and `delete-user` use it directly; the workers below run it as jobs.
type Privacy struct {
	DB    *store.DB
	Files *filestore.Store
	// BaseURL is the badge credentials' issuer (Config.BaseURL).
	BaseURL string
	// ExportTTL is how long a ready export stays downloadable.
	ExportTTL time.Duration
	Retention optio.Retention
	Logger    *slog.Logger
}

func (p *Privacy) clock() optio.Clock { return p.DB.Clock }

// exporter builds the ZIP writer's dependencies; progress may be nil.
func (p *Privacy) exporter(ctx context.Context, progress func(done, total int)) (*dataexport.Exporter, error) {
	is, err := openbadges.LoadIssuer(ctx, p.DB, p.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("export: badge issuer: %w", err)
	}
	return &dataexport.Exporter{Store: p.DB, Blobs: blobs{p.Files}, Signer: signer{is}, Clock: p.clock(), Progress: progress}, nil
}

// WriteExport streams the ZIP of a student's data to w (the CLI's export).
func (p *Privacy) WriteExport(ctx context.Context, w io.Writer, studentID string) (*dataexport.Summary, error) {
	e, err := p.exporter(ctx, nil)
	if err != nil {
		return nil, err
	}
	return e.Write(ctx, w, studentID)
}

// RunExport builds the export of a request into the blob store and marks it
// ready. A request no longer pending (or gone with its student) is done.
func (p *Privacy) RunExport(ctx context.Context, requestID string) error {
	req, err := p.DB.ClaimDataRequest(ctx, requestID)
	if optio.ErrorCode(err) == optio.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	last := time.Time{}
	e, err := p.exporter(ctx, func(done, total int) {
		// Progress is for people watching a page: a write a second is plenty.
		if now := time.Now(); done == total || now.Sub(last) >= time.Second {
			last = now
			if err := p.DB.ExportProgress(ctx, requestID, done, total); err != nil {
				p.Logger.Warn("export progress", "request_id", requestID, "error", err)
			}
		}
	})
	if err != nil {
		return err
	}
	key := filestore.ExportKey(req.ID)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := p.Files.CreateExport(wctx, key)
	if err != nil {
		return err
	}
	if _, err := e.Write(ctx, w, req.StudentID); err != nil {
		cancel() // discards the partial object
		_ = w.Close()
		if optio.ErrorCode(err) == optio.ENOTFOUND {
			// The student (or one of their files) is gone: deleted meanwhile.
			_ = p.DB.FailExport(context.WithoutCancel(ctx), requestID, "the student's data changed while exporting; ask again")
			return river.JobCancel(err)
		}
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("export %s: store zip: %w", requestID, err)
	}
	if err := p.DB.FinishExport(ctx, requestID, key, p.clock().Now().Add(p.ExportTTL)); err != nil {
		_ = p.Files.Delete(context.WithoutCancel(ctx), key)
		if optio.ErrorCode(err) == optio.ENOTFOUND {
			return nil // deleted with its student meanwhile
		}
		return err
	}
	return nil
}

// DeleteStudent deletes a student's rows, then the blobs only they used. A
// crash between the two leaves unreferenced blobs, which blob garbage
// collection removes; the rows, the personal data that can be found, are gone.
func (p *Privacy) DeleteStudent(ctx context.Context, studentID, actorID string) (*optio.DeletedStudent, error) {
	del, err := p.DB.DeleteStudent(ctx, studentID, actorID)
	if err != nil {
		return nil, err
	}
	// Evidence blobs go under the blob collector's lock (store.DB.CollectBlob),
	// kept if another file row names them or an upload touched them since the
	// deletion began; export ZIPs are the student's alone.
	began := p.clock().Now()
	var errs []error
	for _, k := range del.BlobKeys {
		rm := func(ctx context.Context) error { return p.Files.Delete(ctx, k) }
		var err error
		if strings.HasPrefix(k, "exports/") {
			err = rm(ctx)
		} else {
			_, err = p.DB.CollectBlob(ctx, k, began, rm)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return del, fmt.Errorf("delete student %s: blobs: %w", studentID, err)
	}
	return del, nil
}

// RunDeletion deletes the student of a due deletion request; a cancelled
// request (or one already carried out) is done.
func (p *Privacy) RunDeletion(ctx context.Context, requestID string) error {
	req, err := p.DB.DataRequestByID(ctx, requestID)
	if optio.ErrorCode(err) == optio.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if req.DueAt == nil || req.DueAt.After(p.clock().Now()) {
		return nil // not due (the sweep made the job early, or the clock moved)
	}
	if _, err := p.DB.ClaimDataRequest(ctx, requestID); err != nil {
		if optio.ErrorCode(err) == optio.ENOTFOUND {
			return nil // cancelled
		}
		return err
	}
	_, err = p.DeleteStudent(ctx, req.StudentID, req.RequestedBy)
	if optio.ErrorCode(err) == optio.ENOTFOUND {
		return nil
	}
	return err
}

// Purge deletes what is past its retention, and the ZIPs of expired exports.
func (p *Privacy) Purge(ctx context.Context) (*optio.Purged, error) {
	purged, keys, err := p.DB.PurgeExpired(ctx, p.Retention, p.clock().Now())
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := p.Files.Delete(ctx, k); err != nil {
			p.Logger.Warn("delete expired export", "key", k, "error", err)
		}
	}
	return purged, nil
}

// signer adapts openbadges.Issuer to dataexport.CredentialSigner: the same
// credential the badge pages hand out.
type signer struct{ is *openbadges.Issuer }

func (s signer) SignAward(a *optio.BadgeAward, email string) (string, error) {
	return s.is.Sign(s.is.CredentialFor(a, email))
}

// blobs adapts filestore.Store to dataexport.Blobs.
type blobs struct{ s *filestore.Store }

func (b blobs) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	return b.s.Open(ctx, key)
}

type exportWorker struct {
	river.WorkerDefaults[optio.ExportJob]
	p *Privacy
}

// Work builds one export.
func (w *exportWorker) Work(ctx context.Context, job *river.Job[optio.ExportJob]) error {
	err := w.p.RunExport(ctx, job.Args.RequestID)
	if err != nil && job.Attempt >= job.MaxAttempts {
		_ = w.p.DB.FailExport(context.WithoutCancel(ctx), job.Args.RequestID, "the export could not be built; ask again")
	}
	return err
}

type deletionWorker struct {
	river.WorkerDefaults[optio.DeletionJob]
	p *Privacy
}

// Work carries out one due deletion.
func (w *deletionWorker) Work(ctx context.Context, job *river.Job[optio.DeletionJob]) error {
	return w.p.RunDeletion(ctx, job.Args.RequestID)
}

// deletionSweepJob gives every due deletion its job.
type deletionSweepJob struct{}

// Kind names the job for River.
func (deletionSweepJob) Kind() string { return "privacy_deletion_sweep" }

type deletionSweepWorker struct {
	river.WorkerDefaults[deletionSweepJob]
	p      *Privacy
	client func() *river.Client[*sql.Tx]
}

// Work inserts a deletion job per due request; a request with a live job
// already is skipped by the job's uniqueness.
func (w *deletionSweepWorker) Work(ctx context.Context, _ *river.Job[deletionSweepJob]) error {
	due, err := w.p.DB.DueDeletions(ctx, w.p.clock().Now())
	if err != nil {
		return fmt.Errorf("deletion sweep: %w", err)
	}
	for _, r := range due {
		if _, err := w.client().Insert(ctx, optio.DeletionJob{RequestID: r.ID}, uniqueOpts()); err != nil {
			return fmt.Errorf("deletion sweep: %w", err)
		}
	}
	return nil
}

type retentionWorker struct {
	river.WorkerDefaults[optio.RetentionJob]
	p *Privacy
}

// Work runs one retention pass.
func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[optio.RetentionJob]) error {
	n, err := w.p.Purge(ctx)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	w.p.Logger.Info("retention purge", "tutor_conversations", n.TutorConversations, "sso_nonces", n.SSONonces,
		"webhook_deliveries", n.WebhookDeliveries, "sessions", n.Sessions, "sync_errors", n.SyncErrors, "exports", n.Exports, "health_hourly", n.HealthHourly)
	return nil
}
