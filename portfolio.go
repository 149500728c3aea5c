package optio

import (
	"context"
	"time"
)

// PortfolioStore is what public showcase pages need from the store: the
// relationships that open a private portfolio (linked parent, observer) and
// a student's finished work a page at a time, grouped by where it came from.
type PortfolioStore interface {
	// PortfolioWork returns one page of a student's completions (newest
	// first) with their evidence, every block included (callers hide private
	// ones), and the total number of completions.
	PortfolioWork(ctx context.Context, userID string, limit, offset int) (*PortfolioWork, error)
	// EvidenceBlockFile returns the block that references fileID, with the
	// student it belongs to; ENOTFOUND when blockID does not reference it.
	EvidenceBlockFile(ctx context.Context, blockID, fileID string) (*BlockFileRef, error)
	// PortfolioOwner returns the user with a portfolio slug (ENOTFOUND when
	// none) and the version of everything their portfolio shows, read
	// together in one query.
	PortfolioOwner(ctx context.Context, slug string) (*User, PortfolioVersion, error)
	// AcceptEmbedNonce records a portfolio embed token's nonce until expiry,
	// in the same store as SSO nonces; ETokenReplayed when it was used.
	AcceptEmbedNonce(ctx context.Context, nonce string, expiry time.Time) error
	// SparkDefaultVisibility is the visibility a student Spark provisions
	// gets (public until an admin sets another); SetSparkDefaultVisibility
	// records an admin's choice.
	SparkDefaultVisibility(ctx context.Context) (Visibility, error)
	SetSparkDefaultVisibility(ctx context.Context, actorID string, v Visibility) error
}

// PortfolioVersion changes, in the transaction that writes the change,
// whenever anything a student's portfolio shows changes: Student for the
// student's own data (profile, completions, evidence, XP, badges earned, the
// enrolments and synced submissions behind badge progress), Global for data
// all portfolios share (quest, task and Spark course titles, Spark
// assignments, badge definitions). Both only grow, so a page rendered after
// reading a version is at least as new as that version and may be reused
// while the version is unchanged, by every process sharing the database.
type PortfolioVersion struct {
	Student int64
	Global  int64
}

// PortfolioWork is one page of a student's finished work.
type PortfolioWork struct {
	Items []PortfolioItem
	Total int
	// Quests counts, for each quest the student finished work in, its
	// tasks and the ones they finished: the "3 of 8 finished" of a group.
	Quests map[string]QuestCount
}

// QuestCount is how many of a quest's tasks a student finished.
type QuestCount struct{ Done, Total int }

// PortfolioItem is a completion as a portfolio shows it: with the quest's
// source and, for Spark coursework, the Spark course it belongs to.
type PortfolioItem struct {
	CompletionView
	// QuestSource is SourceOptio or SourceLMS.
	QuestSource string
	// LMSPlatform and LMSCourseID name the LMS course of an LMS quest.
	LMSPlatform string
	LMSCourseID string
	// CourseTitle is the Spark course's title from spark_course_mappings,
	// or the quest title when Spark's title is unknown.
	CourseTitle string
}

// BlockFileRef says which student's evidence block uses a file, and whether
// the student marked the block private.
type BlockFileRef struct {
	BlockID   string
	FileID    string
	StudentID string
	Private   bool
}
