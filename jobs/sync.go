package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/riverqueue/river"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/fetch"
	"github.com/optio-edu/optio/filestore"
	"github.com/optio-edu/optio/spark"
	"github.com/optio-edu/optio/store"
)

// SyncWorker turns a queued Spark submission into portfolio evidence: it
// streams every file into blob storage outside any transaction, then writes
// the completion, blocks, XP and grade in one transaction (store.FinishSync),
// which is idempotent: a retried or duplicated job never doubles anything.
type SyncWorker struct {
	river.WorkerDefaults[optio.SyncSubmissionJob]
	DB       *store.DB
	Files    *filestore.Store
	Fetch    *fetch.Client
	MaxBytes int64
	// Retry is the schedule of transient failures (backoff within a window).
	Retry RetrySchedule
	// AfterSync, when set, runs after the evidence is written (badges).
	AfterSync func(ctx context.Context, userID string) error
	Logger    *slog.Logger
	metrics   *metrics
	// dbSlots bounds how many syncs are in a database step at once (nil:
	// no bound); see newDBSlots.
	dbSlots chan struct{}
}

// newDBSlots bounds the syncs writing to the database at once to twice the
// cores this process may use, while downloads (most of a real sync's time)
// keep every worker. A burst of syncs — River hands a backlog to all 16
// workers at once — otherwise puts as many database sessions beside the
// requests being answered, and on two cores the answers' tail doubled
// (docs/PERFORMANCE.md, "What the background work costs the answers").
func newDBSlots() chan struct{} { return make(chan struct{}, 2*runtime.GOMAXPROCS(0)) }

// inDB runs fn, a step of a sync that writes to the database, in one of the
// slots; waiting for one ends with ctx.
func (w *SyncWorker) inDB(ctx context.Context, fn func() error) error {
	if w.dbSlots == nil {
		return fn()
	}
	select {
	case w.dbSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.dbSlots }()
	return fn()
}

// Work runs one attempt. Permanent failures cancel the job (no retry); a
// passing failure is scheduled on the queue row (next_attempt_at, within
// SPARK_SYNC_RETRY_WINDOW) and the sweeper runs it when due. River retries
// the job itself only when the attempt was interrupted (shutdown, timeout)
// or that schedule could not be written.
func (w *SyncWorker) Work(ctx context.Context, job *river.Job[optio.SyncSubmissionJob]) error {
	return w.attempt(ctx, job.Args.QueueID, job.Attempt >= job.MaxAttempts)
}

// retryWorker runs an admin's retry of a failed sync exactly like a sync.
type retryWorker struct {
	river.WorkerDefaults[optio.SyncRetryJob]
	sync *SyncWorker
}

// Work runs one attempt of the retried sync.
func (w *retryWorker) Work(ctx context.Context, job *river.Job[optio.SyncRetryJob]) error {
	return w.sync.attempt(ctx, job.Args.QueueID, job.Attempt >= job.MaxAttempts)
}

