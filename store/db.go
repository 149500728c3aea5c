// Package store is Optio's database: one implementation of optio.Store over
// database/sql for both SQLite (modernc.org/sqlite, the embedded default) and
// PostgreSQL (pgx), with embedded migrations per dialect.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"

	"github.com/optio-edu/optio"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the SQL engine behind a DB.
type Dialect string

// The two supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is the store. Writes go through W; on SQLite W has a single connection
// (SQLite allows one writer, and River's SQLite driver needs it), while reads
// use R, a pool of readers that WAL lets run beside the writer. On PostgreSQL
// W and R are the same pool.
type DB struct {
	W       *sql.DB
	R       *sql.DB
	Dialect Dialect
	Clock   optio.Clock
	// enqueue inserts background jobs (see Enqueuer); nil (a DB as Open
	// returns it) records queue rows without jobs. WithEnqueuer sets it.
	enqueue Enqueuer
	// autoMap (Config.SparkAutoMap) maps a Spark course to a quest, and its
	// assignments to tasks, as soon as Optio first sees it (spark_courses.go).
	autoMap bool
	// sqlitePath is the SQLite database file ("" on PostgreSQL).
	sqlitePath string
	// group batches one-statement transactions on PostgreSQL (groupcommit.go).
	group *groupCommitter
}

// Enqueuer inserts background jobs. The jobs package provides it (River).
type Enqueuer interface {
	// EnqueueTx inserts job inside tx, so the job exists exactly when the
	// data it works on does.
	EnqueueTx(ctx context.Context, tx *sql.Tx, job optio.Job) error
	// EnqueueSoon inserts the sync jobs of queue rows already committed, in
	// the background, batched with other callers' jobs into one insert. It never
	// fails the caller: a job lost to a crash or a failed insert is made
	// again by the sweeper, which gives every pending queue row a job.
	EnqueueSoon(queueIDs ...string)
}

var _ optio.Store = (*DB)(nil)

// WithEnqueuer is db, sharing its connections, with e inserting its
// background jobs. The job runner builds the DB it and the web server use
// with it (jobs.New), so no one patches a DB that is already serving.
func (db *DB) WithEnqueuer(e Enqueuer) *DB {
	c := *db
	c.enqueue = e
	return &c
}

// WithAutoMap is db, sharing its connections, mapping Spark courses to
// quests as soon as Optio first sees them when on is true (SPARK_AUTO_MAP).
func (db *DB) WithAutoMap(on bool) *DB {
	c := *db
	c.autoMap = on
	return &c
}

// AutoMap reports whether db maps Spark courses as soon as it sees them.
func (db *DB) AutoMap() bool { return db.autoMap }

// HasEnqueuer reports whether db inserts background jobs (WithEnqueuer).
func (db *DB) HasEnqueuer() bool { return db.enqueue != nil }

// Open connects to the database named by databaseURL: postgres:// URLs open
// PostgreSQL, anything else is a SQLite file path (sqlite:// prefix optional).
// It does not migrate; call Migrate.
func Open(ctx context.Context, databaseURL string, clock optio.Clock) (*DB, error) {
	if clock == nil {
		clock = optio.SystemClock{}
	}
	u, _ := url.Parse(databaseURL)
	if u != nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return openPostgres(ctx, databaseURL, clock)
	}
	return openSQLite(ctx, databaseURL, clock)
}

func openPostgres(ctx context.Context, dsn string, clock optio.Clock) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// Connections a restart of PostgreSQL broke are discarded on first use
	// (pgx reports them as bad); a lifetime also retires any left idle.
	db.SetConnMaxLifetime(30 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return &DB{W: db, R: db, Dialect: Postgres, Clock: clock, group: newGroupCommitter(db)}, nil
}

func openSQLite(ctx context.Context, path string, clock optio.Clock) (*DB, error) {
	if u, err := url.Parse(path); err == nil && u.Scheme == "sqlite" {
		path = u.Host + u.Path
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_time_format=sqlite&_txlock=immediate"
	w := sql.OpenDB(stmtCachingConnector{dsn: dsn, drv: &sqlite.Driver{}})
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r := sql.OpenDB(stmtCachingConnector{dsn: dsn + "&_pragma=query_only(1)", drv: &sqlite.Driver{}})
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	return &DB{W: w, R: r, Dialect: SQLite, Clock: clock, sqlitePath: path}, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	if db.group != nil {
		db.group.close()
	}
	err := db.W.Close()
	if db.R != db.W {
		err = errors.Join(err, db.R.Close())
	}
	return err
}

// Migrate applies every embedded migration not yet applied, under the
// migration lock (see WithMigrationLock).
func (db *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.Dialect))
	if err != nil {
		return err
	}
	gd := goose.DialectSQLite3
	if db.Dialect == Postgres {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, db.W, sub)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return db.WithMigrationLock(ctx, func() error {
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		return nil
	})
}

// Ping checks the database answers (readiness).
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := db.W.PingContext(ctx); err != nil {
		return &optio.Error{Code: optio.EUNAVAILABLE, Message: "The database is not answering."}
	}
	return nil
}

// now is the store's clock, truncated to what both engines keep.
func (db *DB) now() time.Time { return db.Clock.Now().UTC().Truncate(time.Microsecond) }

// newID returns a time-ordered UUID (v7).
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// inTx runs fn in a write transaction, committing when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if err := fn(tx); err != nil {
		return translate(err)
	}
	return translate(tx.Commit())
}
