package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
)

// stmtCacheSize bounds the statements one SQLite connection keeps prepared.
const stmtCacheSize = 128

// stmtCachingConnector opens SQLite connections that keep what they
// prepare. modernc's SQLite parses and plans every statement text it is
// handed, and database/sql hands it the text each time: that was a third of
// the CPU of a webhook (docs/PERFORMANCE.md). A connection here prepares a
// text once and reuses it, for Optio's statements and River's alike; SQLite
// re-prepares a statement by itself when the schema changes.
type stmtCachingConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c stmtCachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, errors.New("store: the sqlite driver's connection lacks the context methods")
	}
	return &stmtCachingConn{sqliteConn: sc, byQuery: make(map[string]*list.Element)}, nil
}

func (c stmtCachingConnector) Driver() driver.Driver { return c.drv }

// sqliteConn is what database/sql uses of a modernc connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteStmt is a modernc prepared statement.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// stmtCachingConn keeps up to stmtCacheSize prepared statements, least
// recently used first out. database/sql never uses one connection from two
// goroutines at once (rows are closed under the connection's lock too), so
// it needs no lock of its own.
type stmtCachingConn struct {
	sqliteConn
	lru     list.List // of *cachedStmt, most recently used at the front
	byQuery map[string]*list.Element
}

type cachedStmt struct {
	query string
	stmt  sqliteStmt
	// busy: rows of this statement are open, so it cannot run again until
	// they close; evicted: it left the cache while busy and closes with
	// its rows.
	busy, evicted bool
}

// get returns the prepared statement for query, preparing it on first use,
// or nil when it is busy (the caller runs the text unprepared).
func (c *stmtCachingConn) get(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.byQuery[query]; ok {
		s := e.Value.(*cachedStmt)
		if s.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e)
		return s, nil
	}
	ds, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(sqliteStmt)
	if !ok {
		ds.Close()
		return nil, errors.New("store: the sqlite driver's statement lacks the context methods")
	}
	s := &cachedStmt{query: query, stmt: st}
	c.byQuery[query] = c.lru.PushFront(s)
	if c.lru.Len() > stmtCacheSize {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.byQuery, old.query)
		if old.busy {
			old.evicted = true
		} else {
			old.stmt.Close()
		}
	}
	return s, nil
}

func (c *stmtCachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return s.stmt.ExecContext(ctx, args)
}

func (c *stmtCachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	sr, ok := rows.(sqliteRows)
	if !ok {
		rows.Close()
		return nil, errors.New("store: the sqlite driver's rows lack the column type methods")
	}
	s.busy = true
	return &cachedRows{sqliteRows: sr, s: s}, nil
}

// Close closes every kept statement, then the connection.
func (c *stmtCachingConn) Close() error {
	var err error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		if s := e.Value.(*cachedStmt); !s.busy {
			err = errors.Join(err, s.stmt.Close())
		}
	}
	c.lru.Init()
	clear(c.byQuery)
	return errors.Join(err, c.sqliteConn.Close())
}

// sqliteRows is a modernc result set with its column type methods.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	sqliteRows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.sqliteRows.Close()
	r.s.busy = false
	if r.s.evicted {
		err = errors.Join(err, r.s.stmt.Close())
	}
	return err
}
