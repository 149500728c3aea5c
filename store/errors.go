package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/optio-edu/optio"
)

// translate turns driver errors into domain errors at the store boundary:
// no rows → ENOTFOUND, a unique violation → ECONFLICT, a lost connection →
// EUNAVAILABLE. Other errors pass through unchanged (internal).
func translate(err error) error {
	if err == nil {
		return nil
	}
	var oe *optio.Error
	if errors.As(err, &oe) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &optio.Error{Code: optio.ENOTFOUND, Message: "Not found."}
	}
	// Before the context check: a connection attempt that timed out (pgx
	// wraps "context deadline exceeded" in a ConnectError while PostgreSQL
	// restarts and accepts connections without answering yet) is the
	// database being unavailable, not an internal error.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return &optio.Error{Code: optio.EUNAVAILABLE, Message: "The database is not available; try again shortly."}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if isUnavailable(err) {
		return &optio.Error{Code: optio.EUNAVAILABLE, Message: "The database is not available; try again shortly."}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "23505":
			return &optio.Error{Code: optio.ECONFLICT, Message: "Already exists."}
		case strings.HasPrefix(pg.Code, "08"), pg.Code == "57P01", pg.Code == "57P03":
			return &optio.Error{Code: optio.EUNAVAILABLE, Message: "The database is not available; try again shortly."}
		case pg.Code == "22021", pg.Code == "22P05":
			// A NUL or invalid UTF-8 that validation missed (SQLite stores
			// them; PostgreSQL does not): the input's fault, not a bug.
			return &optio.Error{Code: optio.EINVALID, Message: "Text must be UTF-8 without NUL characters."}
		}
		return err
	}
	if isSQLiteUnique(err) {
		return &optio.Error{Code: optio.ECONFLICT, Message: "Already exists."}
	}
	return err
}

// The query helpers run one statement and translate its error, so a method
// that only passes the error on needs no translate of its own; inTx does the
// same for whatever its function returns.

// query runs a read on the reader pool.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := db.R.QueryContext(ctx, q, args...)
	return rows, translate(err)
}

// row is a *sql.Row whose Scan translates the driver's error.
type row struct{ *sql.Row }

// Scan copies the row's columns into dest (sql.Row.Scan), translated.
func (r row) Scan(dest ...any) error { return translate(r.Row.Scan(dest...)) }

// queryRow runs a one-row read on the reader pool.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) row {
	return row{db.R.QueryRowContext(ctx, q, args...)}
}

// exec runs a write outside a transaction on the writer pool.
func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := db.W.ExecContext(ctx, q, args...)
	return res, translate(err)
}

// isSQLiteUnique reports whether err is SQLite's unique or primary-key
// constraint failure, by its extended result code.
func isSQLiteUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isUnavailable reports whether err says the database cannot be reached or
// dropped the connection (PostgreSQL restarting, a network cut): the request
// may succeed when retried, so it is a 503, not an internal error.
func isUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, pgconn.ErrConnClosed):
		return true
	case errors.As(err, &ne):
		return true
	}
	return pgconn.SafeToRetry(err)
}

// notFound is the ENOTFOUND error for a kind of thing.
func notFound(what string) error {
	return &optio.Error{Code: optio.ENOTFOUND, Message: what + " not found."}
}

// isDeadlock reports whether PostgreSQL aborted the statement to break a
// deadlock (or a serialization failure): nothing of it was written, and the
// same work run again, or another way, can succeed. Two one-statement
// logins with one nonce (a replayed link) batched with other logins can
// wait for each other's rows in opposite orders.
func isDeadlock(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// isConflict reports whether err is a unique violation after translation.
func isConflict(err error) bool { return optio.ErrorCode(translate(err)) == optio.ECONFLICT }

// isSlugConflict reports whether err is a unique violation of
// users.portfolio_slug (as opposed to, say, users.email), so a slug lost to
// a concurrent sign-up can be retried rather than reported.
func isSlugConflict(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505" && strings.Contains(pg.ConstraintName, "portfolio_slug")
	}
	// SQLite names the column only in the message ("… failed: users.portfolio_slug").
	return isSQLiteUnique(err) && strings.Contains(err.Error(), "portfolio_slug")
}
