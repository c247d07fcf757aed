package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"

	_ "modernc.org/sqlite" // registers "sqlite"
)

// SQLite connections keep every statement they run prepared. The pure-Go
// SQLite parses and plans a statement in about as long as a small query takes
// to run, and database/sql prepares afresh every query that is not a *sql.Stmt
// of the pool — which includes every statement a transaction runs as text. A
// vote's transaction spent more than half its time parsing. The cache is per
// connection (a connection is used by one goroutine at a time) and keyed by the
// statement's text; a statement whose rows are still being read when the same
// text runs again on the connection is prepared once more for that run alone.

// stmtCacheMax bounds the statements one connection keeps: the store's queries
// are constants, so this is only ever reached by a bug, and then the cache
// starts over.
const stmtCacheMax = 512

// openSQLite opens a pool on dsn, through the driver registered as
// driverName ("sqlite": modernc's), whose connections keep their statements.
// With a gate, every statement they run passes it (readgate.go): the readers'.
func openSQLite(driverName, dsn string, gate *readGate) (*sql.DB, error) {
	db, err := sql.Open(driverName, "") // opens no connection: it finds the driver
	if err != nil {
		return nil, err
	}
	d := db.Driver()
	db.Close()
	return sql.OpenDB(sqliteConnector{d: d, dsn: dsn, gate: gate}), nil
}

type sqliteConnector struct {
	d    driver.Driver
	dsn  string
	gate *readGate
}

func (c sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.gate != nil {
		// Opening runs the DSN's pragmas, which read the log's header.
		if err := c.gate.enter(ctx); err != nil {
			return nil, err
		}
		defer c.gate.leave()
	}
	conn, err := c.d.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, errors.New("store: the SQLite driver's connection lacks a method the store uses")
	}
	return &cachingConn{inner: inner, stmts: map[string]*cachedStmt{}, gate: c.gate}, nil
}

func (c sqliteConnector) Driver() driver.Driver { return c.d }

// sqliteConn is what the store needs of the driver's connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachingConn struct {
	inner sqliteConn
	stmts map[string]*cachedStmt
	gate  *readGate // nil: not a reader
}

// fullStmt is what the store needs of the driver's statement.
type fullStmt interface {
	driver.Stmt
	driver.StmtQueryContext
	driver.StmtExecContext
}

type cachedStmt struct {
	st      fullStmt
	reading bool // its rows are open
}

// cached is the connection's statement for query, or nil when it cannot be
// used now (its rows are open) or a script of several statements.
func (c *cachingConn) cached(ctx context.Context, query string) (*cachedStmt, error) {
	if cs := c.stmts[query]; cs != nil {
		if cs.reading {
			return nil, nil
		}
		return cs, nil
	}
	if strings.Contains(query, ";") {
		return nil, nil // migrations: run once, and may hold several statements
	}
	st, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	full, ok := st.(fullStmt)
	if !ok {
		st.Close()
		return nil, nil
	}
	if len(c.stmts) >= stmtCacheMax {
		c.closeStmts()
	}
	cs := &cachedStmt{st: full}
	c.stmts[query] = cs
	return cs, nil
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.gate != nil {
		return c.gate.query(ctx, func() (driver.Rows, error) { return c.query(ctx, query, args) })
	}
	return c.query(ctx, query, args)
}

func (c *cachingConn) query(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.inner.QueryContext(ctx, query, args)
	}
	rows, err := cs.st.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.reading = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.gate != nil {
		if err := c.gate.enter(ctx); err != nil {
			return nil, err
		}
		defer c.gate.leave()
	}
	cs, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.inner.ExecContext(ctx, query, args)
	}
	return cs.st.ExecContext(ctx, args)
}

func (c *cachingConn) closeStmts() {
	for q, cs := range c.stmts {
		cs.st.Close()
		delete(c.stmts, q)
	}
}

func (c *cachingConn) Close() error {
	c.closeStmts()
	return c.inner.Close()
}

// Prepare and PrepareContext serve *sql.Stmt, which database/sql keeps per
// connection itself; a reader's pass the gate.
func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.inner.PrepareContext(ctx, query)
	if err != nil || c.gate == nil {
		return st, err
	}
	full, ok := st.(fullStmt)
	if !ok {
		st.Close()
		return nil, errors.New("store: the SQLite driver's statement lacks a method the store uses")
	}
	return &gatedStmt{stmt: full, gate: c.gate}, nil
}
func (c *cachingConn) Begin() (driver.Tx, error) { return c.inner.Begin() } //nolint:staticcheck // the interface's
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}
func (c *cachingConn) Ping(ctx context.Context) error         { return c.inner.Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.inner.IsValid() }

// Unwrap is the driver's own connection, for its methods beyond
// database/sql's (through sql.Conn.Raw).
func (c *cachingConn) Unwrap() driver.Conn { return c.inner }

// cachedRows frees its statement for the next run when closed.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	r.cs.reading = false
	return r.Rows.Close()
}
