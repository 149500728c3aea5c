package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"

	"github.com/optio-edu/optio"
)

// Group commit for the webhook accept path. Accepting a webhook is a small
// write transaction, and its cost is the commit (an fsync on PostgreSQL, the
// one writer on SQLite), not the statements. A batcher runs concurrent
// callers' transactions as savepoints of one database transaction and
// commits them together: each caller still gets its own result, a failing
// caller is rolled back to its savepoint alone, and nothing is answered
// before the commit that makes it durable. Batches form naturally: a flusher
// takes every call waiting when it starts a batch, so one caller alone pays
// no extra latency.
//
// On PostgreSQL several batches run at once. Calls are sharded by a key (the
// Spark student): two deliveries that could touch the same rows (the same
// webhook-id, a student's first submissions creating them) go to the same
// flusher, so concurrent batches never wait on each other's uncommitted
// rows — which could otherwise deadlock, and PostgreSQL takes a second to
// notice.

// Batching limits.
const (
	// batchMax bounds the calls in one transaction (and so how long the
	// transaction holds its locks).
	batchMax = 64
	// batchFlushersPostgres is how many batches run at once on PostgreSQL;
	// SQLite has one writer and runs one.
	batchFlushersPostgres = 4
)

// batchCall is one caller's transaction waiting for a batch.
type batchCall struct {
	ctx   context.Context
	fn    func(ctx context.Context, tx *sql.Tx) error
	state atomic.Int32 // 0 waiting, 1 taken by a flusher, 2 abandoned by the caller
	done  chan error
}

// batcher runs batchCalls in shared transactions on db.W.
type batcher struct {
	db     *DB
	shards []chan *batchCall
	quit   chan struct{}
	wg     sync.WaitGroup
}

func newBatcher(db *DB, flushers int) *batcher {
	b := &batcher{db: db, quit: make(chan struct{})}
	for range flushers {
		calls := make(chan *batchCall, 4*batchMax)
		b.shards = append(b.shards, calls)
		b.wg.Add(1)
		go b.flusher(calls)
	}
	return b
}

// close stops the flushers once the calls already taken have finished.
func (b *batcher) close() {
	close(b.quit)
	b.wg.Wait()
}

// errBatchClosed answers calls made after Close.
var errBatchClosed = fmt.Errorf("store: closed")

// do runs fn in a transaction shared with other concurrent callers with
// keys on the same shard and
// returns once that transaction committed (nil) or fn's own error. When
// the shared transaction as a whole fails (begin or commit), or fn fails
// while sharing it, fn is run once more in a transaction of its own, so a
// neighbour's failure or a lost race (a unique violation, a deadlock) never
// decides another caller's answer.
func (b *batcher) do(ctx context.Context, key string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	c := &batchCall{ctx: ctx, fn: fn, done: make(chan error, 1)}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	select {
	case b.shards[h.Sum32()%uint32(len(b.shards))] <- c:
	case <-b.quit:
		return errBatchClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	var err error
	select {
	case err = <-c.done:
	case <-ctx.Done():
		if c.state.CompareAndSwap(0, 2) {
			return ctx.Err() // never taken: nothing ran
		}
		err = <-c.done // taken: its outcome is decided by the commit
	}
	if err == errRetryAlone || optio.ErrorCode(err) == optio.ECONFLICT {
		return b.db.webhookTx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	return err
}

// errRetryAlone tells a caller its batch could not decide for it.
var errRetryAlone = fmt.Errorf("store: retry alone")

func (b *batcher) flusher(calls chan *batchCall) {
	defer b.wg.Done()
	batch := make([]*batchCall, 0, batchMax)
	for {
		batch = batch[:0]
		select {
		case <-b.quit:
			return
		case c := <-calls:
			batch = b.take(batch, c)
		}
	more:
		for len(batch) < batchMax {
			select {
			case c := <-calls:
				batch = b.take(batch, c)
			default:
				break more
			}
		}
		if len(batch) > 0 {
			b.run(batch)
		}
	}
}

// take adds c to batch unless its caller gave up waiting.
func (b *batcher) take(batch []*batchCall, c *batchCall) []*batchCall {
	if c.state.CompareAndSwap(0, 1) {
		return append(batch, c)
	}
	return batch
}

// run executes batch in one transaction, each call in its own savepoint,
// and answers every caller after the commit.
func (b *batcher) run(batch []*batchCall) {
	if len(batch) == 1 {
		c := batch[0]
		c.done <- b.db.inTx(c.ctx, func(tx *sql.Tx) error { return c.fn(c.ctx, tx) })
		return
	}
	// The shared transaction outlives any one caller's cancellation.
	ctx := context.Background()
	tx, err := b.db.W.BeginTx(ctx, nil)
	if err != nil {
		for _, c := range batch {
			c.done <- errRetryAlone
		}
		return
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	results := make([]error, len(batch))
	for i, c := range batch {
		sp := fmt.Sprintf("b%d", i)
		if _, err := tx.ExecContext(ctx, "SAVEPOINT "+sp); err != nil {
			results[i] = errRetryAlone
			continue
		}
		if err := c.fn(context.WithoutCancel(c.ctx), tx); err != nil {
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+sp); rerr != nil {
				// The transaction is unusable: nobody's work can commit.
				for _, c := range batch {
					c.done <- errRetryAlone
				}
				return
			}
			results[i] = errRetryAlone
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
			for _, c := range batch {
				c.done <- errRetryAlone
			}
			return
		}
	}
	if err := tx.Commit(); err != nil {
		for _, c := range batch {
			c.done <- errRetryAlone
		}
		return
	}
	for i, c := range batch {
		c.done <- results[i]
	}
}
