//go:build !unix

package store

import "context"

// lockFile is a no-op where flock is unavailable: concurrent first starts on
// one SQLite file are then not serialized.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
