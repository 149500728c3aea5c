package store

import (
	"context"
	"database/sql"

	"github.com/optio-edu/optio"
)

// GroupCommit exposes the PostgreSQL group committer to the store_test
// package's tests.
type GroupCommit struct{ g *groupCommitter }

// GroupCommitOf returns db's group committer, to be started with committers
// committers (before its first statement).
func GroupCommitOf(db *DB, committers int) GroupCommit {
	db.group.committers = committers
	return GroupCommit{db.group}
}

// QueryRow runs query through the group committer.
func (g GroupCommit) QueryRow(ctx context.Context, query string, args []any, dest ...any) error {
	return translate(g.g.queryRow(ctx, query, args, func(row scanner) error { return row.Scan(dest...) }))
}

// Queued is the number of statements waiting for a committer.
func (g GroupCommit) Queued() int { return len(g.g.reqs) }

// Batches and Rerun count batches of several statements, and those rolled
// back and run again one by one.
func (g GroupCommit) Batches() int64 { return g.g.batches.Load() }
func (g GroupCommit) Rerun() int64   { return g.g.rerun.Load() }

// FirstStudentLogin runs the one-statement first login of a student met
// before SSO alone: nil, nil when it does not apply.
func (db *DB) FirstStudentLogin(ctx context.Context, in optio.SSOLogin) (*optio.SSOResult, error) {
	return db.firstStudentLogin(ctx, in)
}

// SSOLoginInTransaction runs the full login transaction, as SparkSSOLogin
// does when no one-statement login applies.
func (db *DB) SSOLoginInTransaction(ctx context.Context, in optio.SSOLogin) (*optio.SSOResult, error) {
	var res *optio.SSOResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = db.ssoLoginTx(ctx, tx, in)
		return err
	})
	return res, err
}

// SlugLockClass is the first key of the slug claims' advisory locks.
const SlugLockClass = slugLockClass

// NewStudentLogin runs the one-statement login of a student Optio has never
// met alone: nil, nil when it does not apply.
func (db *DB) NewStudentLogin(ctx context.Context, in optio.SSOLogin) (*optio.SSOResult, error) {
	return db.newStudentLogin(ctx, in)
}
