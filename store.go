package optio

import (
	"context"
	"time"
)

// Job is background work for the job runner. Most jobs are enqueued in the
// same transaction as their data; evidence-sync jobs are enqueued just after
// their queue row commits, with the sweeper giving a job to any pending row
// left without one (docs/architecture.md, "Background jobs"). Kind names the
// worker that runs it (River's JobArgs interface).
type Job interface {
	Kind() string
}

// Store is Optio's persistence. The store package implements it for SQLite
// and PostgreSQL; one conformance suite runs against both.
type Store interface {
	SparkIdentityStore
	SSOStore
	SparkWebhookStore
	BadgeStore
	SparkSyncStore
	ThrottleStore
	HealthStore
	LTIStore

	Ping(ctx context.Context) error

	CreateUser(ctx context.Context, in NewUser) (*User, error)
	UserByID(ctx context.Context, id string) (*User, error)
	UserCredentials(ctx context.Context, email string) (*User, string, error)
	UpdateProfile(ctx context.Context, userID string, p ProfileUpdate) (*User, error)

	CreateSession(ctx context.Context, userID, tokenHash string, ttl time.Duration) (*Session, error)
	SessionUser(ctx context.Context, tokenHash string) (*User, error)
	DeleteSession(ctx context.Context, tokenHash string) error
	AccountStore

	CreateQuest(ctx context.Context, in QuestInput) (*Quest, error)
	UpdateQuest(ctx context.Context, id string, in QuestInput) (*Quest, error)
	QuestByID(ctx context.Context, id string) (*Quest, error)
	ListQuests(ctx context.Context, activeOnly bool) ([]Quest, error)
	CreateTask(ctx context.Context, questID string, in TaskInput) (*Task, error)
	UpdateTask(ctx context.Context, id string, in TaskInput) (*Task, error)
	TaskByID(ctx context.Context, id string) (*Task, error)
	StartQuest(ctx context.Context, userID, questID string) (*Enrollment, error)
	QuestProgressFor(ctx context.Context, userID string) ([]QuestProgress, error)
	// QuestsWithTasks lists every quest, newest first, with its tasks.
	QuestsWithTasks(ctx context.Context) ([]Quest, error)
	QuestStanding(ctx context.Context, userID, questID string) (*QuestStanding, error)

	CompleteTask(ctx context.Context, in CompletionInput) (*CompletionView, error)
	CompletionByID(ctx context.Context, id string) (*CompletionView, error)
	RecentCompletions(ctx context.Context, userID string, limit, offset int) ([]CompletionView, error)
	XPSummary(ctx context.Context, userID string) (*XPSummary, error)
	XPSince(ctx context.Context, userID string, since time.Time) (int, error)

	CreateFile(ctx context.Context, f *File) error
	FileByID(ctx context.Context, id string) (*File, error)
	TutorStore

	FamilyStore

	PortfolioStore

	PrivacyStore
}
