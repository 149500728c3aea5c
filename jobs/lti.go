package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/riverqueue/river"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/lti"
	"github.com/optio-edu/optio/store"
)

// LTI Advantage jobs (issue 23): a course's roster read through NRPS (the
// counterpart of Spark's roster webhook) and a learner's progress posted
// through AGS after each finished task (the counterpart of grade passback).
// Both retry like every job; a platform's 429/503 is retried inside the
// call honouring Retry-After, then the job snoozes for what it said.

// ltiRosterWorker runs LTIRosterSyncJob.
type ltiRosterWorker struct {
	river.WorkerDefaults[optio.LTIRosterSyncJob]
	db     *store.DB
	client *lti.Client
	logger *slog.Logger
}

// Work reads the whole roster (every page) before applying it, so a
// failure part way — a page loop, an error — applies nothing and the
// reason is kept on the course for admins.
func (w *ltiRosterWorker) Work(ctx context.Context, job *river.Job[optio.LTIRosterSyncJob]) error {
	if w.client == nil {
		return river.JobCancel(errors.New("lti roster: the LTI tool is not set up"))
	}
	c, err := w.db.LTICourseByID(ctx, job.Args.CourseID)
	if err != nil {
		return cancelIfGone(err)
	}
	p, err := w.db.LTIPlatformByID(ctx, c.PlatformID)
	if err != nil {
		return cancelIfGone(err)
	}
	if c.MembershipsURL == "" {
		return nil
	}
	members, err := w.client.Members(ctx, p, c.MembershipsURL)
	if err != nil {
		if rerr := w.db.RecordLTIRosterProblem(ctx, c.ID, err.Error()); rerr != nil {
			w.logger.WarnContext(ctx, "record lti roster problem", slog.Any("error", rerr))
		}
		return ltiRetry(fmt.Errorf("lti roster %s: %w", c.ID, err))
	}
	in := make([]optio.LTIMember, 0, len(members))
	for _, m := range members {
		if m.Status != "" && m.Status != "Active" {
			continue
		}
		given, family := m.GivenName, m.FamilyName
		if given == "" && family == "" {
			given, family, _ = strings.Cut(strings.TrimSpace(m.Name), " ")
		}
		in = append(in, optio.LTIMember{Subject: m.UserID, Email: m.Email, GivenName: given, FamilyName: family, Role: optio.LTICourseRole(m.Roles)})
	}
	added, err := w.db.ApplyLTIRoster(ctx, c.ID, in)
	if err != nil {
		return err
	}
	w.logger.InfoContext(ctx, "lti roster synced", slog.String("course_id", c.ID), slog.Int("members", len(in)), slog.Int("added", added))
	return nil
}

// ltiScoreWorker runs LTIScoreJob.
type ltiScoreWorker struct {
	river.WorkerDefaults[optio.LTIScoreJob]
	db     *store.DB
	client *lti.Client
}

// Work posts the learner's progress in the course quest: tasks finished of
// the quest's tasks, on the quest's line item (read by resource id, created
// once when missing). AGS keeps the latest timestamp's score, so a retried
// or late post never goes back in time.
func (w *ltiScoreWorker) Work(ctx context.Context, job *river.Job[optio.LTIScoreJob]) error {
	if w.client == nil {
		return river.JobCancel(errors.New("lti score: the LTI tool is not set up"))
	}
	s, err := w.db.LTIScoreFor(ctx, job.Args.CompletionID)
	if err != nil {
		return cancelIfGone(err)
	}
	item := s.Course.LineItemURL
	if item == "" {
		li, err := w.client.LineItemFor(ctx, s.Platform, s.Course.LineItemsURL, s.Course.QuestID, s.QuestTitle, float64(max(s.TasksTotal, 1)))
		if err != nil {
			return ltiRetry(err)
		}
		if err := w.db.SetLTILineItem(ctx, s.Course.ID, li.ID); err != nil {
			return err
		}
		item = li.ID
	}
	progress := "InProgress"
	if s.TasksDone >= s.TasksTotal {
		progress = "Completed"
	}
	err = w.client.PostScore(ctx, s.Platform, item, lti.Score{UserID: s.Subject, ScoreGiven: float64(s.TasksDone),
		ScoreMaximum: float64(max(s.TasksTotal, 1)), ActivityProgress: progress, GradingProgress: "FullyGraded", Timestamp: s.At})
	return ltiRetry(err)
}

// ltiRetry turns a platform's answer into the job's outcome: permanent
// refusals cancel, a Retry-After snoozes, other failures retry.
func ltiRetry(err error) error {
	var se *lti.ServiceError
	if err == nil || !errors.As(err, &se) {
		return err
	}
	if !se.Retryable() {
		return river.JobCancel(err)
	}
	if se.RetryAfter > 0 {
		return river.JobSnooze(min(se.RetryAfter, maxSnooze))
	}
	return err
}