// attempt runs Sync and records a failure on the queue row.
func (w *SyncWorker) attempt(ctx context.Context, queueID string, final bool) error {
	err := w.Sync(ctx, queueID)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && !isPermanent(err) {
		// Shutting down (or the attempt's time ran out): River runs the
		// job again, here or in another process.
		_ = w.inDB(context.WithoutCancel(ctx), func() error {
			return w.DB.FailSync(context.WithoutCancel(ctx), queueID, "interrupted; will be retried", false)
		})
		w.metrics.jobs.WithLabelValues(outcomeRetry).Inc()
		return err
	}
	if isPermanent(err) {
		if ferr := w.inDB(context.WithoutCancel(ctx), func() error {
			return w.DB.FailSync(context.WithoutCancel(ctx), queueID, err.Error(), true)
		}); ferr != nil {
			w.Logger.Error("record sync failure", "queue_id", queueID, "error", ferr)
		}
		w.metrics.jobs.WithLabelValues(outcomeFailed).Inc()
		return river.JobCancel(err)
	}
	// Transient: Optio schedules the next attempt itself, by its clock, on
	// the queue row (the sweeper runs it when due), so retries span an
	// outage of SPARK_SYNC_RETRY_WINDOW and admins see when the next is.
	var next *time.Time
	serr := w.inDB(context.WithoutCancel(ctx), func() error {
		var err2 error
		next, err2 = w.DB.ScheduleRetry(context.WithoutCancel(ctx), queueID, err.Error(), w.Retry.Delay, w.Retry.Window)
		return err2
	})
	if optio.ErrorCode(serr) == optio.ENOTFOUND {
		// The queue row went with its student (deleted): nothing to retry.
		w.metrics.jobs.WithLabelValues(outcomeFailed).Inc()
		return river.JobCancel(gone(serr))
	}
	if serr != nil {
		w.Logger.Error("schedule sync retry", "queue_id", queueID, "error", serr)
		w.metrics.jobs.WithLabelValues(outcomeRetry).Inc()
		return err // River retries it instead
	}
	if next == nil {
		w.metrics.jobs.WithLabelValues(outcomeFailed).Inc()
		w.Logger.Warn("sync failed after its retry window", "queue_id", queueID, "error", err)
		return nil
	}
	w.metrics.jobs.WithLabelValues(outcomeRetry).Inc()
	w.Logger.Info("sync will be retried", "queue_id", queueID, "next_attempt_at", next, "error", err)
	return nil
}

// Timeout leaves the bound to the runner's JobTimeout.
func (w *SyncWorker) Timeout(*river.Job[optio.SyncSubmissionJob]) time.Duration { return 0 }

// Sync does one sync of a queue row, start to finish.
func (w *SyncWorker) Sync(ctx context.Context, queueID string) error {
	var work *store.SyncWork
	err := w.inDB(ctx, func() error {
		var err error
		work, err = w.DB.BeginSync(ctx, queueID)
		return err
	})
	if err != nil {
		return gone(err)
	}
	switch {
	case work.Done:
		w.metrics.jobs.WithLabelValues(outcomeDuplicate).Inc()
		return nil
	case work.Waiting:
		w.metrics.jobs.WithLabelValues(outcomeWaiting).Inc()
		return nil
	}
	blocks, err := w.blocks(ctx, work)
	if err != nil {
		return err
	}
	var res *store.SyncResult
	err = w.inDB(ctx, func() error {
		var err error
		res, err = w.DB.FinishSync(ctx, work, blocks)
		return err
	})
	if err != nil {
		return gone(err)
	}
	if res.Superseded {
		w.metrics.jobs.WithLabelValues(outcomeSuperseded).Inc()
		return nil
	}
	w.metrics.jobs.WithLabelValues(outcomeCompleted).Inc()
	w.metrics.latency.Observe(time.Since(work.QueueCreatedAt).Seconds())
	if w.AfterSync != nil {
		if err := w.inDB(ctx, func() error { return w.AfterSync(ctx, work.UserID) }); err != nil {
			w.Logger.Warn("after sync hook", "user_id", work.UserID, "error", err)
		}
	}
	return nil
}

