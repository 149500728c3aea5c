package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Group commit on PostgreSQL (docs/PERFORMANCE.md, "Group commit").
//
// The hot requests — a submission webhook, a returning student's login — are
// one statement each, a transaction of their own. Under load most of what
// PostgreSQL and Optio spend on them is per transaction, not per statement:
// the round trip's system calls on both sides, the commit and its WAL flush.
// groupCommitter sends the statements that are waiting at the same moment
// as one pgx batch: one round trip, which PostgreSQL runs as one implicit
// transaction and commits once. No request waits for a timer: a committer
// takes whatever is queued when it is free, so a lone request goes at once
// and batches form only while earlier ones are in flight.
//
// Each statement is still all or nothing, and is answered only after the
// commit that made it durable. Statements of one batch see each other's
// writes as consecutive transactions would (each statement takes a new
// snapshot), so two deliveries of one webhook-id in one batch still give one
// accept. If any statement of a batch fails, PostgreSQL rolls the whole batch
// back, and each of its statements is run again alone, so one request's
// error (a lost race for a new student, a deadlock) is its own and never
// another's.
type groupCommitter struct {
	db         *sql.DB
	committers int
	reqs       chan *groupReq
	stop       chan struct{}
	once       sync.Once
	wg         sync.WaitGroup
	// mu orders queueing against close: a statement is queued under the
	// read lock only while closed is false, so close's drain answers it.
	mu     sync.RWMutex
	closed bool
	// batches counts batches of more than one statement sent, and rerun
	// those rolled back and run again statement by statement.
	batches, rerun atomic.Int64
}

// Committers run at once, and statements per batch. Four committers keep the
// two cores busy while each batch is in flight; at 16 concurrent requests a
// batch carries about four statements, past which a batch saves little more
// (one WAL flush already serves them all) and only lengthens the wait.
const (
	groupCommitters = 4
	groupBatchMax   = 16
	groupTimeout    = 30 * time.Second
)

// groupReq is one statement and what to do with its row.
type groupReq struct {
	ctx   context.Context
	query string
	args  []any
	scan  func(scanner) error
	done  chan error
}

var errGroupClosed = errors.New("store: the database is closed")

func newGroupCommitter(db *sql.DB) *groupCommitter {
	return &groupCommitter{db: db, committers: groupCommitters, reqs: make(chan *groupReq, 256), stop: make(chan struct{})}
}

// queryRow runs query as a transaction of its own, in a batch with whatever
// other statements are waiting, and hands its single row (or the error,
// sql.ErrNoRows for none) to scan, after the commit.
func (g *groupCommitter) queryRow(ctx context.Context, query string, args []any, scan func(scanner) error) error {
	g.once.Do(g.start)
	r := &groupReq{ctx: ctx, query: query, args: args, scan: scan, done: make(chan error, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return errGroupClosed
	}
	select {
	case g.reqs <- r:
		g.mu.RUnlock()
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued the statement may be in flight: wait for its outcome,
	// which the batch's own timeout bounds, rather than answer a request
	// whose work may still commit.
	return <-r.done
}

func (g *groupCommitter) start() {
	for range g.committers {
		g.wg.Add(1)
		go g.run()
	}
}

// close stops the committers after the batches in flight; requests still
// queued are answered with errGroupClosed.
func (g *groupCommitter) close() {
	g.once.Do(func() {}) // a committer never started need not be stopped
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.mu.Unlock()
	close(g.stop)
	g.wg.Wait()
	for {
		select {
		case r := <-g.reqs:
			r.done <- errGroupClosed
		default:
			return
		}
	}
}

func (g *groupCommitter) run() {
	defer g.wg.Done()
	batch := make([]*groupReq, 0, groupBatchMax)
	for {
		select {
		case <-g.stop:
			return
		case r := <-g.reqs:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < groupBatchMax {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		g.exec(batch)
	}
}

// exec runs a batch and answers every request in it.
func (g *groupCommitter) exec(batch []*groupReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err // never sent: its caller has gone
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if len(live) > 1 {
		g.batches.Add(1)
	}
	errs, err, rolledBack := g.send(live)
	if !rolledBack || len(live) == 1 {
		for i, r := range live {
			if err != nil {
				r.done <- err // the batch's: no connection, a broken one, or its own statement's
				continue
			}
			r.done <- errs[i]
		}
		return
	}
	g.rerun.Add(1)
	for _, r := range live {
		errs, err, _ := g.send([]*groupReq{r})
		if err == nil {
			err = errs[0]
		}
		r.done <- err
	}
}

// statementFailed reports whether err is PostgreSQL refusing a statement
// (severity ERROR), which rolls back the transaction it ran in and leaves
// the session usable. A FATAL (the server ending the session, as a restart
// or an administrator does) says nothing of whether the commit happened.
func statementFailed(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	severity := pe.SeverityUnlocalized // the message's language aside
	if severity == "" {
		severity = pe.Severity
	}
	return severity == "ERROR"
}

// send runs the statements as one pgx batch on one connection and returns
// each statement's scan result, the batch's error, and whether PostgreSQL
// rolled the batch back: a statement or the commit failed on the server, so
// nothing of the batch was written. A batch that failed otherwise (the
// connection broke or the server ended the session) may or may not have
// committed, and is not run again.
func (g *groupCommitter) send(batch []*groupReq) (errs []error, err error, rolledBack bool) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	conn, err := g.db.Conn(ctx)
	if err != nil {
		return nil, err, false
	}
	defer conn.Close()
	errs = make([]error, len(batch))
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: group commit needs a pgx connection, not %T", dc)
		}
		b := &pgx.Batch{}
		for _, r := range batch {
			b.Queue(r.query, r.args...)
		}
		br := pc.Conn().SendBatch(ctx, b)
		var server error
		for i, r := range batch {
			errs[i] = r.scan(br.QueryRow())
			if server == nil && statementFailed(errs[i]) {
				server = errs[i]
			}
		}
		err := br.Close()
		if server != nil || statementFailed(err) {
			rolledBack = true
		}
		if server != nil {
			return server
		}
		return err
	})
	return errs, err, rolledBack
}
