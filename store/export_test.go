package store

import "context"

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