// blocks stores each file and builds the ordered evidence: the text first,
// then the files in the order Spark sent them.
func (w *SyncWorker) blocks(ctx context.Context, work *store.SyncWork) ([]optio.BlockInput, error) {
	var files []spark.SubmissionFile
	if err := json.Unmarshal([]byte(work.FilesJSON), &files); err != nil {
		return nil, permanentf("submission %s: the stored files are not valid JSON: %v", work.SubmissionID, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	base := optio.BlockContent{Source: optio.PlatformSpark, SparkCourseID: work.SparkCourseID,
		SparkAssignmentID: work.SparkAssignmentID, SyncedAt: &now}
	var out []optio.BlockInput
	if work.Text != "" {
		c := base
		c.Text = work.Text
		out = append(out, optio.BlockInput{BlockType: optio.BlockText, Content: c})
	}
	for i, f := range files {
		name := filestore.SafeFilename(f.Filename)
		obj, err := w.store(ctx, f, name)
		if err != nil {
			if !isPermanent(err) {
				return nil, fmt.Errorf("file %d %q: %w", i+1, name, err)
			}
			// A file no retry can import never sinks the submission: it
			// becomes a "could not import" entry and the rest syncs.
			out = append(out, notImportedBlock(base, f, name, err))
			continue
		}
		c := base
		c.Filename = filestore.DisplayName(name, obj.ContentType)
		c.ContentType = obj.ContentType
		c.Size = obj.Size
		b := optio.BlockInput{BlockType: blockFor(obj.Kind, f), Content: c, File: &optio.File{
			OwnerID: work.UserID, BlobKey: obj.Key, SHA256: obj.SHA256, Filename: c.Filename,
			ContentType: obj.ContentType, Size: obj.Size,
		}}
		b.Preview = w.preview(ctx, work.UserID, obj, c.Filename)
		out = append(out, b)
	}
	return out, nil
}

// maxPreviewSource bounds the images converted for the browser: decoding
// holds the file in memory.
const maxPreviewSource = 64 << 20

// preview makes a web rendition of an image the browser cannot show (TIFF,
// BMP, HEIC); nil when none is needed or possible (the page then offers a
// download card).
func (w *SyncWorker) preview(ctx context.Context, ownerID string, obj *filestore.Object, name string) *optio.File {
	if obj.Kind != filestore.KindImage || filestore.BrowserShows(obj.ContentType) || !filestore.CanPreview(obj.ContentType) ||
		obj.Size > maxPreviewSource {
		return nil
	}
	p, err := w.Files.Preview(ctx, obj.Key, obj.ContentType, name)
	if err != nil {
		w.Logger.Warn("no web rendition of an image; it is offered as a download", "file", name, "error", err)
		return nil
	}
	return &optio.File{OwnerID: ownerID, BlobKey: p.Key, SHA256: p.SHA256, Filename: name + ".jpg",
		ContentType: p.ContentType, Size: p.Size}
}

// store streams one file into blob storage: downloaded under the fetch
// policy, or decoded from the payload. Nothing is held in memory whole.
// name is the file's display name, already made safe.
func (w *SyncWorker) store(ctx context.Context, f spark.SubmissionFile, name string) (*filestore.Object, error) {
	var r io.Reader
	if f.Inline() {
		r = f.Open()
	} else {
		resp, err := w.Fetch.Get(ctx, f.URL)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		r = resp.Body
	}
	return w.Files.Put(ctx, r, name, w.MaxBytes)
}

// blockFor chooses the block type from the sniffed kind (the bytes decide),
// falling back to what Spark declared.
func blockFor(k filestore.Kind, f spark.SubmissionFile) optio.BlockType {
	switch k {
	case filestore.KindImage:
		return optio.BlockImage
	case filestore.KindVideo:
		return optio.BlockVideo
	case filestore.KindAudio, filestore.KindDocument, filestore.KindText:
		return optio.BlockDocument
	}
	if b := f.BlockType(); b != "" {
		return b
	}
	return optio.BlockDocument
}

// gone makes a missing queue row or submission permanent: the student was
// deleted (their submissions and sync rows go with them), so the sync stops
// instead of retrying, and writes nothing that would bring them back.
func gone(err error) error {
	if optio.ErrorCode(err) == optio.ENOTFOUND {
		return permanentf("nothing to sync any more (the student or submission was deleted): %v", err)
	}
	return err
}

// permanentError is a failure no retry can fix.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func permanentf(format string, args ...any) error {
	return &permanentError{msg: fmt.Sprintf(format, args...)}
}

// isPermanent sorts failures: refused by policy, too large, an unsupported
// or empty file, or bad data are permanent; a 404 is not (the file may yet
// appear), nor are network trouble and server errors.
func isPermanent(err error) bool {
	var pe *permanentError
	if errors.As(err, &pe) {
		return true
	}
	switch optio.ErrorCode(err) {
	case optio.EFORBIDDEN, optio.ETOOLARGE, optio.EUNSUPPORTED, optio.EINVALID:
		return true
	}
	return false
}
